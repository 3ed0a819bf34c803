/** Sealing: the hash chains of ended scopes, computed from their rows and written back in one transaction. */
import type { ActionRecord } from '../cim/schemas';
import { computeChain, scopeHash } from './chain';
import { dedupe, unnestRows } from './bulk-write';
import { readAction, readScope } from './rows';
import type { SqlExecutor } from './sql-store';
import type { ScopeKey } from './types';

/**
 * Seals every ended scope among `scopes` in one transaction: lock them (in id order,
 * so two sealers cannot deadlock), read their actions in one query, compute the chains
 * here and write them back with one statement per table.
 */
export async function sealScopes(
  db: Pick<SqlExecutor, 'transaction'>,
  t: (table: string) => string,
  scopes: readonly ScopeKey[],
): Promise<void> {
  const wanted = dedupe(scopes, (k) => `${k.namespace}\u0000${k.scopeId}`, (_a, b) => b);
  if (wanted.length === 0) return;
  for (const ns of new Set(wanted.map((k) => k.namespace))) {
    const ids = wanted.filter((k) => k.namespace === ns).map((k) => k.scopeId).sort();
    await db.transaction(async (tx) => {
      // The row locks serialize sealers of one scope (several workers may record into it).
      const { rows: found } = await tx.query(
        `SELECT * FROM ${t('scopes')} WHERE namespace = $1 AND scope_id = ANY($2::text[]) AND status <> 'running'
         ORDER BY scope_id FOR UPDATE`,
        [ns, ids],
      );
      if (found.length === 0) return;
      const ended = found.map(readScope);
      const { rows: actionRows } = await tx.query(
        `SELECT * FROM ${t('actions')} WHERE namespace = $1 AND scope_id = ANY($2::text[])`,
        [ns, ended.map((s) => s.scopeId)],
      );
      const byScope = new Map<string, ActionRecord[]>(ended.map((s) => [s.scopeId, []]));
      for (const row of actionRows) byScope.get(row.scope_id as string)?.push(readAction(row));
      const links: unknown[][] = [];
      const seals: unknown[][] = [];
      for (const scope of ended) {
        const chain = computeChain(scope, byScope.get(scope.scopeId) ?? []);
        for (const l of chain) links.push([l.actionId, String(l.seq), l.prevHash, l.hash]);
        const head = chain.at(-1)?.hash ?? null;
        seals.push([scope.scopeId, String(chain.length), head, scopeHash(scope, head ?? '', chain.length)]);
      }
      if (links.length) {
        const v = unnestRows(links, ['action_id', 'seq', 'prev', 'hash'], { seq: 'integer' });
        await tx.query(
          `UPDATE ${t('actions')} AS a SET chain_seq = v.seq, prev_hash = v.prev, hash = v.hash
           FROM (${v.select}) AS v WHERE a.namespace = $${v.params.length + 1} AND a.action_id = v.action_id`,
          [...v.params, ns],
        );
      }
      const v = unnestRows(seals, ['scope_id', 'len', 'head', 'hash'], { len: 'integer' });
      await tx.query(
        `UPDATE ${t('scopes')} AS s SET chain_length = v.len, chain_head = v.head, scope_hash = v.hash
         FROM (${v.select}) AS v WHERE s.namespace = $${v.params.length + 1} AND s.scope_id = v.scope_id`,
        [...v.params, ns],
      );
    });
  }
}
