/**
 * The sealer's schedule (worker/sealer.ts): it stays out of the way of a busy write path,
 * within bounds — the oldest scope waits no longer than `maxDelayMs`, the backlog no
 * larger than `maxBacklog` scopes or `maxHeldBacklog` held records — and then seals the
 * backlog in large batches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndedRuns, EndedRunsFirst } from '../../worker/ended-runs';
import { Sealer, type SealerOptions } from '../../worker/sealer';
import { SealSetAsideError } from '../../worker/seal-isolation';
import type { ScopeKey, SealConfirm, Store } from '../../store/types';
import type { SealAnchors } from '../../store/seal-anchor';
import type { Seal } from '../../cim/seal';
import type { ActionRecord, ScopeRecord } from '../../cim/schemas';
import { action, scope } from './fixtures';

/** Waits until `done` holds or `ms` pass (the assertions after it say what did not happen). */
async function until(done: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keys = (from: number, n: number): ScopeKey[] => Array.from({ length: n }, (_, i) => ({ namespace: 'default', scopeId: `s${from + i}` }));

/** A store that records each sealing call; a write path that is busy while `busy` is set. */
function setup(options: SealerOptions) {
  const calls: Array<{ at: number; scopes: number }> = [];
  const store = { sealScopes: async (k: readonly ScopeKey[]) => void calls.push({ at: Date.now(), scopes: k.length }) } as unknown as Store;
  const state = { busy: true };
  const sealer = new Sealer(store, { writePathBusyAt: () => (state.busy ? Date.now() : 0), ...options });
  return { calls, state, sealer };
}

test('while the write path is busy, ended scopes wait and are then sealed together once it is quiet', async () => {
  const { calls, state, sealer } = setup({ lingerMs: 5, maxDelayMs: 10_000 });
  try {
    for (let i = 0; i < 10; i++) {
      sealer.add(keys(i * 3, 3));
      await sleep(5);
    }
    assert.equal(calls.length, 0, 'nothing sealed while writes keep coming');
    state.busy = false;
    await sleep(60);
    assert.deepEqual(calls.map((c) => c.scopes), [30], 'one batch of everything that waited');
  } finally {
    sealer.stop();
  }
});

test('a scope waits for a quiet write path no longer than maxDelayMs', async () => {
  const { calls, sealer } = setup({ lingerMs: 5, maxDelayMs: 80 });
  try {
    const added = Date.now();
    sealer.add(keys(0, 2));
    await sleep(40);
    assert.equal(calls.length, 0);
    await sleep(120);
    assert.equal(calls.length, 1, 'sealed although the write path never went quiet');
    assert.ok(calls[0]!.at - added >= 80 && calls[0]!.at - added < 150, `sealed after ${calls[0]!.at - added} ms`);
  } finally {
    sealer.stop();
  }
});

test('from maxBacklog waiting scopes on, sealing no longer waits, in batches of at most maxBatch', async () => {
  const { calls, sealer } = setup({ lingerMs: 5, maxDelayMs: 60_000, maxBacklog: 100, maxBatch: 40 });
  try {
    sealer.add(keys(0, 99));
    await sleep(40);
    assert.equal(calls.length, 0, 'below the bound it waits');
    sealer.add(keys(99, 1));
    await sleep(80);
    assert.deepEqual(calls.map((c) => c.scopes), [40], 'at the bound: a full batch; the rest is below the bound again and waits');
  } finally {
    sealer.stop();
  }
});

test('from maxHeldBacklog records held for ended scopes on, sealing no longer waits: it seals before the cache must forget them', async () => {
  const { calls, sealer } = setup({ lingerMs: 5, maxDelayMs: 60_000, maxHeldRecords: 100, maxBatch: 10 });
  const actions = (scope: number, n: number) =>
    Array.from({ length: n }, (_, i) => ({ namespace: 'default', scopeId: `s${scope}`, actionId: `s${scope}-a${i}`, status: 'ok' }) as unknown as ActionRecord);
  const scope = (n: number, status: string) => ({ namespace: 'default', scopeId: `s${n}`, status }) as unknown as ScopeRecord;
  // These stand-ins are not records whose stored form is known here, so none can be hashed
  // ahead and compacted: at the bound the backlog is sealed (the next test hashes real ones).
  try {
    // A running scope's records do not count: sealing cannot take them.
    sealer.committed.committed({ actions: actions(99, 40), scopes: [scope(99, 'running')] }, '1');
    for (let s = 0; s < 4; s++) sealer.committed.committed({ actions: actions(s, 12), scopes: [scope(s, 'success')] }, '1');
    sealer.add(keys(0, 4));
    await sleep(40);
    assert.equal(sealer.committed.awaitingSeal, 48);
    assert.equal(calls.length, 0, '48 of 100 held for ended scopes (88 in all): below half the cache it waits');
    // Ended first, its actions after: they count as they come.
    sealer.committed.committed({ scopes: [scope(4, 'success')] }, '2');
    sealer.committed.committed({ actions: actions(4, 2) }, '2');
    sealer.add(keys(4, 1));
    await sleep(60);
    assert.deepEqual(calls.map((c) => c.scopes), [5], 'half the cache held for ended scopes: the backlog is sealed beside the writes');
    sealer.committed.sealed(keys(0, 5));
    assert.equal(sealer.committed.awaitingSeal, 0, 'sealed scopes leave the count; the running one stays held');
    assert.equal(sealer.committed.size, 40);
  } finally {
    sealer.stop();
  }
});

test('at the held bound, held records are first hashed ahead and compacted beside the writes; sealing starts once that cannot help', async () => {
  const { calls, sealer } = setup({ lingerMs: 5, maxDelayMs: 60_000, maxHeldRecords: 200, maxBatch: 10 });
  const ended = (n: number) => {
    const s = scope(`s${n}`, { sessionId: 'burst' });
    const actions = Array.from({ length: 10 }, (_, i) => action(`s${n}/a${i}#1`, s.scopeId, { sessionId: 'burst', activityId: String(i) }));
    sealer.committed.committed({ actions, scopes: [s] }, String(100 + n));
    sealer.add(keys(n, 1));
  };
  try {
    // Ten scopes of ten records each reach the bound (100 of 200); hashed, each counts as 2.
    for (let n = 0; n < 10; n++) ended(n);
    // Hashing runs between event-loop turns: on a busy host it takes longer, never does otherwise.
    await until(() => sealer.hashedAhead >= 3 && sealer.committed.awaitingSeal <= 75, 5_000);
    assert.equal(calls.length, 0, 'compacted, not sealed');
    assert.ok(sealer.hashedAhead >= 3, `hashed ahead: ${sealer.hashedAhead}`);
    assert.ok(sealer.committed.awaitingSeal <= 75, `held ${sealer.committed.awaitingSeal}, a quarter below the bound`);
    // Compacted scopes fill the bound in turn: nothing is left to hash, so the backlog is sealed.
    for (let n = 10; n < 60; n++) {
      ended(n);
      await sleep(1);
    }
    await until(() => calls.length > 0, 5_000);
    assert.ok(calls.length > 0, 'sealed beside the writes once hashing could not bring the held records under the bound');
    const held = Array.from({ length: 60 }, (_, n) => sealer.committed.of('default', `s${n}`)).filter(Boolean).length;
    assert.equal(sealer.sealed + held, 60, 'every scope is sealed or still held: none forgotten by the cache');
  } finally {
    sealer.stop();
  }
});

test('beside a busy write path batches are at most busyMaxBatch; once it is quiet, maxBatch', async () => {
  const { calls, state, sealer } = setup({ lingerMs: 5, maxDelayMs: 30, maxBatch: 50, busyMaxBatch: 20 });
  try {
    sealer.add(keys(0, 45));
    await sleep(150);
    assert.deepEqual(calls.map((c) => c.scopes), [20, 20, 5], 'the oldest scope waited its longest: sealed beside the writes, in small batches');
    state.busy = false;
    sealer.add(keys(100, 60));
    await sleep(150);
    assert.deepEqual(calls.slice(3).map((c) => c.scopes), [50, 10], 'quiet: full batches');
  } finally {
    sealer.stop();
  }
});

test('drain seals everything at once, busy write path or not', async () => {
  const { calls, sealer } = setup({ lingerMs: 5, maxDelayMs: 60_000, maxBatch: 25 });
  try {
    sealer.add(keys(0, 60));
    assert.equal(await sealer.drain(), true);
    assert.deepEqual(calls.map((c) => c.scopes), [25, 25, 10]);
  } finally {
    sealer.stop();
  }
});

test('only scopes the sweep found are held against their session\'s anchors before theirs is written', async () => {
  const looked: string[] = [];
  const anchored: string[] = [];
  const anchors: SealAnchors = {
    async anchorAll(seals, options) {
      for (const seal of seals) (options?.lookFirst?.(seal) ?? true ? looked : anchored).push(seal.scopeId);
      return new Map(seals.map((s) => [s.scopeId, { outcome: 'anchored' as const }]));
    },
    readSession: async () => new Map(),
  };
  const seal = (scopeId: string): Seal => ({ namespace: 'default', sessionId: 's', scopeId, runId: 'r', length: 0, head: null, scopeHash: 'h' });
  const store = {
    sealScopes: async (k: readonly ScopeKey[], confirm?: SealConfirm) => void (await confirm?.(k.map((x) => seal(x.scopeId)))),
    unsealedScopes: async () => keys(10, 2),
  } as unknown as Store;
  const sealer = new Sealer(store, { lingerMs: 1 });
  sealer.useAnchors(anchors);
  try {
    sealer.add(keys(0, 2));
    await sealer.sweep();
    // Seen ending again after the sweep found it: still swept.
    sealer.add(keys(11, 1));
    await sealer.drain();
    assert.deepEqual(anchored.sort(), ['s0', 's1']);
    assert.deepEqual(looked.sort(), ['s10', 's11']);
  } finally {
    sealer.stop();
  }
});

test('with anchors, sealing transactions are spaced anchorEveryMs apart unless a full batch waits or the held records reach their bound; drain does not wait', async () => {
  const anchored: number[] = [];
  const anchors: SealAnchors = {
    async anchorAll(seals) {
      anchored.push(seals.length);
      return new Map(seals.map((s) => [s.scopeId, { outcome: 'anchored' as const }]));
    },
    readSession: async () => new Map(),
  };
  const seal = (scopeId: string): Seal => ({ namespace: 'default', sessionId: 's', scopeId, runId: 'r', length: 0, head: null, scopeHash: 'h' });
  const calls: Array<{ at: number; scopes: number }> = [];
  const store = {
    sealScopes: async (k: readonly ScopeKey[], confirm?: SealConfirm) => {
      calls.push({ at: Date.now(), scopes: k.length });
      await confirm?.(k.map((x) => seal(x.scopeId)));
    },
  } as unknown as Store;
  // A quiet write path: without spacing, every scope that ends would have its own anchor.
  const sealer = new Sealer(store, { lingerMs: 2, anchorEveryMs: 400, maxBatch: 20 });
  sealer.useAnchors(anchors);
  try {
    const started = Date.now();
    sealer.add(keys(0, 1));
    await sleep(30);
    assert.deepEqual(calls.map((c) => c.scopes), [1], 'the first is sealed at once');
    for (let i = 1; i <= 5; i++) {
      sealer.add(keys(i, 1));
      await sleep(15);
    }
    assert.equal(calls.length, 1, 'those ending within anchorEveryMs of it wait');
    await sleep(400);
    assert.deepEqual(calls.map((c) => c.scopes), [1, 5], 'and then share one anchor');
    assert.ok(calls[1]!.at - started >= 400, `second transaction ${calls[1]!.at - started} ms after the first`);
    // A full batch waiting is sealed at once: spacing never caps the sealing rate.
    sealer.add(keys(100, 45));
    await sleep(40);
    assert.deepEqual(calls.map((c) => c.scopes), [1, 5, 20, 20], 'full batches go without waiting');
    assert.equal(await sealer.drain(), true);
    assert.deepEqual(calls.map((c) => c.scopes), [1, 5, 20, 20, 5], 'drain seals the rest without waiting');
    assert.deepEqual(anchored, [1, 5, 20, 20, 5], 'one anchoring call per transaction');
    // Held records at the bound are not kept waiting for the spacing either.
    const held = new Sealer(store, { lingerMs: 2, anchorEveryMs: 10_000, maxHeldRecords: 20 });
    held.useAnchors(anchors);
    try {
      held.add(keys(200, 1));
      await sleep(20);
      const before = calls.length;
      const records = Array.from({ length: 12 }, (_, i) => ({ namespace: 'default', scopeId: 's201', actionId: `s201-a${i}`, status: 'ok' }) as unknown as ActionRecord);
      held.committed.committed({ actions: records, scopes: [{ namespace: 'default', scopeId: 's201', status: 'success' } as unknown as ScopeRecord] }, '1');
      held.add(keys(201, 1));
      await sleep(40);
      assert.equal(calls.length, before + 1, '12 of 20 held for an ended scope: sealed without waiting 10 s');
    } finally {
      held.stop();
    }
  } finally {
    sealer.stop();
  }
});

test('a scope whose ending run Temporal still shows open waits for it to close; the sweep does not take it meanwhile', async () => {
  const sealed: string[] = [];
  const store = {
    sealScopes: async (k: readonly ScopeKey[]) => void sealed.push(...k.map((x) => x.scopeId)),
    unsealedScopes: async () => keys(0, 2).filter((k) => !sealed.includes(k.scopeId)),
  } as unknown as Store;
  const open = new Set(['r0']);
  const looked: string[] = [];
  const sealer = new Sealer(store, { lingerMs: 1 });
  sealer.useRunStatus({
    async openRuns(runs) {
      looked.push(...runs.map((r) => r.runId));
      return new Set(runs.filter((r) => open.has(r.runId)).map((r) => `${r.namespace}\u0000${r.workflowId}\u0000${r.runId}`));
    },
  });
  const run = (n: number) => ({ namespace: 'default', workflowId: `w${n}`, runId: `r${n}` });
  try {
    sealer.add([{ ...keys(0, 1)[0]!, run: run(0) }, { ...keys(1, 1)[0]!, run: run(1) }]);
    await sealer.drain();
    assert.deepEqual(sealed, ['s1'], 'the scope of the closed run only');
    assert.ok(looked.filter((r) => r === 'r0').length > 1, 'drain looks again while the run stays open');
    await sealer.sweep();
    await sleep(20);
    assert.deepEqual(sealed, ['s1'], 'the sweep leaves a scope that waits for its run');
    open.delete('r0');
    await sealer.drain();
    assert.deepEqual(sealed, ['s1', 's0'], 'sealed once its run closed');
  } finally {
    sealer.stop();
  }
});

test('a run known closed is not asked about: its scope is sealed after the first-look wait, the others\' runs are asked', async () => {
  const sealed: string[] = [];
  const store = { sealScopes: async (k: readonly ScopeKey[]) => void sealed.push(...k.map((x) => x.scopeId)) } as unknown as Store;
  const looked: string[] = [];
  const ended = new EndedRuns();
  ended.add('default', 'r0');
  const sealer = new Sealer(store, { lingerMs: 1 });
  sealer.useRunStatus(
    new EndedRunsFirst(ended, {
      async openRuns(runs) {
        looked.push(...runs.map((r) => r.runId));
        return new Set();
      },
    }),
  );
  const run = (n: number) => ({ namespace: 'default', workflowId: `w${n}`, runId: `r${n}` });
  try {
    sealer.add([{ ...keys(0, 1)[0]!, run: run(0) }, { ...keys(1, 1)[0]!, run: run(1) }]);
    await sleep(50);
    assert.deepEqual(sealed, [], 'the first-look wait holds both');
    await sealer.drain();
    assert.deepEqual([...sealed].sort(), ['s0', 's1']);
    assert.deepEqual(looked, ['r1'], 'only the run not seen closed is asked about');
    assert.equal(sealer.runLooks, 1, 'the sealer itself skips the known-closed run');
  } finally {
    sealer.stop();
  }
});

test('a late record of a scope that waits for its run does not get it sealed before the run closes', async () => {
  const sealed: string[] = [];
  const store = { sealScopes: async (k: readonly ScopeKey[]) => void sealed.push(...k.map((x) => x.scopeId)) } as unknown as Store;
  let open = true;
  const sealer = new Sealer(store, { lingerMs: 1 });
  sealer.useRunStatus({ openRuns: async (runs) => new Set(open ? runs.map((r) => `${r.namespace}\u0000${r.workflowId}\u0000${r.runId}`) : []) });
  try {
    sealer.add([{ ...keys(0, 1)[0]!, run: { namespace: 'default', workflowId: 'w0', runId: 'r0' } }]);
    await sleep(400);
    // A tool's late end: the recorder queues the scope again, without its run.
    sealer.add(keys(0, 1));
    await sleep(100);
    assert.deepEqual(sealed, [], 'still waiting for the run');
    open = false;
    await sealer.drain();
    assert.deepEqual(sealed, ['s0']);
  } finally {
    sealer.stop();
  }
});

test('a scope whose pass always fails is found by halving the batch and set aside; every other scope is sealed', async () => {
  const sealed: string[] = [];
  const errors: Error[] = [];
  const store = {
    sealScopes: async (k: readonly ScopeKey[]) => {
      if (k.some((x) => x.scopeId === 's13')) throw new Error('no anchor for s13');
      sealed.push(...k.map((x) => x.scopeId));
    },
    unsealedScopes: async () => keys(13, 1),
  } as unknown as Store;
  const sealer = new Sealer(store, { lingerMs: 1, maxBatch: 40, onError: (e) => errors.push(e) });
  try {
    sealer.add(keys(0, 40));
    assert.equal(await sealer.drain(), true);
    assert.deepEqual(sealed.sort(), keys(0, 40).map((k) => k.scopeId).filter((id) => id !== 's13').sort());
    const aside = errors.filter((e): e is SealSetAsideError => e instanceof SealSetAsideError);
    assert.equal(aside.length, 1, 'reported once');
    assert.equal(aside[0]!.scopeId, 's13');
    assert.match(aside[0]!.message, /no anchor for s13/);
    // The sweep finds it again: it stays aside, and what comes after is sealed at once.
    await sealer.sweep();
    sealer.add(keys(100, 3));
    assert.equal(await sealer.drain(), true);
    assert.ok(['s100', 's101', 's102'].every((id) => sealed.includes(id)));
    assert.equal(errors.filter((e) => e instanceof SealSetAsideError).length, 1);
  } finally {
    sealer.stop();
  }
});

test('while every pass fails (an outage), no scope is set aside, drain gives up, and all are sealed once it is over', async () => {
  const sealed: string[] = [];
  const errors: Error[] = [];
  let down = true;
  let passes = 0;
  const store = {
    sealScopes: async (k: readonly ScopeKey[]) => {
      passes += 1;
      if (down) throw new Error('connection refused');
      sealed.push(...k.map((x) => x.scopeId));
    },
  } as unknown as Store;
  const sealer = new Sealer(store, { lingerMs: 1, maxBatch: 40, onError: (e) => errors.push(e) });
  try {
    sealer.add(keys(0, 16));
    assert.equal(await sealer.drain(), false, 'drain ends during an outage');
    assert.ok(passes <= 13, `${passes} passes`);
    await sleep(1_000);
    assert.ok(!errors.some((e) => e instanceof SealSetAsideError), 'nothing set aside during an outage');
    down = false;
    assert.equal(await sealer.drain(), true);
    assert.deepEqual(sealed.sort(), keys(0, 16).map((k) => k.scopeId).sort());
  } finally {
    sealer.stop();
  }
});

test('while records wait in the spool nothing is sealed and no run is asked about; once they reach the store the scopes are sealed', async () => {
  const sealed: string[] = [];
  const store = { sealScopes: async (k: readonly ScopeKey[]) => void sealed.push(...k.map((x) => x.scopeId)) } as unknown as Store;
  const state = { spooled: true };
  const looked: string[] = [];
  const sealer = new Sealer(store, { lingerMs: 1, heldBack: () => state.spooled });
  sealer.useRunStatus({
    async openRuns(runs) {
      looked.push(...runs.map((r) => r.runId));
      return new Set();
    },
  });
  try {
    sealer.add([{ ...keys(0, 1)[0]!, run: { namespace: 'default', workflowId: 'w0', runId: 'r0' } }, ...keys(1, 1)]);
    await sleep(600);
    assert.deepEqual(sealed, [], 'held while the spool holds records');
    assert.deepEqual(looked, [], 'Temporal is not asked while held');
    assert.equal(await sealer.drain(), false, 'a drain says the scopes still wait');
    state.spooled = false;
    await sleep(400);
    assert.deepEqual([...sealed].sort(), ['s0', 's1'], 'sealed once the spool is drained, without a drain');
    assert.deepEqual(looked, ['r0']);
  } finally {
    sealer.stop();
  }
});
