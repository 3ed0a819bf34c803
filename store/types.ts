/** The store interface every backend (Postgres, embedded PGlite) implements. */
import type { FiledRows } from './placement-check';
import type { Hashed } from './seal-source';
import type { ScopePlace } from '../cim/forensics/footprint';
import type { ActionTally } from '../cim/forensics/summary';
import type { ActionKind, ActionRecord, Manifest, ScopeRecord, ScopeStatus } from '../cim/schemas';
import type { AgentUsage, UsageDifference } from '../cim/forensics/usage';
import type { FingerprintRecord, FingerprintStore } from './fingerprint-store';
import type { ReceiptStore } from './receipt-store';
import type { DashboardQueries } from './dashboard-queries';
import type { Seal } from '../cim/seal';
import type { InvalidRow, InvalidStoredRowError } from './rows';
import type { Retention } from './prune';
import type { KeyedSignature, Signer } from '../cim/keyed-signature';
import type { StoredManifests } from '../cim/manifest-signature';
import type { FootprintRows } from './footprint-rows';
import type { RunRef } from './run-status';

/**
 * Anchors computed seals outside the database before they are written (see
 * store/seal-anchor.ts) and answers the scope ids whose seal may be written.
 */
export type SealConfirm = (seals: readonly Seal[]) => Promise<ReadonlySet<string>>;

export interface PayloadRecord {
  namespace: string;
  actionId: string;
  side: 'input' | 'output';
  body: unknown;
}

/** What one group commit writes. */
export interface StoreBatch {
  scopes?: ScopeRecord[];
  actions?: ActionRecord[];
  payloads?: PayloadRecord[];
  /** Records that only fill gaps (see Store.fillActionGaps). */
  gaps?: ActionRecord[];
  fingerprints?: FingerprintRecord[];
}

/**
 * A scope read back with the key of the partition its session's rows are kept in (its
 * session's start, store/partitions.ts): queries that start from it name that one month
 * instead of probing every month's index.
 */
export interface LocatedScope {
  record: ScopeRecord;
  /** As the database gave it, to be handed back as a parameter (exact to the microsecond). */
  sessionStartedAt: string;
}

export interface ActionsUnderOptions {
  descendants: boolean;
  kinds?: ActionKind[];
  tool?: string;
}

export interface ListSessionsOptions {
  /** Sessions in which this agent ran any scope. */
  agent?: string;
  /** Sessions started at or after this ISO time. */
  since?: string;
  /** Sessions whose rolled-up status (cim/forensics/summary.ts) is this one; filtered before the limit. */
  status?: ScopeStatus;
  limit: number;
  /** `newest` first (the default) or `oldest` first; ties of start time go by session id. */
  order?: 'newest' | 'oldest';
  /** Only the sessions after this one in the listing's order: the last of the page before. */
  after?: SessionKey;
}

/**
 * A session as a listing orders it: its root's start, as the store holds it (to the
 * microsecond, so a page ends exactly where the next begins), and its id.
 */
export interface SessionListingRows {
  scopes: Map<string, ScopeRecord[]>;
  unreadable: Map<string, InvalidStoredRowError>;
  tallies: Map<string, ActionTally>;
}

export interface SessionKey {
  startedAt: string;
  sessionId: string;
}

/**
 * Action records a writer committed itself, by scope, with the ids of the transactions
 * that wrote them (32-bit, as `xmin` shows them). A scope is answered only when every
 * action the writer holds for it is finished and known exactly as committed.
 */
export interface CommittedActions {
  /**
   * `count`: how many actions; `hashed`: their chain, when the writer hashed them ahead
   * (store/seal-source.ts). A writer that hashed them may have dropped the records
   * themselves (`actions` absent); without `hashed` they are always there.
   */
  of(namespace: string, scopeId: string): { actions?: readonly ActionRecord[]; count: number; xids: readonly string[]; hashed?: Hashed } | undefined;
  /**
   * Called when a sealing transaction has hashed its scopes and sends its statements: the
   * thread is free until they return, and the writer may hash the next batch meanwhile.
   */
  hashingDone?(): void;
}

