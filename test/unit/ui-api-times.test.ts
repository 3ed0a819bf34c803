/**
 * Every time parameter of the dashboard's API takes what the CLI's --since takes (a
 * date alone is its midnight UTC), and a bad one is a 400 naming the parameter. Run
 * through the API's own handler over an embedded store; no Temporal server is needed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../store';
import type { Store } from '../../store/types';
import { ScopeClient } from '../../client/scope-client';
import { handleApi } from '../../client/ui-api';
import { action, scope } from './fixtures';

let store: Store;
let client: ScopeClient;

before(async () => {
  store = await openStore({ memory: true, url: undefined });
  client = await ScopeClient.connect({ store, taskQueue: 'ui-api-times' });
  const at = { startedAt: '2026-12-06T10:00:00.000Z', endedAt: '2026-12-06T10:00:01.000Z' };
  await store.upsertScopes([scope('s', at)]);
  await store.upsertActions([action('s/a1#1', 's', { ...at, resources: [{ uri: 'note:k1', mode: 'write' }] })]);
});
after(async () => {
  await client?.close();
  await store?.close();
});

async function get(path: string): Promise<{ status: number; body: any }> {
  return handleApi({ client, temporalAddress: 'localhost:7233' }, 'GET', new URL(path, 'http://127.0.0.1/'));
}

test('the resource view takes a date alone for from and to, as its midnight UTC', async () => {
  const res = await get('/api/resources?glob=note:*&from=2026-12-06&to=2026-12-07');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.from, '2026-12-06T00:00:00.000Z');
  assert.equal(res.body.to, '2026-12-07T00:00:00.000Z');
  assert.deepEqual(res.body.touches.map((t: { uri: string }) => t.uri), ['note:k1']);
  assert.deepEqual((await get('/api/resources?glob=note:*&to=2026-12-06')).body.touches, [], 'the 6th at midnight is before the touch');
});

test('the sessions list and the resource view take the same forms, and name the parameter they refuse', async () => {
  assert.equal((await get('/api/sessions?since=2026-12-06')).status, 200);
  const cases: Array<[string, string]> = [
    ['/api/sessions?since=yesterday', 'since'],
    ['/api/resources?glob=a&from=yesterday', 'from'],
    ['/api/resources?glob=a&to=2026-13-01', 'to'],
    ['/api/resources?glob=a&from=0000-01-01', 'from'],
  ];
  for (const [path, field] of cases) {
    const res = await get(path);
    assert.equal(res.status, 400, path);
    assert.equal(res.body.error.field, field, path);
    assert.match(res.body.error.message, new RegExp(`^invalid query parameter "${field}": use (an ISO date|a time from 0001)`), path);
  }
  const backwards = await get('/api/resources?glob=a&from=2026-12-07&to=2026-12-06');
  assert.equal(backwards.status, 400);
  assert.equal(backwards.body.error.field, 'to');
  assert.match(backwards.body.error.message, /ends before "from" \(2026-12-07T00:00:00.000Z\)/);
});
