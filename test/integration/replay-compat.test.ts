/**
 * Upgrading scopetrail under running sessions: histories recorded by an earlier build
 * (test/fixtures/histories/<label>, written by test/helpers/record-histories.ts) must replay on
 * this build's workflow code without a nondeterminism error. A change to the sandbox code
 * (its interceptors, tool callers, agent wrapper) that changes which commands a workflow
 * issues, or their order, fails here before it fails a user's in-flight workflows.
 * Replay needs no server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { bundleAgents } from '../../worker/create-worker';

const ROOT = join(__dirname, '..', '..');
const HISTORIES = join(ROOT, 'test', 'fixtures', 'histories');

const Index = z.object({
  commit: z.string(),
  histories: z.array(z.object({ file: z.string(), workflowId: z.string(), agents: z.string() })).min(1),
});

for (const label of readdirSync(HISTORIES)) {
  const index = Index.parse(JSON.parse(readFileSync(join(HISTORIES, label, 'index.json'), 'utf8')));
  test(`histories recorded by ${label} (${index.commit.slice(0, 7)}) replay on this build without a nondeterminism error`, async () => {
    const sinks = { scopetrail: { record: { fn: () => undefined, callDuringReplay: false } } };
    const byAgents = new Map<string, typeof index.histories>();
    for (const h of index.histories) byAgents.set(h.agents, [...(byAgents.get(h.agents) ?? []), h]);
    const failures: string[] = [];
    let replayed = 0;
    for (const [agents, entries] of byAgents) {
      const workflowBundle = await bundleAgents(join(ROOT, agents));
      const histories = entries.map((e) => ({ workflowId: e.workflowId, history: temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(join(HISTORIES, label, e.file), 'utf8'))) }));
      for await (const result of Worker.runReplayHistories({ workflowBundle, sinks }, histories)) {
        replayed += 1;
        if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
      }
    }
    assert.deepEqual(failures, []);
    assert.equal(replayed, index.histories.length);
  });
}
