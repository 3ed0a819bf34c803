/**
 * Attenuation: what a scope may touch. An allowance is a list of resource patterns —
 * an exact URI, or a prefix ending in `*` — or null for "unrestricted" (an agent whose
 * manifest declares no resources). A delegate's allowance is the intersection of its
 * delegator's allowance and its own manifest, so authority can only narrow as it is
 * passed down; nobody can widen it by asking.
 */

export type Allowance = readonly string[] | null;

/** Does `pattern` permit `uri`? */
export function permits(pattern: string, uri: string): boolean {
  return pattern.endsWith('*') ? uri.startsWith(pattern.slice(0, -1)) : uri === pattern;
}

export function allowed(allowance: Allowance, uri: string): boolean {
  return allowance === null || allowance.some((p) => permits(p, uri));
}

/** The narrower of two patterns if one contains the other, else nothing. */
function intersectPatterns(a: string, b: string): string | undefined {
  if (covers(a, b)) return b;
  if (covers(b, a)) return a;
  return undefined;
}

/** Every URI `inner` permits is permitted by `outer`. */
function covers(outer: string, inner: string): boolean {
  if (!outer.endsWith('*')) return outer === inner;
  const prefix = outer.slice(0, -1);
  return inner.startsWith(prefix);
}

export function intersectAllowances(a: Allowance, b: Allowance): Allowance {
  if (a === null) return b === null ? null : [...b];
  if (b === null) return [...a];
  const out = new Set<string>();
  for (const x of a) {
    for (const y of b) {
      const both = intersectPatterns(x, y);
      if (both !== undefined) out.add(both);
    }
  }
  return [...out].sort();
}

/** The resources in `uris` that `allowance` does not permit. */
export function outside(allowance: Allowance, uris: readonly string[]): string[] {
  return uris.filter((u) => !allowed(allowance, u));
}
