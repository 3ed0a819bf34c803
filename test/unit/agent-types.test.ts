/** Which workflow types a Client carrying the plugin marks as sessions: its workers' agents, else the store's, read again at most every REREAD_MS. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ANSWER_MS, AgentTypes, REREAD_MS } from '../../worker/agent-types';
import type { Manifest } from '../../cim/manifest';

test("the process's own agents are known without the store; others are read from it, again only after a while", async () => {
  let now = 0;
  let reads = 0;
  let registered: string[] = ['planner'];
  let down = false;
  const store = {
    manifests: async () => {
      reads += 1;
      if (down) throw new Error('connect ECONNREFUSED');
      return registered.map((name) => ({ name, version: '1', tools: [], subAgents: [] }) as Manifest);
    },
  };
  const types = new AgentTypes(store, () => ['local'], () => now);
  assert.equal(await types.isAgent('local'), true);
  assert.equal(reads, 0, 'a local agent asks nothing of the store');
  assert.equal(await types.isAgent('planner'), true);
  assert.equal(await types.isAgent('ordersWorkflow'), false);
  assert.equal(reads, 1, 'one read answers both');
  registered = ['planner', 'ordersWorkflow'];
  now += REREAD_MS - 1;
  assert.equal(await types.isAgent('ordersWorkflow'), false, 'not read again so soon');
  now += 1;
  assert.equal(await types.isAgent('ordersWorkflow'), true, 'an agent registered since is found at the next read');
  down = true;
  now += REREAD_MS;
  assert.equal(await types.isAgent('other'), undefined, 'a store that cannot answer leaves it undecided');
  assert.equal(await types.isAgent('other'), undefined);
  assert.equal(reads, 3, 'and is not asked again at every start');
  assert.equal(await types.isAgent('planner'), true, 'what was read stays known');
});

test('a store slow to answer does not hold a start longer than ANSWER_MS', async () => {
  const types = new AgentTypes({ manifests: () => new Promise<Manifest[]>(() => undefined) }, () => []);
  const t0 = Date.now();
  // The wait's own timer does not hold a process open; this one holds the test's.
  const alive = setTimeout(() => undefined, ANSWER_MS * 3);
  assert.equal(await types.isAgent('ordersWorkflow'), undefined);
  clearTimeout(alive);
  const waited = Date.now() - t0;
  assert.ok(waited >= ANSWER_MS - 50 && waited < ANSWER_MS + 1_000, `waited ${waited} ms`);
});
