/** Sealing: the hash chains of ended scopes, computed from their rows and written back in one transaction. */
import type { Seal } from '../cim/seal';
import { computeChain, scopeHash } from './chain';
import { rollUpSealed } from './usage-rollup';
import { dedupe, unnestRows } from './bulk-write';
import { readScope } from './rows';
import { actionsOfScopes } from './seal-source';
import type { SqlExecutor, SqlTransaction } from './sql-store';
import type { CommittedActions, ScopeKey, SealConfirm } from './types';

/**
 * Seals every ended, never sealed scope among `scopes` in one transaction: lock them
 * (in id order, so two sealers cannot deadlock), take their actions (from `committed`
 * where the store proves them current, else read in one query: see seal-source.ts),
 * compute the chains here, let `confirm` anchor them, and write back the confirmed ones
 * with one statement per table. A scope already sealed is never sealed again: a late
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
    const ids = wanted.filter((k) => k.namespace === ns).map((k) => k.scopeId).sort();
    await db.transaction(async (tx) => {
      // The row locks serialize sealers of one scope (several workers may record into it).
      const { rows: found } = await tx.query(
        `SELECT * FROM ${t('scopes')} WHERE namespace = $1 AND scope_id = ANY($2::text[]) AND status <> 'running'
           AND chain_length IS NULL
         ORDER BY scope_id FOR UPDATE`,
        [ns, ids],
      );
      if (found.length === 0) return;
      // Links are kept in their session's partition, like its actions.
      const placement = new Map(found.map((row) => [row.scope_id as string, new Date(row.session_started_at as string).toISOString()]));
      const ended = found.flatMap((row) => {
        // A row that no longer parses cannot be hashed faithfully; verify reports it.
        try {
          return [readScope(row)];
        } catch {
          return [];
        }
      });
      if (ended.length === 0) return;
      const { byScope, unreadable } = await actionsOfScopes(tx, t('actions'), ns, ended, committed);
      const computed = ended
        .filter((scope) => !unreadable.has(scope.scopeId))
        .map((scope) => {
          const chain = computeChain(scope, byScope.get(scope.scopeId) ?? []);
          const head = chain.at(-1)?.hash ?? null;
          const seal: Seal = {
            namespace: ns,
            sessionId: scope.sessionId,
            scopeId: scope.scopeId,
            runId: scope.runId,
            length: chain.length,
            head,
            scopeHash: scopeHash(scope, head ?? '', chain.length),
          };
          return { chain, seal };
        });
      const confirmed = confirm ? await confirm(computed.map((c) => c.seal)) : new Set(computed.map((c) => c.seal.scopeId));
      const links: unknown[][] = [];
      const seals: unknown[][] = [];
      const sealedScopes: unknown[][] = [];
      for (const { chain, seal } of computed) {
        if (!confirmed.has(seal.scopeId)) continue;
        for (const l of chain) links.push([ns, seal.sessionId, seal.scopeId, l.seq, l.actionId, l.prevHash, l.hash, placement.get(seal.scopeId)]);
        seals.push([seal.scopeId, String(seal.length), seal.head, seal.scopeHash]);
        sealedScopes.push([seal.sessionId, seal.scopeId]);
      }
      if (seals.length === 0) return;
      await writeLinks(tx, t('action_chain'), ns, sealedScopes, links);
      const v = unnestRows(seals, ['scope_id', 'len', 'head', 'hash'], { len: 'integer' });
      await tx.query(
        `UPDATE ${t('scopes')} AS s SET chain_length = v.len, chain_head = v.head, scope_hash = v.hash
         FROM (${v.select}) AS v WHERE s.namespace = $${v.params.length + 1} AND s.scope_id = v.scope_id`,
        [...v.params, ns],
      );
      // Sealed once, so counted once: the scopes leave the live part of usage for the rollup.
      await rollUpSealed(tx, t, ns, seals.map((s) => s[0] as string));
    });
  }
}

const LINK_COLUMNS = ['namespace', 'session_id', 'scope_id', 'chain_seq', 'action_id', 'prev_hash', 'hash', 'session_started_at'] as const;

/**
 * Appends the links of the scopes being sealed to the narrow chain table: with COPY
 * where the backend has it, one array statement otherwise. A scope reaches here only
 * with its seal cleared (never sealed, or cleared in the database and confirmed again),
 * so links left by an earlier seal of it are removed first: a scope has one chain.
 */
async function writeLinks(
  tx: SqlTransaction,
  table: string,
  ns: string,
  scopes: unknown[][],
  links: unknown[][],
): Promise<void> {
  const k = unnestRows(scopes, ['session_id', 'scope_id'], {});
  await tx.query(
    `DELETE FROM ${table} AS c USING (${k.select}) AS k
      WHERE c.namespace = $${k.params.length + 1} AND c.session_id = k.session_id AND c.scope_id = k.scope_id`,
    [...k.params, ns],
  );
  if (links.length === 0) return;
  if (tx.copy) return tx.copy(table, LINK_COLUMNS, links);
  const v = unnestRows(links, LINK_COLUMNS, { chain_seq: 'integer', session_started_at: 'timestamptz' });
  await tx.query(`INSERT INTO ${table} (${LINK_COLUMNS.join(', ')}) ${v.select}`, v.params);
}
