/**
 * Seal anchors on a real Temporal server: seals of several sessions share one anchor,
 * listed under ScopetrailSealedSessions, and each session still finds exactly its own
 * seals, whatever kind of anchor holds them; a second, different seal is refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { ensureTemporal, type TemporalEndpoint } from '../../devserver/dev-server';
import { TemporalSealAnchors, anchorSeals, type SealRefusedError } from '../../store/seal-anchor';
import { SEAL_ANCHOR_TYPE, type Seal } from '../../cim/seal';
import { SEALED_SESSIONS_ATTRIBUTE, sealsOfSetInput } from '../../cim/seal-sets';
import { sealBatchPrefix } from '../../cim/seal-batches';

let temporal: TemporalEndpoint;
let connection: Connection;
let client: Client;

before(async () => {
  temporal = await ensureTemporal({ log: () => undefined });
  connection = await Connection.connect({ address: temporal.address });
  client = new Client({ connection, namespace: temporal.namespace });
});
after(async () => {
  await connection?.close();
  await temporal?.stop();
});

const hex = (n: number) => (randomUUID() + randomUUID()).replace(/-/g, '').slice(0, n);

function sealsOf(sessionId: string, scopes: number): Seal[] {
  return Array.from({ length: scopes }, (_, i) => ({
    namespace: temporal.namespace,
    sessionId,
    scopeId: i === 0 ? sessionId : `${sessionId}.${i}`,
    runId: randomUUID(),
    length: i + 1,
    head: hex(64),
    scopeHash: hex(64),
  }));
}

/** Anchors found by a visibility query, once visibility shows `expected` of them, with their start's input. */
async function listed(query: string, expected: number): Promise<Array<{ id: string; sessions: unknown; memo: unknown; input: unknown }>> {
  let found: Array<{ id: string; sessions: unknown; memo: unknown; input: unknown }> = [];
  for (let i = 0; i < 60; i++) {
    found = [];
    for await (const w of client.workflow.list({ query })) {
      const history = await client.workflow.getHandle(w.workflowId).fetchHistory();
      const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      found.push({ id: w.workflowId, sessions: w.searchAttributes?.[SEALED_SESSIONS_ATTRIBUTE], memo: w.memo, input: payload ? defaultPayloadConverter.fromPayload(payload) : undefined });
    }
    if (found.length >= expected) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return found;
}

const runIdsOf = (seals: readonly Seal[]) => new Map(seals.map((s) => [s.scopeId, [s.runId]]));

test('the seals of several sessions sealed together share one anchor, which lists the sessions', async () => {
  const anchors = new TemporalSealAnchors(connection);
  const sessions = [`st-${hex(8)}`, `st-${hex(8)}`, `st-${hex(8)}`];
  const seals = sessions.flatMap((s, i) => sealsOf(s, i + 1));
  const accepted = await anchorSeals(anchors, (err) => assert.fail(err.message), { lookFirst: () => false })(seals);
  assert.equal(accepted.size, seals.length, 'every seal anchored');

  for (const sessionId of sessions) {
    const found = await listed(`WorkflowType = '${SEAL_ANCHOR_TYPE}' AND ${SEALED_SESSIONS_ATTRIBUTE} = '${sessionId}'`, 1);
    assert.equal(found.length, 1, `one anchor lists ${sessionId}`);
    assert.deepEqual(found[0]!.sessions, [...sessions].sort());
    assert.deepEqual(found[0]!.memo ?? {}, {}, 'the seals are not in the memo, which every visibility listing shows');
    assert.deepEqual(
      sealsOfSetInput(found[0]!.input).sort((a, b) => a.scopeId.localeCompare(b.scopeId)),
      [...seals].sort((a, b) => a.scopeId.localeCompare(b.scopeId)),
    );
    // Not under a session's own prefix: a query for the session's own anchors does not list it.
    assert.deepEqual(await listed(`WorkflowType = '${SEAL_ANCHOR_TYPE}' AND WorkflowId STARTS_WITH '${sealBatchPrefix(sessionId)}'`, 0), []);
  }

  // Each session reads back exactly its own seals.
  for (const sessionId of sessions) {
    const mine = seals.filter((s) => s.sessionId === sessionId);
    const read = await anchors.readSession(temporal.namespace, sessionId, runIdsOf(mine));
    assert.deepEqual([...read.keys()].sort(), mine.map((s) => s.scopeId).sort());
    for (const s of mine) assert.deepEqual(read.get(s.scopeId), { state: 'anchored', seal: s });
  }

  // The same seals again (a sealer whose store write was lost): the same anchor, accepted.
  const again = await anchors.anchorAll(seals, { lookFirst: () => false });
  assert.ok([...again.values()].every((o) => o.outcome === 'same'), JSON.stringify([...again.values()]));
});

test('a scope sealed again with another chain is refused when its anchors are read first, and verify sees both otherwise', async () => {
  const anchors = new TemporalSealAnchors(connection);
  const [a, b] = [`st-${hex(8)}`, `st-${hex(8)}`];
  const first = [...sealsOf(a, 2), ...sealsOf(b, 1)];
  await anchorSeals(anchors, (err) => assert.fail(err.message), { lookFirst: () => false })(first);
  await listed(`WorkflowType = '${SEAL_ANCHOR_TYPE}' AND ${SEALED_SESSIONS_ATTRIBUTE} = '${a}'`, 1);

  // The sweep found a's second scope unsealed (its seal cleared in the database) and the rows changed.
  const changed = { ...first[1]!, length: 9, head: 'f'.repeat(64) };
  const refused: SealRefusedError[] = [];
  const accepted = await anchorSeals(anchors, (err) => refused.push(err), { lookFirst: () => true })([changed, ...sealsOf(`st-${hex(8)}`, 1)]);
  assert.equal(refused.length, 1);
  assert.equal(refused[0]!.seal.scopeId, changed.scopeId);
  assert.match(refused[0]!.message, /9 actions now, 2 when sealed/);
  assert.ok(!accepted.has(changed.scopeId) && accepted.size === 1, 'the other session\'s new seal is anchored all the same');

  // Written without the look (within visibility's lag, or by another writer): both stay, and a's read names the conflict.
  await anchors.anchorAll([changed], { lookFirst: () => false });
  let read = await anchors.readSession(temporal.namespace, a, runIdsOf(first.filter((s) => s.sessionId === a)));
  for (let i = 0; i < 60 && read.get(changed.scopeId)?.state !== 'conflicting'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    read = await anchors.readSession(temporal.namespace, a, runIdsOf(first.filter((s) => s.sessionId === a)));
  }
  assert.equal(read.get(changed.scopeId)?.state, 'conflicting');
  assert.deepEqual(read.get(first[0]!.scopeId), { state: 'anchored', seal: first[0] });
});

test('sessions read first in more than one visibility query find the anchors each query lists', async () => {
  const anchors = new TemporalSealAnchors(connection);
  // The sealer asks visibility about 20 sessions at a time: 25 take two queries. The first 20
  // sessions are in one anchor, the last 5 in a second (only the second query finds it), and a
  // second scope of sessions 1 and 21 in a third (both queries find it).
  const sessions = Array.from({ length: 25 }, () => `st-${hex(8)}`);
  const first = sessions.slice(0, 20).flatMap((s) => sealsOf(s, 1));
  const second = sessions.slice(20).flatMap((s) => sealsOf(s, 1));
  const third = [sessions[1]!, sessions[21]!].map((s) => sealsOf(s, 2)[1]!);
  for (const batch of [first, second, third]) {
    const accepted = await anchorSeals(anchors, (err) => assert.fail(err.message), { lookFirst: () => false })(batch);
    assert.equal(accepted.size, batch.length);
  }
  const query = (sessionId: string) => `WorkflowType = '${SEAL_ANCHOR_TYPE}' AND ${SEALED_SESSIONS_ATTRIBUTE} = '${sessionId}'`;
  assert.equal((await listed(query(sessions[24]!), 1)).length, 1);
  assert.equal((await listed(query(sessions[1]!), 2)).length, 2);
  assert.equal((await listed(query(sessions[21]!), 2)).length, 2);

  // Read first, as for swept scopes: each seal is found, already anchored the same.
  const seals = [...first, ...second, ...third];
  const again = await anchors.anchorAll(seals, { lookFirst: () => true });
  assert.deepEqual([...again.values()].map((o) => o.outcome), seals.map(() => 'same'));

  // A changed seal of a session only the second query finds is refused.
  const at = first.length + 2;
  const changed = { ...seals[at]!, length: 7, head: 'e'.repeat(64) };
  const refused: SealRefusedError[] = [];
  const kept = await anchorSeals(anchors, (err) => refused.push(err), { lookFirst: () => true })(seals.map((x, i) => (i === at ? changed : x)));
  assert.deepEqual(refused.map((e) => e.seal.scopeId), [changed.scopeId]);
  assert.equal(kept.size, seals.length - 1);
  assert.equal((await listed(query(changed.sessionId), 1)).length, 1, 'nothing was anchored again');
});

test('anchors of every kind are read: per session (written before sets) and per scope', async () => {
  const perSession = new TemporalSealAnchors(connection, { kinds: async () => ({ sets: false, sessions: true }) });
  const perScope = new TemporalSealAnchors(connection, { kinds: async () => ({ sets: false, sessions: false }) });
  const reader = new TemporalSealAnchors(connection);
  const sessionId = `st-${hex(8)}`;
  const [one, two, three] = sealsOf(sessionId, 3);
  await perSession.anchorAll([one!], { lookFirst: () => false });
  await perScope.anchorAll([two!]);
  await reader.anchorAll([three!], { lookFirst: () => false });
  let read = await reader.readSession(temporal.namespace, sessionId, runIdsOf([one!, two!, three!]));
  for (let i = 0; i < 60 && [...read.values()].some((l) => l.state !== 'anchored'); i++) {
    await new Promise((r) => setTimeout(r, 100));
    read = await reader.readSession(temporal.namespace, sessionId, runIdsOf([one!, two!, three!]));
  }
  for (const s of [one!, two!, three!]) assert.deepEqual(read.get(s.scopeId), { state: 'anchored', seal: s }, s.scopeId);
});
