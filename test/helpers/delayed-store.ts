/**
 * A store whose calls of one method first wait for what `wait` returns (nothing: no wait),
 * with every argument then passed on; everything else is the store itself.
 */
export function delayCalls<S extends object, M extends keyof S & string>(
  store: S,
  method: M,
  wait: (...args: NonNullable<S[M]> extends (...a: infer A) => unknown ? A : never) => Promise<unknown> | undefined,
): S {
  return new Proxy(store, {
    get(target, p) {
      const v = Reflect.get(target, p, target) as unknown;
      if (p === method && typeof v === 'function') {
        return async (...args: unknown[]) => {
          await wait(...(args as unknown as Parameters<typeof wait>));
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/**
 * A store whose batch writes each wait `ms` first, as a large commit on a server would:
 * work meant to overlap a write (hashing while it is in flight) gets that time on any
 * machine.
 */
export function slowWrites<S extends { writeBatch(batch: never): Promise<unknown> }>(store: S, ms: number): S {
  return delayCalls(store, 'writeBatch', () => new Promise((resolve) => setTimeout(resolve, ms)));
}
