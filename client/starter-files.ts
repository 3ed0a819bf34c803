/**
 * The files `scopetrail init` writes: a small project with two agents, two tools, and
 * one program that starts a worker and a client, runs a session and asks about it —
 * against a Temporal dev server and the embedded store, so `npm install && npm start`
 * is all it takes.
 */
export interface StarterOptions {
  name: string;
  /** What package.json depends on for scopetrail (a version range, a tarball, a git URL). */
  scopetrailSpec: string;
  temporalVersion: string;
}

export function starterFiles(o: StarterOptions): Record<string, string> {
  const pkg = {
    name: o.name,
    version: '0.1.0',
    private: true,
    type: 'commonjs',
    scripts: { build: 'tsc -p .', start: 'tsc -p . && node dist/main.js', worker: 'tsc -p . && node dist/worker.js' },
    dependencies: {
      scopetrail: o.scopetrailSpec,
      '@temporalio/activity': o.temporalVersion,
      '@temporalio/client': o.temporalVersion,
      '@temporalio/common': o.temporalVersion,
      '@temporalio/plugin': o.temporalVersion,
      '@temporalio/proto': o.temporalVersion,
      '@temporalio/worker': o.temporalVersion,
      '@temporalio/workflow': o.temporalVersion,
      zod: '^4.0.0',
    },
    devDependencies: { typescript: '^7.0.2', '@types/node': '^20.19.0' },
  };
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      skipLibCheck: true,
      outDir: 'dist',
      rootDir: 'src',
      types: ['node'],
    },
    include: ['src'],
  };
  return {
    'package.json': `${JSON.stringify(pkg, null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify(tsconfig, null, 2)}\n`,
    '.gitignore': 'node_modules/\ndist/\n.scopetrail/\n',
    'README.md': README,
    'src/tools.ts': TOOLS,
    'src/agents.ts': AGENTS,
    'src/runtime.ts': RUNTIME,
    'src/main.ts': MAIN,
    'src/worker.ts': WORKER,
  };
}

const README = `# A scopetrail project

\`\`\`sh
npm install && npm start      # a Temporal dev server, a worker, one session, its scope tree and a query
\`\`\`

- \`src/agents.ts\` — the agents (Temporal workflows; sandbox code: import only \`scopetrail/workflow\`)
- \`src/tools.ts\` — the tools (Temporal activities, zod-checked, with the resources they touch)
- \`src/main.ts\` — a worker and a client in one process: runs a session, prints its tree, reconciles it
- \`src/worker.ts\` — a long-running worker (\`npm run worker\`), for sessions started elsewhere

Records go to an embedded store in \`.scopetrail/store\`; set \`DATABASE_URL\` to use Postgres. Temporal is a local
dev server unless \`TEMPORAL_ADDRESS\` names one. Ask about sessions with the CLI, e.g.
\`npx scopetrail tree <session> --data-dir .scopetrail/store\` or
\`npx scopetrail actions <scope> --descendants --data-dir .scopetrail/store\` (with \`DATABASE_URL\` set, leave out
\`--data-dir\`). The embedded store takes one process at a time: query it while no worker runs.
`;

const TOOLS = `// Tools run in the worker process: they may do I/O.
import { z } from 'zod';
import { defineTool, reportResource } from 'scopetrail';

export const lookupTicket = defineTool(
  {
    name: 'lookupTicket',
    description: 'Reads a support ticket',
    input: z.object({ ticket: z.string().min(1) }),
    output: z.object({ ticket: z.string(), priority: z.enum(['low', 'high']) }),
  },
  async ({ ticket }) => {
    // Known only at run time, so reported rather than declared.
    reportResource({ uri: \`db:tickets/\${ticket}\`, mode: 'read' });
    return { ticket, priority: ticket.endsWith('2') ? ('high' as const) : ('low' as const) };
  },
);

export const notifyOnCall = defineTool(
  {
    name: 'notifyOnCall',
    description: 'Pages the on-call engineer',
    input: z.object({ ticket: z.string(), note: z.string() }),
    output: z.object({ sent: z.boolean() }),
    resources: [{ uri: 'api:pager', mode: 'write' }],
  },
  async () => ({ sent: true }),
);

export const tools = { lookupTicket, notifyOnCall };
export type StarterTools = typeof tools;
`;

