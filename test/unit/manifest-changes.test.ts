/** A manifest changed under the same agent version is named when a worker registers it (cim/manifest.ts, worker/recorder.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Manifest, type ManifestInput } from '../../cim/schemas';
import { manifestChanges } from '../../cim/manifest';
import { Recorder } from '../../worker/recorder';
import type { Store } from '../../store/types';

const m = (fields: Partial<ManifestInput>) => Manifest.parse({ name: 'gatherer', version: '1.0.0', ...fields });

test('changes are named field by field; list order and equal declarations are not changes', () => {
  const before = m({ tools: ['search', 'fetch'], resources: ['api:inventory'], subAgents: ['helper'] });
  assert.deepEqual(manifestChanges(before, m({ tools: ['fetch', 'search'], resources: ['api:inventory'], subAgents: ['helper'] })), []);
  assert.deepEqual(
    manifestChanges(before, m({ tools: ['search', 'export'], resources: ['api:inventory/*'], subAgents: ['helper'], handoffs: ['editor'], description: 'new' })),
    ['tools +export −fetch', 'handoffs declared', 'resources +api:inventory/* −api:inventory', 'description changed'],
  );
  assert.deepEqual(manifestChanges(before, m({ tools: ['search', 'fetch'], subAgents: ['helper'] })), ['resources no longer declared'], 'unrestricted is not the same allowance');
});

test('a worker that registers a changed manifest for a version already stored says so once; an unchanged or new one says nothing', async () => {
  const stored = [m({ tools: ['search'] }), m({ name: 'other', tools: ['x'] })];
  const upserted: Manifest[][] = [];
  const store = {
    migrate: async () => undefined,
    manifests: async () => stored,
    upsertManifests: async (ms: Manifest[]) => void upserted.push([...ms]),
  } as unknown as Store;
  const alerts: string[] = [];
  const recorder = new Recorder(store, { onAlert: (a) => alerts.push(a) });
  await recorder.start({ manifests: [m({ tools: ['search', 'notes/write'] }), m({ name: 'other', tools: ['x'] }), m({ name: 'fresh' })] });
  recorder.stop();
  assert.equal(alerts.length, 1, alerts.join('\n'));
  assert.match(alerts[0]!, /^agent gatherer@1\.0\.0: its manifest changed without a new version \(tools \+notes\/write\); drift now judges/);
  assert.equal(upserted.length, 1, 'it is registered all the same: the worker runs what it was given');
});

test('a store whose manifests cannot be read back does not stop a worker from starting', async () => {
  const store = {
    migrate: async () => undefined,
    manifests: async () => {
      throw new Error('manifest row does not parse');
    },
    upsertManifests: async () => undefined,
  } as unknown as Store;
  const recorder = new Recorder(store, { onAlert: () => assert.fail('nothing to say') });
  await recorder.start({ manifests: [m({})] });
  recorder.stop();
});
