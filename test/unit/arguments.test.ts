/** Client arguments: a bad one is named, whether it is a single value or a field of an options object. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { Id, InvalidArgumentError, IsoTime, parse } from '../../client/arguments';

test('a single-value argument is named by its parameter; a field of an object by its path; an options object of the wrong type is "options"', () => {
  const named = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof InvalidArgumentError);
      return [err.message, err.field];
    }
    assert.fail('no error');
  };
  assert.deepEqual(named(() => parse('scopeTree', Id, 123, 'sessionId')), ['scopeTree: invalid field "sessionId": Invalid input: expected string, received number', 'sessionId']);
  assert.deepEqual(named(() => parse('scope', Id, '', 'scopeId'))[1], 'scopeId');
  assert.deepEqual(named(() => parse('sessions', z.object({ limit: z.number() }), { limit: 'x' })), ['sessions: invalid field "limit": Invalid input: expected number, received string', 'limit']);
  assert.deepEqual(
    named(() => parse('verifyUsage', z.object({ repair: z.boolean() }), 5)),
    ['verifyUsage: invalid field "options": Invalid input: expected object, received number', 'options'],
    'an options object that is not one is named as the parameter it is',
  );
  assert.deepEqual(named(() => parse('startSession', z.strictObject({ input: z.unknown() }), null))[1], 'options');
});

test('a time argument takes a date alone as its midnight in UTC, as prune --before does, and names the forms it takes', () => {
  assert.equal(IsoTime.parse('2026-12-05'), '2026-12-05T00:00:00.000Z');
  assert.equal(IsoTime.parse('2026-12-05T10:00:00+02:00'), '2026-12-05T10:00:00+02:00');
  const bad = IsoTime.safeParse('yesterday');
  assert.equal(bad.success, false);
  assert.match(bad.error!.issues[0]!.message, /use an ISO date \(2026-12-05\) or time with its offset/);
  assert.equal(IsoTime.safeParse('0000-01-01').success, false);
});

test('ScopeClient.connect without a store names the field instead of failing inside', async () => {
  const { ScopeClient } = await import('../../client/scope-client');
  for (const store of [undefined, null, 'postgres://x', {}]) {
    await assert.rejects(ScopeClient.connect({ taskQueue: 'q', store } as never), (err: Error & { field?: string }) => {
      assert.equal(err.name, 'InvalidArgumentError');
      assert.equal(err.field, 'store');
      assert.match(err.message, /ScopeClient\.connect: invalid field "store": give the store the workers write to/);
      return true;
    });
  }
});

test('a misspelt option is named with the one likely meant, before the field it left missing', async () => {
  const { ScopeClient } = await import('../../client/scope-client');
  const store = { scopesOfSession: async () => [], sessionHasScopes: async () => false } as never;
  const misspelt = (field: string, meant: string, method: string) => (err: Error & { field?: string }) => {
    assert.equal(err.name, 'InvalidArgumentError');
    assert.equal(err.field, field);
    assert.equal(err.message, `${method}: invalid field "${field}": not a field it takes (did you mean "${meant}"?)`);
    return true;
  };
  await assert.rejects(ScopeClient.connect({ store, taskqueue: 'q' } as never), misspelt('taskqueue', 'taskQueue', 'ScopeClient.connect'));
  const client = await ScopeClient.connect({ store, taskQueue: 'q', address: '127.0.0.1:1' });
  try {
    await assert.rejects(client.startSession('agent', { inputs: { topic: 'x' } } as never), misspelt('inputs', 'input', 'startSession'));
    await assert.rejects(client.startSession('agent', { input: 1, objectve: 'x' } as never), misspelt('objectve', 'objective', 'startSession'));
    await assert.rejects(client.actionsUnder('s', { descendents: true } as never), misspelt('descendents', 'descendants', 'actionsUnder'));
    // Not "to": expected string, received undefined: the key given is named, with the one meant.
    await assert.rejects(client.requestHandoff('S', { too: 'editor', reason: 'x' } as never), misspelt('too', 'to', 'requestHandoff'));
    await assert.rejects(client.requestHandoff('S', { to: 'editor', reasn: 'x' } as never), misspelt('reasn', 'reason', 'requestHandoff'));
    await assert.rejects(client.requestHandoff('S', { to: 'editor', reason: 'x', inputs: 1 } as never), misspelt('inputs', 'input', 'requestHandoff'));
  } finally {
    await client.close();
  }
});
