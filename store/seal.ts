/** Sealing: the hash chains of ended scopes, computed from their rows and written back in one transaction. */
import type { Seal } from '../cim/seal';
import { scopeHash } from './chain';
import { yielder } from './yielding';
import type { ScopeRecord } from '../cim/schemas';
import { rollUpSealed } from './usage-rollup';
import type { SealedScope } from './rollup-rows';
import { foldPending, holdPending } from './usage-pending';
import { COPY_FROM_ROWS, dedupe, unnestRows } from './bulk-write';
import { StatementCollector } from './one-statement';
import { readScope, scopeReadColumns } from './rows';
import { mayBeSealed } from './open-calls';
import { sessionStartText } from './partitions';
import { hashHeld, hashStored, heldActions, provenHeld, readActionsOfScopes, type Hashed } from './seal-source';
import type { SqlExecutor, SqlTransaction } from './sql-store';
import type { CommittedActions, ScopeKey, SealConfirm } from './types';

/**
 * Seals every ended, never sealed scope among `scopes` in one transaction: lock them
 * (in id order, so two sealers cannot deadlock), take their actions (from `committed`
 * where the store proves them current, else read in one query: see seal-source.ts),
 * compute the chains here, let `confirm` anchor them, and write back the confirmed ones
 * with one statement for the links and usage rows and one UPDATE of the scopes (about six
 * round trips a transaction). A scope already sealed is never sealed again: a late
 * record shows as inserted, and a seal cleared in the database cannot be laundered
 * into a new one because the anchor refuses a chain other than the first.
 */
