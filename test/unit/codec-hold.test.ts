/**
 * A payload codec that cannot encode for a while (a codec server down, a key service timing
 * out) is met like a store outage: records wait, encoded only once it answers, never stored
 * or spooled in plain text, never dropped; and a workflow's sink never throws into the SDK.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recorder } from '../../worker/recorder';
import { Spool } from '../../worker/spool';
import { scopetrailSinks } from '../../worker/sinks';
import { ENCODED_TEXT_PREFIX, isEncodedText } from '../../cim/encoded-text';
import type { TextCodec } from '../../store/text-codec';
import type { ActionRecord, ScopeRecord } from '../../cim/schemas';
import type { Store } from '../../store/types';
import type { SinkEvent } from '../../workflows/sinks';
import { action, scope } from './fixtures';

const SECRET = 'SECRET objective of the vault';

/** A codec whose encode fails its first `failures` calls (a codec server that did not answer), then works. */
function flakyCodec(failures: number) {
  const state = { failures, failed: 0, recoveredAt: 0 };
  const codec: TextCodec = {
    async encode(text) {
      if (state.failed < state.failures) {
        state.failed += 1;
        if (state.failed === state.failures) state.recoveredAt = Date.now();
        throw new Error('codec server http://127.0.0.1:1/encode did not answer');
      }
      return ENCODED_TEXT_PREFIX + Buffer.from(text).toString('base64');
    },
    async decode(text) {
      return isEncodedText(text) ? Buffer.from(text.slice(ENCODED_TEXT_PREFIX.length), 'base64').toString() : text;
    },
    async encodeJson(value) {
      return codec.encode(JSON.stringify(value));
    },
    async decodeJson(value) {
      return isEncodedText(value) ? JSON.parse(await codec.decode(value)) : value;
    },
  };
  return { codec, state };
}

/** A store that keeps what it is given, in order; down while `down()` says so. */
function recordingStore(down: () => boolean = () => false) {
  const written: string[] = [];
  const rows: (ActionRecord | ScopeRecord)[] = [];
  const take = async (records: (ActionRecord | ScopeRecord)[]) => {
    if (down()) throw new Error('connection refused');
    rows.push(...records);
    written.push(...records.map((r) => ('actionId' in r ? r.actionId : `end ${r.scopeId}`)));
  };
  const store = {
    migrate: async () => undefined,
    upsertManifests: async () => undefined,
    upsertActions: take,
    upsertScopes: take,
    upsertPayloads: async () => undefined,
    fillActionGaps: async () => undefined,
    fingerprints: () => ({ upsert: async () => undefined }),
  } as unknown as Store;
  return { store, written, rows };
}

/** Every byte of every file under a folder, as text. */
function folderText(dir: string): string {
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .map((path) => (statSync(path).isDirectory() ? folderText(path) : readFileSync(path, 'utf8')))
    .join('\n');
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('records the codec could not encode wait for it, hold their writers, and are written in order once it answers', async () => {
  const { codec, state } = flakyCodec(4);
  const { store, written, rows } = recordingStore();
  const alerts: string[] = [];
  const recorder = new Recorder(store, { lingerMs: 1, textCodec: codec, onAlert: (m) => alerts.push(m), onError: () => undefined });
  let released = 0;
  const writes = [
    recorder.write({ actions: [action('a1', 's', { status: 'error', error: `tool failed on ${SECRET}` })] }),
    recorder.write({ actions: [action('a2', 's')] }),
    recorder.write({ scopes: [scope('s', { status: 'error', objective: SECRET, error: `failed: ${SECRET}` })] }),
  ].map((w) => w.then(() => (released += 1)));
  await settle(30);
  assert.equal(released, 0, 'held while the codec fails: their work waits, as with a full spool');
  assert.deepEqual(written, []);
  await Promise.all(writes);
  const waitedAfterRecovery = Date.now() - state.recoveredAt;
  assert.ok(waitedAfterRecovery < 2_500, `released ${waitedAfterRecovery} ms after the codec answered again (tries at most 2 s apart)`);
  assert.deepEqual(written, ['a1', 'a2', 'end s'], 'every record, in the order written: the end after its actions');
  assert.ok(rows.every((r) => !JSON.stringify(r).includes(SECRET)), 'stored encoded only');
  const end = rows.find((r): r is ScopeRecord => 'objective' in r)!;
  assert.equal(await codec.decode(end.objective!), SECRET);
  assert.match(alerts.join('\n'), /CODEC FAILING: the payload codec could not encode records \(Error: codec server http:\/\/127\.0\.0\.1:1\/encode did not answer\); holding \d+ records/);
  assert.match(alerts.at(-1)!, /^codec is back after \d+ s: \d+ held records encoded$/);
  assert.ok(alerts.every((m) => !m.includes(SECRET)), 'the log names no content');
  recorder.stop();
});

test('with the store down too, the spool only ever holds encoded text, and everything reaches the store when both are back', async () => {
  const { codec } = flakyCodec(3);
  let storeDown = true;
  const { store, written } = recordingStore(() => storeDown);
  const dir = mkdtempSync(join(tmpdir(), 'spool-codec-'));
  const spool = new Spool({ dir });
  const recorder = new Recorder(store, { lingerMs: 1, spool, drainEveryMs: 10, textCodec: codec, onAlert: () => undefined, onError: () => undefined });
  const landed = await Promise.all([
    recorder.write({ actions: [action('b1', 's', { status: 'error', error: `refused ${SECRET}` })] }),
    recorder.write({ scopes: [scope('s', { objective: SECRET })] }),
  ]);
  assert.deepEqual(landed, ['spool', 'spool'], 'the store is down: once encoded, they wait on disk');
  const onDisk = folderText(dir);
  assert.ok(onDisk.includes(ENCODED_TEXT_PREFIX), 'the spool holds the records');
  assert.ok(!onDisk.includes(SECRET), 'and no plain text of them');
  storeDown = false;
  await recorder.drain();
  assert.deepEqual(written, ['b1', 'end s']);
  recorder.stop();
});

test('a late record (a tool that finished after its timeout) also waits for the codec rather than being lost', async () => {
  const { codec } = flakyCodec(2);
  const { store, written } = recordingStore();
  const recorder = new Recorder(store, { lingerMs: 1, textCodec: codec, onAlert: () => undefined });
  await recorder.writeLate({ actions: [action('late', 's', { status: 'error', error: `timed out on ${SECRET}` })] });
  await recorder.drain();
  assert.deepEqual(written, ['late']);
  recorder.stop();
});

test('a workflow sink never throws into the SDK: a write that fails is logged by scopetrail, naming ids and no content', async () => {
  const failing = { write: async () => Promise.reject(new Error('store unavailable for 60000 ms; 1 records not written')) };
  const logged: string[] = [];
  const fn = scopetrailSinks(failing as unknown as Recorder, (m, err) => logged.push(`${m} ${err ?? ''}`)).scopetrail.record.fn as (info: unknown, events: SinkEvent[]) => Promise<void>;
  const info = { namespace: 'default', workflowId: 'ses-1', runId: 'run-1', workflowType: 'vaultKeeper', memo: { 'scopetrail.objective': SECRET } };
  const event = { type: 'scope', record: scope('ses-1', { objective: SECRET }) } as SinkEvent;
  await fn(info, [event]);
  assert.equal(logged.length, 1);
  assert.match(logged[0]!, /could not record 1 events of vaultKeeper ses-1 \(run run-1\): Error: store unavailable/);
  assert.ok(!logged[0]!.includes(SECRET));
});
