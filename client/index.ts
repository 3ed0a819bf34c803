/**
 * The library client: start sessions, signal handoffs, ask forensic questions and
 * reconcile against Temporal. The CLI's commands, the dashboard's server and the
 * OpenTelemetry exporter are built on it and live beside it, not in it.
 */
export { ScopeClient, ConnectOptions, StartSessionOptions, ActionsUnderArgs, type SessionHandle } from './scope-client';
export { InvalidArgumentError, NoStoreError, PayloadTooLargeError, RunClosedError, NotASessionError, SessionIdTakenError, SessionIdUncheckedError, SessionPrunedError, UnknownAgentError, UnknownIdError } from './arguments';
export type { PrunedSession } from './pruned-session';
export { HandoffOutcomeUncheckedError, type HandoffOutcome, type HandoffRequestReceipt } from './handoff-outcome';
export { SessionNotFoundError, type Difference, type ReconcileReport, type ReconcileRunOptions } from './reconcile';
export type { FootprintReport, SealChecked, SessionListing, SessionsPage, StatusReport, TouchedReport } from './forensic-queries';
export { touchedProved } from './forensic-queries';
export type { ChainProblem, VerifyReport } from '../store/chain';
export { UsageCheckUnsupportedError, type UsageCheckReport } from './usage-check';
export type { UsageDifference } from '../cim/forensics/usage';
export { setCurrentVersion, setRampingVersion, SetVersionOptions, DeploymentVersionError, type SetVersionResult } from './deployment';
export { CodecRequiredError } from '../store/text-codec';
export { TemporalUnreachableError } from './temporal-reachable';
export { RemoteCodec } from './codec-loader';