/** What a batch write tells the writer: the transaction that committed it, where the backend says. */
export interface WriteReceipt {
  xid: string | null;
  /** What a guarded write wrote (see WriteGuard). */
  written?: StoreBatch;
}

/**
 * Decides what of a batch is written, from which of its actions' scopes are sealed and the
 * rows stored for those actions. Called inside the write's transaction, with the scopes'
 * rows locked against sealing until it commits, so no sealer can seal a scope between the
 * decision and the write. It may be called more than once (a retried transaction): keep it
 * free of side effects. It may be async (decoding text with a payload codec, say): the
 * scopes stay locked while it runs, so keep it short.
 */
export type WriteGuard = (found: SealedRows) => StoreBatch | Promise<StoreBatch>;

/** An ended, unsealed scope the sweep found, with the run named in its row. */
export type UnsealedScope = ScopeKey & { run: RunRef };

/** Where a workflow's runs are recorded (see Store.sessionsOfWorkflows): its session, and the run its scope row names (null: no row, only its delegator's). */
export type WorkflowInStore = { sessionId: string; runId: string | null };

/** A scope whose row still reads `running`, with the run its row names (see Store.runningScopes). */
export type RunningScope = ScopeKey & { sessionId: string; startedAt: string; run: RunRef };

export interface ScopeKey {
  namespace: string;
  scopeId: string;
  /**
   * When the scope's session started, where its rows are kept (the month's partitions):
   * with it, sealing looks the scope and its actions up in that month alone. Keys without
   * it (records of runs from before it was carried) are looked up in every month first.
   */
  sessionStartedAt?: string;
}

/** A scope with its stored chain fields, and its actions with theirs, for verification. */
export interface StoredChain {
  scope: ScopeRecord;
  chainLength: number | null;
  chainHead: string | null;
  scopeHash: string | null;
  actions: Array<{ record: ActionRecord; seq: number | null; prevHash: string | null; hash: string | null }>;
}

/**
 * Keys are `namespace`, a NUL, and the scope id (`sealedScopes`, `storedScopes`) or the
 * action id (`stored`). `storedScopes` holds the sealed scopes' own rows, for the scope
 * records asked about.
 */
export interface SealedRows {
  sealedScopes: ReadonlySet<string>;
  stored: ReadonlyMap<string, ActionRecord>;
  storedScopes?: ReadonlyMap<string, ScopeRecord>;
}

/** A session's chains, and the rows that could not be read back at all. */
export interface SessionChains {
  chains: StoredChain[];
  invalid: InvalidRow[];
  /** The session's rows grouped by the session start each carries (store/placement-check.ts); absent where the store does not say. */
  filed?: FiledRows[];
}

/**
 * What a model is told about a tool: its description and input JSON schema, as the worker
 * that serves it on `taskQueue` computed them (activities/tool-spec.ts).
 */
export interface ServedToolSpec {
  taskQueue: string;
  tool: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  /** As read back: the registering worker's signature (cim/tool-spec-signature.ts), null when it gave none. */
  signature?: KeyedSignature | null;
  /** As read back: the signature columns hold something that is not a signature. */
  signatureInvalid?: boolean;
}

