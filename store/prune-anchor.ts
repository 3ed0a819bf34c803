/**
 * Prune anchors in Temporal: each pruned month is recorded as the memo of a closed
 * workflow (like seal anchors, store/seal-anchor.ts), so a database writer cannot
 * excuse a deleted session by inserting a `prunes` row: reconcile and verify accept a
 * missing session as pruned only when Temporal holds the anchor of its month.
 */
import { NamespaceClients } from './namespace-clients';
import { Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type ConnectionLike } from '@temporalio/client';
import { z } from 'zod';
import { ANCHOR_START_DELAY, SEAL_ANCHOR_TASK_QUEUE } from '../cim/seal';
import type { PrunedMonth } from './prune';

export const PRUNE_ANCHOR_TYPE = 'scopetrailPruneAnchor';
export const PRUNE_MEMO = 'scopetrailPrune';

const PruneMemo = z.object({ month: z.string().regex(/^\d{4}-\d{2}$/), before: z.string(), prunedAt: z.string() });
export type PruneMemo = z.infer<typeof PruneMemo>;

/** One anchor per store (its schema) and month: stores sharing a Temporal namespace keep apart. */
export function pruneAnchorId(store: string, month: string): string {
  return `scopetrail-prune:${store}:${month}`;
}

export class TemporalPruneAnchors {

  private readonly clients: NamespaceClients;

  constructor(
    connection: ConnectionLike,
    /** The store's identity (Retention.key). */
    private readonly store: string,
  ) {
    this.clients = new NamespaceClients(connection);
  }

  /** Anchors the prune of `month` in `namespace`; a month anchored before keeps its first anchor. */
  async anchor(namespace: string, memo: PruneMemo): Promise<void> {
    const client = this.client(namespace);
    try {
      const handle = await client.workflow.start(PRUNE_ANCHOR_TYPE, {
        workflowId: pruneAnchorId(this.store, memo.month),
        taskQueue: SEAL_ANCHOR_TASK_QUEUE,
        startDelay: ANCHOR_START_DELAY,
        args: [],
        memo: { [PRUNE_MEMO]: memo },
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
      });
      await handle.terminate('prune anchor: the memo records a pruned month; it is never executed').catch(() => undefined);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  async read(namespace: string, month: string): Promise<PruneMemo | undefined> {
    try {
      const description = await this.client(namespace).workflow.getHandle(pruneAnchorId(this.store, month)).describe();
      const parsed = PruneMemo.safeParse(description.memo?.[PRUNE_MEMO]);
      return parsed.success ? parsed.data : undefined;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  private client(namespace: string): Client {
    return this.clients.get(namespace);
  }
}

export type { PrunedMonth };
