/** Fingerprints travel the recorder's durable path, and never fail the workflow that produced the output. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recorder } from '../../worker/recorder';
import { Spool } from '../../worker/spool';
import { scopetrailSinks } from '../../worker/sinks';
import { Fingerprinter, parseKey } from '../../worker/fingerprint-key';
import type { Store } from '../../store/types';
import type { FingerprintRecord } from '../../store/fingerprint-store';
import type { SinkEvent } from '../../workflows/sinks';
import { agentReport } from '../helpers/agent-text';

const fingerprinter = new Fingerprinter(parseKey('00112233445566778899aabbccddeeff', 'test key'));

/** A store whose fingerprint writes fail `failures` times, then succeed. */
function fakeStore(failures = 0) {
  const written: FingerprintRecord[] = [];
  let failing = failures;
  const store = {
    fingerprints: () => ({
      upsert: async (rows: FingerprintRecord[]) => {
        if (failing-- > 0) throw new Error('connection refused');
        written.push(...rows);
      },
    }),
  } as unknown as Store;
  return { store, written };
}

function outputEvent(value: unknown): SinkEvent {
  return {
    type: 'output',
    record: { namespace: 'default', sessionId: 's', scopeId: 's.1', agent: 'writer', producedAt: '2026-01-01T00:00:00.000Z', value },
  };
}

function sinkFn(recorder: Recorder, log: (msg: string) => void, fp = fingerprinter) {
  return scopetrailSinks(recorder, log, fp).scopetrail.record.fn as (info: unknown, events: SinkEvent[]) => Promise<void>;
}

test('an agent output reaches the store as fingerprint rows without its text', async () => {
  const { store, written } = fakeStore();
  const recorder = new Recorder(store, { lingerMs: 1 });
  const text = agentReport(3, 2);
  await sinkFn(recorder, () => undefined)({}, [outputEvent({ body: text })]);
  assert.ok(written.length > 10);
  assert.ok(written.every((r) => r.sourceId === 's.1' && r.kind === 'agent_output' && r.keyId === fingerprinter.key.id));
  const stored = JSON.stringify(written);
  for (const word of text.split(/\W+/).filter((w) => w.length > 8)) assert.ok(!stored.includes(word), `"${word}" is not stored`);
});

test('fingerprints wait in the spool while the store is down and reach it when it is back', async () => {
  const { store, written } = fakeStore(3);
  const spool = new Spool({ dir: mkdtempSync(join(tmpdir(), 'spool-fp-')) });
  const recorder = new Recorder(store, { lingerMs: 1, spool, drainEveryMs: 10, onError: () => undefined });
  await sinkFn(recorder, () => undefined)({}, [outputEvent(agentReport(4, 2))]);
  assert.ok(recorder.spooled > 0, 'the rows went to the spool');
  assert.equal(written.length, 0);
  for (let i = 0; i < 100 && !spool.isEmpty(); i++) await new Promise((r) => setTimeout(r, 20));
  recorder.stop();
  assert.equal(spool.isEmpty(), true);
  assert.equal(written.length, recorder.spooled);
});

test('an output that cannot be fingerprinted is logged and the workflow task goes on', async () => {
  const { store, written } = fakeStore();
  const recorder = new Recorder(store, { lingerMs: 1 });
  const logs: string[] = [];
  const broken = { records: () => { throw new Error('boom'); } } as unknown as Fingerprinter;
  await sinkFn(recorder, (m) => logs.push(m), broken)({}, [outputEvent('some text that is long enough to fingerprint here')]);
  assert.deepEqual(logs, ['could not fingerprint the output of s.1']);
  assert.equal(written.length, 0);
});
