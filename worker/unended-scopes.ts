/**
 * Scopes left `running` by a run Temporal closed without agent code. A run terminated
 * (`temporal workflow terminate`, a parent's close policy) or timed out runs no code that
 * could record its scope's end, so its row would read `running` for good, and so would its
 * session in every listing, tree and rollup. A worker looks for such rows now and then:
 * it walks the scopes still running a while after they started, asks Temporal how their
 * runs stand, and completes the session of each one Temporal closed that way from its
 * history, as `reconcile --repair` does (the end written is sealed and anchored like any).
 *
 * A scope whose run is open (a long-running agent) is looked at again later, longer each
 * time, unless Temporal's visibility lists its run among those terminated or timed out
 * since the last look: then at once. One whose run its own code closed, or that Temporal no
 * longer holds, is left to `reconcile`, which says why. Several workers may look at once: a repair writes only over
 * a row that still reads `running`, with what history proves, so the second writes nothing.
 *
 * A run Temporal closed before any of its code ran (a delegate still waiting for a worker
 * when it timed out, or when its session was terminated) left no row at all, so no walk
 * through running rows finds it. Visibility's list does: a listed run whose scope row does
 * not name it is completed from history too, in the session its delegator's row (or, for
 * a session's root, its own workflow id) names; reconcile writes such a scope's row whole.
 */
import type { ListedRun, RunClose, RunRef } from '../store/run-status';
import { runKey } from '../store/run-status';
import { storeMark } from '../store/store-mark';
import type { RunningScope, Store } from '../store/types';

export interface UnendedScopesOptions {
  /** How often to look (default 60 s). */
  everyMs?: number;
  /** How long after its start a running scope is first looked at (default 60 s): younger ones are left to their runs. */
  afterMs?: number;
  /** Most scopes looked at per look (default 200); the next look goes on from there. */
  pageSize?: number;
  /** The longest a scope whose run is open waits before it is looked at again (default 1 h). */
  maxWaitMs?: number;
  onError?: (err: Error) => void;
  /** Told when a scheduled look has gone through (an outage it reported is over for it). */
  onLooked?: () => void;
  /** Told of each session a look completed from history, with how many scope ends it wrote. */
  onRepaired?: (sessionId: string, scopes: number) => void;
}

export interface UnendedScopesDeps {
  store: Pick<Store, 'runningScopes' | 'sessionsOfWorkflows' | 'location'>;
  /** The namespace this worker runs in: only its scopes are looked at. */
  namespace: string;
  closes(runs: readonly RunRef[]): Promise<Map<string, RunClose>>;
  /** Completes the session from history (reconcile with repair); resolves with how many scope ends it wrote. */
  repair(sessionId: string): Promise<number>;
  /**
   * Whether a workflow type is an agent (undefined: cannot tell now). A listed run no row
   * names is completed only when it is: a workflow of the user's own carrying a session's
   * memo (a Client with an older plugin marked every start) is no session.
   */
  isAgent?(type: string): Promise<boolean | undefined>;
  /**
   * Runs of the namespace Temporal terminated or timed out since `sinceIso`, as its visibility
   * lists them: their scopes are looked at without waiting. Optional; a failure is ignored
   * (the waits bound how late such a scope is found).
   */
  closedWithoutAgentSince?(sinceIso: string): Promise<ListedRun[]>;
}

/** How far back each look asks visibility, before the previous look: visibility is updated a moment after a run closes. */
const VISIBILITY_LAG_MS = 60_000;

interface Later {
  at: number;
  looks: number;
  /** The walk through the running scopes in which it was last seen (see forget). */
  walk: number;
}

export class UnendedScopes {
  private readonly everyMs: number;
  private readonly afterMs: number;
  private readonly pageSize: number;
  private readonly maxWaitMs: number;
  /** Where the walk through the running scopes goes on from; none: from the oldest. */
  private cursor: { startedAt: string; scopeId: string } | undefined;
  /** How many times the walk has gone through every running scope. */
  private walk = 0;
  /** Scopes looked at whose runs were not closed without agent code, by id: when to look again. */
  private readonly later = new Map<string, Later>();
  private timer: NodeJS.Timeout | undefined;
  private looking: Promise<number> | undefined;
  /** Runs visibility listed as closed without agent code, by runKey, with when they were listed: not waited for. */
  private readonly listedClosed = new Map<string, number>();
  /** Every run visibility listed lately, by runKey, with when: the overlap between looks lists some twice. */
  private readonly seenListed = new Map<string, number>();
  private lastListedAt: number | undefined;

  constructor(
    private readonly deps: UnendedScopesDeps,
    private readonly options: UnendedScopesOptions = {},
  ) {
    this.everyMs = options.everyMs ?? 60_000;
    this.afterMs = options.afterMs ?? 60_000;
    this.pageSize = options.pageSize ?? 200;
    this.maxWaitMs = options.maxWaitMs ?? 3_600_000;
    this.ownStore = storeMark(deps.store);
  }

  /** The mark a session's memo carries when its client read this store (store/store-mark.ts). */
  private readonly ownStore: string | undefined;

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(
      () =>
        void this.look().then(
          () => this.options.onLooked?.(),
          (err: unknown) => this.options.onError?.(asError(err)),
        ),
      this.everyMs,
    );
    // Looking never keeps the process alive: a later worker looks again.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look: resolves with how many scope ends it wrote. A look already under way is waited for, not doubled. */
  look(now = Date.now()): Promise<number> {
    this.looking ??= this.lookOnce(now).finally(() => (this.looking = undefined));
    return this.looking;
  }

