/**
 * A worker whose store is down says so once, reminds at most once a minute (here: every
 * REMIND ms) what it is doing, and says when the store is back: its spool drain retries
 * every second, and each failed retry used to be logged as "store write failed … (records
 * spooled in …)" every 5 s although the worker was idle and nothing was being spooled.
 * The hooks are those the plugin gives its recorder (worker/plugin.ts bind()).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recorder } from '../../worker/recorder';
import { Spool } from '../../worker/spool';
import { StoreOutageLog } from '../../worker/store-outage-log';
import type { Store } from '../../store/types';
import type { ActionRecord } from '../../cim/schemas';
import { action } from './fixtures';

const REMIND = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function refused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
}

/** A store that refuses connections until `up` is set, counting what each call was. */
function downStore() {
  const state = { up: false, migrations: 0, written: [] as ActionRecord[] };
  const gate = async () => {
    if (!state.up) throw refused();
  };
  const store = {
    description: 'postgres postgres://postgres@127.0.0.1:1/x',
    migrate: async () => {
      state.migrations += 1;
      await gate();
    },
    upsertManifests: gate,
    upsertScopes: gate,
    upsertPayloads: gate,
    fillActionGaps: gate,
    upsertActions: async (rows: ActionRecord[]) => {
      await gate();
      state.written.push(...rows);
    },
  } as unknown as Store;
  return { store, state };
}

test('an idle worker with the store down: one line when it goes, a reminder at most every period saying what it retries, one when it is back', async () => {
  const { store, state } = downStore();
  const spool = new Spool({ dir: mkdtempSync(join(tmpdir(), 'outage-spool-')) });
  const lines: string[] = [];
  const outage = new StoreOutageLog({ log: (l) => lines.push(l), spool, remindEveryMs: REMIND });
  const hooks = outage.recorderHooks();
  const recorder = new Recorder(store, { lingerMs: 1, spool, drainEveryMs: 10, ...hooks, onCommitted: hooks.onCommitted });
  outage.watch(recorder);
  try {
    await recorder.start();
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /^store unreachable at start \(connect ECONNREFUSED 127\.0\.0\.1:1\); records go to the spool/);

    // Idle: the drain retries the preparation every 10 ms, the sealer fails too, and only reminders are said.
    hooks.onSealError!(refused());
    await sleep(REMIND * 3.5);
    hooks.onSealError!(refused());
    assert.ok(state.migrations > 20, `retried ${state.migrations} times`);
    const idle = lines.slice(1);
    assert.ok(idle.length >= 2 && idle.length <= 4, idle.join('\n'));
    for (const line of idle) {
      // Whichever retry comes due, the line says what is retried, with the write's error, not the seal's.
      assert.match(line, /^store still unreachable after \d+s \(could not prepare the store \(postgres .*\): connect ECONNREFUSED 127\.0\.0\.1:1\): nothing new recorded since it went down; still retrying preparing the store \(its tables, the agents' manifests\) before anything is written and sealing what is stored$/);
    }
    assert.ok(!lines.some((l) => /store write failed|sealing failed|records spooled/.test(l)), lines.join('\n'));

    // Work while it is down is spooled, and the next reminder counts it.
    assert.equal(await recorder.write({ actions: [action('a1', 'sc1', { status: 'running', endedAt: null })] }), 'spool');
    const before = lines.length;
    await sleep(REMIND * 1.5);
    assert.match(lines.slice(before).join('\n'), /: 1 records spooled in .*outage-spool-.* since it went down; still retrying/);

    // Back: said once, with how long it lasted, and then nothing more.
    state.up = true;
    for (let i = 0; i < 100 && state.written.length === 0; i++) await sleep(10);
    assert.deepEqual(state.written.map((r) => r.actionId), ['a1']);
    const back = lines.filter((l) => l.startsWith('store is back'));
    assert.equal(back.length, 1, lines.join('\n'));
    assert.match(back[0]!, /^store is back after \d+s: prepared; 1 spooled records written$/);
    const after = lines.length;
    await sleep(REMIND * 1.5);
    assert.deepEqual(lines.slice(after), []);
    assert.equal(outage.down, false);
  } finally {
    recorder.stop();
  }
});

test('a store that refuses a statement is not an outage: said as a write failure, at most every 5 s', async () => {
  const lines: string[] = [];
  const outage = new StoreOutageLog({ log: (l) => lines.push(l), spool: undefined });
  const hooks = outage.recorderHooks();
  const denied = Object.assign(new Error('permission denied for table actions'), { code: '42501' });
  hooks.onError!(denied, 1);
  hooks.onError!(denied, 2);
  assert.deepEqual(lines, ['store write failed: permission denied for table actions']);
  assert.equal(outage.down, false);
});

test('without a spool, an outage ends with the first write that reaches the store', async () => {
  const lines: string[] = [];
  let now = 0;
  const outage = new StoreOutageLog({ log: (l) => lines.push(l), spool: undefined, now: () => now });
  const hooks = outage.recorderHooks();
  hooks.onError!(refused(), 1);
  now = 30_000;
  hooks.onError!(refused(), 2);
  now = 61_000;
  hooks.onError!(refused(), 3);
  now = 75_000;
  hooks.onCommitted();
  hooks.onCommitted();
  assert.deepEqual(lines, [
    'store unreachable: connect ECONNREFUSED 127.0.0.1:1; retrying — said again once a minute while it lasts, and when it is back',
    'store still unreachable after 1m 1s (connect ECONNREFUSED 127.0.0.1:1): records wait in memory; still retrying writing',
    'store is back after 1m 15s: records are written again',
  ]);
});
