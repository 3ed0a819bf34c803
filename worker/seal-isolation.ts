/**
 * Keeps a scope the sealer cannot seal from holding up every other. A sealing pass is
 * one transaction, so a scope that makes it fail (its row names a namespace Temporal
 * does not have, so no anchor can be written; anything its seal or anchor is refused
 * for) fails every scope of its batch, and a failed batch is tried again. One such row,
 * which anyone who can write the tables can add and every worker's sweep then finds,
 * would stop all sealing.
 *
 * After a failed pass the next takes half as many scopes, down to one, and after each
 * sealed pass twice as many again, up to a full batch. A scope that then
 * fails alone although a pass succeeded since its first failure is set aside: tried again
 * a minute later, then twice as long each time, at most hourly, and reported each time.
 * During a store or Temporal outage no pass succeeds, so nothing is set aside: a scope
 * failing alone goes to the back of the queue instead, so the next pass tries another.
 */
export type FailedPass =
  /** Several scopes failed together: the next pass takes the first half of them. */
  | 'split'
  /** One scope failed, and nothing was sealed since its first failure (maybe an outage): it goes to the back. */
  | 'rotate'
  /** One scope failed again after others were sealed: it is the one. */
  | 'set-aside';

export class SealIsolation {
  /** The most scopes the next pass takes, while a failure is narrowed down; undefined otherwise. */
  probe: number | undefined;
  /** Passes ended so far: a pass is numbered by the count when it ends. */
  private passes = 0;
  private lastSealedPass = 0;

  /** A pass sealed scopes; `fullBatch` is what a pass takes when nothing failed. */
  sealed(fullBatch: number): void {
    this.passes += 1;
    this.lastSealedPass = this.passes;
    this.probe = this.probe === undefined || this.probe * 2 >= fullBatch ? undefined : this.probe * 2;
  }

  /**
   * A pass of `scopes` failed; `firstFailedPass` is the earliest pass any of them failed in
   * before, if one did. Returns what to do, and this pass's number (their first failure, for those without one).
   */
  failed(scopes: number, firstFailedPass: number | undefined): { verdict: FailedPass; pass: number } {
    this.passes += 1;
    const pass = this.passes;
    if (scopes > 1) {
      this.probe = Math.ceil(scopes / 2);
      return { verdict: 'split', pass };
    }
    this.probe = 1;
    return { verdict: this.lastSealedPass > (firstFailedPass ?? pass) ? 'set-aside' : 'rotate', pass };
  }
}

/** Told when a scope is set aside: which one, for how long, and why its pass failed. */
export class SealSetAsideError extends Error {
  constructor(
    readonly namespace: string,
    readonly scopeId: string,
    readonly retryInMs: number,
    override readonly cause: Error,
  ) {
    super(`scope ${scopeId} (namespace ${namespace}) could not be sealed, set aside for ${Math.round(retryInMs / 1000)} s while others are sealed: ${cause.message}`);
    this.name = 'SealSetAsideError';
  }
}

/** How long a scope set aside for the `times`-th time waits before it is tried again. */
export function setAsideFor(times: number): number {
  return Math.min(3_600_000, 60_000 * 2 ** Math.max(0, times - 1));
}
