/** Sealing: the hash chains of ended scopes, computed from their rows and written back in one transaction. */
import type { ActionRecord } from '../cim/schemas';
import type { Seal } from '../cim/seal';
import { computeChain, scopeHash } from './chain';
import { rollUpSealed } from './usage-rollup';
import { dedupe, unnestRows } from './bulk-write';
import { readAction, readScope } from './rows';
import type { SqlExecutor } from './sql-store';
import type { ScopeKey, SealConfirm } from './types';

/**
 * Seals every ended, never sealed scope among `scopes` in one transaction: lock them
 * (in id order, so two sealers cannot deadlock), read their actions in one query,
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
      const ended = found.flatMap((row) => {
        // A row that no longer parses cannot be hashed faithfully; verify reports it.
        try {
          return [readScope(row)];
        } catch {
          return [];
        }
      });
      if (ended.length === 0) return;
      const { rows: actionRows } = await tx.query(
        `SELECT * FROM ${t('actions')} WHERE namespace = $1 AND scope_id = ANY($2::text[])`,
        [ns, ended.map((s) => s.scopeId)],
      );
      const byScope = new Map<string, ActionRecord[]>(ended.map((s) => [s.scopeId, []]));
      const unreadable = new Set<string>();
      for (const row of actionRows) {
        try {
          byScope.get(row.scope_id as string)?.push(readAction(row));
        } catch {
          unreadable.add(row.scope_id as string);
        }
      }
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
      for (const { chain, seal } of computed) {
        if (!confirmed.has(seal.scopeId)) continue;
        for (const l of chain) links.push([l.actionId, String(l.seq), l.prevHash, l.hash]);
        seals.push([seal.scopeId, String(seal.length), seal.head, seal.scopeHash]);
      }
      if (seals.length === 0) return;
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
      // Sealed once, so counted once: the scopes leave the live part of usage for the rollup.
      await rollUpSealed(tx, t, ns, seals.map((s) => s[0] as string));
    });
  }
}
