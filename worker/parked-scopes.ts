/**
 * Scopes the sealer has taken out of its queue for a while, each with the timer that
 * hands it back: scopes whose run is still open, and scopes set aside after failing
 * alone (worker/sealer.ts). One entry per scope id; parking a scope again replaces its
 * entry and its timer.
 */
export class ParkedScopes<T> {
  private readonly parked = new Map<string, { item: T; timer: NodeJS.Timeout }>();

  /** Parks `item` under `id` for `ms`; `due` then gets it back, no longer parked. */
  park(id: string, item: T, ms: number, due: (item: T) => void): void {
    const earlier = this.parked.get(id);
    if (earlier) clearTimeout(earlier.timer);
    const timer = setTimeout(() => {
      this.parked.delete(id);
      due(item);
    }, ms);
    // A parked scope never keeps the process alive: the sweep finds it again after a restart.
    timer.unref();
    this.parked.set(id, { item, timer });
  }

  has(id: string): boolean {
    return this.parked.has(id);
  }

  get(id: string): T | undefined {
    return this.parked.get(id)?.item;
  }

  /** Takes the scope out before its time, without calling its `due`; undefined if it is not parked. */
  release(id: string): T | undefined {
    const entry = this.parked.get(id);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.parked.delete(id);
    return entry.item;
  }

  ids(): string[] {
    return [...this.parked.keys()];
  }

  get size(): number {
    return this.parked.size;
  }

  /** Forgets every parked scope and stops its timer. */
  clear(): void {
    for (const { timer } of this.parked.values()) clearTimeout(timer);
    this.parked.clear();
  }
}
