/**
 * Where the sealer gets the actions it hashes. Reading every action row back (and
 * validating it) cost more than writing it; but the worker that wrote a scope's actions
 * still holds them. Its copy is used only when the store proves it is the stored one:
 * the scope has exactly as many action rows as the worker committed, and each row's
 * current version was written by one of the worker's own transactions (`xmin`). Any
 * other writer — another worker, a gap fill, a replay, an edit in the database — leaves
 * a row whose version is not the worker's, and that scope's rows are read back instead.
 *
 * The held copies are hashed while Postgres locks the scopes and checks the rows (the
 * hashing needs nothing the store says), so the two overlap on a machine's two cores;
 * a scope the check then does not prove is read back and hashed again, as before.
 */
import type { ActionRecord } from '../cim/schemas';
import { chainColumns } from './chain';
import { arrayLiteral } from './bulk-write';
import { actionAsStored, actionReadColumns, readAction } from './rows';
import type { SqlTransaction } from './sql-store';
import { tallyActions, type ActionTally } from './rollup-rows';
import type { CommittedActions } from './types';
import { yielder } from './yielding';

/** What the worker committed to one scope: its records, the transactions that wrote them, and their chain if hashed ahead. */
export type Held = NonNullable<ReturnType<CommittedActions['of']>>;

/** A scope's chain over its actions as stored, and what those actions add to the usage rollup. */
export interface Hashed {
  length: number;
  /** The last link's hash; null for a scope without actions. */
  head: string | null;
  /** The chain's action ids and hashes as the array literals of its `scope_chains` row. */
  actionIds: string;
  hashes: string;
  tally: ActionTally;
}

/**
 * The chain and tally of a scope's stored actions. Only these are kept until the batch is
 * written: the stored records and the link objects are dropped here, so they die young
 * instead of living through the anchoring and the writes (which took the sealer's CPU per
 * 60 k actions from about 1.1 s to 0.9 s, mostly garbage collection).
 */
export function hashStored(scope: { namespace: string; scopeId: string }, actions: readonly ActionRecord[]): Hashed {
  const { actionIds, hashes } = chainColumns(scope, actions);
  return {
    length: hashes.length,
    head: hashes.at(-1) ?? null,
    actionIds: arrayLiteral(actionIds),
    hashes: arrayLiteral(hashes),
    tally: tallyActions(actions),
  };
}

export function heldActions(committed: CommittedActions | undefined, ns: string, scopeIds: readonly string[]): Map<string, Held> {
  const held = new Map<string, Held>();
  if (!committed) return held;
  for (const id of scopeIds) {
    const mine = committed.of(ns, id);
    if (mine) held.set(id, mine);
  }
  return held;
}

/**
 * The held scopes whose rows are exactly the worker's (see above). Sent at once: the
 * caller hashes while it runs. Scopes it was not asked about are not in the answer.
 * Counted per scope id by index lookups (`LATERAL`): on a month's partition that has no
 * statistics yet, `scope_id = ANY(...)` was planned as a scan of every action of the
 * namespace, once per sealing transaction (27 ms for 250 scopes among 6 500, against
 * 2 ms, and growing with the partition).
 */