export async function sealScopes(
  db: Pick<SqlExecutor, 'transaction'>,
  t: (table: string) => string,
  scopes: readonly ScopeKey[],
  confirm?: SealConfirm,
  committed?: CommittedActions,
): Promise<void> {
  const wanted = dedupe(scopes, (k) => `${k.namespace}\u0000${k.scopeId}`, (_a, b) => b);
  if (wanted.length === 0) return;
  for (const ns of new Set(wanted.map((k) => k.namespace))) {
    await db.transaction(async (tx) => {
      // The transaction's statements are a few index probes per scope; the cost estimate of a
      // 2 000-scope batch passes `jit_above_cost`, and compiling took longer than running it.
      // Their plans are kept (SEALING_PLANS). Sent with BEGIN where the backend can: one round
      // trip less per sealing transaction.
      const planned = tx.opening ? Promise.resolve() : tx.query(SEALING_PLANS);
      planned.catch(() => undefined);
      // Each scope is looked up in its session's month alone (a session's rows, its
      // delegating action and its links share its partition), so a batch costs the same
      // however many months are kept; a key without its session's start (see ScopeKey) has
      // it looked up first, in every month.
      const keys = await placed(tx, t('scopes'), ns, wanted.filter((k) => k.namespace === ns));
      if (keys.length === 0) return;
      keys.sort((x, y) => (x.scopeId < y.scopeId ? -1 : x.scopeId > y.scopeId ? 1 : 0));
      const ids = keys.map((k) => k.scopeId);
      const starts = new Map(keys.map((k) => [k.scopeId, k.sessionStartedAt]));
      const [from, to] = startRange(keys);
      const held = heldActions(committed, ns, ids);
      // The row locks serialize sealers of one scope (several workers may record into it).
      // With each scope, the two facts its usage rollup needs from other rows (rollup-rows.ts),
      // whether links of an earlier seal of it are left (only a seal cleared in the database
      // leaves any; links are written by sealers holding this lock, so none appear meanwhile),
      // and where its locked row version is, for the seal's UPDATE below.
      // Every lookup is per scope id by an index (a LATERAL probe, `LIMIT 1` subqueries), and in
      // the scope's own month, so a batch costs the same however large the month's partition
      // and however many months are kept: as a semi-join with EXISTS,
      // once the partition had statistics, Postgres hashed the whole namespace's scopes and all
      // its delegate actions for every batch (15–24 ms per 300 scopes at 26 k scopes, against
      // 10–17 ms, and growing with the partition). The ids are sorted and probed in order, so
      // two sealers lock in the same order and cannot deadlock.
      const locking = tx.query(
        `SELECT s.*,
                (SELECT ARRAY[p.agent, p.agent_version, (p.chain_length IS NOT NULL)::text] FROM ${t('scopes')} p
                  WHERE s.kind = 'delegation' AND p.namespace = s.namespace AND p.scope_id = s.parent_scope_id
                    AND p.session_started_at = s.session_started_at AND p.session_started_at BETWEEN $5 AND $6) AS rollup_parent,
                s.kind = 'delegation' AND (SELECT true FROM ${t('actions')} d
                  WHERE d.namespace = s.namespace AND d.target_scope_id = s.scope_id AND d.kind = 'delegate'
                    AND d.session_started_at = s.session_started_at AND d.session_started_at BETWEEN $5 AND $6 LIMIT 1) IS NOT NULL AS rollup_delegated,
                (SELECT true FROM ${t('usage_rollup_pending')} pd
                  WHERE pd.namespace = s.namespace AND pd.parent_scope_id = s.scope_id LIMIT 1) IS NOT NULL AS rollup_awaited,
                (SELECT true FROM ${t('scope_chains')} c
                  WHERE c.namespace = s.namespace AND c.session_id = s.session_id AND c.scope_id = s.scope_id
                    AND c.session_started_at = s.session_started_at AND c.session_started_at BETWEEN $5 AND $6 LIMIT 1) IS NOT NULL
                OR (SELECT true FROM ${t('action_chain')} c
                  WHERE c.namespace = s.namespace AND c.session_id = s.session_id AND c.scope_id = s.scope_id
                    AND c.session_started_at = s.session_started_at AND c.session_started_at BETWEEN $5 AND $6 LIMIT 1) IS NOT NULL AS chained
           FROM unnest($2::text[], $4::timestamptz[]) AS ids(scope_id, started)
           CROSS JOIN LATERAL (
             SELECT ${scopeReadColumns('l')}, l.session_started_at, l.ctid::text AS row_at, l.tableoid::oid::text AS row_in, l.session_started_at::text AS row_started
               FROM ${t('scopes')} l
              WHERE l.namespace = $1 AND l.scope_id = ids.scope_id AND l.session_started_at = ids.started AND l.session_started_at BETWEEN $5 AND $6
                AND l.status <> 'running' AND l.chain_length IS NULL
                AND ${mayBeSealed('l', t('actions'), '$3', ['$5', '$6'])}
              FOR UPDATE) s`,
        [ns, ids, new Date().toISOString(), keys.map((k) => k.sessionStartedAt), from, to],
        { prepared: true },
      );
      // Queued behind the lock, so it sees every row committed before the scopes were locked.
      const proving = provenHeld(tx, t('actions'), ns, held, starts, [from, to]);
      // Both are awaited below; meanwhile neither may count as an unhandled rejection.
      locking.catch(() => undefined);
      proving.catch(() => undefined);
      // Postgres locks and checks on one core while this thread hashes the held records on the other.
      const hashedHeld = await hashHeld(ns, held);
      const [{ rows: found }, proven] = await Promise.all([locking, proving]);
      if (found.length === 0) return;
      // Links are kept in their session's partition, like its actions.
      const placement = new Map(found.map((row) => [row.scope_id as string, new Date(row.session_started_at as string).toISOString()]));
      // As Postgres wrote them, so that they match exactly (a Date would drop microseconds).
      const located = new Map(found.map((row) => [row.scope_id as string, [row.row_at as string, row.row_in as string, row.row_started as string] as const]));
      const related = new Map(
        found.map((row) => [
          row.scope_id as string,
          {
            parent: Array.isArray(row.rollup_parent)
              ? { agent: String(row.rollup_parent[0]), agentVersion: String(row.rollup_parent[1]), sealed: row.rollup_parent[2] === 'true' }
              : null,
            delegated: row.rollup_delegated === true,
          },
        ]),
      );
      const awaited = new Set(found.filter((row) => row.rollup_awaited === true).map((row) => row.scope_id as string));
      const chained = new Set(found.filter((row) => row.chained === true).map((row) => row.scope_id as string));
      const ended = found.flatMap((row) => {
        // A row that no longer parses cannot be hashed faithfully; verify reports it.
        try {
          return [readScope(row)];
        } catch {
          return [];
        }
      });
      if (ended.length === 0) return;
      const current = (scopeId: string) => (proven.has(scopeId) ? hashedHeld.get(scopeId) : undefined);
      const { byScope, unreadable } = await readActionsOfScopes(
        tx,
        t('actions'),
        ns,
        ended.filter((s) => !current(s.scopeId)).map((s) => [s.scopeId, located.get(s.scopeId)![2]] as const),
        [from, to],
      );
      const computed: Array<{ hashed: Hashed; seal: Seal; scope: ScopeRecord }> = [];
      const pause = yielder();
      for (const scope of ended) {
        if (unreadable.has(scope.scopeId)) continue;
        const turn = pause();
        if (turn) await turn;
        const hashed = current(scope.scopeId) ?? hashStored(scope, byScope.get(scope.scopeId) ?? []);
        // The read-back records are not needed past this point either.
        byScope.delete(scope.scopeId);
        const { length, head } = hashed;
        const seal: Seal = {
          namespace: ns,
          sessionId: scope.sessionId,
          scopeId: scope.scopeId,
          runId: scope.runId,
          length,
          head,
          scopeHash: scopeHash(scope, head ?? '', length),
        };
        computed.push({ hashed, seal, scope });
      }
      committed?.hashingDone?.();
      const confirmed = confirm ? await confirm(computed.map((c) => c.seal)) : new Set(computed.map((c) => c.seal.scopeId));
      const links: unknown[][] = [];
      const seals: unknown[][] = [];
      const relinked: unknown[][] = [];
      const rolled: SealedScope[] = [];
      for (const { hashed, seal, scope } of computed) {
        if (!confirmed.has(seal.scopeId)) continue;
        rolled.push({ scope, tally: hashed.tally, sessionStartedAt: placement.get(seal.scopeId)!, ...related.get(seal.scopeId)! });
        links.push([ns, seal.sessionId, seal.scopeId, hashed.actionIds, hashed.hashes, placement.get(seal.scopeId)!]);
        seals.push([seal.scopeId, ...located.get(seal.scopeId)!, String(seal.length), seal.head, seal.scopeHash]);
        if (chained.has(seal.scopeId)) relinked.push([seal.sessionId, seal.scopeId]);
      }
      if (seals.length === 0) return;
      await planned;
      // The inserts that follow go as one statement (store/one-statement.ts): they write
      // disjoint rows of different tables, none reads another's. Each was a round trip of its
      // own, and under load a round trip costs both processes far more than its rows.
      const collector = new StatementCollector();
      const together = collector.transaction();
      await writeLinks(tx, together, t, ns, relinked, links);
      // Sealed once, so counted once: the scopes leave the live part of usage for the rollup.
      await rollUpSealed(together, t, ns, rolled);
      // A delegation whose parent's records may still arrive is listed, and the listed
      // children of the parents sealed here are settled (usage-pending.ts). The entries listed
      // here await parents not sealed in this transaction, so the fold, which reads the
      // entries of parents sealed here, never needs to see them.
      const sealedNow = new Set(rolled.map((r) => r.scope.scopeId));
      await holdPending(together, t, ns, rolled, sealedNow);
      const folded = [...sealedNow].filter((id) => awaited.has(id));
      // Last, by the locked row versions' places (they cannot move while this transaction
      // holds them): a fetch per row, whatever the month's size and statistics. Joined on the
      // ids, or left to the planner on their places, Postgres hashed every scope of the
      // namespace (27–38 ms per 300 scopes at 26 k, against 14–18): a month being written has
      // statistics from when it was a fraction of its size, so a scan looks cheap. With the
      // other scans turned off until the commit, a fetch by place is the plan left. They are
      // turned off by the statement before the UPDATE, once it has been planned, so that
      // only the UPDATE is planned without them.
      const combined = collector.combined(folded.length ? 'SELECT 1' : PINNED);
      await tx.query(combined.sql, combined.params);
      // Not with the rollup's insert: both may add to one rollup row, which one statement cannot update twice.
      if (folded.length) await foldPending(tx, t, ns, folded, PINNED);
      const v = unnestRows(seals, ['scope_id', 'at', 'part', 'started', 'len', 'head', 'hash'], {
        at: 'tid',
        part: 'oid',
        started: 'timestamptz',
        len: 'integer',
      });
      const { rows: updated } = await tx.query(
        `UPDATE ${t('scopes')} AS s SET chain_length = v.len, chain_head = v.head, scope_hash = v.hash
         FROM (${v.select}) AS v
         WHERE s.ctid = v.at AND s.tableoid = v.part AND s.session_started_at = v.started
           AND s.namespace = $${v.params.length + 1} AND s.scope_id = v.scope_id
           AND s.session_started_at BETWEEN $${v.params.length + 2} AND $${v.params.length + 3}
         RETURNING 1`,
        [...v.params, ns, from, to],
        { prepared: true },
      );
      // A lock returns the row version it locked, so this cannot differ; if it ever did, the
      // links would be written without their seal, so nothing of the batch is committed.
      if (updated.length !== seals.length) {
        throw new Error(`sealing: ${seals.length - updated.length} of ${seals.length} scope rows were not where they were locked; the batch is retried`);
      }
    }, { opening: SEALING_PLANS });
  }
}

