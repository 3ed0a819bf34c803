/**
 * ScopeClient: start sessions (run a root agent) and answer questions about them
 * from the CIM store. Every argument is validated with zod before it reaches
 * Temporal or the database.
 */
import { answerWithin } from '../cim/answer-within';
import { TemporalAddressOption, addressFromEnv } from '../cim/temporal-address';
import { randomBytes } from 'node:crypto';
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { CodecRequiredError, opaqueTextCodec, textCodec, type TextCodec } from '../store/text-codec';
import { preparedStore } from './prepared-store';
import { decodingStore } from '../store/encoded-records';
import { z } from 'zod';
import { unwrapAgentResult } from '../cim/envelope';
import type { ActionKind, ActionRecord, ScopeRecord } from '../cim/schemas';
import { ActionKind as ActionKindSchema, HANDOFF_SIGNAL, HandoffRequest, SessionId } from '../cim/schemas';
import type { LocatedScope, Store } from '../store/types';
import { OBJECTIVE_MEMO, SCOPE_MEMO, STORE_MEMO, VISIBILITY_MEMO } from '../cim/names';
import { storeMark } from '../store/store-mark';
import { scopeMemo, scopeSearchAttributes } from '../cim/scope-visibility';
import { rootScopeId } from '../cim/ids';
import { hasSearchAttributes } from '../devserver/search-attributes';
import type { AgentWorkflow } from '../workflows/agent';
import { buildScopeTree, type ScopeTree } from '../cim/scope-tree';
import type { DriftEntry, RoleEntry, RootCause, TimelineEvent } from '../cim/forensics';
import { receiptsByCall } from '../cim/forensics/receipts';
import {
  ResourceArg,
  SessionsArgs,
  agentDrift,
  agentRoles,
  listSessions,
  scopeFootprint,
  scopeStatus,
  sessionRootCause,
  sessionTimeline,
  storedSealProblems,
  wasTouched,
  type FootprintReport,
  type SealChecked,
  type SessionListing,
  type SessionsPage,
  type StatusReport,
  type TouchedReport,
} from './forensic-queries';
import { handoffOutcome, type HandoffOutcome, type HandoffRequestReceipt, type SentRequest } from './handoff-outcome';
import { reconcile, SessionNotFoundError, type ReconcileReport, type ReconcileRunOptions } from './reconcile';
import { prunedSessionOf, type PrunedSession } from './pruned-session';
import type { VerifyReport } from '../store/chain';
import { verifySession } from './verify';
import { verifyUsage, type UsageCheckReport } from './usage-check';
import { TemporalSealAnchors } from '../store/seal-anchor';
import { AgentArg, AgentNameArg, Id, InvalidArgumentError, NoStoreError, NotASessionError, PayloadTooLargeError, RunClosedError, UnencodableValueError, SessionIdTakenError, SessionIdUncheckedError, SessionPrunedError, UnknownAgentError, UnknownIdError, parse, printableText } from './arguments';
import { pruneStore, type PruneReport } from './prune';
import { AttributeText, attributeSession, type AttributionReport } from './attribution';
import { MissingFingerprintKeyError, loadFingerprintKey, type FingerprintKey } from '../store/fingerprint-key';
import { receiptChecker, type DelegationKey, type ReceiptChecker } from '../store/delegation-key';
import { manifestChecker } from '../store/manifest-key';
import type { SignatureChecker } from '../cim/keyed-signature';
import type { OtelExportOptions, OtelExportSummary } from './otel-export';
import { typedLengthChecks } from '../cim/typed-length-checks';
import { agentNameSchema } from '../cim/scope-context';
import { requireServedAgent } from './served-agent';
import { refusedAsTooLarge, requireSendable } from './sendable';
import { describeRun, encodedWithoutCodec } from './run-describe';
import { ReachableConnection, TemporalUnreachableError, requireReachable } from './temporal-reachable';
import { persisting, settleThenRead } from './second-look';
import { sessionStartOf } from './history';
import { DEFAULT_NAMESPACE, namespaceFromEnv } from '../cim/temporal-namespace';

export { InvalidArgumentError, PayloadTooLargeError, SessionPrunedError, TemporalUnreachableError, UnencodableValueError, UnknownAgentError, UnknownIdError };

