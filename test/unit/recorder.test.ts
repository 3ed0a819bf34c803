import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recorder } from '../../worker/recorder';
import { Spool } from '../../worker/spool';
import type { Store } from '../../store/types';
import type { ActionRecord } from '../../cim/schemas';
import { action } from './fixtures';

const spoolDir = () => mkdtempSync(join(tmpdir(), 'spool-'));

/** A store whose action writes fail `failures` times (or as `refuse` decides), then succeed. */
function fakeStore(failures = 0, refuse: (rows: ActionRecord[]) => Error | undefined = () => undefined) {
  const batches: ActionRecord[][] = [];
  let failing = failures;
  const store = {
    migrate: async () => undefined,
    upsertManifests: async () => undefined,
    upsertScopes: async () => undefined,
    upsertPayloads: async () => undefined,
    fillActionGaps: async () => undefined,
    sealScopes: async () => undefined,
    upsertActions: async (rows: ActionRecord[]) => {
      if (failing-- > 0) throw new Error('connection refused');
      const refusal = refuse(rows);
      if (refusal) throw refusal;
      batches.push([...rows]);
    },
  } as unknown as Store;
  return { store, batches };
}

test('concurrent writes are committed together in one batch and each writer is released', async () => {
  const { store, batches } = fakeStore();
  const recorder = new Recorder(store, { lingerMs: 5 });
  await Promise.all(Array.from({ length: 20 }, (_, i) => recorder.write({ actions: [action(`a${i}`, 's')] })));
  assert.equal(batches.length, 1);
  assert.equal(batches[0]!.length, 20);
  assert.equal(recorder.written, 20);
});

test('a failing store is retried and the writer waits until its records are committed', async () => {
  const { store, batches } = fakeStore(2);
  const errors: number[] = [];
  const recorder = new Recorder(store, { lingerMs: 1, onError: (_e, attempt) => errors.push(attempt) });
  await recorder.write({ actions: [action('a', 's')] });
  assert.deepEqual(errors, [1, 2]);
  assert.equal(batches.length, 1);
});

test('when the store stays down past the retry budget the writer is told', async () => {
  const { store } = fakeStore(1000);
  const recorder = new Recorder(store, { lingerMs: 1, retryForMs: 50, onError: () => undefined });
  await assert.rejects(recorder.write({ actions: [action('a', 's')] }), /store unavailable for 50 ms; 1 records not written/);
});

test('drain waits for everything written so far', async () => {
  const { store, batches } = fakeStore();
  const recorder = new Recorder(store, { lingerMs: 20 });
  void recorder.write({ actions: [action('a', 's')] });
  void recorder.write({ actions: [action('b', 's')] });
  await recorder.drain();
  assert.equal(batches.flat().length, 2);
});

test('with a spool, writers are released while the store is down and the records reach it when it is back', async () => {
  const { store, batches } = fakeStore(3);
  const spool = new Spool({ dir: spoolDir() });
  const alerts: string[] = [];
  const recorder = new Recorder(store, { lingerMs: 1, spool, drainEveryMs: 10, onError: () => undefined, onAlert: (m) => alerts.push(m) });
  await recorder.write({ actions: [action('a', 's')] });
  assert.equal(recorder.spooled, 1, 'the first failure sends the batch to the spool');
  assert.equal(spool.isEmpty(), false);
  await recorder.write({ actions: [action('b', 's')] });
  assert.equal(recorder.spooled, 2, 'while down, batches go straight to the spool');
  for (let i = 0; i < 100 && !spool.isEmpty(); i++) await new Promise((r) => setTimeout(r, 20));
  recorder.stop();
  assert.equal(spool.isEmpty(), true);
  assert.deepEqual(batches.flat().map((a) => a.actionId).sort(), ['a', 'b']);
  assert.match(alerts.join('\n'), /store is back: 2 spooled records written/);
});

