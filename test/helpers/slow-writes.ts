/**
 * A store whose batch writes each wait `ms` first, as a large commit on a server would:
 * work meant to overlap a write (hashing while it is in flight) gets that time on any
 * machine. Everything else is the store itself.
 */
export function slowWrites<S extends { writeBatch(batch: never): Promise<unknown> }>(store: S, ms: number): S {
  return new Proxy(store, {
    get(target, p) {
      if (p === 'writeBatch') {
        return async (batch: Parameters<S['writeBatch']>[0]) => {
          await new Promise((resolve) => setTimeout(resolve, ms));
          return target.writeBatch(batch);
        };
      }
      const v = Reflect.get(target, p, target) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