  private async lookOnce(now: number): Promise<number> {
    const listed = await this.listClosed(now);
    const page = await this.deps.store.runningScopes({
      startedBefore: new Date(now - this.afterMs).toISOString(),
      ...(this.cursor ? { after: this.cursor } : {}),
      limit: this.pageSize,
    });
    const last = page[page.length - 1];
    this.cursor = page.length < this.pageSize || !last ? undefined : { startedAt: last.startedAt, scopeId: last.scopeId };
    let repaired = 0;
    try {
      repaired += await this.lookAtPage(page, now);
    } finally {
      if (!this.cursor) this.forget();
    }
    return repaired + (await this.completeUnrecorded(listed));
  }

  /**
   * Listed runs no scope row names: their sessions are completed from history (a session
   * the walk already completed in this look writes nothing more). A store without the
   * lookup, or a run it knows nothing of that is no session's root (a workflow of the
   * user's own), is left alone.
   */
  private async completeUnrecorded(listed: readonly ListedRun[]): Promise<number> {
    if (listed.length === 0 || !this.deps.store.sessionsOfWorkflows) return 0;
    let known;
    try {
      known = await this.deps.store.sessionsOfWorkflows(listed.map((r) => r.workflowId));
    } catch (err) {
      this.options.onError?.(asError(err));
      return 0;
    }
    const sessions = new Set<string>();
    for (const run of listed) {
      const found = known.get(run.workflowId);
      // Its row names it: the walk through running rows looks at it.
      if (found?.runId === run.runId) continue;
      // A session's root that never ran, started by a client of another store (a namespace several
      // deployments share), is that store's: written here, it would stand in a store it never belonged to.
      if (!found && run.session && run.store !== undefined && run.store !== this.ownStore) continue;
      if (!found && run.type !== undefined && this.deps.isAgent && (await this.deps.isAgent(run.type)) !== true) continue;
      const sessionId = found?.sessionId ?? (run.session ? run.workflowId : undefined);
      if (sessionId) sessions.add(sessionId);
    }
    let repaired = 0;
    for (const sessionId of sessions) repaired += await this.repairSession(sessionId);
    return repaired;
  }

  private async repairSession(sessionId: string): Promise<number> {
    let written = 0;
    try {
      written = await this.deps.repair(sessionId);
    } catch (err) {
      // One session's history unreadable (say) does not stop the others.
      this.options.onError?.(asError(err));
    }
    if (written > 0) this.options.onRepaired?.(sessionId, written);
    return written;
  }

  private async lookAtPage(page: readonly RunningScope[], now: number): Promise<number> {
    const due = page.filter((s) => s.namespace === this.deps.namespace && ((this.later.get(s.scopeId)?.at ?? 0) <= now || this.listedClosed.has(runKey(s.run))));
    for (const s of page) {
      const later = this.later.get(s.scopeId);
      if (later) later.walk = this.walk;
    }
    if (due.length === 0) return 0;
    const closes = await this.deps.closes(due.map((s) => s.run));
    const sessions = new Map<string, RunningScope[]>();
    for (const s of due) {
      // Listed or not, its run has now been asked about: from here on it waits like any other.
      this.listedClosed.delete(runKey(s.run));
      if (closes.get(runKey(s.run)) === 'closed_without_agent') sessions.set(s.sessionId, [...(sessions.get(s.sessionId) ?? []), s]);
      else this.waitLonger(s, now);
    }
    let repaired = 0;
    for (const [sessionId, scopes] of sessions) {
      const written = await this.repairSession(sessionId);
      repaired += written;
      // A scope history could not complete (its row differs in more than its end, say) is
      // reconcile's to report: it is not read again at every look.
      for (const s of scopes) {
        if (written > 0) this.later.delete(s.scopeId);
        else this.waitLonger(s, now);
      }
    }
    return repaired;
  }

  private waitLonger(s: RunningScope, now: number): void {
    const looks = (this.later.get(s.scopeId)?.looks ?? 0) + 1;
    this.later.set(s.scopeId, { at: now + Math.min(this.maxWaitMs, this.everyMs * 2 ** (looks - 1)), looks, walk: this.walk });
  }

  /** Asks visibility for the runs closed without agent code since the last look; resolves with those not listed before. */
  private async listClosed(now: number): Promise<ListedRun[]> {
    if (!this.deps.closedWithoutAgentSince) return [];
    const since = (this.lastListedAt ?? now - this.maxWaitMs) - VISIBILITY_LAG_MS;
    const fresh: ListedRun[] = [];
    try {
      for (const run of await this.deps.closedWithoutAgentSince(new Date(since).toISOString())) {
        // The lag makes consecutive looks overlap: a run already listed is not completed again.
        if (!this.seenListed.has(runKey(run))) fresh.push(run);
        this.listedClosed.set(runKey(run), now);
        this.seenListed.set(runKey(run), now);
      }
      this.lastListedAt = now;
    } catch {
      // Visibility that cannot answer (a namespace without list permission, say): the waits still bound the delay.
    }
    // A run listed waits for the walk to reach its scope; one whose scope the walk never finds (it ended) is forgotten in time.
    for (const [key, at] of this.listedClosed) if (now - at > this.maxWaitMs) this.listedClosed.delete(key);
    for (const [key, at] of this.seenListed) if (now - at > this.maxWaitMs + 2 * VISIBILITY_LAG_MS) this.seenListed.delete(key);
    return fresh;
  }

  /** At the end of a walk: scopes it did not see have ended (or gone) and need no waiting any more. */
  private forget(): void {
    for (const [id, later] of this.later) if (later.walk !== this.walk) this.later.delete(id);
    this.walk += 1;
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
