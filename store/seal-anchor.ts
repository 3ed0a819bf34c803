/**
 * Seal anchors in Temporal: each sealed chain is written in the memo of a closed
 * workflow that never runs, where a database writer cannot rewrite it. Three kinds, by
 * what the namespace's visibility can find:
 * - with the KeywordList search attribute ScopetrailSealedSessions, the seals of every
 *   session a sealer batch sealed share one anchor, which lists those sessions in the
 *   attribute (cim/seal-sets.ts);
 * - else, where visibility answers a query by workflow id prefix, the seals of one
 *   session sealed together share one anchor, found by its id (cim/seal-batches.ts);
 * - else each scope has its own, whose id derives from the scope and its run and is
 *   started with the REJECT_DUPLICATE reuse policy.
 * Any way, a seal that differs from one already anchored is refused. Anchors close
 * themselves a second after they are written (ANCHOR_CLOSE_AFTER), and their memos are
 * readable for as long as Temporal keeps closed workflows (the namespace's retention),
 * the same horizon as the session's own histories that reconcile reads. Verify reads
 * every kind the namespace can find, so stores sealed before a kind was available
 * verify as they did.
 */
import { NamespaceClients } from './namespace-clients';
import { limiter } from './limiter';
import { Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, isGrpcServiceError, type Connection, type ConnectionLike } from '@temporalio/client';
import { ANCHOR_CLOSE_AFTER, ANCHOR_START_DELAY, SEAL_ANCHOR_TASK_QUEUE, SEAL_ANCHOR_TYPE, SEAL_MEMO, Seal, sameSeal, sealAnchorId, sealDifference } from '../cim/seal';
import {
  SEALS_MEMO,
  SEAL_BATCH_PREFIX,
  anchoredSealOf,
  batchMemo,
  priorAnchor,
  quotableSession,
  sealBatchAnchorId,
  sealBatchPrefix,
  sealBatches,
  sealKey,
  sealsByRun,
  sealsOfMemo,
} from '../cim/seal-batches';
import { SEALED_SESSIONS_ATTRIBUTE, sealSetAnchorId, sealSetInput, sealSetQuery, sealSetSessions, sealSets, sealsOfSetInput } from '../cim/seal-sets';
import { INDEXED_VALUE_TYPE } from '../cim/names';
import { SearchAttributeType, defaultPayloadConverter, defineSearchAttributeKey } from '@temporalio/common';
import type { AnchorLookup } from './chain';
import type { SealConfirm } from './types';

export type AnchorOutcome =
  | { outcome: 'anchored' }
  /** Anchored before with the very same chain (a seal whose store write was lost, or a second sealer). */
  | { outcome: 'same' }
  /** Anchored before with another chain: the rows changed since. `anchored` is null when its memo is unreadable. */
  | { outcome: 'conflict'; anchored: Seal | null };

export interface AnchorOptions {
  /**
   * Which seals to hold against the anchors their session has already before writing
   * one (all, when not given). Only a scope sealed before can meet an earlier seal, and
   * that is a scope the sweep found unsealed (its seal cleared in the database); a scope
   * its worker saw end has none, and the visibility query is the costliest step of
   * anchoring on a busy server. A second seal written without the look is still found
   * by verify, next to the first.
   */
  lookFirst?: (seal: Seal) => boolean;
}

export interface SealAnchors {
  /** Anchors each seal; the outcome of each, by scope id. */
  anchorAll(seals: readonly Seal[], options?: AnchorOptions): Promise<Map<string, AnchorOutcome>>;
  /**
   * What Temporal holds for each scope of a session: `runIds` maps a scope id to the run
   * ids to look under, preferred first.
   */
  readSession(namespace: string, sessionId: string, runIds: ReadonlyMap<string, readonly string[]>): Promise<Map<string, AnchorLookup>>;
}

const ANCHOR_CLOSED = 'seal anchor: the memo holds the chain head; it is never executed';

/** Sessions named in one visibility query: keeps the query text short. */
const SESSIONS_PER_QUERY = 20;

