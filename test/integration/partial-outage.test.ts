/**
 * A partial outage: of two worker processes on one task queue, one loses its link to
 * Postgres while the other keeps it. Tool calls that ran on the cut-off worker are
 * spooled there; the workflow that called them may run on the other, which writes the
 * scope's end at once, and its sealer seals the scope while the tool's record is still
 * on the first worker's disk. The tool's record travels back with its result and the
 * workflow's worker writes it before the end (cim/envelope.ts ToolRelay). A failed first
 * attempt reaches no workflow; if its scope is sealed before it arrives, the drain keeps it
 * aside (worker/recorder.ts writeSpooled), and the row its retry reconstructed stays. A call
 * that fails every attempt has its rows filled by the workflow (workflows/lost-attempt.ts);
 * one that fails without retry has no successor and no count of attempts to fill from, so
 * its failure carries its record instead (worker/failure-relay.ts).
 * So every session still verifies clean and reconciles once the cut-off worker has moved
 * its spool into the store.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTemporal, type TemporalEndpoint } from '../../devserver/dev-server';
import { ScopeClient } from '../../client/scope-client';
import type { Store } from '../../store/types';
import { isRelayDetail, unwrapToolResult } from '../../cim/envelope';
import { defaultPayloadConverter } from '@temporalio/common';
import { partialLead } from '../fixtures/scaleout-agents';
import { TEST_DATABASE_URL, dropTestSchema, openTestStore, usesPglite } from '../helpers/runtime';
import { spawnWorkerProcess, stopWorkerProcess } from '../helpers/worker-process';
import { proxyDatabase, type TcpProxy } from '../helpers/tcp-proxy';

const skip = usesPglite() ? 'worker processes share the store through the Postgres server' : false;
const AGENTS = require.resolve('../fixtures/scaleout-agents');
const TOOLS = require.resolve('../fixtures/scaleout-tools');
const suffix = randomBytes(4).toString('hex');
const leadQueue = `partial-lead-${suffix}`;
const helperQueue = `partial-helper-${suffix}`;
const SESSIONS = 20;

let temporal: TemporalEndpoint;
let store: Store;
let schema: string;
let client: ScopeClient;
const workers: ChildProcess[] = [];
/** One per worker process: each has a link of its own to Postgres, as on its own host. */
const links: TcpProxy[] = [];
const spools: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(
  async () => {
    if (skip) return;
    temporal = await ensureTemporal({ log: () => undefined });
    ({ store, schema } = await openTestStore());
    client = await ScopeClient.connect({ store, address: temporal.address, taskQueue: leadQueue });
    for (const taskQueue of [leadQueue, leadQueue, helperQueue]) {
      const { proxy, url } = await proxyDatabase(TEST_DATABASE_URL);
      links.push(proxy);
      const spool = mkdtempSync(join(tmpdir(), 'scopetrail-partial-'));
      spools.push(spool);
      workers.push(
        await spawnWorkerProcess({
          address: temporal.address, databaseUrl: url, schema, taskQueue, agents: AGENTS, tools: TOOLS,
          env: { SCOPETRAIL_SPOOL_DIR: spool },
        }),
      );
    }
  },
  { timeout: 120_000 },
);

after(async () => {
  for (const link of links) await link.restore();
  await Promise.all(workers.map((w) => stopWorkerProcess(w, 'SIGKILL')));
  await client?.close();
  await store?.close();
  for (const link of links) await link.close();
  for (const dir of spools) rmSync(dir, { recursive: true, force: true });
  if (schema) await dropTestSchema(schema);
});

/** Tool results and failures in a run's history that carry records their worker could only spool. */
async function relayedInHistory(workflowId: string, runId: string): Promise<{ results: number; failures: number }> {
  const history = await client.temporal.workflow.getHandle(workflowId, runId).fetchHistory();
  let results = 0;
  let failures = 0;
  for (const e of history.events ?? []) {
    const payload = e.activityTaskCompletedEventAttributes?.result?.payloads?.[0];
    if (payload && unwrapToolResult(defaultPayloadConverter.fromPayload(payload)).relay) results += 1;
    const details = e.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.details?.payloads ?? [];
    if (details.some((d) => isRelayDetail(defaultPayloadConverter.fromPayload(d)))) failures += 1;
  }
  return { results, failures };
}

test('one of two workers cut off from Postgres mid-batch: every session verifies clean and reconciles', { skip, timeout: 240_000 }, async () => {
  const handles = await Promise.all(
    Array.from({ length: SESSIONS }, (_, i) =>
      client.startSession(partialLead, { input: { question: `Q${i + 1}`, helperQueue }, objective: `answer Q${i + 1}` }),
    ),
  );
  await sleep(300);
  await links[1]!.cut();
  await Promise.all(handles.map((h) => h.result()));
  // The other lead worker seals the sessions' scopes meanwhile (at most 5 s after they end).
  await sleep(8_000);
  await links[1]!.restore();
  // SIGTERM drains each worker's recorder, spool included: the store is complete once all have exited.
  await Promise.all(workers.map((w) => stopWorkerProcess(w)));

  let relayed = 0;
  let relayedFailures = 0;
  for (const [i, { sessionId }] of handles.entries()) {
    const verified = await client.verify(sessionId);
    assert.deepEqual(verified.problems, [], `session ${sessionId} verifies clean`);
    const reconciled = await client.reconcile(sessionId);
    assert.deepEqual(reconciled.differences, [], `session ${sessionId} reconciles against its histories`);
    for (const scope of await store.scopesOfSession(sessionId)) {
      const found = await relayedInHistory(scope.workflowId, scope.runId);
      relayed += found.results;
      relayedFailures += found.failures;
    }
    // User code saw the tool's failure as the tool made it, relay or not.
    assert.match(String(await handles[i]!.result()), new RegExp(`;halted \\[\\{"note":"Q${i + 1}/halt"\\}\\];`));
  }
  // Without these the test would prove nothing: the cut-off worker ran tool calls and spooled their records.
  assert.ok(relayed > 0, 'some tool calls ran on the cut-off worker and their records were relayed');
  // A call that failed without retry there has no successor to fill its row: its failure carried it.
  assert.ok(relayedFailures > 0, 'some final failures on the cut-off worker relayed their records');
  // Failed first attempts that ran there reach no workflow: those of scopes sealed meanwhile were kept aside.
  const quarantine = join(spools[1]!, readdirSync(spools[1]!)[0]!, 'quarantine.log');
  let keptAside = 0;
  try {
    keptAside = readFileSync(quarantine, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    /* nothing was late */
  }
  console.log(`partial outage: ${relayed} tool results and ${relayedFailures} final failures relayed their spooled records; ${keptAside} late batches kept aside in ${quarantine}`);
});