/**
 * No JIT, and the prepared statements' generic plans from their first run. Planning the
 * sealing statements, over every month's partition of the tables they probe, cost far more
 * than running them, and more with each month kept: the lock statement took 2.2 ms to plan
 * with one month, 6.5 ms with 12 and 21 ms with 36, against under 0.2 ms to run. Left to
 * itself Postgres plans them anew at every run: a generic plan reckons on ten ids from
 * `unnest($n)` where a sealing batch is often one or two, so it looks dearer than a custom
 * plan of the same shape. Every statement of the transaction is planned generically, the
 * unnamed ones too: each probes or writes by id, the path a custom plan takes too (the store
 * tests hold their plans to index probes). Local to the transaction: the connection's other
 * statements are not.
 */
const SEALING_PLANS = `SELECT set_config('jit', 'off', true), set_config('plan_cache_mode', 'force_generic_plan', true)`;
/** Plans left to the sealing UPDATE: a fetch by the rows' places (see above). */
const PINNED = `SELECT ${['enable_seqscan', 'enable_indexscan', 'enable_bitmapscan'].map((name) => `set_config('${name}', 'off', true)`).join(', ')}`;

/** A scope's links as one row: action ids and hashes in chain order (migration 014). */
const CHAIN_COLUMNS = ['namespace', 'session_id', 'scope_id', 'action_ids', 'hashes', 'session_started_at'] as const;

