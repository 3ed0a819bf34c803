/**
 * A worker's spool is filed under its store (worker/spool-folder.ts): workers of two
 * stores that share a namespace and a queue name on one machine never drain each other's
 * records, and what an earlier version left in the folder named without the store is
 * taken over, in the order it was written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../../worker/spool';
import { folderStoreKey, spoolFolder, storeKey } from '../../worker/spool-folder';
import { openPostgresStore } from '../../store/postgres';
import type { RecordBatch } from '../../worker/recorder';
import { action } from './fixtures';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tempDir = () => mkdtempSync(join(tmpdir(), 'spool-folder-'));
const collector = () => {
  const written: string[] = [];
  return { written, write: async (b: RecordBatch) => void written.push(...(b.actions ?? []).map((a) => a.actionId)) };
};

test('the folder is keyed by server, database and schema, never by credentials or parameters', async () => {
  const at = (url: string, schema?: string) => {
    const store = openPostgresStore(url, schema ? { schema } : {});
    void store.close();
    return storeKey(store);
  };
  const base = at('postgres://app:one@db.example:5432/prod');
  assert.equal(at('postgres://app:two@DB.example/prod?application_name=x'), base, 'password, default port, host case and parameters do not count');
  assert.equal(at('postgres://other@db.example:5432/prod'), base, 'nor the user');
  assert.notEqual(at('postgres://app@db.example:5432/prod', 'audit'), base, 'another schema');
  assert.notEqual(at('postgres://app@db.example:5432/staging'), base, 'another database');
  assert.notEqual(at('postgres://app@db2.example:5432/prod'), base, 'another server');
  assert.notEqual(at('postgres://app@db.example:6432/prod'), base, 'another port');
  const store = openPostgresStore('postgres://app:secret@db.example/prod');
  await store.close();
  assert.doesNotMatch(store.location, /secret|app@/);
  const { dir } = spoolFolder('/spool', 'default', 'agents', store);
  assert.equal(dir, `/spool/default--agents--${storeKey(store)}`);
  assert.equal(folderStoreKey('default--agents--' + storeKey(store)), storeKey(store));
  assert.equal(folderStoreKey('default--agents'), undefined, 'a folder of an earlier version names no store');
});

test("two stores' workers on one queue: one's spooled records are never drained by the other", async () => {
  const base = tempDir();
  const a = openPostgresStore('postgres://x@127.0.0.1:1/test', { schema: 'team_a' });
  const b = openPostgresStore('postgres://x@127.0.0.1:1/test', { schema: 'team_b' });
  await Promise.all([a.close(), b.close()]);
  const spoolA = new Spool({ dir: spoolFolder(base, 'default', 'agents', a).dir, leaseMs: 50 });
  spoolA.append({ actions: [action('for-a', 's')] });
  spoolA.close(); // a worker stopped while its store was down: its file is ready for a successor
  const other = new Spool({ dir: spoolFolder(base, 'default', 'agents', b).dir, leaseMs: 50 });
  const seenByB = collector();
  await other.drain(seenByB.write);
  assert.deepEqual(seenByB.written, [], "the other store's worker found nothing of it");
  other.close();
  const successor = new Spool({ dir: spoolFolder(base, 'default', 'agents', a).dir, leaseMs: 50 });
  const seenByA = collector();
  await successor.drain(seenByA.write);
  assert.deepEqual(seenByA.written, ['for-a'], 'a successor on the same store drains it');
  successor.close();
});

test("an earlier version's folder: files nobody holds are taken over and drained in the order written; a live worker's file stays its own", async () => {
  const base = tempDir();
  const legacy = join(base, 'default--agents');
  mkdirSync(legacy);
  // An earlier version's worker that stopped: a ready file.
  const stopped = new Spool({ dir: legacy, leaseMs: 100 });
  stopped.append({ actions: [action('old-1', 's')] });
  stopped.close();
  // One still running, which drains its own file itself.
  const alive = new Spool({ dir: legacy, leaseMs: 100 });
  alive.append({ actions: [action('old-live', 's')] });

  const dir = join(base, 'default--agents--0123456789ab');
  const spool = new Spool({ dir, leaseMs: 100, adoptFrom: [legacy] });
  assert.equal(spool.isEmpty(), false, "the earlier folder's files are this spool's backlog");
  assert.equal(spool.hasBacklog(), true);
  spool.append({ actions: [action('new-1', 's')] });
  await sleep(150); // the live worker has renewed its lease since this spool opened
  const seen = collector();
  await spool.drain(seen.write);
  assert.deepEqual(seen.written, ['old-1', 'new-1']);
  assert.ok(readdirSync(legacy).some((f) => f.endsWith('.jsonl')), "the live worker's file stays where it is");

  alive.close(); // it stops with its store still down: its file is ready, and is taken over at the next drain
  await spool.drain(seen.write);
  assert.deepEqual(seen.written, ['old-1', 'new-1', 'old-live']);
  assert.equal(spool.isEmpty(), true);
  assert.deepEqual(readdirSync(legacy).filter((f) => f.endsWith('.jsonl')), [], 'nothing is written to the earlier folder');
  spool.close();
});

test("a file an earlier version's worker left as it was killed holds back what came after it until its lease lapses", async () => {
  const base = tempDir();
  const legacy = join(base, 'default--agents');
  mkdirSync(legacy);
  const killed = new Spool({ dir: legacy, leaseMs: 300 });
  killed.append({ actions: [action('old-killed', 's')] });
  // Killed: its lease is fresh and never renewed again.
  clearInterval((killed as unknown as { leaseTimer: NodeJS.Timeout }).leaseTimer);
  // Its successor starts a moment later: a lease touched in the very millisecond a spool opens counts as renewed.
  await sleep(20);

  const spool = new Spool({ dir: join(base, 'default--agents--0123456789ab'), leaseMs: 300, adoptFrom: [legacy] });
  assert.equal(spool.hasBacklog(), true);
  spool.append({ actions: [action('new-1', 's')] });
  const seen = collector();
  await spool.drain(seen.write);
  assert.deepEqual(seen.written, [], 'nothing written after the killed worker\'s file overtakes it');
  await sleep(450);
  await spool.drain(seen.write);
  assert.deepEqual(seen.written, ['old-killed', 'new-1']);
  assert.equal(spool.isEmpty(), true);
  spool.close();
});

test('a folder of the earlier version that does not exist is not created', () => {
  const base = tempDir();
  const spool = new Spool({ dir: join(base, 'now'), adoptFrom: [join(base, 'gone')] });
  spool.close();
  assert.deepEqual(readdirSync(base), ['now']);
});
