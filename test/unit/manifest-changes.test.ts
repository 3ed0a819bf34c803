/** A manifest changed under the same agent version is named when a worker registers it (cim/manifest.ts, worker/recorder.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Manifest, type ManifestInput } from '../../cim/schemas';
import { manifestChanges } from '../../cim/manifest';
import { Recorder } from '../../worker/recorder';
import type { Store } from '../../store/types';
import { manifestSigner } from '../../store/manifest-key';
import { parseKey } from '../../store/fingerprint-key';
import { manifestSigningText } from '../../cim/manifest-signature';

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
    storedManifests: async () => ({ manifests: stored.map((manifest) => ({ manifest, signature: null })), invalid: [] }),
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
    storedManifests: async () => {
      throw new Error('manifests table does not read');
    },
    upsertManifests: async () => undefined,
  } as unknown as Store;
  const recorder = new Recorder(store, { onAlert: () => assert.fail('nothing to say') });
  await recorder.start({ manifests: [m({})] });
  recorder.stop();
});

test('a stored manifest that no longer matches its registration signature, or does not read, is said to be changed in the table, not by a deployment', async () => {
  const signer = manifestSigner(parseKey('77'.repeat(32), 'test'));
  const genuine = m({ tools: ['search'] });
  const mac = signer.sign(manifestSigningText(genuine));
  const store = {
    migrate: async () => undefined,
    storedManifests: async () => ({
      // Declares a tool the agent does not have, under the genuine signature.
      manifests: [{ manifest: m({ tools: ['search', 'shell'] }), signature: { keyId: signer.keyId, mac } }],
      invalid: [{ agent: 'other', version: '1.0.0', field: 'version', message: 'the row is filed under other@1.0.0, its manifest names other@0.0.1' }],
    }),
    upsertManifests: async () => undefined,
  } as unknown as Store;
  const alerts: string[] = [];
  const recorder = new Recorder(store, { onAlert: (a) => alerts.push(a) });
  await recorder.start({ manifests: [genuine, m({ name: 'other' })], manifestSigner: signer });
  recorder.stop();
  assert.equal(alerts.length, 2, alerts.join('\n'));
  assert.match(alerts[0]!, /^agent gatherer@1\.0\.0: its stored manifest does not read, or no longer matches the signature it was registered with: it was changed in the table, not by a deployment/);
  assert.match(alerts[1]!, /^agent other@1\.0\.0: its stored manifest does not read/);
});