test('records written while a predecessor\'s spool is still being moved go behind it: the store gets them in the order written', async () => {
  const dir = spoolDir();
  // What a worker that stopped during an outage left behind.
  const left = new Spool({ dir });
  left.append({ actions: [action('old-1', 's')] });
  left.append({ actions: [action('old-2', 's')] });
  left.close();
  // The store answers slowly, so the new worker writes while the old records are on their way.
  const { store, batches } = fakeStore();
  const slow = store.upsertActions.bind(store);
  store.upsertActions = async (rows) => {
    await new Promise((r) => setTimeout(r, 20));
    return slow(rows);
  };
  const recorder = new Recorder(store, { lingerMs: 1, spool: new Spool({ dir }), drainEveryMs: 10, onError: () => undefined });
  await recorder.start();
  await recorder.write({ actions: [action('new-1', 's')] });
  await recorder.write({ actions: [action('new-2', 's')] });
  await recorder.drain();
  recorder.stop();
  assert.deepEqual(batches.flat().map((a) => a.actionId), ['old-1', 'old-2', 'new-1', 'new-2']);
});

test('another live worker\'s file in a shared spool folder is its own business: once its lease is renewed, records go straight to the store', async () => {
  const dir = spoolDir();
  // Renewed every 50 ms: the new worker sees it alive well before it writes.
  const other = new Spool({ dir, leaseMs: 200 });
  other.append({ actions: [action('theirs', 's')] });
  const { store, batches } = fakeStore();
  const recorder = new Recorder(store, { lingerMs: 1, spool: new Spool({ dir, leaseMs: 200 }), drainEveryMs: 10, onError: () => undefined });
  await recorder.start();
  await new Promise((r) => setTimeout(r, 120));
  await recorder.write({ actions: [action('mine', 's')] });
  await recorder.drain();
  recorder.stop();
  other.close();
  assert.equal(recorder.spooled, 0, 'not sent behind a file it may not drain');
  assert.deepEqual(batches.flat().map((a) => a.actionId), ['mine']);
});

test('a predecessor killed moments ago (its lease not yet lapsed): records written meanwhile go behind its file', async () => {
  const dir = spoolDir();
  // Killed: its lease file stays, unrenewed, and its active file holds what it spooled.
  const killed = new Spool({ dir, leaseMs: 300 });
  killed.append({ actions: [action('before-kill', 's')] });
  clearInterval((killed as unknown as { leaseTimer: NodeJS.Timeout }).leaseTimer); // nothing renews a killed process's lease
  const { store, batches } = fakeStore();
  const recorder = new Recorder(store, { lingerMs: 1, spool: new Spool({ dir, leaseMs: 300 }), drainEveryMs: 10, onError: () => undefined });
  await recorder.start();
  await recorder.write({ actions: [action('after-restart', 's')] });
  await recorder.drain();
  recorder.stop();
  assert.deepEqual(batches.flat().map((a) => a.actionId), ['before-kill', 'after-restart']);
});

test('a writer learns whether its records reached the store or only the spool', async () => {
  const { store } = fakeStore(1);
  const recorder = new Recorder(store, { lingerMs: 1, spool: new Spool({ dir: spoolDir() }), drainEveryMs: 10, onError: () => undefined });
  assert.equal(await recorder.write({ actions: [action('a', 's')] }), 'spool');
  await recorder.drain();
  assert.equal(await recorder.write({ actions: [action('b', 's')] }), 'store');
  recorder.stop();
});

test('a worker stopped just after an outage moves its spool into the store before it goes, though it last saw the store down', async () => {
  const { store, batches } = fakeStore(1);
  const spool = new Spool({ dir: spoolDir() });
  // No drain tick comes before the stop: only drain() can move the spool.
  const recorder = new Recorder(store, { lingerMs: 1, spool, drainEveryMs: 60_000, onError: () => undefined });
  assert.equal(await recorder.write({ actions: [action('during-outage', 's')] }), 'spool');
  await recorder.drain();
  recorder.stop();
  assert.deepEqual(batches.flat().map((a) => a.actionId), ['during-outage']);
  assert.equal(spool.isEmpty(), true);
});