/** Which kinds of shared anchor a namespace's visibility can find (asked once per namespace). */
export interface AnchorKinds {
  /** Anchors holding several sessions' seals, found by the ScopetrailSealedSessions search attribute. */
  sets: boolean;
  /** Anchors holding one session's seals, found by workflow id prefix (`STARTS_WITH`). */
  sessions: boolean;
}

export interface TemporalSealAnchorsOptions {
  /** The kinds of shared anchor a namespace can find: asked of the namespace once when not given. */
  kinds?: (namespace: string) => Promise<AnchorKinds>;
}

const SEALED_SESSIONS_KEY = defineSearchAttributeKey(SEALED_SESSIONS_ATTRIBUTE, SearchAttributeType.KEYWORD_LIST);

export class TemporalSealAnchors implements SealAnchors {

  private readonly clients: NamespaceClients;
  private readonly kindsByNamespace = new Map<string, Promise<AnchorKinds>>();

  constructor(
    private readonly connection: ConnectionLike,
    private readonly options: TemporalSealAnchorsOptions = {},
  ) {
    this.clients = new NamespaceClients(connection);
  }

  async anchorAll(seals: readonly Seal[], options: AnchorOptions = {}): Promise<Map<string, AnchorOutcome>> {
    const outcomes = new Map<string, AnchorOutcome>();
    const byNamespace = new Map<string, Seal[]>();
    for (const seal of seals) {
      const group = byNamespace.get(seal.namespace);
      if (group) group.push(seal);
      else byNamespace.set(seal.namespace, [seal]);
    }
    for (const [namespace, group] of byNamespace) {
      const kinds = await this.kinds(namespace);
      const shared = kinds.sets || kinds.sessions;
      const together = shared ? group.filter((s) => quotableSession(s.sessionId)) : [];
      const alone = shared ? group.filter((s) => !quotableSession(s.sessionId)) : group;
      if (together.length) for (const [id, o] of await this.anchorShared(namespace, kinds, together, options.lookFirst)) outcomes.set(id, o);
      await eachAtOnce(alone, async (seal) => {
        outcomes.set(seal.scopeId, await this.anchorOne(seal));
      });
    }
    return outcomes;
  }

  async readSession(namespace: string, sessionId: string, runIds: ReadonlyMap<string, readonly string[]>): Promise<Map<string, AnchorLookup>> {
    const batched = quotableSession(sessionId) ? await this.listSeals(namespace, await this.kinds(namespace), [sessionId]) : [];
    // Per-scope anchors too, for every scope: written before batching or where visibility
    // cannot find anchors by id prefix, and a batch sealer does not look for them, so a
    // scope sealed again in a batch must still meet its first seal here.
    const single: Seal[] = [];
    const unreadable = new Set<string>();
    await eachAtOnce([...runIds].flatMap(([scopeId, ids]) => ids.map((runId) => ({ scopeId, runId }))), async ({ scopeId, runId }) => {
      const found = await this.readOne(namespace, scopeId, runId);
      if (found === null) unreadable.add(sealKey(scopeId, runId));
      else if (found) single.push(found);
    });
    const byRun = sealsByRun([...batched, ...single]);
    const result = new Map<string, AnchorLookup>();
    for (const [scopeId, ids] of runIds) {
      const found = anchoredSealOf(scopeId, ids, byRun);
      result.set(scopeId, found.state === 'absent' && ids.some((runId) => unreadable.has(sealKey(scopeId, runId))) ? { state: 'unreadable' } : found);
    }
    return result;
  }

  private kinds(namespace: string): Promise<AnchorKinds> {
    let answer = this.kindsByNamespace.get(namespace);
    if (!answer) {
      answer = this.options.kinds ? this.options.kinds(namespace) : this.askKinds(namespace);
      // A server that could not be asked is asked again next time.
      answer.catch(() => this.kindsByNamespace.delete(namespace));
      this.kindsByNamespace.set(namespace, answer);
    }
    return answer;
  }

