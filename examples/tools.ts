/**
 * The example's tools. `search` keeps a ground-truth log of every input it received
 * and when, so a test can check that each call was attributed to the scope that
 * really made it. An optional barrier holds calls until N are in flight at once,
 * which makes "two scopes call the same tool at the same moment" a certainty.
 */
import { Context } from '@temporalio/activity';
import { z } from 'zod';
import { defineTool, reportResource } from '../activities';

export interface SearchCall {
  query: string;
  workflowId: string;
  activityId: string;
  attempt: number;
  startedAt: number;
  endedAt: number;
}

export interface ExampleToolOptions {
  /** Hold each search until this many are running together (or `barrierTimeoutMs` passes). */
  barrier?: number;
  barrierTimeoutMs?: number;
  latencyMs?: number;
}

export function createExampleTools(options: ExampleToolOptions = {}) {
  const searchLog: SearchCall[] = [];
  const latency = options.latencyMs ?? 150;
  let inFlight = 0;
  let release: (() => void) | undefined;
  let gate = new Promise<void>((r) => (release = r));

  const search = defineTool(
    {
      name: 'search',
      description: 'Search the web index',
      input: z.object({ query: z.string().min(1), limit: z.number().int().min(1).max(20).default(3) }),
      output: z.array(z.object({ title: z.string(), url: z.string() })),
      resources: [{ uri: 'api:web-search', mode: 'read' }],
    },
    async ({ query, limit }) => {
      const info = Context.current().info;
      const startedAt = Date.now();
      inFlight += 1;
      if (options.barrier && options.barrier > 1) {
        if (inFlight >= options.barrier) release?.();
        await Promise.race([gate, sleep(options.barrierTimeoutMs ?? 5_000)]);
      }
      await sleep(latency);
      inFlight -= 1;
      if (inFlight === 0) gate = new Promise<void>((r) => (release = r));
      searchLog.push({
        query,
        workflowId: info.workflowExecution!.workflowId,
        activityId: info.activityId,
        attempt: info.attempt,
        startedAt,
        endedAt: Date.now(),
      });
      return Array.from({ length: limit }, (_, i) => ({
        title: `${query} — result ${i + 1}`,
        url: `https://example.org/${encodeURIComponent(query)}/${i + 1}`,
      }));
    },
  );

  const saveNote = defineTool(
    {
      name: 'saveNote',
      description: 'Store a note in the team notebook',
      input: z.object({ title: z.string().min(1), body: z.string() }),
      output: z.object({ id: z.string() }),
      resources: [{ uri: 'db:notes', mode: 'write' }],
    },
    async ({ title }) => {
      reportResource({ uri: `db:notes/${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`, mode: 'write' });
      await sleep(20);
      return { id: `note-${title.length}` };
    },
  );

  const fetchPage = defineTool(
    {
      name: 'fetchPage',
      description: 'Fetch a page; the first attempt of every call times out (a flaky upstream)',
      input: z.object({ url: z.string().url() }),
      output: z.object({ url: z.string(), bytes: z.number() }),
      resources: [{ uri: 'api:http-fetch', mode: 'read' }],
    },
    async ({ url }) => {
      if (Context.current().info.attempt === 1) throw new Error(`upstream timeout fetching ${url}`);
      reportResource({ uri: `web:${new URL(url).hostname}`, mode: 'read' });
      return { url, bytes: 4096 };
    },
  );

  const translate = defineTool(
    {
      name: 'translate',
      description: 'Machine translation; the service is down in this example',
      input: z.object({ text: z.string(), to: z.string().length(2) }),
      output: z.object({ text: z.string() }),
      resources: [{ uri: 'api:translation', mode: 'share' }],
    },
    async ({ to }) => {
      throw new Error(`translation service unavailable for "${to}" (quota exceeded)`);
    },
  );

  return { tools: { search, saveNote, fetchPage, translate }, searchLog };
}

export type ExampleTools = ReturnType<typeof createExampleTools>['tools'];

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
