/**
 * The scopes a recorder wrote as `running` and has not yet seen end. A finished action
 * in one of them needs no sealing: its scope cannot be sealed until it ends, and its end
 * record queues it. Without this, every finished action queued its scope for a sealer
 * pass that locked, checked and hashed a scope still running, and hashed its held
 * actions again on each pass (quadratic in the scope's length).
 *
 * A scope this recorder never saw start (begun by another worker, or before a restart),
 * or one dropped because the set is full, counts as not open: its actions queue it, as
 * before, and the sealer's query skips it while it runs.
 */
export class OpenScopes {
  /** Insertion order is the age order the bound drops from. */
  private readonly open = new Set<string>();

  constructor(private readonly max = 100_000) {}

  /** Applies a committed batch's scope records, in the order they were emitted. */
  apply(scopes: readonly { namespace: string; scopeId: string; status: string }[]): void {
    for (const s of scopes) {
      const key = keyOf(s.namespace, s.scopeId);
      if (s.status !== 'running') {
        this.open.delete(key);
        continue;
      }
      if (this.open.has(key)) continue;
      this.open.add(key);
      if (this.open.size > this.max) this.open.delete(this.open.values().next().value!);
    }
  }

  has(namespace: string, scopeId: string): boolean {
    return this.open.has(keyOf(namespace, scopeId));
  }

  get size(): number {
    return this.open.size;
  }
}

function keyOf(namespace: string, scopeId: string): string {
  return `${namespace}\u0000${scopeId}`;
}
