/**
 * The three ways the capture benchmarks run one workload: plain Temporal, Temporal's
 * OpenTelemetry interceptors, and scopetrail. Each variant has a worker on a task queue of
 * its own (bench/overhead.ts, bench/sandbox-replay.ts); a session of each is started alike.
 */
import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import type { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import type { SqlStore } from '../../store/sql-store';
import { plainTools } from '../workloads/plain-tools';
import type { CompiledMain } from './compiled-sandbox';

export type Variant = 'plain' | 'otel' | 'scopetrail';
export const ALL_VARIANTS: Variant[] = ['plain', 'otel', 'scopetrail'];

export const PLAIN_WORKFLOWS = require.resolve('../workloads/plain-workflows');
export const SCOPETRAIL_AGENTS = require.resolve('../workloads/scopetrail-agents');

export interface VariantWorkers {
  plain?: Worker;
  otel?: Worker;
  scopetrail?: Awaited<ReturnType<CompiledMain['createWorker']>>;
}

/** A worker for each of `variants` on `queue(variant)`; scopetrail's runs `workflowBundle` when given (else its sources). */
export async function variantWorkers(options: {
  variants: readonly Variant[];
  connection: NativeConnection;
  queue: (v: Variant) => string;
  otel: OpenTelemetryPlugin;
  pkg: CompiledMain;
  store: SqlStore;
  /** scopetrail's tools, made with `pkg.defineTool`. */
  tools: ReturnType<CompiledMain['defineTool']>[];
  workflowBundle?: WorkflowBundle;
}): Promise<VariantWorkers> {
  const { variants, connection, queue, otel, pkg, store, tools, workflowBundle } = options;
  const plain = (plugins: OpenTelemetryPlugin[]) => ({ connection, workflowsPath: PLAIN_WORKFLOWS, activities: plainTools, plugins });
  return {
    plain: variants.includes('plain') ? await Worker.create({ ...plain([]), taskQueue: queue('plain') }) : undefined,
    otel: variants.includes('otel') ? await Worker.create({ ...plain([otel]), taskQueue: queue('otel') }) : undefined,
    scopetrail: variants.includes('scopetrail')
      ? await pkg.createWorker({
          connection, store, taskQueue: queue('scopetrail'), agents: SCOPETRAIL_AGENTS, tools, spool: false,
          ...(workflowBundle ? { workflowBundle } : {}),
        })
      : undefined,
  };
}

/** Runs one session of `variant` under workflow id (and scopetrail session id) `id`, to its end. */
export function sessionRunner(
  client: Client,
  scopes: Awaited<ReturnType<CompiledMain['ScopeClient']['connect']>>,
  queue: (v: Variant) => string,
): (variant: Variant, tree: boolean, id: string) => Promise<unknown> {
  return async (variant, tree, id) => {
    if (variant === 'scopetrail') {
      const s = await scopes.startSession(tree ? 'benchOrchestrator' : 'benchShort', { input: { query: id }, sessionId: id });
      return s.result();
    }
    return client.workflow.execute(tree ? 'plainAgent' : 'plainShort', { taskQueue: queue(variant), workflowId: id, args: tree ? [0, id] : [id] });
  };
}