export interface Store {
  /** Where the data lives, for messages (never includes a password). */
  readonly description: string;
  /**
   * Which tables these are, as the configuration names them (server address or data
   * folder, database and schema; never credentials): what a worker keeps on disk for this
   * store, its spool, is filed under it, so that workers of other stores never drain it.
   */
  readonly location?: string;
  /**
   * The Temporal namespace whose records the store's reads return (openStore's `namespace`):
   * a client or worker of another namespace is refused, since it would read this one's rows.
   * Absent where the store does not say.
   */
  readonly namespace?: string;
  migrate(): Promise<void>;
  /** Whether a worker (or `migrate`) has created the store's tables: a query of a store nobody prepared creates nothing. */
  prepared?(): Promise<boolean>;
  /** Whether every migration is applied (read only); a store without the notion is taken as up to date. */
  upToDate?(): Promise<boolean>;
  /** Idempotent: upserting the same record twice leaves one row; a terminal status is never regressed to `running`. */
  upsertScopes(records: readonly ScopeRecord[]): Promise<void>;
  upsertActions(records: readonly ActionRecord[]): Promise<void>;
  /**
   * Writes records only where nothing better is known: inserts missing rows and closes
   * rows still `running`, never touching a finished row. Used for attempts that a later
   * attempt proves have ended without reporting (their worker died).
   */
  fillActionGaps(records: readonly ActionRecord[]): Promise<void>;
  /**
   * Closes scopes still `running` with the given terminal records, with the calls they left
   * open (never touches an ended scope), and writes whole those of which no row exists (a run
   * closed before any of its code ran); the caller seals them. Resolves with how many it wrote.
   */
  fillScopeGaps(records: readonly ScopeRecord[]): Promise<number>;
  /**
   * Writes a whole batch with the rules of the methods above (actions, payloads, gap
   * fills, scopes, fingerprints, in that order) in one transaction. A backend without it
   * is written method by method.
   */
  writeBatch?(batch: StoreBatch, guard?: WriteGuard): Promise<WriteReceipt>;
  upsertPayloads(records: readonly PayloadRecord[]): Promise<void>;
  /** What the handoff made by `scopeId` kept by reference (its input payload), if anything. */
  handoffPayload(scopeId: string): Promise<unknown | undefined>;
  /** The recorded inputs and outputs of the session's tool and LLM calls (`recordPayloads`), as stored. */
  callPayloadsOfSession(sessionId: string): Promise<Array<{ actionId: string; side: 'input' | 'output'; body: unknown }>>;
  /**
   * Computes the hash chain of each ended, never sealed scope among `scopes` (running and
   * sealed scopes are skipped) and writes those `confirm` accepts (all, without it).
   */
  sealScopes(scopes: readonly ScopeKey[], confirm?: SealConfirm, committed?: CommittedActions): Promise<void>;
  /**
   * Of these actions and scope records, the ones whose scope is sealed already, with the
   * row stored for each (none where the store has no row). A spool's drain asks it: a
   * record that arrives after its scope was sealed must not change the sealed rows (see
   * Recorder).
   */
  sealedRowsOf?(actions: readonly Pick<ActionRecord, 'namespace' | 'scopeId' | 'actionId'>[], scopes?: readonly Pick<ScopeRecord, 'namespace' | 'scopeId'>[]): Promise<SealedRows>;
  /**
   * Ended scopes whose chain was never sealed (their sealer died), any namespace, up to
   * `limit`; not those still waiting for calls their run left running (store/open-calls.ts).
   * Each with the run its row says last wrote it, which the sealer waits to see closed.
   */
  unsealedScopes(limit: number): Promise<UnsealedScope[]>;
  /**
   * The session of each of these workflow ids, as the store knows it: from the scope row a
   * root's or a delegation's workflow id names (its scope id), with the run that row names,
   * or else from a `delegate` row targeting it. Ids the store knows nothing of are left out.
   */
  sessionsOfWorkflows?(workflowIds: readonly string[]): Promise<Map<string, WorkflowInStore>>;
  /**
   * Scopes of the store's namespace whose row reads `running` and that started before
   * `startedBefore`, in (start, scope id) order after `after`, up to `limit`: a worker walks
   * them page by page to find the runs Temporal closed without agent code (worker/unended-scopes.ts).
   */
  runningScopes(options: { startedBefore: string; after?: { startedAt: string; scopeId: string }; limit: number }): Promise<RunningScope[]>;
  /** Every scope of a session with its stored chain, for `verify`; rows that do not parse are listed, not thrown. */
  chainsOfSession(sessionId: string): Promise<SessionChains>;
  /**
   * The session's rows grouped by the session start each carries (store/placement-check.ts),
   * for reconcile: rows under another start than the session's own are none that its history
   * explains. Absent where the store does not say.
   */
  filedRowsOfSession?(sessionId: string): Promise<FiledRows[]>;
  /** `signer`: the registering worker's manifest key (cim/manifest-signature.ts); without one they are stored unsigned. */
  upsertManifests(manifests: readonly Manifest[], signer?: Signer): Promise<void>;
  /**
   * Registers the specs of the tools a worker serves on a task queue of the store's namespace,
   * replacing what was registered for the same tool and queue, each signed with `signer`
   * (unsigned without it). Absent where the store keeps none.
   */
  upsertToolSpecs?(specs: readonly ServedToolSpec[], signer?: Signer): Promise<void>;
  /** Every tool spec registered in the store's namespace, the most recently registered first. */
  toolSpecs?(): Promise<ServedToolSpec[]>;
  getScope(scopeId: string): Promise<ScopeRecord | undefined>;
  /** The scope with where its session's rows are kept, for the queries about it that follow. */
  locateScope(scopeId: string): Promise<LocatedScope | undefined>;
  /** `sessionStartedAt` (from a LocatedScope of the session) confines the read to the session's partition. */
  scopesOfSession(sessionId: string, options?: { sessionStartedAt?: string }): Promise<ScopeRecord[]>;
  /**
   * What a listing summarizes of each of `sessionIds`, in two reads whatever their number:
   * the sessions' scopes and the tally of their actions (counted, not read). A session
   * whose scope row does not parse is in `unreadable` with the reason; one whose action
   * rows may not parse (a status, kind or attempt no record has) has no tally, and is
   * summarized from its rows read whole. Absent where the store reads per session.
   */
  sessionListingRows?(sessionIds: readonly string[]): Promise<SessionListingRows>;
  /** Whether the store holds any scope of the session: one indexed probe, asked before every named session starts. */
  sessionHasScopes(sessionId: string): Promise<boolean>;
  /** Where each scope of a session sits (ids and path) and its allowance: what a footprint decides coverage and flags on. */
  scopePlacesOfSession(sessionId: string, options?: { sessionStartedAt?: string }): Promise<ScopePlace[]>;
  /** Actions under a scope given by id or, cheaper, located (no lookup, one partition read). */
  actionsUnder(scope: string | LocatedScope, options: ActionsUnderOptions): Promise<ActionRecord[]>;
  /** The actions under a scope as a footprint reads them: the fields it counts, the refused ones whole. */
  footprintActions(scope: LocatedScope, options: { descendants: boolean }): Promise<FootprintRows>;
  actionsOfSession(sessionId: string): Promise<ActionRecord[]>;
  manifests(): Promise<Manifest[]>;
  /**
   * Every manifest with the signature stored beside it, for the checks that hold one to the
   * other, and the rows that do not read as the manifest they are filed under, named.
   */
  storedManifests(): Promise<StoredManifests>;
  /** Session ids, newest first unless `order` says otherwise. */
  listSessions(options: ListSessionsOptions): Promise<string[]>;
  /** As listSessions, each with its start: the key a next page goes on from (`after`). */
  sessionKeys(options: ListSessionsOptions): Promise<SessionKey[]>;
  /**
   * Grouped counts of the namespace's scopes and actions: what roles, drift and agent
   * health need, at any size. `calls: false` skips the per-call outcomes (health needs
   * them; roles and drift do not), the costliest part.
   */
  agentUsage(options?: { calls?: boolean; recount?: boolean }): Promise<AgentUsage>;
  /**
   * The usage rollup (what agentUsage reads for sealed scopes) against a recount of those
   * scopes' rows: every key whose counts differ. Nothing hashes the rollup, so this is how
   * an edited one is found.
   */
  usageDifferences?(): Promise<UsageDifference[]>;
  /** Replaces the rollup with a recount of the sealed scopes' rows. */
  rebuildUsage?(): Promise<void>;
  /** Every scope and action of the namespace (for tests and small stores; across sessions use agentUsage). */
  allScopes(options?: { agent?: string }): Promise<ScopeRecord[]>;
  actionsOfAgent(agent?: string): Promise<ActionRecord[]>;
  /** The query plan Postgres chooses for the descendants query (for benchmarks and tests). */
  explainActionsUnder(scopeId: string): Promise<string>;
  /** Keyed output fingerprints for provenance (see store/fingerprint-store.ts). */
  fingerprints(): FingerprintStore;
  /** MCP servers' receipts for calls they served under a verified delegation (see store/receipt-store.ts). */
  receipts(): ReceiptStore;
  /** The dashboard's live change tokens and cross-session resource touches (see store/dashboard-queries.ts). */
  dashboard(): DashboardQueries;
  /** Retention: whole months of ended sessions dropped (`scopetrail prune`). */
  retention(): Retention;
  close(): Promise<void>;
}
