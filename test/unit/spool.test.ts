import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Recorder, type RecordBatch } from '../../worker/recorder';
import { Spool } from '../../worker/spool';
import type { Store } from '../../store/types';
import type { ActionRecord, Manifest } from '../../cim/schemas';
import { action } from './fixtures';
import { mountTmpfs } from '../helpers/tmpfs';

const ROOT = join(__dirname, '..', '..');
/** Node itself with the TypeScript loader, not the tsx CLI: that would put a second process between us and the spool. */
const CHILD = [process.execPath, '--import', 'tsx', join(ROOT, 'test', 'helpers', 'spool-child.ts')];

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'spool-'));
}

function spoolLines(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => {
      rl.close();
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before answering`)));
  });
}

async function output(child: ChildProcess): Promise<string> {
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await new Promise((r) => child.once('exit', r));
  return out.trim().split('\n').at(-1) ?? '';
}

test('a write cut short by a file-size limit is not acknowledged, and the spool file stays whole lines', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const child = spawn(CHILD[0]!, [...CHILD.slice(1), 'fill', dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  assert.equal(await firstLine(child), 'ready');
  // A real RLIMIT_FSIZE on the running child: writes past it are short, then fail with EFBIG.
  const limit = 5_000;
  const set = spawnSync('prlimit', ['--pid', String(child.pid), `--fsize=${limit}:${limit}`]);
  assert.equal(set.status, 0, `prlimit failed: ${set.stderr}`);
  child.stdin!.write('go\n');
  const report = JSON.parse(await output(child)) as { released: string[]; held: string | null; alerts: string[] };

  assert.ok(report.released.length > 0, 'writes under the limit are acknowledged');
  // The limit is per file: a write refused in one is held, and acknowledged only once it is
  // whole in a file that had room (the held batch's retry tries to move the spool first,
  // which starts a new file), or never, if none did.
  if (report.held === null) assert.ok(readdirSync(dir).filter((f) => f.endsWith('.jsonl')).length > 1, 'every write was acknowledged, so some went to a file of their own');
  const lines = spoolLines(dir);
  for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `a torn line stayed in the spool: ${line.slice(-40)}`);
  const onDisk = lines.flatMap((l) => (JSON.parse(l) as RecordBatch).actions!.map((a) => a.actionId));
  // Each once, in whatever files they went to (the order a drain takes them in is tested elsewhere).
  assert.deepEqual([...onDisk].sort(), [...report.released].sort(), 'exactly the acknowledged batches are on disk');
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  for (const f of files) assert.ok(statSync(join(dir, f)).size < limit, 'the torn tail was cut back');
  assert.match(report.alerts.join('\n'), /SPOOL UNWRITABLE: .*EFBIG/);
});

test("a worker restarted with its predecessor's PID (PID 1 in a container) drains the file the predecessor left", { timeout: 60_000 }, async (t) => {
  const probe = spawnSync('unshare', ['--user', '--map-root-user', '--pid', '--fork', 'true']);
  if (probe.status !== 0) return t.skip(`no PID namespaces here (unshare: ${String(probe.stderr).trim()})`);
  const dir = tempDir();
  const asPid1 = (mode: string) =>
    spawn('unshare', ['--user', '--map-root-user', '--pid', '--fork', '--kill-child', ...CHILD, mode, dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  const first = asPid1('crash');
  const crashed = JSON.parse(await firstLine(first)) as { pid: number };
  first.kill('SIGKILL'); // unshare dies and takes its child with it: nothing is closed or cleaned up
  await new Promise((r) => first.once('exit', r));
  assert.equal(crashed.pid, 1);
  assert.equal(spoolLines(dir).length, 1, 'the predecessor left its active file');

  const second = JSON.parse(await output(asPid1('drain'))) as { pid: number; written: string[]; empty: boolean };
  assert.equal(second.pid, 1, 'the successor has the same PID');
  assert.deepEqual(second.written, ['left-behind']);
  assert.equal(second.empty, true);
});

test('a live owner keeps its active file; once its lease lapses another spool drains it', async () => {
  const dir = tempDir();
  const owner = new Spool({ dir, leaseMs: 200 });
  owner.append({ actions: [action('mine', 's')] });
  const other = new Spool({ dir, leaseMs: 200 });
  const written: string[] = [];
  const collect = async (b: RecordBatch) => void written.push(...(b.actions ?? []).map((a) => a.actionId));
  await new Promise((r) => setTimeout(r, 400));
  await other.drain(collect);
  assert.deepEqual(written, [], 'the owner renews its lease while it lives');
  owner.append({ actions: [action('mine-2', 's')] });
  assert.equal(spoolLines(dir).length, 2);
  owner.close();
  await other.drain(collect);
  assert.deepEqual(written.sort(), ['mine', 'mine-2']);
  other.close();
});

test('a spool line that cannot be read back is quarantined and reported, never dropped', async () => {
  const dir = tempDir();
  const good = JSON.stringify({ actions: [action('a', 's')] });
  const halfBad = JSON.stringify({ actions: [action('b', 's'), { ...action('c', 's'), status: 'exploded' }] });
  const torn = good.slice(0, 40);
  writeFileSync(join(dir, 'ready-w000000000001-1-1.jsonl'), `${good}\n${torn}\nnull\n${halfBad}\n`);
  const alerts: string[] = [];
  const { store, written } = memoryStore();
  const recorder = new Recorder(store, { spool: new Spool({ dir }), onAlert: (m) => alerts.push(m) });
  assert.equal(await recorder.drainSpool(), true);
  recorder.stop();

  assert.deepEqual(written.map((a) => a.actionId), ['a', 'b'], 'every sound record reaches the store');
  const kept = readFileSync(join(dir, 'quarantine.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(kept.length, 3);
  assert.equal(kept[0].text, torn);
  assert.match(kept[0].reason, /not JSON/);
  assert.equal(kept[1].text, 'null');
  assert.match(kept[2].reason, /invalid field "status"/);
  assert.equal(kept[2].record.actionId, 'c');
  assert.match(alerts.join('\n'), new RegExp(`QUARANTINED 3 .* ${join(dir, 'quarantine.log').replace(/[.]/g, '\\.')}`));
  assert.deepEqual(spoolLines(dir), [], 'the drained file is gone only after its bad lines were kept');

  // Every start says so while the quarantine file exists.
  const again: string[] = [];
  await new Recorder(memoryStore().store, { spool: new Spool({ dir }), onAlert: (m) => again.push(m) }).start();
  assert.match(again.join('\n'), /QUARANTINE: 3 entries in .*quarantine\.log/);
});

test('"store is back" is said once per recovery, not while a full spool and a down store retry', async () => {
  const { store, written, setDown } = memoryStore();
  setDown(true);
  const alerts: string[] = [];
  const spool = new Spool({ dir: tempDir(), maxBytes: 10 });
  const recorder = new Recorder(store, { lingerMs: 1, spool, drainEveryMs: 10, onError: () => undefined, onAlert: (m) => alerts.push(m) });
  let released = false;
  const write = recorder.write({ actions: [action('held', 's')] }).then(() => (released = true));
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(released, false);
  assert.deepEqual(alerts.filter((a) => a.includes('store is back')), [], 'nothing came back');
  setDown(false);
  await write;
  await new Promise((r) => setTimeout(r, 100));
  recorder.stop();
  assert.deepEqual(written.map((a) => a.actionId), ['held']);
  assert.equal(alerts.filter((a) => a.includes('store is back')).length, 1);
});

test('a store failure is reported once the spool has answered: records held when it refuses them, spooled when it takes them', async () => {
  const { store, setDown } = memoryStore();
  setDown(true);
  const full = new Recorder(store, { lingerMs: 1, spool: new Spool({ dir: tempDir(), maxBytes: 10 }), drainEveryMs: 10, onError: () => reports.push(full.spoolRefusing ? 'held' : 'spooled') });
  const reports: string[] = [];
  const held = full.write({ actions: [action('held', 's')] });
  try {
    for (let i = 0; i < 100 && reports.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(reports[0], 'held', 'the first report already knows the spool refused the records');
  } finally {
    setDown(false);
    await held;
    full.stop();
  }
  assert.equal(full.spoolRefusing, false, 'nothing is held once the store took them');

  setDown(true);
  const spooled: string[] = [];
  const taking = new Recorder(store, { lingerMs: 1, spool: new Spool({ dir: tempDir() }), drainEveryMs: 10, onError: () => spooled.push(taking.spoolRefusing ? 'held' : 'spooled') });
  assert.equal(await taking.write({ actions: [action('spooled', 's')] }), 'spool');
  assert.equal(spooled[0], 'spooled');
  taking.stop();
});

test('a worker starts while the store is unreachable, spools, and prepares the store when it answers', async () => {
  const { store, written, setDown, calls } = memoryStore();
  setDown(true);
  const alerts: string[] = [];
  const spool = new Spool({ dir: tempDir() });
  const recorder = new Recorder(store, { lingerMs: 1, spool, drainEveryMs: 20, onError: () => undefined, onAlert: (m) => alerts.push(m) });
  const manifests = [{ name: 'agent', version: '1.0.0' }] as unknown as Manifest[];
  await recorder.start({ manifests });
  assert.match(alerts.join('\n'), /store unreachable at start .*ECONNREFUSED.*spool/);
  await recorder.write({ actions: [action('during', 's')] });
  assert.equal(recorder.spooled, 1, 'released once on disk');
  assert.deepEqual(calls, [], 'nothing reached the store');
  setDown(false);
  for (let i = 0; i < 100 && written.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  recorder.stop();
  assert.deepEqual(calls.slice(0, 3), ['migrate', 'upsertManifests', 'upsertActions'], 'prepared before the first write');
  assert.deepEqual(written.map((a) => a.actionId), ['during']);
  assert.match(alerts.join('\n'), /store is back: prepared; 1 spooled records written/);
});

test('a store that answers but cannot be prepared stops the start with the reason', async () => {
  const { store } = memoryStore();
  (store as { migrate: () => Promise<void> }).migrate = async () => {
    throw Object.assign(new Error('permission denied for database test'), { code: '42501' });
  };
  const recorder = new Recorder(store, { spool: new Spool({ dir: tempDir() }) });
  await assert.rejects(recorder.start(), /could not prepare the store \(memory\): permission denied for database test/);
  recorder.stop();
});

/** A store in memory that can be taken down (connection refused) and brought back. */
function memoryStore() {
  const written: ActionRecord[] = [];
  const calls: string[] = [];
  let down = false;
  const op =
    (name: string, fn: (rows: never[]) => void = () => undefined) =>
    async (rows: never[]) => {
      if (down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
      calls.push(name);
      fn(rows);
    };
  const store = {
    description: 'memory',
    migrate: op('migrate'),
    upsertManifests: op('upsertManifests'),
    upsertScopes: op('upsertScopes'),
    upsertActions: op('upsertActions', (rows: ActionRecord[]) => void written.push(...(rows as never[]))),
    upsertPayloads: op('upsertPayloads'),
    fillActionGaps: op('fillActionGaps'),
    sealScopes: op('sealScopes'),
    unsealedScopes: async () => [],
    fingerprints: () => ({ upsert: op('fingerprints') }),
  } as unknown as Store;
  return { store, written, calls, setDown: (d: boolean) => (down = d) };
}

test('files are drained in the order they were written, not in the order of their writers\' random ids', async () => {
  for (let round = 0; round < 8; round++) {
    const dir = tempDir();
    // A worker that stopped, then its successor: each closes its file, handing it to drainers.
    const first = new Spool({ dir });
    first.append({ actions: [action('first', 's')] });
    first.close();
    await new Promise((r) => setTimeout(r, 3));
    const second = new Spool({ dir });
    second.append({ actions: [action('second', 's')] });
    second.close();
    const drained: string[] = [];
    await new Spool({ dir }).drain(async (batch) => {
      drained.push(...(batch.actions ?? []).map((a) => a.actionId));
    });
    assert.deepEqual(drained, ['first', 'second'], `round ${round}: ${readdirSync(dir).join(', ')}`);
  }
});

test('a long outage grows the spool file being appended, not one new file per try to drain it; once the store is back every batch is drained in order', async () => {
  const dir = tempDir();
  const spool = new Spool({ dir });
  const stored: string[] = [];
  let storeDown = true;
  const write = async (batch: RecordBatch) => {
    if (storeDown) throw new Error('store down');
    stored.push(...(batch.actions ?? []).map((a) => a.actionId));
  };
  // As the recorder does while the store stays down: records spooled, a try to drain every second.
  for (let i = 0; i < 30; i++) {
    spool.append({ actions: [action(`a${i}`, 's')] });
    await assert.rejects(spool.drain(write), /store down/);
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  assert.ok(files.length <= 2, `the file handed over at the first try, and the one appended since: ${files.join(', ')}`);
  storeDown = false;
  spool.append({ actions: [action('last', 's')] });
  await spool.drain(write);
  assert.deepEqual(stored, [...Array.from({ length: 30 }, (_, i) => `a${i}`), 'last']);
  assert.ok(spool.isEmpty());
  spool.close();
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.jsonl')), []);
});

test('appends and drains that retry on a full disk leave no empty spool files behind', async (t) => {
  const dir = join(tempDir(), 'full-retries');
  const mounted = mountTmpfs(dir, '64k');
  if (typeof mounted === 'string') return t.skip(mounted);
  try {
    const spool = new Spool({ dir });
    // One batch spooled while the store was down, then the disk fills.
    spool.append({ actions: [action('held', 's')] });
    try {
      writeFileSync(join(dir, 'filler'), Buffer.alloc(1024 * 1024));
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
    }
    // As the recorder does while the store stays down: an append the disk refuses, a drain that
    // stops at the held batch (the store refuses it), again and again.
    for (let i = 0; i < 5; i++) {
      // Larger than what is left of the file's last page: it needs blocks the disk no longer has.
      assert.throws(() => spool.append({ actions: [action(`a${i}`, 's', { error: 'x'.repeat(16_384) })] }), /ENOSPC|no space/i);
      await spool.drain(async () => {
        throw new Error('store down');
      }).catch(() => undefined);
    }
    spool.close();
    const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
    assert.equal(files.length, 1, `the held batch's file alone, not one empty file per retry: ${files.join(', ')}`);
    assert.ok(statSync(join(dir, files[0]!)).size > 0);
  } finally {
    mounted.unmount();
  }
});

test('a spool on a full disk leaves no file open once closed: the disk can be unmounted', async (t) => {
  const dir = join(tempDir(), 'full');
  const mounted = mountTmpfs(dir, '64k');
  if (typeof mounted === 'string') return t.skip(mounted);
  let unmounted = false;
  try {
    // Every block taken: the lease file can be created (an inode) but not written.
    try {
      writeFileSync(join(dir, 'filler'), Buffer.alloc(1024 * 1024));
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
    }
    const spool = new Spool({ dir });
    await spool.drain(async () => undefined);
    assert.throws(() => spool.append({ actions: [action('a1', 's')] }), /ENOSPC|no space/i);
    spool.close();
    const open = readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(join('/proc/self/fd', fd)).startsWith(dir);
      } catch {
        return false;
      }
    });
    assert.deepEqual(open, [], 'no descriptor into the spool folder');
    const result = mounted.unmount();
    unmounted = result.ok;
    assert.ok(result.ok, `umount: ${result.message}`);
  } finally {
    if (!unmounted) mounted.unmount();
  }
});
