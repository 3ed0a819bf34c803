/** Chain links as stored: a `scope_chains` row (migration 014) read back as the per-action links verify checks. */
import { chainGenesis } from './chain';

export interface StoredLink {
  action_id: string;
  chain_seq: number;
  prev_hash: string;
  hash: string;
}

/**
 * The links of a `scope_chains` row, one per action as `action_chain` holds them: each
 * link's previous hash is the hash before it, the first one's the scope's genesis. A
 * value that is not text (an edited row) makes no link, so its action shows as not sealed.
 */
export function linksOfScopeRow(
  namespace: string,
  row: { scope_id: string; action_ids: unknown; hashes: unknown },
): StoredLink[] {
  const ids = Array.isArray(row.action_ids) ? row.action_ids : [];
  const hashes = Array.isArray(row.hashes) ? row.hashes : [];
  const links: StoredLink[] = [];
  let prev = chainGenesis({ namespace, scopeId: row.scope_id });
  for (let i = 0; i < ids.length; i++) {
    const id: unknown = ids[i];
    const hash: unknown = hashes[i];
    if (typeof id !== 'string' || typeof hash !== 'string') break;
    links.push({ action_id: id, chain_seq: i + 1, prev_hash: prev, hash });
    prev = hash;
  }
  return links;
}