const AGENTS = `// Agents run in Temporal's deterministic sandbox: import only scopetrail/workflow here.
import { defineAgent, delegate, llm, useTools, DelegationError } from 'scopetrail/workflow';
import type { StarterTools } from './tools.js';

const tools = useTools<StarterTools>({ retry: { maximumAttempts: 3 } });

export const escalator = defineAgent(
  { name: 'escalator', version: '0.1.0', tools: ['notifyOnCall'], resources: ['api:pager'] },
  async (input: { ticket: string }) => (await tools.notifyOnCall({ ticket: input.ticket, note: 'high priority' })).sent,
);

export const triage = defineAgent(
  { name: 'triage', version: '0.1.0', tools: ['lookupTicket', 'llm'], subAgents: ['escalator'] },
  async (input: { ticket: string }) => {
    const found = await tools.lookupTicket({ ticket: input.ticket });
    let escalated = false;
    if (found.priority === 'high') {
      try {
        escalated = await delegate(escalator, { objective: \`page on-call for \${found.ticket}\`, input: { ticket: found.ticket } });
      } catch (err) {
        if (!(err instanceof DelegationError)) throw err;
      }
    }
    const summary = await llm({ messages: [{ role: 'user', content: \`summarize \${found.ticket}\` }] });
    return { ticket: found.ticket, escalated, summary: summary.text };
  },
);
`;

const RUNTIME = `// Temporal (a local dev server unless TEMPORAL_ADDRESS is set) and the store (embedded unless DATABASE_URL is set).
import { join } from 'node:path';
import { createWorker, ensureTemporal, openStore, quietTemporalLogs } from 'scopetrail';
import { tools } from './tools.js';

export const TASK_QUEUE = 'starter';

export async function start() {
  quietTemporalLogs('ERROR');
  const temporal = await ensureTemporal();
  const store = await openStore(
    process.env.DATABASE_URL ? { url: process.env.DATABASE_URL } : { dataDir: join(process.cwd(), '.scopetrail', 'store') },
  );
  const worker = await createWorker({
    agents: require.resolve('./agents.js'),
    tools: Object.values(tools),
    store,
    taskQueue: TASK_QUEUE,
    address: temporal.address,
    namespace: temporal.namespace,
  });
  return { temporal, store, worker };
}
`;

const MAIN = `// A worker and a client in one process: run a session, print its scope tree, check it against Temporal.
import { ScopeClient, renderTree } from 'scopetrail';
import { TASK_QUEUE, start } from './runtime.js';
import { triage } from './agents.js';

async function main(): Promise<void> {
  const { temporal, store, worker } = await start();
  const running = worker.run();
  const client = await ScopeClient.connect({ store, taskQueue: TASK_QUEUE, address: temporal.address, namespace: temporal.namespace });
  try {
    const session = await client.startSession(triage, { input: { ticket: 'T-42' }, objective: 'triage ticket T-42' });
    console.log('result:', JSON.stringify(await session.result()));
    await worker.recorder.drain();
    console.log(renderTree(await client.scopeTree(session.sessionId), { actions: await client.actionsUnder(session.sessionId, { descendants: true }) }));
    const paged = await client.wasTouched(session.sessionId, 'api:pager');
    console.log(\`was api:pager touched under \${session.sessionId}? \${paged.touched ? 'yes' : 'no'}\`);
    const report = await client.reconcile(session.sessionId);
    console.log(\`reconcile against Temporal history: \${report.differences.length} differences\`);
    const where = process.env.DATABASE_URL ? '' : ' --data-dir .scopetrail/store';
    console.log(\`ask more: npx scopetrail actions \${session.sessionId} --descendants\${where}\`);
  } finally {
    await client.close();
    await worker.shutdown();
    await running.catch(() => undefined);
    await store.close();
    await temporal.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
`;

const WORKER = `// A long-running worker: Ctrl-C stops it after the running tasks finish.
import { start } from './runtime.js';

async function main(): Promise<void> {
  const { temporal, store, worker } = await start();
  console.error(\`worker on task queue "starter", Temporal \${temporal.address}. Ctrl-C stops.\`);
  process.once('SIGINT', () => void worker.shutdown());
  process.once('SIGTERM', () => void worker.shutdown());
  await worker.run();
  await worker.shutdown();
  await store.close();
  await temporal.stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
`;