  private async askKinds(namespace: string): Promise<AnchorKinds> {
    // The two questions are independent: asked together, the first seal batch waits for one round trip less.
    const [sessions, sets] = await Promise.all([
      this.answers(namespace, `WorkflowType = '${SEAL_ANCHOR_TYPE}' AND WorkflowId STARTS_WITH '${SEAL_BATCH_PREFIX}'`),
      this.hasSealedSessionsAttribute(namespace).then((has) => has && this.answers(namespace, sealSetQuery(SEAL_ANCHOR_TYPE, ['probe']))),
    ]);
    return { sets, sessions };
  }

  /**
   * Whether visibility answers `query`. A refusal (a visibility store without list
   * queries, without STARTS_WITH, without the attribute) means that kind of anchor is not
   * used; any other error is thrown, so the seals wait and the question is asked again.
   */
  private async answers(namespace: string, query: string): Promise<boolean> {
    try {
      for await (const _ of this.client(namespace).workflow.list({ query, pageSize: 1 })) break;
      return true;
    } catch (err) {
      if (refusedQuery(err)) return false;
      throw err;
    }
  }

  /** The namespace lists the attribute as a KeywordList (one of another type cannot hold a session list). */
  private async hasSealedSessionsAttribute(namespace: string): Promise<boolean> {
    const connection = this.connection;
    // Only a full Connection has the operator service; a bare ConnectionLike anchors per session.
    if (!('operatorService' in connection)) return false;
    try {
      const res = await (connection as Connection).operatorService.listSearchAttributes({ namespace });
      return Number(res.customAttributes?.[SEALED_SESSIONS_ATTRIBUTE]) === INDEXED_VALUE_TYPE.KeywordList;
    } catch (err) {
      // A namespace whose operator API is closed (Temporal Cloud) anchors per session.
      if (refusedQuery(err) || isPermissionDenied(err)) return false;
      throw err;
    }
  }

  /** Every seal anchored in shared anchors (of either kind the namespace can find) for these sessions. */
  private async listSeals(namespace: string, kinds: AnchorKinds, sessionIds: readonly string[]): Promise<Seal[]> {
    const client = this.client(namespace);
    const seals: Seal[] = [];
    const wanted = new Set(sessionIds);
    // An anchor shared by sessions asked about in two queries is read once.
    const shared = new Set<string>();
    for (let i = 0; i < sessionIds.length; i += SESSIONS_PER_QUERY) {
      const some = sessionIds.slice(i, i + SESSIONS_PER_QUERY);
      if (kinds.sessions) {
        const prefixes = some.map((id) => `WorkflowId STARTS_WITH '${sealBatchPrefix(id)}'`);
        const query = `WorkflowType = '${SEAL_ANCHOR_TYPE}' AND (${prefixes.join(' OR ')})`;
        for await (const anchor of client.workflow.list({ query })) {
          // The memo says whose seals they are; an anchor id is only where to look.
          for (const seal of sealsOfMemo(anchor.memo?.[SEALS_MEMO])) if (wanted.has(seal.sessionId)) seals.push(seal);
        }
      }
      if (kinds.sets) {
        for await (const anchor of client.workflow.list({ query: sealSetQuery(SEAL_ANCHOR_TYPE, some) })) shared.add(anchor.workflowId);
      }
    }
    await eachAtOnce([...shared], async (id) => {
      // An anchor lists other sessions too: only the seals of those asked about count.
      for (const seal of await setSealsOf(client, id)) if (wanted.has(seal.sessionId)) seals.push(seal);
    });
    return seals;
  }

  private async anchorShared(
    namespace: string,
    kinds: AnchorKinds,
    seals: readonly Seal[],
    lookFirst: (seal: Seal) => boolean = () => true,
  ): Promise<Map<string, AnchorOutcome>> {
    const outcomes = new Map<string, AnchorOutcome>();
    const looked = seals.filter(lookFirst);
    const anchored = sealsByRun(looked.length ? await this.listSeals(namespace, kinds, [...new Set(looked.map((s) => s.sessionId))]) : []);
    const fresh: Seal[] = [];
    for (const seal of seals) {
      const prior = priorAnchor(seal, anchored.get(sealKey(seal.scopeId, seal.runId)));
      if (prior.state === 'none') fresh.push(seal);
      else outcomes.set(seal.scopeId, prior.state === 'same' ? { outcome: 'same' } : { outcome: 'conflict', anchored: prior.anchored });
    }
    const anchors = kinds.sets ? sealSets(fresh).map((set) => this.setAnchor(set)) : sealBatches(fresh).map((batch) => this.sessionAnchor(batch));
    await eachAtOnce(anchors, async (anchor) => {
      for (const [id, o] of await this.startShared(namespace, anchor)) outcomes.set(id, o);
    });
    return outcomes;
  }

