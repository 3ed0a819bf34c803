/**
 * Touches the toucher was not allowed: a footprint entry whose resource the recorded
 * allowance of a scope that touched it does not permit. The record-time checks refuse
 * such a touch before it happens, so one in the footprint came another way: a provider
 * that served another model than the one asked for (the call had already happened), an
 * MCP server's receipt naming more than the caller declared, or a row written by someone
 * who can write the tables. The footprint judges every entry whatever the reason.
 */
import { allowed, type Allowance } from '../allowance';
import type { ScopeRecord } from '../schemas';

/** What each scope of a session was allowed, by scope id. */
export type Allowances = ReadonlyMap<string, Allowance>;

export function allowancesOf(scopes: readonly Pick<ScopeRecord, 'scopeId' | 'allowance'>[]): Allowances {
  return new Map(scopes.map((s) => [s.scopeId, s.allowance]));
}

/**
 * The scopes among `scopeIds` whose allowance does not permit `uri`, in the order given.
 * A scope without a row has no known allowance and is not judged: its other rows are
 * what the footprint is already missing, and reconcile reports that.
 */
export function scopesOutsideAllowance(uri: string, scopeIds: readonly string[], allowances: Allowances): string[] {
  const out: string[] = [];
  for (const id of scopeIds) {
    const allowance = allowances.get(id);
    if (allowance !== undefined && !allowed(allowance, uri)) out.push(id);
  }
  return out;
}

/** One touch its scope was not allowed: by an action of the caller's, or by a server's receipt. */
export interface TouchOutsideAllowance {
  scopeId: string;
  uri: string;
  /** The action, or the action a receipt answers. */
  actionId: string;
  source: 'caller' | 'receipt';
}

/**
 * The touches among the hits of "was R touched?" that their scope's allowance does not
 * permit: each resource a hit names that matches the asked pattern, once per action.
 */
export function touchesOutsideAllowance(
  hits: readonly { actionId: string; scopeId: string; resources: readonly { uri: string }[] }[],
  receipts: readonly { actionId: string; scopeId: string; resources: readonly { uri: string }[] }[],
  matches: (uri: string) => boolean,
  allowances: Allowances,
): TouchOutsideAllowance[] {
  const out: TouchOutsideAllowance[] = [];
  const judge = (rows: typeof hits, source: TouchOutsideAllowance['source']) => {
    for (const row of rows) {
      for (const uri of new Set(row.resources.map((r) => r.uri))) {
        if (matches(uri) && scopesOutsideAllowance(uri, [row.scopeId], allowances).length) out.push({ scopeId: row.scopeId, uri, actionId: row.actionId, source });
      }
    }
  };
  judge(hits, 'caller');
  judge(receipts, 'receipt');
  return out;
}