export async function provenHeld(
  tx: Pick<SqlTransaction, 'query'>,
  actionsTable: string,
  ns: string,
  held: ReadonlyMap<string, Held>,
  /** Every held scope's session start. */
  starts: ReadonlyMap<string, string>,
  [from, to]: readonly [string, string],
): Promise<Set<string>> {
  const proven = new Set<string>();
  if (held.size === 0) return proven;
  const asked = [...held.keys()];
  const xids = [...new Set([...held.values()].flatMap((h) => h.xids))];
  // In the session's month alone: a row of the scope kept in another month is none the
  // sealed chain covers, and verify reports it.
  const { rows } = await tx.query<{ scope_id: string; n: number; foreign: number }>(
    `SELECT ids.scope_id, c.n, c.foreign FROM unnest($2::text[], $4::timestamptz[]) AS ids(scope_id, started)
       CROSS JOIN LATERAL (SELECT count(*)::int AS n, count(*) FILTER (WHERE NOT (a.xmin = ANY($3::xid[])))::int AS foreign
                             FROM ${actionsTable} a WHERE a.namespace = $1 AND a.scope_id = ids.scope_id AND a.session_started_at = ids.started
                                AND a.session_started_at BETWEEN $5 AND $6) c`,
    [ns, asked, xids, asked.map((id) => starts.get(id)!), from, to],
  );
  const counts = new Map(rows.map((r) => [r.scope_id, r]));
  for (const [scopeId, mine] of held) {
    const c = counts.get(scopeId) ?? { n: 0, foreign: 0 };
    if (Number(c.n) === mine.count && Number(c.foreign) === 0) proven.add(scopeId);
  }
  return proven;
}

/**
 * The held records as reading their rows back would give them, and their chains. A scope
 * with a record whose stored form cannot be known here is left out (it is read back).
 */
export async function hashHeld(ns: string, held: ReadonlyMap<string, Held>): Promise<Map<string, Hashed>> {
  const hashed = new Map<string, Hashed>();
  const pause = yielder();
  for (const [scopeId, mine] of held) {
    if (mine.hashed) {
      hashed.set(scopeId, mine.hashed);
      continue;
    }
    if (!mine.actions) continue;
    const turn = pause();
    if (turn) await turn;
    const chain = hashHeldScope(ns, scopeId, mine.actions);
    if (chain) hashed.set(scopeId, chain);
  }
  return hashed;
}

/** One scope's held records as reading their rows back would give them, hashed; undefined when a stored form cannot be known here. */
export function hashHeldScope(ns: string, scopeId: string, records: readonly ActionRecord[]): Hashed | undefined {
  const actions: ActionRecord[] = [];
  for (const record of records) {
    const stored = actionAsStored(record);
    if (stored === undefined) return undefined;
    actions.push(stored);
  }
  return hashStored({ namespace: ns, scopeId }, actions);
}

export interface ReadBack {
  byScope: Map<string, ActionRecord[]>;
  /** Scopes with a row that does not parse: not sealed (verify reports the row). */
  unreadable: Set<string>;
}

/**
 * The scopes' action rows, read back and validated (every scope asked about has a list).
 * Looked up per scope id, for the reason given at `provenHeld`; `OFFSET 0` keeps the
 * planner from flattening the lookup back into one scan of the namespace.
 */
export async function readActionsOfScopes(
  tx: Pick<SqlTransaction, 'query'>,
  actionsTable: string,
  ns: string,
  scopes: ReadonlyArray<readonly [scopeId: string, sessionStartedAt: string]>,
  [from, to]: readonly [string, string],
): Promise<ReadBack> {
  const byScope = new Map<string, ActionRecord[]>(scopes.map(([id]) => [id, []]));
  const unreadable = new Set<string>();
  if (scopes.length === 0) return { byScope, unreadable };
  const { rows } = await tx.query(
    `SELECT a.* FROM unnest($1::text[], $3::timestamptz[]) AS ids(scope_id, started)
       CROSS JOIN LATERAL (SELECT ${actionReadColumns('a')} FROM ${actionsTable} a
                            WHERE a.namespace = $2 AND a.scope_id = ids.scope_id AND a.session_started_at = ids.started
                              AND a.session_started_at BETWEEN $4 AND $5 OFFSET 0) a`,
    [scopes.map(([id]) => id), ns, scopes.map(([, started]) => started), from, to],
    { prepared: true },
  );
  const pause = yielder();
  for (const row of rows) {
    const turn = pause();
    if (turn) await turn;
    try {
      byScope.get(row.scope_id as string)?.push(readAction(row));
    } catch {
      unreadable.add(row.scope_id as string);
    }
  }
  return { byScope, unreadable };
}