/**
 * Appends the links of the scopes being sealed, a row per scope: from COPY_FROM_ROWS rows
 * with COPY where the backend has it, otherwise one array INSERT given to `insert` (the
 * statement the sealing transaction's inserts are collected into). A scope reaches here
 * only with its seal cleared (never sealed, or cleared in the database and confirmed
 * again), so links left by an earlier seal of it (`relinked`: session and scope ids), in
 * either table, are removed first: a scope has one chain.
 */
async function writeLinks(
  tx: SqlTransaction,
  insert: Pick<SqlTransaction, 'query'>,
  t: (table: string) => string,
  ns: string,
  relinked: unknown[][],
  rows: unknown[][],
): Promise<void> {
  if (relinked.length) {
    const k = unnestRows(relinked, ['session_id', 'scope_id'], {});
    for (const table of ['scope_chains', 'action_chain']) {
      await tx.query(
        `DELETE FROM ${t(table)} AS c USING (${k.select}) AS k
          WHERE c.namespace = $${k.params.length + 1} AND c.session_id = k.session_id AND c.scope_id = k.scope_id`,
        [...k.params, ns],
      );
    }
  }
  if (rows.length === 0) return;
  if (tx.copy && rows.length >= COPY_FROM_ROWS) return tx.copy(t('scope_chains'), CHAIN_COLUMNS, rows);
  const v = unnestRows(rows, CHAIN_COLUMNS, { action_ids: 'text[]', hashes: 'text[]', session_started_at: 'timestamptz' });
  await insert.query(`INSERT INTO ${t('scope_chains')} (${CHAIN_COLUMNS.join(', ')}) ${v.select}`, v.params);
}