  /**
   * One anchor for several sessions' seals, listed under the ScopetrailSealedSessions
   * attribute. The seals are its start's input, not its memo: visibility keeps no copy of
   * them, and a memo of more than a few seals would pass the 2 KB Temporal warns about.
   */
  private setAnchor(seals: readonly Seal[]): SharedAnchor {
    return {
      seals,
      workflowId: sealSetAnchorId(seals),
      args: [sealSetInput(seals)],
      memo: {},
      typedSearchAttributes: [{ key: SEALED_SESSIONS_KEY, value: sealSetSessions(seals) }],
      held: (client, id) => setSealsOf(client, id),
    };
  }

  /** One anchor for one session's seals, found by its id's prefix. */
  private sessionAnchor(seals: readonly Seal[]): SharedAnchor {
    return {
      seals,
      workflowId: sealBatchAnchorId(seals),
      args: [],
      memo: { [SEALS_MEMO]: batchMemo(seals) },
      typedSearchAttributes: [],
      held: async (client, id) => sealsOfMemo((await client.workflow.getHandle(id).describe()).memo?.[SEALS_MEMO]),
    };
  }

  private async startShared(namespace: string, anchor: SharedAnchor): Promise<Map<string, AnchorOutcome>> {
    const client = this.client(namespace);
    const { workflowId, seals: batch } = anchor;
    const outcomes = new Map<string, AnchorOutcome>();
    try {
      await client.workflow.start(SEAL_ANCHOR_TYPE, {
        workflowId,
        taskQueue: SEAL_ANCHOR_TASK_QUEUE,
        startDelay: ANCHOR_START_DELAY,
        args: anchor.args,
        workflowExecutionTimeout: ANCHOR_CLOSE_AFTER,
        memo: anchor.memo,
        ...(anchor.typedSearchAttributes.length ? { typedSearchAttributes: anchor.typedSearchAttributes } : {}),
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
      });
      for (const seal of batch) outcomes.set(seal.scopeId, { outcome: 'anchored' });
      return outcomes;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    // The id derives from the seals, so this is the same batch anchored before (its store write was lost).
    const held = sealsByRun(await anchor.held(client, workflowId));
    for (const seal of batch) {
      const prior = priorAnchor(seal, held.get(sealKey(seal.scopeId, seal.runId)));
      outcomes.set(
        seal.scopeId,
        prior.state === 'same' ? { outcome: 'same' } : { outcome: 'conflict', anchored: prior.state === 'conflict' ? prior.anchored : null },
      );
    }
    return outcomes;
  }

  private async anchorOne(seal: Seal): Promise<AnchorOutcome> {
    const client = this.client(seal.namespace);
    const workflowId = sealAnchorId(seal.scopeId, seal.runId);
    try {
      await client.workflow.start(SEAL_ANCHOR_TYPE, {
        workflowId,
        taskQueue: SEAL_ANCHOR_TASK_QUEUE,
        startDelay: ANCHOR_START_DELAY,
        workflowExecutionTimeout: ANCHOR_CLOSE_AFTER,
        args: [],
        memo: { [SEAL_MEMO]: seal },
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
      });
      return { outcome: 'anchored' };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    const existing = await this.readOne(seal.namespace, seal.scopeId, seal.runId);
    // An anchor written before anchors closed themselves may have been left open by a
    // sealer that died between its start and its terminate: close it now.
    await closeQuietly(client.workflow.getHandle(workflowId).terminate(ANCHOR_CLOSED));
    if (existing && sameSeal(existing, seal)) return { outcome: 'same' };
    return { outcome: 'conflict', anchored: existing ?? null };
  }

  /** The per-scope anchor's seal: undefined when there is none, null when its memo is unreadable. */
  private async readOne(namespace: string, scopeId: string, runId: string): Promise<Seal | null | undefined> {
    try {
      const description = await this.client(namespace).workflow.getHandle(sealAnchorId(scopeId, runId)).describe();
      const parsed = Seal.safeParse(description.memo?.[SEAL_MEMO]);
      return parsed.success ? parsed.data : null;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  private client(namespace: string): Client {
    return this.clients.get(namespace);
  }
}

/** A shared anchor about to be written: what it holds, where, and how its memo is read back. */
interface SharedAnchor {
  seals: readonly Seal[];
  workflowId: string;
  args: unknown[];
  memo: Record<string, unknown>;
  typedSearchAttributes: Array<{ key: typeof SEALED_SESSIONS_KEY; value: string[] }>;
  /** What Temporal holds in the anchor of this id (written before: the same batch sealed again). */
  held: (client: Client, workflowId: string) => Promise<Seal[]>;
}

/**
 * The seals an anchor of several sessions holds: its start's input, read from its
 * history (anchors are written with the default data converter: ids and hashes only).
 * An input that does not parse holds none.
 */
async function setSealsOf(client: Client, workflowId: string): Promise<Seal[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!input) return [];
  try {
    return sealsOfSetInput(defaultPayloadConverter.fromPayload(input));
  } catch {
    return [];
  }
}

/** Anchors started at once per batch: enough to hide the round trips, few enough to be polite. */
const CONCURRENCY = 8;

export class SealRefusedError extends Error {
  constructor(readonly seal: Seal, readonly anchored: Seal | null) {
    super(
      `refusing to seal scope ${seal.scopeId} again: its chain was sealed before (anchored in Temporal) and ` +
        (anchored ? `its rows changed since (${sealDifference(anchored, seal)})` : 'that anchor is unreadable') +
        `; run scopetrail verify ${seal.sessionId}`,
    );
    this.name = 'SealRefusedError';
  }
}

/**
 * The store's confirm step: anchor each seal, accept those Temporal took (or already
 * holds identically), and report each refused one. An unreachable Temporal throws, so
 * the whole batch stays unsealed and is tried again later.
 */
export function anchorSeals(anchors: SealAnchors, onRefused: (err: SealRefusedError) => void, options?: AnchorOptions): SealConfirm {
  return async (seals) => {
    const outcomes = await anchors.anchorAll(seals, options);
    const accepted = new Set<string>();
    for (const seal of seals) {
      const result = outcomes.get(seal.scopeId);
      if (!result) continue; // not anchored: stays unsealed, and is tried again
      if (result.outcome === 'conflict') onRefused(new SealRefusedError(seal, result.anchored));
      else accepted.add(seal.scopeId);
    }
    return accepted;
  };
}

/** gRPC status codes of a query the server will not run. */
const GRPC_INVALID_ARGUMENT = 3;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNIMPLEMENTED = 12;

function isPermissionDenied(err: unknown): boolean {
  return [err, (err as { cause?: unknown } | null)?.cause].some((e) => isGrpcServiceError(e) && e.code === GRPC_PERMISSION_DENIED);
}

/** A refusal, as the client reports it (the gRPC error itself, or the cause of a ServiceError). */
function refusedQuery(err: unknown): boolean {
  return [err, (err as { cause?: unknown } | null)?.cause].some(
    (e) => isGrpcServiceError(e) && (e.code === GRPC_INVALID_ARGUMENT || e.code === GRPC_UNIMPLEMENTED),
  );
}

/** Runs `work` over `items`, CONCURRENCY at a time. */
async function eachAtOnce<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  const limit = limiter(CONCURRENCY);
  await Promise.all(items.map((item) => limit(() => work(item))));
}

/** Terminating an anchor that is already closed is fine: only the memo matters. */
async function closeQuietly(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch {
    // already closed
  }
}