// Strict, so a misspelt key (`taskqueue`) is named rather than the field it left missing.
export const ConnectOptions = z.strictObject({
  // The one option that is not data: checked for what the client calls on it.
  store: z.custom<Store>(
    (v) => typeof v === 'object' && v !== null && typeof (v as Partial<Store>).scopesOfSession === 'function',
    'give the store the workers write to (await openStore(), the same options as theirs)',
  ),
  address: TemporalAddressOption.optional(),
  // Default: the store's (openStore's namespace, itself TEMPORAL_NAMESPACE or `default`); another is refused.
  namespace: z.string().min(1).optional(),
  taskQueue: z.string().min(1).max(200),
  // Objects connect passes on as they are (see connect).
  connection: z.custom<Connection>().optional(),
  dataConverter: z.custom<DataConverter>().optional(),
  delegationKey: z.custom<DelegationKey>().optional(),
  fingerprintKey: z.custom<FingerprintKey>().optional(),
});

export const StartSessionOptions = typedLengthChecks(z.strictObject({
  input: z.unknown(),
  objective: z.string().max(10_000).optional(),
  sessionId: SessionId.optional(),
  /**
   * Start an agent given by name even when no worker has registered it yet (a worker deployed
   * after the client): Temporal holds the session until one serves it.
   */
  waitForWorker: z.boolean().optional(),
}));

export const ActionsUnderArgs = typedLengthChecks(z.strictObject({
  scopeId: Id,
  descendants: z.boolean().default(false),
  kinds: z.array(ActionKindSchema).optional(),
  tool: printableText(200).optional(),
  checkSeals: z.boolean().default(false),
}));

export interface ActionsUnderOptions {
  descendants?: boolean;
  kinds?: ActionKind[];
  tool?: string;
}

/** Whether an answer also holds the session's rows to their seals (storedSealProblems). */
const SealCheckArgs = z.strictObject({ checkSeals: z.boolean().default(false) });

export interface SessionHandle<O> {
  sessionId: string;
  /** The root agent's result (the final run's, after any handoffs). */
  result(): Promise<O>;
}

/** How long startSession waits for the store to say it is prepared, for a session with a generated id. */
const STORE_LOOK_MS = 2_000;

/**
 * The namespace a client works in. The store reads one namespace's records (openStore's
 * `namespace`): a client of another would answer from that one's rows (a session of its own
 * "not in the store", an id "taken" by the other's session), so it is refused; without one
 * given, the client takes the store's. A store that does not say: TEMPORAL_NAMESPACE, else `default`.
 */
function clientNamespace(given: string | undefined, store: Store): string {
  const stores = typeof store.namespace === 'string' ? store.namespace : undefined;
  if (given !== undefined && stores !== undefined && given !== stores) {
    throw new InvalidArgumentError(
      'ScopeClient.connect',
      new z.ZodError([{
        code: 'custom',
        path: ['namespace'],
        input: given,
        message:
          `the store reads the records of namespace "${stores}", not "${given}": open the store with the same namespace ` +
          `(openStore({ namespace: ${JSON.stringify(given)} }) or TEMPORAL_NAMESPACE), or leave namespace out to use the store's`,
      }]),
    );
  }
  return given ?? stores ?? namespaceFromEnv('ScopeClient.connect', process.env) ?? DEFAULT_NAMESPACE;
}

export interface SessionsOptions {
  agent?: string;
  status?: ScopeRecord['status'];
  since?: string;
  limit?: number;
  /** The `next` of the page before: the sessions after its last one. */
  after?: string;
  crossCheck?: boolean;
}

export class ScopeClient {
  private constructor(
    readonly temporal: Client,
    readonly store: Store,
    readonly taskQueue: string,
    private readonly ownConnection: Connection | undefined,
    private readonly connection: Connection,
    private readonly namespace: string,
    /** Reads the text the workers stored encoded: the codec's decode, or a placeholder without one. */
    private readonly text: TextCodec,
  ) {}

  private visibilityCheck: Promise<boolean> | undefined;
  private delegationKey: DelegationKey | undefined;
  private checker: ReceiptChecker | undefined;

  /**
   * What MCP receipts' signatures are checked with (the servers' delegation key), or why they
   * cannot be. Looked up when first needed: most queries read no receipt.
   */
  receiptChecker(): ReceiptChecker {
    this.checker ??= receiptChecker(this.delegationKey);
    return this.checker;
  }

  private deploymentKey: FingerprintKey | undefined;
  private manifests: SignatureChecker | undefined;

  /**
   * The key outputs were fingerprinted with, if this reader has it (verify holds the rows to
   * history with it). Only a key that is nowhere is taken as none: one that is set but
   * unusable (not hex or base64, too short, a file others can read) is an error, or verify
   * would skip the check and still say the session is clean.
   */
  private fingerprintKey(): FingerprintKey | undefined {
    if (this.deploymentKey) return this.deploymentKey;
    try {
      return loadFingerprintKey(process.env, undefined, { create: false });
    } catch (err) {
      if (err instanceof MissingFingerprintKeyError) return undefined;
      throw err;
    }
  }

