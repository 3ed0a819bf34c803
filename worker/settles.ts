/** Waiting on a promise with a bound, and stopping an SDK worker that must be run to be released. */
import type { Worker } from '@temporalio/worker';

/** Whether `p` settles (either way) within `ms`. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  return settled;
}

/**
 * Runs `worker` only to stop it at once. The SDK releases a worker's native half (its
 * threads) and its hold on the connection only at the end of a run: a worker that never
 * runs keeps the process alive, and its connection refuses to close ("Cannot close
 * connection while Workers hold a reference to it").
 */
export async function runAndStop(worker: Worker, run: (w: Worker) => Promise<void>): Promise<void> {
  const running = run(worker).catch(() => undefined);
  while (worker.getState() === 'INITIALIZED' && !(await settlesWithin(running, 5)));
  if (worker.getState() === 'RUNNING') worker.shutdown();
  await running;
}
