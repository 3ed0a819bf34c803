/**
 * A seal: what the sealer computed for one ended scope (chain length, chain head, the
 * scope's own hash). The store keeps a copy next to the rows, but a copy a database
 * writer can rewrite proves nothing; the authoritative copy is anchored in Temporal:
 * with the seals of its session sealed at the same time (cim/seal-batches.ts), or on
 * its own under an id derived from the scope and the run that ended it.
 */
import { z } from 'zod';

export const Seal = z.object({
  namespace: z.string().min(1),
  sessionId: z.string().min(1),
  scopeId: z.string().min(1),
  runId: z.string().min(1),
  length: z.number().int().min(0),
  /** Hash of the last action of the chain; null for a scope without actions. */
  head: z.string().nullable(),
  scopeHash: z.string().min(1),
});
export type Seal = z.infer<typeof Seal>;

/** Memo key of an anchor workflow. */
export const SEAL_MEMO = 'scopetrailSeal';
/** Anchors are never executed: no worker polls this queue, and the anchor is closed as soon as it is written. */
export const SEAL_ANCHOR_TASK_QUEUE = 'scopetrail-seal-anchors';
export const SEAL_ANCHOR_TYPE = 'scopetrailSealAnchor';
/**
 * Anchors start with this delay, and are terminated long before it ends. A delayed start
 * schedules no workflow task: an anchor started without one leaves a task in the anchor
 * queue's backlog that no worker ever takes (it stays there until the server drops it),
 * and costs the server a trip through matching for nothing.
 */
export const ANCHOR_START_DELAY = '3650 days';
/**
 * Seal anchors close themselves: started with this execution timeout (their start delay
 * never elapses), the server times them out, so writing one is a single call, not a
 * start and a terminate. The memo stays readable as long as any closed workflow's.
 */
export const ANCHOR_CLOSE_AFTER = '1s';

/**
 * The run id is part of the id because a session id (and so every scope id under it)
 * may be reused once the earlier session closed; a run id never is.
 */
export function sealAnchorId(scopeId: string, runId: string): string {
  return `scopetrail-seal:${scopeId}:${runId}`;
}

/** Whether two seals vouch for the same chain (the fields that identify it must agree too). */
export function sameSeal(a: Seal, b: Seal): boolean {
  return (
    a.scopeId === b.scopeId && a.runId === b.runId && a.length === b.length && a.head === b.head && a.scopeHash === b.scopeHash
  );
}

/** What differs between the seal anchored in Temporal and one computed now, for messages. */
export function sealDifference(anchored: Seal, now: Pick<Seal, 'length' | 'head' | 'scopeHash'>): string {
  const parts: string[] = [];
  if (anchored.length !== now.length) parts.push(`${now.length} actions now, ${anchored.length} when sealed`);
  if (anchored.head !== now.head) parts.push(`chain head ${short(now.head)} now, ${short(anchored.head)} when sealed`);
  if (anchored.scopeHash !== now.scopeHash) parts.push(`scope hash ${short(now.scopeHash)} now, ${short(anchored.scopeHash)} when sealed`);
  return parts.join('; ');
}

function short(hash: string | null): string {
  return hash === null ? 'none' : hash.slice(0, 12);
}