  private manifestChecker(): SignatureChecker {
    this.manifests ??= manifestChecker(this.deploymentKey);
    return this.manifests;
  }
  /** Root agents startSession found registered: not looked up again (client/served-agent.ts). */
  private readonly servedAgents = new Set<string>();

  /** Whether the server has scopetrail's search attributes, so sessions publish their scopes to visibility. */
  async visibility(): Promise<boolean> {
    // Asked only of a server that answers: the "no" of one that does not would be kept for good.
    if (!this.visibilityCheck) await this.requireTemporal();
    this.visibilityCheck ??= hasSearchAttributes(this.connection, this.namespace);
    return this.visibilityCheck;
  }

  /**
   * Resolves once the Temporal server answers; a TemporalUnreachableError naming its address
   * otherwise, within seconds (client/temporal-reachable.ts). Every method that needs Temporal
   * asks first; the store-only ones never do.
   */
  async requireTemporal(): Promise<void> {
    const fix = this.ownConnection
      ? 'start it, or give its address with ScopeClient.connect({ address }) or TEMPORAL_ADDRESS'
      : 'start it, or give ScopeClient.connect a connection to a server that answers';
    await requireReachable(this.connection, fix);
  }

  /**
   * `dataConverter`: the workers' data converter (at least their `payloadCodecs`, e.g.
   * encryption). Sessions are then started with encoded input and objective, histories
   * are decoded for reconcile and verify, and stored text the workers encoded is decoded
   * in every answer (see docs/encryption.md).
   */
  static async connect(
    options: z.input<typeof ConnectOptions> & {
      store: Store;
      connection?: Connection;
      dataConverter?: DataConverter;
      /** What MCP receipts are checked with (verify, wasTouched): default, the environment's, as MCP servers find it. */
      delegationKey?: DelegationKey;
      /** The workers' deployment key, what manifests are checked with (verify, drift): default, the environment's or the key file. */
      fingerprintKey?: FingerprintKey;
    },
  ): Promise<ScopeClient> {
    const o = parse('ScopeClient.connect', ConnectOptions, options);
    const namespace = clientNamespace(o.namespace, options.store);
    // Lazy: queries that only read the store never need the Temporal server.
    const own = options.connection
      ? undefined
      : ReachableConnection.lazy({ address: o.address ?? addressFromEnv('ScopeClient.connect') ?? 'localhost:7233' });
    const connection = options.connection ?? own!;
    const codecs = options.dataConverter?.payloadCodecs ?? [];
    const text = codecs.length ? textCodec(codecs) : opaqueTextCodec();
    const temporal = new Client({ connection, namespace, ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}) });
    const client = new ScopeClient(temporal, decodingStore(preparedStore(options.store, 'ScopeClient'), text), o.taskQueue, own, connection, namespace, text);
    client.delegationKey = options.delegationKey;
    client.deploymentKey = options.fingerprintKey;
    return client;
  }

  async startSession<I, O>(
    agent: AgentWorkflow<I, O> | string,
    options: { input: I; objective?: string; sessionId?: string; waitForWorker?: boolean },
  ): Promise<SessionHandle<O>> {
    const o = parse('startSession', StartSessionOptions, options);
    parse('startSession', AgentArg, agent, 'agent');
    const agentName = parse('startSession', agentNameSchema(), typeof agent === 'string' ? agent : agent.manifest.name, 'agent');
    const inputBytes = await requireSendable(this.temporal, 'startSession', 'input', options.input);
    const sessionId = o.sessionId ?? `ses-${randomBytes(6).toString('hex')}`;
    await this.requireTemporal();
    const visible = await this.visibility();
    const objective = o.objective ? o.objective : null;
    // The root's search attributes and scope memo go with its start (cim/scope-visibility.ts).
    const root = { sessionId, scopeId: rootScopeId(sessionId), kind: 'root' as const, parentScopeId: null, handoffFromScopeId: null, agent: agentName, delegatedBy: null };
    // A store that does not answer cannot say the id is free: an id of a session whose history is
    // gone would be started over its rows, so the start is refused, saying why, not left to a driver error.
    // A store no worker has prepared (NoStoreError) is not the one the workers write: the session's records
    // would be nowhere this client looks. Unless the caller waits for a worker, which prepares it as it starts.
    const lookup = (): Promise<boolean> =>
      this.store.sessionHasScopes(sessionId).catch((err: unknown) => {
        if (err instanceof NoStoreError) {
          if (o.waitForWorker) return false;
          throw err;
        }
        // A generated id is new: a store that does not answer now does not stop the start (workers spool).
        if (o.sessionId === undefined) return false;
        throw new SessionIdUncheckedError(sessionId, String((err as Error)?.message ?? err).split('\n')[0]!);
      });
    // For a generated id the look only asks whether the store is prepared: a store slow to answer does not hold the start.
    const taken = o.sessionId !== undefined ? await lookup() : !o.waitForWorker && (await answerWithin(lookup(), STORE_LOOK_MS, false));
    if (taken) {
      // Its history may be gone (retention), its rows are not: a new run would write over them.
      throw new SessionIdTakenError(sessionId, 'the store holds its records');
    }
    // A name is checked: a mistyped one would hold the session for good. An agent given as its
    // workflow is one the caller's code defines, which a worker deployed later may serve.
    if (typeof agent === 'string' && !o.waitForWorker) await requireServedAgent(this.store, agentName, this.servedAgents);
    const mark = storeMark(this.store);
    const handle = await this.temporal.workflow.start(agentName, {
      workflowId: sessionId,
      // A session id names one session for good: reusing a closed one would write a new root over its records.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      taskQueue: this.taskQueue,
      args: [options.input],
      memo: {
        ...(objective !== null ? { [OBJECTIVE_MEMO]: objective } : {}),
        [VISIBILITY_MEMO]: visible,
        ...(visible ? { [SCOPE_MEMO]: scopeMemo(root, objective) } : {}),
        ...(mark ? { [STORE_MEMO]: mark } : {}),
      },
      ...(visible ? { typedSearchAttributes: scopeSearchAttributes(root) } : {}),
    }).catch((err: unknown) => {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new SessionIdTakenError(sessionId, 'Temporal has a workflow with that id');
      throw refusedAsTooLarge(err, 'startSession', 'input', inputBytes);
    });
    return {
      sessionId,
      result: async () => unwrapAgentResult(await handle.result()).value as O,
    };
  }

  /** Every scope of a session as a tree: delegations nest, handoffs sit beside the scope they came from. */
  async scopeTree(sessionId: string): Promise<ScopeTree> {
    const id = parse('scopeTree', Id, sessionId, 'sessionId');
    const scopes = await this.store.scopesOfSession(id);
    if (scopes.length === 0) throw await this.missing('session', id);
    return buildScopeTree(id, scopes);
  }

  async scope(scopeId: string): Promise<ScopeRecord> {
    return (await this.located(scopeId)).record;
  }

  /** The scope with where its session's rows are kept: what follows reads that one month. */
  private async located(scopeId: string): Promise<LocatedScope> {
    const id = parse('scope', Id, scopeId, 'scopeId');
    const found = await this.store.locateScope(id);
    if (!found) throw await this.missing('scope', id);
    return found;
  }

  /**
   * Actions done under a scope, and with `descendants` under every scope it delegated to, transitively.
   * With `checkSeals: true` the answer is `{ actions, sealProblems }` instead of the bare list:
   * `sealProblems` are the rows of the scope's session that do not match the seals stored with
   * them (changed, forged or removed since they were sealed; the store alone, no call to Temporal;
   * `verify` also holds the seals to their anchors). Off by default: it reads and hashes every
   * row of the session.
   */
  async actionsUnder(scopeId: string, options?: ActionsUnderOptions & { checkSeals?: false }): Promise<ActionRecord[]>;
  async actionsUnder(scopeId: string, options: ActionsUnderOptions & { checkSeals: true }): Promise<{ actions: ActionRecord[] } & SealChecked>;
  async actionsUnder(scopeId: string, options: ActionsUnderOptions & { checkSeals?: boolean }): Promise<ActionRecord[] | ({ actions: ActionRecord[] } & SealChecked)>;
  async actionsUnder(
    scopeId: string,
    options: ActionsUnderOptions & { checkSeals?: boolean } = {},
  ): Promise<ActionRecord[] | ({ actions: ActionRecord[] } & SealChecked)> {
    const o = parse('actionsUnder', ActionsUnderArgs, { scopeId, ...options });
    const located = await this.located(o.scopeId);
    const read = this.store.actionsUnder(located, { descendants: o.descendants, kinds: o.kinds, tool: o.tool });
    if (!o.checkSeals) return read;
    const [actions, sealProblems] = await Promise.all([read, storedSealProblems(this.store, located.record.sessionId)]);
    return { actions, sealProblems };
  }

  async actionsOfSession(sessionId: string): Promise<ActionRecord[]> {
    return this.store.actionsOfSession(parse('actionsOfSession', Id, sessionId, 'sessionId'));
  }

  /** Sessions, newest first, with their rolled-up status; `crossCheck` asks Temporal whether each exists. At most `limit` (default 50). */
  async sessions(options: SessionsOptions = {}): Promise<SessionListing[]> {
    return (await this.sessionsPage(options)).sessions;
  }

  /** As sessions(), and whether the limit left older matching sessions out. */
  async sessionsPage(options: SessionsOptions = {}): Promise<SessionsPage> {
    const { crossCheck, ...rest } = options;
    const o = parse('sessions', SessionsArgs, rest);
    return listSessions(this.store, crossCheck ? this.temporal : undefined, o);
  }

  /**
   * Where the failure that failed a session started (cim/forensics/root-cause.ts), its attempts, and the delegation chain up to the root.
   * With `checkSeals: true` the answer is `{ rootCause, sealProblems }`: the session's rows that do
   * not match the seals stored with them (as actionsUnder's). Off by default: it reads and hashes every row of the session.
   */
  async rootCause(sessionId: string, options?: { checkSeals?: false }): Promise<RootCause | null>;
  async rootCause(sessionId: string, options: { checkSeals: true }): Promise<{ rootCause: RootCause | null } & SealChecked>;
  async rootCause(sessionId: string, options: { checkSeals?: boolean }): Promise<RootCause | null | ({ rootCause: RootCause | null } & SealChecked)>;
  async rootCause(sessionId: string, options: { checkSeals?: boolean } = {}): Promise<RootCause | null | ({ rootCause: RootCause | null } & SealChecked)> {
    const id = parse('rootCause', Id, sessionId, 'sessionId');
    const { checkSeals } = parse('rootCause', SealCheckArgs, options);
    await this.requireSession(id);
    if (!checkSeals) return sessionRootCause(this.store, id);
    const [rootCause, sealProblems] = await Promise.all([sessionRootCause(this.store, id), storedSealProblems(this.store, id)]);
    return { rootCause, sealProblems };
  }

  /**
   * Resources a scope touched (with modes, tools and scopes), by default with its descendants.
   * `checkSeals: true` adds `sealProblems`: the rows of the scope's session that do not match the
   * seals stored with them (as actionsUnder's). Off by default: it reads and hashes every row of
   * the session, where the footprint itself reads only the scope's.
   */
  async footprint(scopeId: string, options: { descendants?: boolean; checkSeals: true }): Promise<FootprintReport & SealChecked>;
  async footprint(scopeId: string, options?: { descendants?: boolean; checkSeals?: boolean }): Promise<FootprintReport>;
  async footprint(scopeId: string, options: { descendants?: boolean; checkSeals?: boolean } = {}): Promise<FootprintReport> {
    const o = parse('footprint', z.strictObject({ scopeId: Id, descendants: z.boolean().default(true), checkSeals: z.boolean().default(false) }), { scopeId, ...options });
    const located = await this.located(o.scopeId);
    const report = scopeFootprint(this.store, located, o.descendants, () => this.receiptChecker());
    if (!o.checkSeals) return report;
    const [answer, sealProblems] = await Promise.all([report, storedSealProblems(this.store, located.record.sessionId)]);
    return { ...answer, sealProblems };
  }

  /**
   * Was `resource` (a URI, or a prefix ending in `*`) touched under the scope or its
   * descendants? A "no" comes with the session's reconcile against Temporal history:
   * zero differences means the store holds every action that ran.
   */
  async wasTouched(scopeId: string, resource: string, onProgress?: (historiesRead: number) => void): Promise<TouchedReport> {
    const id = parse('wasTouched', Id, scopeId, 'scopeId');
    const res = parse('wasTouched', ResourceArg, resource, 'resource');
    const located = await this.located(id);
    await this.requireTemporal();
    return wasTouched(this.store, this.temporal, located, res, () => this.receiptChecker(), onProgress);
  }

  /**
   * A scope's rolled-up status with its children's and its own calls' outcomes.
   * `checkSeals: true` adds `sealProblems`: the rows of the scope's session that do not match the
   * seals stored with them (as actionsUnder's); a status rewritten after the scope was sealed is
   * one. Off by default: it reads and hashes every row of the session.
   */
  async status(scopeId: string, options: { checkSeals: true }): Promise<StatusReport & SealChecked>;
  async status(scopeId: string, options?: { checkSeals?: boolean }): Promise<StatusReport>;
  async status(scopeId: string, options: { checkSeals?: boolean } = {}): Promise<StatusReport> {
    const { checkSeals } = parse('status', SealCheckArgs, options);
    const located = await this.located(scopeId);
    const report = scopeStatus(this.store, located);
    if (!checkSeals) return report;
    const [answer, sealProblems] = await Promise.all([report, storedSealProblems(this.store, located.record.sessionId)]);
    return { ...answer, sealProblems };
  }

  /** Which agents orchestrate, which are sub-agents (both is possible), and why. */
  async roles(): Promise<RoleEntry[]> {
    return agentRoles(this.store, () => this.manifestChecker());
  }

  /** Agents whose observed tools, sub-agents or versions differ from their manifests. */
  async drift(agent?: string): Promise<DriftEntry[]> {
    const name = agent === undefined ? undefined : parse('drift', AgentNameArg, agent, 'agent');
    const entries = await agentDrift(this.store, name, () => this.manifestChecker());
    if (name !== undefined && entries.length === 0 && !(await this.store.manifests()).some((m) => m.name === name)) {
      // An agent nothing knows of is a mistyped name, not one without drift.
      if (!(await agentRoles(this.store)).some((r) => r.agent === name)) throw new UnknownIdError('agent', name);
    }
    return entries;
  }

  /**
   * The usage rollup roles, drift and health read, against a recount of the sealed
   * scopes' rows; with `repair`, a rollup that differs is replaced by the recount.
   */
  async verifyUsage(options: { repair?: boolean } = {}): Promise<UsageCheckReport> {
    const { repair } = parse('verifyUsage', z.strictObject({ repair: z.boolean().default(false) }), options);
    return verifyUsage(this.store, this.namespace, { repair });
  }

  async timeline(sessionId: string): Promise<TimelineEvent[]> {
    const id = parse('timeline', Id, sessionId, 'sessionId');
    await this.requireSession(id);
    return sessionTimeline(this.store, id);
  }

  /** Compares the session's Temporal histories with its CIM rows: missing, extra and mismatched records. */
  async reconcile(
    sessionId: string,
    options: ReconcileRunOptions = {},
  ): Promise<ReconcileReport & { repaired: number }> {
    const id = parse('reconcile', Id, sessionId, 'sessionId');
    await this.requireTemporal();
    try {
      const report = await reconcile(this.temporal, this.store, id, options);
      // Nothing to compare: the session's records were dropped by retention, as anchored.
      if (report.pruned) throw new SessionPrunedError(id, { sessionId: id, ...report.pruned });
      return report;
    } catch (err) {
      if (!(err instanceof SessionNotFoundError)) throw err;
      if (err.sessionOf !== undefined) throw new NotASessionError(id, err.sessionOf, err.message);
      // A store no worker has prepared says so (NoStoreError), rather than call the id unknown.
      const scopes = await this.store.scopesOfSession(id).catch((e: unknown) => {
        if (e instanceof NoStoreError) throw e;
        return [];
      });
      // A handoff's scope runs in its session's workflow, so Temporal has no workflow of its id; the store says whose it is.
      if (scopes.length === 0) throw await this.missing('session', id);
      // Rows Temporal has no history for: past the namespace's retention, or written outside scopetrail.
      throw new SessionNotFoundError(
        id,
        `session "${id}" has ${scopes.length} scope row(s) in the store but no history in Temporal (namespace ${this.namespace}): ` +
          `past the namespace's retention, or written outside scopetrail; nothing to reconcile them against`,
      );
    }
  }

  /**
   * Recomputes the hash chains of a session's scopes and checks them against the seals
   * anchored in Temporal and against the session's history: any edit, removal or
   * insertion is named, and so is a row that no longer parses.
   */
  async verify(sessionId: string): Promise<VerifyReport> {
    const id = parse('verify', Id, sessionId, 'sessionId');
    // Before the store is read: verify compares with Temporal, always.
    await this.requireTemporal();
    const stored = await this.store.chainsOfSession(id);
    if (stored.chains.length === 0 && stored.invalid.length === 0) {
      const report = await this.reconcile(id).catch((err: unknown) => {
        // Pruned, or the id of a delegation inside a session: each says so better than "no session".
        if (err instanceof SessionPrunedError || err instanceof NotASessionError) throw err;
        return undefined;
      });
      // A session history knows and the store has lost every row of (deleted, or moved
      // to another session id) is not unknown: verify names each scope history expects.
      // Nor is one whose root waits for its first workflow task: nothing is recorded yet.
      if (!report || report.runs === 0) throw new UnknownIdError('session', id);
    }
    const once = async (chains: typeof stored, seen?: { open: boolean }) =>
      verifySession(this.temporal, this.store, new TemporalSealAnchors(this.temporal.connection), id, chains, () => this.receiptChecker(), this.text, () => this.manifestChecker(), () => this.fingerprintKey(), seen);
    const seen = { open: false };
    const first = await once(stored, seen);
    if (first.problems.length === 0 || !seen.open) return first;
    // A session still running changes between the reads of the store, its history and its
    // anchors: a scope sealed or a call ended in between looks like a difference. Read again:
    // what a second look also finds is reported.
    const second = await settleThenRead(() => this.store.chainsOfSession(id).then((again) => once(again)));
    return { ...second, problems: persisting(first.problems, second.problems, (p) => `${p.problem}\u0000${p.recordId}\u0000${p.scopeId}`) };
  }

  /**
   * Which agent and scope produced each part of `text` (outputs of the session put
   * together, reordered or redacted), from the keyed fingerprints of every output.
   * The key defaults to the workers' (SCOPETRAIL_FINGERPRINT_KEY, else the key file).
   */
  async attribute(sessionId: string, text: string, options: { key?: FingerprintKey } = {}): Promise<AttributionReport> {
    const id = parse('attribute', Id, sessionId, 'sessionId');
    const body = parse('attribute', z.object({ text: AttributeText }), { text }).text;
    return attributeSession(this.store, id, body, () => options.key ?? loadFingerprintKey(process.env, undefined, { create: false })).catch(async (err: unknown) => {
      throw err instanceof UnknownIdError ? await this.missing('session', id) : err;
    });
  }

  /**
   * Sends the session to an OTLP/HTTP endpoint as OpenTelemetry GenAI spans (see
   * docs/opentelemetry.md). Span ids derive from record ids, so exporting again is idempotent.
   */
  async exportOtel(sessionId: string, options: OtelExportOptions = {}): Promise<OtelExportSummary> {
    const id = parse('exportOtel', Id, sessionId, 'sessionId');
    const scopes = await this.store.scopesOfSession(id);
    if (scopes.length === 0) throw await this.missing('session', id);
    // Loaded on use: the OTel exporter is only needed by this one method.
    const { exportSessionToOtlp } = require('./otel-export') as typeof import('./otel-export');
    // As footprint counts them: an MCP call carries what its receipt reports, and whether its signature vouches for it.
    // A receipt row that does not parse is left out, as the OCSF export leaves it (verify names it).
    const { receipts } = await this.store.receipts().checkedOfSession(id);
    const byCall = receipts.length ? receiptsByCall(receipts, this.receiptChecker()) : undefined;
    return exportSessionToOtlp(id, scopes, await this.store.actionsOfSession(id), options, process.env, byCall);
  }

  private async requireSession(sessionId: string): Promise<void> {
    if ((await this.store.scopesOfSession(sessionId)).length === 0) throw await this.missing('session', sessionId);
  }

  /**
   * Whether retention pruned the session `id` names (a session id, or a root's or a
   * delegation's scope id): the prune, when the store recorded the month the session started
   * in and Temporal holds its anchor; undefined otherwise, or when Temporal cannot tell.
   */
  async prunedSession(id: string): Promise<PrunedSession | undefined> {
    return prunedSessionOf(this.temporal, this.store, parse('prunedSession', Id, id, 'id'));
  }

  /** The error for an id the store does not hold: why, when its session was pruned; else unknown. */
  async missing(what: 'session' | 'scope', id: string): Promise<UnknownIdError> {
    if (what === 'session') {
      // A scope's id where a session's was wanted: say whose scope it is, as verify and reconcile do.
      const scope = await this.store.locateScope(id).catch((e: unknown) => {
        if (e instanceof NoStoreError) throw e;
        return undefined;
      });
      if (scope && scope.record.sessionId !== id) {
        return new NotASessionError(
          id,
          scope.record.sessionId,
          `"${id}" is not a session: it is a ${scope.record.kind} scope inside session "${scope.record.sessionId}"; ` +
            `give the session's id, or ask about the scope with scope, actions, footprint, touched or status`,
        );
      }
    }
    const pruned = await this.prunedSession(id);
    if (pruned) return new SessionPrunedError(id, pruned, what);
    const started = what === 'session' ? await this.startedInTemporal(id) : undefined;
    return started
      ? new UnknownIdError(
          what,
          id,
          `no session "${id}" in the store, though Temporal has it (started ${started}): its records have not reached the store, or were removed from it. ` +
            `A worker that cannot write (the store down, its disk full) holds them and writes them once it can (its log says so); \`scopetrail reconcile ${id}\` tells which`,
        )
      : new UnknownIdError(what, id);
  }

  /**
   * Whether Temporal has the session `sessionId` (its root workflow, run or closed): false when it
   * has none of that id (rows written into the store by hand, or a session past the namespace's
   * retention), undefined when it does not answer within `withinMs`.
   */
  async sessionInTemporal(sessionId: string, withinMs = 3_000): Promise<boolean | undefined> {
    const id = parse('sessionInTemporal', Id, sessionId, 'sessionId');
    // Asked only once the server is known to answer: a first call to an address nothing listens on waits out the SDK's retries.
    const answer = (async () => {
      await this.requireTemporal();
      return (await this.temporal.connection.withDeadline(Date.now() + withinMs, () => describeRun(this.temporal, id))) !== undefined;
    })().catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, withinMs, undefined);
    });
    try {
      return await Promise.race([answer, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** When Temporal says the session `id` started, if it has it; undefined too when it does not answer in time (this only explains an error). */
  private async startedInTemporal(id: string): Promise<string | undefined> {
    try {
      const start = await this.temporal.connection.withDeadline(Date.now() + 5_000, () => sessionStartOf(this.temporal, id));
      return start?.sessionId === id ? start.sessionStartedAt : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Asks a running agent to hand control to a peer at its next safe point. The
   * agent decides when (see checkpoint()); the signal itself is recorded as an action.
   * `workflowId` is the session id for the root chain, or a delegated scope's id.
   * A run that ends before its next checkpoint drops the request (its row then says
   * `error`, with why): the receipt's `outcome()` waits for the run the request was
   * sent to and says whether it was honoured.
   */
  async requestHandoff(workflowId: string, request: { to: string; reason: string; input?: unknown }): Promise<HandoffRequestReceipt> {
    const id = parse('requestHandoff', Id, workflowId, 'workflowId');
    // Strict, as every method's options are: a mistyped \`too\` is named with the field meant, not as \`to\` missing.
    const req = parse('requestHandoff', HandoffRequest.strict(), request);
    // The request is one payload; only its input can make it too large (to and reason are short).
    const bytes = await requireSendable(this.temporal, 'requestHandoff', 'input', req, req.input);
    await this.requireTemporal();
    const sent = await this.sendHandoffRequest(id, req, bytes);
    const known = async () => new Set((await this.store.storedManifests()).manifests.map((m) => m.manifest.name));
    let outcome: Promise<HandoffOutcome> | undefined;
    // Kept once answered; a failed look (Temporal or the store down) is tried again at the next call.
    const look = () => handoffOutcome(this.temporal, sent, known).catch((err: unknown) => {
      outcome = undefined;
      throw err;
    });
    return { workflowId: id, runId: sent.runId, outcome: () => (outcome ??= look()) };
  }

  /**
   * Signals the chain's current run, named: its end decides the request. A run that closes
   * between finding it and signalling it (a continue-as-new) is followed to the next one.
   */
  private async sendHandoffRequest(id: string, req: HandoffRequest, bytes: number): Promise<SentRequest> {
    for (let tries = 1; ; tries++) {
      // Described raw: finding the run and its status decodes none of its payloads (client/run-describe.ts).
      const run = await describeRun(this.temporal, id);
      // Nothing of that id in Temporal: a mistyped session or scope id, named like any other.
      if (!run) {
        throw new UnknownIdError('session', id, `no agent "${id}" in Temporal (namespace ${this.namespace}): give the id of a session or of a delegation in one (scopetrail sessions lists them)`, 'workflowId');
      }
      const { runId, historyLength, status } = run;
      // The request's reason and input are the user's text: a run whose payloads are encoded with a codec
      // this client lacks would receive them in plain text, in a history that holds none (docs/encryption.md).
      if (status === 'RUNNING' && encodedWithoutCodec(this.temporal, run.memo)) {
        throw new CodecRequiredError(
          `requestHandoff: workflow "${id}" is encoded with a payload codec this client does not have, and the request's reason and input would reach its history unencoded; ` +
            "give the client the workers' payload codec (ScopeClient.connect({ dataConverter: { payloadCodecs } }), or the CLI's --codec <module> / --codec-endpoint <url>)",
        );
      }
      try {
        await this.temporal.workflow.getHandle(id, runId).signal(HANDOFF_SIGNAL, req);
        return { workflowId: id, runId, afterEventId: historyLength, request: req };
      } catch (err) {
        // Closed when found: the chain has ended (one that closed since is described again, below).
        if (err instanceof WorkflowNotFoundError && status !== 'RUNNING') throw new RunClosedError('requestHandoff', id, status);
        const movedOn = err instanceof WorkflowNotFoundError && tries < 5;
        if (!movedOn) throw refusedAsTooLarge(err, 'requestHandoff', 'input', bytes);
      }
    }
  }

  /**
   * Retention: drops the months whose sessions all started before `before`'s month and
   * have all ended (see client/prune.ts); refuses while such a month holds a running session.
   */
  async prune(before: Date | string, options: { dryRun?: boolean } = {}): Promise<PruneReport> {
    const when = parse('prune', z.object({ before: z.coerce.date({ error: 'give a Date or a date string such as 2026-01-01' }) }), { before }).before;
    return pruneStore(this.store, this.temporal, when, { ...options, requireTemporal: () => this.requireTemporal() });
  }

  async close(): Promise<void> {
    // A lazy connection that was never used has nothing to close.
    await this.ownConnection?.close().catch(() => undefined);
  }
}