/**
 * The earliest and latest session start among the keys (each placed: see placedKey).
 * Compared with these parameters, the partition key lets Postgres leave every other month's
 * partitions out when it starts a statement (a generic plan is pruned then only by
 * parameters it is given), not merely skip them row by row: with a month per partition, a
 * statement otherwise opens every month's indexes whatever it looks up.
 */
function startRange(keys: ReadonlyArray<Required<ScopeKey>>): [string, string] {
  if (keys.length === 0) return ['-infinity', 'infinity'];
  let from = Infinity;
  let to = -Infinity;
  for (const k of keys) {
    const at = Date.parse(k.sessionStartedAt);
    from = Math.min(from, at);
    to = Math.max(to, at);
  }
  // A millisecond either side: Date drops a stored start's microseconds.
  return [new Date(from - 1).toISOString(), new Date(to + 1).toISOString()];
}

/** A session start as records and the sweep give it (ISO 8601, up to microseconds); anything else is looked up. */
const START_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;
const placedKey = (k: ScopeKey): k is Required<ScopeKey> =>
  k.sessionStartedAt !== undefined && START_PATTERN.test(k.sessionStartedAt) && !Number.isNaN(Date.parse(k.sessionStartedAt));

/**
 * The keys with their sessions' starts: a key's own, or the scope row's where the key has
 * none (keys of runs from before the start was carried, of reconcile, of a caller of the
 * store), looked up per scope id in every month (`LIMIT 1` keeps it a probe by index: as a
 * join, Postgres hashed the whole month once it had statistics). A scope the store does not hold is left
 * out. A key's start that is not its row's finds no row to seal; the sweep queues the
 * scope again with the stored one.
 */
async function placed(tx: Pick<SqlTransaction, 'query'>, scopesTable: string, ns: string, keys: readonly ScopeKey[]): Promise<Array<Required<ScopeKey>>> {
  const known = keys.filter(placedKey);
  const unknown = keys.filter((k) => !placedKey(k)).map((k) => k.scopeId);
  if (unknown.length === 0) return known;
  const { rows } = await tx.query<{ scope_id: string; started: string }>(
    `SELECT ids.scope_id, k.started FROM unnest($2::text[]) AS ids(scope_id)
       CROSS JOIN LATERAL (SELECT ${sessionStartText('s.session_started_at')} AS started
                             FROM ${scopesTable} s WHERE s.namespace = $1 AND s.scope_id = ids.scope_id LIMIT 1) k`,
    [ns, unknown],
    { prepared: true },
  );
  return [...known, ...rows.map((r) => ({ namespace: ns, scopeId: r.scope_id, sessionStartedAt: r.started }))];
}
