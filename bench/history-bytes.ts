/**
 * What scopetrail adds to Temporal's histories: the overhead benchmark's tree session,
 * run once as plain Temporal workflows and once as scopetrail agents, and every history
 * of each session read back and sized as the server stores its events (protobuf bytes),
 * by part: scope headers, memos, search attributes, inputs and results (envelopes). The
 * server and the workers handle every byte of these, so this is where capture costs
 * Temporal work that no interceptor's CPU shows.
 *
 *   npx tsx bench/history-bytes.ts [--sessions 3] [--print-only]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { ensureTemporal } from '../devserver/dev-server';
import { ScopeClient } from '../client/scope-client';
import { createWorker } from '../worker/create-worker';
import { benchTools } from './workloads/scopetrail-tools';
import { plainTools } from './workloads/plain-tools';
import { dropSchema, freshStore } from './lib/fresh-store';
import { table, writeResult } from './lib/report';

const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '3' },
    'print-only': { type: 'boolean', default: false },
    database: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const SESSIONS = Number(args.sessions);
if (!Number.isInteger(SESSIONS) || SESSIONS < 1) throw new Error(`--sessions: give a positive whole number, not ${JSON.stringify(args.sessions)}`);
const SCHEMA = 'bench_history_bytes';

const api = temporal.api;
type Coder = { encode(message: never): { finish(): Uint8Array } };
const bytes = (message: unknown, coder: Coder): number => (message ? coder.encode(message as never).finish().length : 0);

const PARTS = ['events', 'bytes', 'headers', 'memo', 'search_attributes', 'inputs', 'results'] as const;
type Sizes = Record<(typeof PARTS)[number], number>;

/** Every history of the workflows whose id starts with `prefix` (a session's root and its children), sized by part. */
async function sizeOf(client: Client, prefix: string): Promise<Sizes> {
  const sizes = Object.fromEntries(PARTS.map((p) => [p, 0])) as Sizes;
  for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH "${prefix}"` })) {
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    for (const e of history.events ?? []) {
      sizes.events += 1;
      sizes.bytes += bytes(e, api.history.v1.HistoryEvent);
      const started = e.activityTaskScheduledEventAttributes ?? e.startChildWorkflowExecutionInitiatedEventAttributes ?? e.workflowExecutionStartedEventAttributes;
      if (started) {
        sizes.headers += bytes(started.header, api.common.v1.Header);
        sizes.inputs += bytes(started.input, api.common.v1.Payloads);
        if ('memo' in started) sizes.memo += bytes(started.memo, api.common.v1.Memo);
        if ('searchAttributes' in started) sizes.search_attributes += bytes(started.searchAttributes, api.common.v1.SearchAttributes);
      }
      const ended = e.activityTaskCompletedEventAttributes ?? e.workflowExecutionCompletedEventAttributes ?? e.childWorkflowExecutionCompletedEventAttributes;
      if (ended) sizes.results += bytes(ended.result, api.common.v1.Payloads);
    }
  }
  return sizes;
}

async function main(): Promise<void> {
  const server = await ensureTemporal({ log: (l) => console.error(l) });
  const store = await freshStore(args.database!, SCHEMA);
  const connection = await NativeConnection.connect({ address: server.address });
  const run = randomBytes(3).toString('hex');
  const plainQueue = `history-plain-${run}`;
  const scopetrailQueue = `history-scopetrail-${run}`;
  console.error('bundling the workers...');
  const plain = await Worker.create({ connection, taskQueue: plainQueue, workflowsPath: require.resolve('./workloads/plain-workflows'), activities: plainTools });
  const st = await createWorker({ connection, store, taskQueue: scopetrailQueue, agents: require.resolve('./workloads/scopetrail-agents'), tools: Object.values(benchTools), spool: false });
  const running = [plain.run(), st.run()];
  const clientConnection = await Connection.connect({ address: server.address });
  const client = new Client({ connection: clientConnection });
  const scopes = await ScopeClient.connect({ store, taskQueue: scopetrailQueue, connection: clientConnection });
  try {
    const totals = { plain: [] as Sizes[], scopetrail: [] as Sizes[] };
    for (let i = 0; i < SESSIONS; i++) {
      const plainId = `history-${run}-plain-${i}`;
      await client.workflow.execute('plainAgent', { taskQueue: plainQueue, workflowId: plainId, args: [0, plainId] });
      const sessionId = `history-${run}-scopetrail-${i}`;
      await (await scopes.startSession('benchOrchestrator', { input: { query: sessionId }, sessionId })).result();
      await st.recorder.drain();
      // Visibility lists a run shortly after it closes.
      await new Promise((r) => setTimeout(r, 1_500));
      totals.plain.push(await sizeOf(client, plainId));
      totals.scopetrail.push(await sizeOf(client, sessionId));
      console.error(`session ${i + 1}/${SESSIONS} read back`);
    }
    const mean = (list: Sizes[]) => Object.fromEntries(PARTS.map((p) => [p, Math.round(list.reduce((n, s) => n + s[p], 0) / list.length)])) as Sizes;
    const perSession = { plain: mean(totals.plain), scopetrail: mean(totals.scopetrail) };
    console.log(
      table(
        ['per tree session', ...PARTS],
        (['plain', 'scopetrail'] as const).map((v) => [v, ...PARTS.map((p) => String(perSession[v][p]))]),
      ),
    );
    const ratio = perSession.scopetrail.bytes / perSession.plain.bytes;
    console.log(`history bytes, scopetrail ÷ plain: ${ratio.toFixed(3)}`);
    if (!args['print-only']) console.log(`written to ${writeResult('history-bytes', { sessions: SESSIONS, per_session: perSession, bytes_vs_plain: ratio })}`);
  } finally {
    st.shutdown();
    plain.shutdown();
    await Promise.allSettled(running);
    await clientConnection.close();
    await store.close();
    await dropSchema(args.database!, SCHEMA);
    await server.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
