/**
 * An answer that may come late: a store asked something on the way to a user's call (a
 * start, a worker's start) is given a bound, so a store slow to answer does not hold it.
 */

/** `p`'s answer, or `otherwise` when it takes longer than `ms` (a later rejection of `p` is then ignored). */
export async function answerWithin<T>(p: Promise<T>, ms: number, otherwise: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  p.catch(() => undefined);
  try {
    return await Promise.race([
      p,
      new Promise<T>((resolve) => {
        timer = setTimeout(() => resolve(otherwise), ms);
        // The bound never keeps a process alive by itself.
        timer.unref?.();
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
