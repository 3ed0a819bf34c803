/**
 * Seal anchors in Temporal. Each sealed chain is written once as the memo of a tiny
 * workflow whose id derives from the scope and its run, started with the
 * REJECT_DUPLICATE reuse policy: Temporal itself then refuses a second seal of the same
 * scope, however the database was edited. The anchor is closed (terminated) the moment
 * it is written; nothing ever executes it. Its memo is readable for as long as Temporal
 * keeps closed workflows (the namespace's retention), the same horizon as the session's
 * own histories that reconcile reads.
 */
import { NamespaceClients } from './namespace-clients';
import { Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type ConnectionLike } from '@temporalio/client';
import { ANCHOR_START_DELAY, SEAL_ANCHOR_TASK_QUEUE, SEAL_ANCHOR_TYPE, SEAL_MEMO, Seal, sameSeal, sealAnchorId, sealDifference } from '../cim/seal';
import type { SealConfirm } from './types';

export type AnchorOutcome =
  | { outcome: 'anchored' }
  /** Anchored before with the very same chain (a seal whose store write was lost, or a second sealer). */
  | { outcome: 'same' }
  /** Anchored before with another chain: the rows changed since. `anchored` is null when its memo is unreadable. */
  | { outcome: 'conflict'; anchored: Seal | null };

export type ReadAnchor = { found: false } | { found: true; seal: Seal | null };

export interface SealAnchors {
  anchor(seal: Seal): Promise<AnchorOutcome>;
  read(namespace: string, scopeId: string, runId: string): Promise<ReadAnchor>;
}

const ANCHOR_CLOSED = 'seal anchor: the memo holds the chain head; it is never executed';

export class TemporalSealAnchors implements SealAnchors {

  private readonly clients: NamespaceClients;

  constructor(connection: ConnectionLike) {
    this.clients = new NamespaceClients(connection);
  }

  async anchor(seal: Seal): Promise<AnchorOutcome> {
    const client = this.client(seal.namespace);
    const workflowId = sealAnchorId(seal.scopeId, seal.runId);
    try {
      const handle = await client.workflow.start(SEAL_ANCHOR_TYPE, {
        workflowId,
        taskQueue: SEAL_ANCHOR_TASK_QUEUE,
        startDelay: ANCHOR_START_DELAY,
        args: [],
        memo: { [SEAL_MEMO]: seal },
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
      });
      await closeQuietly(handle.terminate(ANCHOR_CLOSED));
      return { outcome: 'anchored' };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    const existing = await this.read(seal.namespace, seal.scopeId, seal.runId);
    // A sealer that died between start and terminate left the anchor open: close it now.
    await closeQuietly(client.workflow.getHandle(workflowId).terminate(ANCHOR_CLOSED));
    if (existing.found && existing.seal && sameSeal(existing.seal, seal)) return { outcome: 'same' };
    return { outcome: 'conflict', anchored: existing.found ? existing.seal : null };
  }

  async read(namespace: string, scopeId: string, runId: string): Promise<ReadAnchor> {
    try {
      const description = await this.client(namespace).workflow.getHandle(sealAnchorId(scopeId, runId)).describe();
      const parsed = Seal.safeParse(description.memo?.[SEAL_MEMO]);
      return { found: true, seal: parsed.success ? parsed.data : null };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { found: false };
      throw err;
    }
  }

  private client(namespace: string): Client {
    return this.clients.get(namespace);
  }
}

/** Anchors started at once per batch: enough to hide the round trips, few enough to be polite. */
const CONCURRENCY = 8;

export class SealRefusedError extends Error {
  constructor(readonly seal: Seal, readonly anchored: Seal | null) {
    super(
      `refusing to seal scope ${seal.scopeId} again: its chain was sealed before (anchored in Temporal) and ` +
        (anchored ? `its rows changed since (${sealDifference(anchored, seal)})` : 'that anchor is unreadable') +
        `; run scopetrail verify ${seal.sessionId}`,
    );
    this.name = 'SealRefusedError';
  }
}

/**
 * The store's confirm step: anchor each seal, accept those Temporal took (or already
 * holds identically), and report each refused one. An unreachable Temporal throws, so
 * the whole batch stays unsealed and is tried again later.
 */
export function anchorSeals(anchors: SealAnchors, onRefused: (err: SealRefusedError) => void): SealConfirm {
  return async (seals) => {
    const accepted = new Set<string>();
    const queue = [...seals];
    const work = async () => {
      for (let seal = queue.shift(); seal; seal = queue.shift()) {
        const result = await anchors.anchor(seal);
        if (result.outcome === 'conflict') onRefused(new SealRefusedError(seal, result.anchored));
        else accepted.add(seal.scopeId);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, work));
    return accepted;
  };
}

/** Terminating an anchor that is already closed is fine: only the memo matters. */
async function closeQuietly(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch {
    // already closed
  }
}
