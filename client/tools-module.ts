/**
 * What `scopetrail worker --tools <module>` serves: every export that is a tool made with
 * defineTool, an array of them, or a toolset such as connectMcpServer returns (its
 * `tools`, and its `close` called when the worker stops). An export may be a promise of
 * any of these, since connecting to an MCP server is asynchronous
 * (`exports.files = connectMcpServer({ … })`).
 */
import type { ToolDefinition } from '../activities/tool';
import { CliFailure, CliUsageError } from './cli-context';
import { ScopetrailConfigError } from '../cim/errors';

export interface ToolsModule {
  tools: ToolDefinition<any, any>[];
  /** Closes what the module's toolsets opened (MCP connections); never rejects. */
  close(): Promise<void>;
}

interface Toolset {
  tools: unknown[];
  close?: () => Promise<void>;
}

function isTool(v: unknown): v is ToolDefinition<any, any> {
  return typeof v === 'object' && v !== null && 'spec' in v && 'activity' in v;
}

function isToolset(v: unknown): v is Toolset {
  return typeof v === 'object' && v !== null && Array.isArray((v as Toolset).tools) && (v as Toolset).tools.every(isTool);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as PromiseLike<unknown>).then === 'function';
}

export async function toolsOfModule(path: string, exports: Record<string, unknown>): Promise<ToolsModule> {
  const entries = Object.entries(exports);
  // Settled together, so that a failed connection does not leave the others open.
  const settled = await Promise.allSettled(entries.map(([, v]) => (isThenable(v) ? Promise.resolve(v) : v)));
  const tools: ToolDefinition<any, any>[] = [];
  /** The export each tool came from, by name: a second tool of a name is refused naming both. */
  const exportOf = new Map<string, string>();
  let clash: string | undefined;
  const closers: Array<() => Promise<void>> = [];
  for (const [i, outcome] of settled.entries()) {
    if (outcome.status !== 'fulfilled') continue;
    const v = outcome.value;
    const from = entries[i]![0];
    // A module may export each tool and an array of them too: each definition counts once.
    const add = (list: readonly ToolDefinition<any, any>[]) => {
      for (const t of list) {
        if (tools.includes(t)) continue;
        const other = exportOf.get(t.spec.name);
        if (other !== undefined && !clash) {
          const where = other === from ? `export "${from}" holds` : `exports "${other}" and "${from}" are`;
          clash = `tools module ${path}: ${where} two tools named "${t.spec.name}"; a worker serves one tool per name, rename one`;
        }
        if (other === undefined) exportOf.set(t.spec.name, from);
        tools.push(t);
      }
    };
    if (isTool(v)) add([v]);
    else if (Array.isArray(v) && v.length > 0 && v.every(isTool)) add(v);
    else if (isToolset(v)) {
      add(v.tools as ToolDefinition<any, any>[]);
      if (typeof v.close === 'function') closers.push(v.close.bind(v));
    }
  }
  const close = async () => {
    await Promise.allSettled(closers.map((c) => c()));
  };
  const failed = settled.findIndex((o) => o.status === 'rejected');
  if (failed >= 0) {
    await close();
    const reason = (settled[failed] as PromiseRejectedResult).reason as Error | undefined;
    const message = `tools module ${path}: export "${entries[failed]![0]}" failed: ${(reason?.message ?? String(reason)).split('\n')[0]}`;
    // Options it was given wrong (connectMcpServer's InvalidOptionError, a TypeError naming the field) are a usage
    // error, exit 2; a server that did not answer is a failure of the start, exit 1.
    if (reason instanceof TypeError || reason instanceof ScopetrailConfigError) throw new CliUsageError(message);
    throw new CliFailure(message, { export: entries[failed]![0] });
  }
  if (clash) {
    await close();
    throw new CliUsageError(clash);
  }
  if (tools.length === 0) {
    throw new CliUsageError(`tools module ${path} exports no tool made with defineTool(), array of them, or toolset (connectMcpServer)`);
  }
  return { tools, close };
}
