/**
 * scopetrail, node side: what a worker process and a client import. Agents import
 * `scopetrail/workflow` instead, the only entry that is safe in Temporal's sandbox.
 */
export { ScopetrailPlugin, WORKFLOW_INTERCEPTORS_MODULE, type ScopetrailPluginOptions } from './worker/plugin';
export type { LiveOtelOptions } from './worker/live-otel';
export type { DeploymentOption } from './worker/deployment';
export { createWorker, bundleAgents, type CreateWorkerOptions, type ScopetrailWorker } from './worker/create-worker';
export { quietTemporalLogs } from './worker/runtime-logging';
/** For development: a local Temporal dev server (or the one TEMPORAL_ADDRESS names). */
export { ensureTemporal, type TemporalEndpoint } from './devserver/dev-server';
export { renderTree, renderActions } from './client/format';
export { scopetrailMcp, DELEGATION_REFUSED, type ScopetrailMcpOptions, type Receipt } from './worker/mcp-server-middleware';
export { loadDelegationKey, parseDelegationKey, DelegationKeyError, type DelegationKey } from './store/delegation-key';
export { InvalidStoredRowError, type InvalidRow } from './store/rows';
export type { RecorderOptions } from './worker/recorder';
export type { SpoolOptions } from './worker/spool';
export * from './activities';
export * from './store';
export { loadFingerprintKey, FingerprintKeyError, MissingFingerprintKeyError, type FingerprintKey } from './store/fingerprint-key';
export * from './client';
/** The dashboard's server (what `scopetrail ui` runs) and the JSON documents its API answers. */
export { startUiServer, type UiServer } from './client/ui-server';
export type * from './client/ui-api-types';
export { ScopetrailError, ScopetrailConfigError } from './cim/errors';
export { InvalidOptionError } from './cim/invalid-field';
export { BUDGET_EXCEEDED, type BudgetSpec } from './cim/budget';
export * from './cim/names';
export * from './cim/llm-result';
export { ENCODED_TEXT_PREFIX, ENCODED_TEXT_PLACEHOLDER, isEncodedText } from './cim/encoded-text';
export type { Manifest, ScopeRecord, ActionRecord, ActionKind, ResourceRef, ScopeContext } from './cim/schemas';
export type { ScopeTree } from './cim/scope-tree';
export { unwrapAgentResult, type AgentMeta } from './cim/envelope';