test('a full spool holds the writer (back-pressure) and says so, then lets it go when the store returns', async () => {
  const { store, batches } = fakeStore(8);
  const spool = new Spool({ dir: spoolDir(), maxBytes: 10 });
  const alerts: string[] = [];
  const recorder = new Recorder(store, { lingerMs: 1, spool, drainEveryMs: 10, onError: () => undefined, onAlert: (m) => alerts.push(m) });
  let released = false;
  const write = recorder.write({ actions: [action('big', 's')] }).then(() => (released = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(released, false, 'not released while neither the store nor the spool can take it');
  assert.match(alerts[0] ?? '', /SPOOL FULL/);
  await write;
  recorder.stop();
  assert.deepEqual(batches.flat().map((a) => a.actionId), ['big']);
});

test('a batch a full spool refused does not overtake what the spool holds: when the store is back, the spooled records go first', async () => {
  let down = true;
  const batches: string[][] = [];
  const store = {
    ...fakeStore().store,
    upsertActions: async (rows: ActionRecord[]) => {
      if (down) throw new Error('connection refused');
      batches.push(rows.map((r) => r.actionId));
    },
  } as unknown as Store;
  const line = (id: string) => Buffer.byteLength(`${JSON.stringify({ scopes: [], actions: [action(id, 's')], payloads: [], gaps: [], fingerprints: [] })}\n`);
  // Room for the first batch only; the drain timer is slow, so only the held batch's own retries can move the spool.
  const spool = new Spool({ dir: spoolDir(), maxBytes: line('first') + 10 });
  const alerts: string[] = [];
  const recorder = new Recorder(store, { lingerMs: 1, spool, drainEveryMs: 60_000, onError: () => undefined, onAlert: (m) => alerts.push(m) });
  await recorder.write({ actions: [action('first', 's')] });
  assert.equal(recorder.spooled, 1);
  let released = false;
  const second = recorder.write({ actions: [action('secnd', 's')] }).then(() => (released = true));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(released, false, 'held: neither the store nor the spool takes it');
  assert.match(alerts.join('\n'), /SPOOL FULL/);
  down = false;
  await second;
  recorder.stop();
  assert.deepEqual(batches.flat(), ['first', 'secnd'], 'the store gets the records in the order they were written');
  assert.equal(spool.isEmpty(), true);
});

test('a record the store refuses as data is quarantined alone; the rest of its batch is written', async () => {
  const { store, batches } = fakeStore(0, (rows) =>
    rows.some((r) => r.actionId === 'poison') ? Object.assign(new Error('invalid byte sequence'), { code: '22021' }) : undefined,
  );
  const dir = spoolDir();
  const alerts: string[] = [];
  const recorder = new Recorder(store, { lingerMs: 5, spool: new Spool({ dir }), onError: () => undefined, onAlert: (m) => alerts.push(m) });
  await Promise.all(['a', 'poison', 'b'].map((id) => recorder.write({ actions: [action(id, 's')] })));
  await recorder.write({ actions: [action('c', 's')] });
  recorder.stop();
  assert.deepEqual(batches.flat().map((r) => r.actionId).sort(), ['a', 'b', 'c'], 'the good records and the next batch are written');
  assert.equal(recorder.quarantined, 1);
  assert.equal(recorder.spooled, 0, 'a data error is not an outage');
  assert.match(readFileSync(join(dir, 'quarantine.log'), 'utf8'), /"actionId":"poison"/);
  assert.match(alerts.join('\n'), /QUARANTINED/);
});

test('a record too deep to copy or send is quarantined alone, or dropped and named if it cannot even be kept, and never holds back the rest', async () => {
  const nested = (depth: number) => {
    let v: Record<string, unknown> = { leaf: 'x' };
    for (let i = 0; i < depth; i++) v = { d: v };
    return v;
  };
  // As the store's own copy fails on such a record: the stack runs out.
  const { store, batches } = fakeStore(0, (rows) => {
    for (const r of rows) if (r.attributes.deep) JSON.stringify(r.attributes.deep, (_k, v) => v);
    return undefined;
  });
  const deepRow = (id: string, depth: number) => ({ ...action(id, 's'), attributes: { deep: nested(depth) as never } });
  const dir = spoolDir();
  const alerts: string[] = [];
  const recorder = new Recorder(store, { lingerMs: 5, spool: new Spool({ dir }), onError: () => undefined, onAlert: (m) => alerts.push(m) });
  await Promise.all([recorder.write({ actions: [action('a', 's')] }), recorder.write({ actions: [deepRow('deep', 5_000)] }), recorder.write({ actions: [deepRow('deeper', 200_000)] })]);
  await recorder.write({ actions: [action('b', 's')] });
  recorder.stop();
  assert.deepEqual(batches.flat().map((r) => r.actionId).sort(), ['a', 'b']);
  assert.equal(recorder.quarantined, 2);
  assert.match(alerts.join('\n'), /DROPPED a record .* action deeper/);
});

test('spooled records of a scope another worker sealed meanwhile are kept out of the store: what would change it is quarantined, what would not is dropped', async () => {
  const dir = spoolDir();
  const same = action('same', 'sealed');
  const stored = new Map<string, ActionRecord>([
    ['same', same],
    ['start', action('start', 'sealed')],
    ['gap', action('gap', 'sealed', { status: 'error', error: 'its own end' })],
    ['changed', action('changed', 'sealed', { status: 'error', error: 'attempt ended without reporting its outcome' })],
  ]);
  // What a worker cut off from the store left in its spool.
  const left = new Spool({ dir });
  left.append({
    actions: [
      action('late-new', 'sealed'),
      same,
      action('start', 'sealed', { status: 'running', endedAt: null }),
      action('changed', 'sealed', { status: 'error', error: 'the tool said why' }),
      action('open', 'open'),
    ],
    gaps: [action('gap', 'sealed', { status: 'error', error: 'reconstructed' })],
  });
  left.close();
  const { store, batches } = fakeStore();
  const asked: string[] = [];
  store.sealedRowsOf = async (records) => {
    asked.push(...records.map((r) => r.actionId));
    return {
      sealedScopes: new Set(['default\u0000sealed']),
      stored: new Map([...stored].map(([id, r]) => [`default\u0000${id}`, r])),
    };
  };
  const alerts: string[] = [];
  const spool = new Spool({ dir });
  const recorder = new Recorder(store, { lingerMs: 1, spool, drainEveryMs: 10, onError: () => undefined, onAlert: (m) => alerts.push(m) });
  await recorder.start();
  await recorder.drain();
  recorder.stop();
  assert.deepEqual(asked.sort(), ['changed', 'gap', 'late-new', 'open', 'same', 'start']);
  assert.deepEqual(batches.flat().map((a) => a.actionId), ['open'], 'only the record of the scope still open reaches the store');
  assert.equal(recorder.quarantined, 2);
  assert.match(alerts.join('\n'), /QUARANTINED 2 spooled records whose scopes were sealed while they waited \(late-new, changed\)/);
  const kept = readFileSync(spool.quarantineFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { reason: string; batch: { actions: ActionRecord[] } });
  assert.equal(kept.length, 1);
  assert.match(kept[0]!.reason, /arrived after its scope was sealed/);
  assert.deepEqual(kept[0]!.batch.actions.map((a) => [a.actionId, a.error]), [['late-new', null], ['changed', 'the tool said why']], 'kept whole, with what the tool said');
});

test('a late write that meets a store gone away is spooled and checked at the drain, never written unchecked; without a spool it is refused', async () => {
  const late = action('overran', 'sealed', { status: 'error', error: 'attempt timed out', resources: [{ uri: 'db:orders', mode: 'write' }] });
  const stored = new Map([['default\u0000overran', action('overran', 'sealed', { status: 'error', error: 'timed out while running' })]]);
  const sealed = { sealedScopes: new Set(['default\u0000sealed']), stored };
  const dir = spoolDir();
  const { store, batches } = fakeStore();
  // The store goes away as the late write asks it for the sealed rows.
  const askedFirst = (): Store['sealedRowsOf'] => {
    let failing = 1;
    return async () => {
      if (failing-- > 0) throw new Error('connection refused');
      return sealed;
    };
  };
  store.sealedRowsOf = askedFirst();
  const alerts: string[] = [];
  const spool = new Spool({ dir });
  const recorder = new Recorder(store, { lingerMs: 1, spool, drainEveryMs: 10, onError: () => undefined, onAlert: (m) => alerts.push(m) });
  await recorder.start();
  await recorder.writeLate({ actions: [late] });
  await recorder.drain();
  recorder.stop();
  assert.deepEqual(batches.flat(), [], 'the record that would change the sealed row never reached the store');
  assert.equal(recorder.quarantined, 1);
  assert.match(alerts.join('\n'), /QUARANTINED 1 spooled records whose scopes were sealed/);

  const down = fakeStore();
  down.store.sealedRowsOf = askedFirst();
  const bare = new Recorder(down.store, { lingerMs: 1, onError: () => undefined });
  await bare.start();
  await assert.rejects(bare.writeLate({ actions: [late] }), /connection refused/);
  assert.deepEqual(down.batches.flat(), []);
  bare.stop();
});
