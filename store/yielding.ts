/**
 * Long CPU work in the worker's main thread (hashing a large batch of ended scopes) gives
 * the event loop a turn every few milliseconds: the writes that workflow tasks and
 * activities wait for, and the activities themselves, run on that thread too.
 */
export function yielder(everyMs = 10): () => Promise<void> | undefined {
  let since = performance.now();
  return () => {
    if (performance.now() - since < everyMs) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        since = performance.now();
        resolve();
      }),
    );
  };
}
