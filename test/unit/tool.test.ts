import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { defineTool } from '../../activities/tool';
import { refusedFor } from '../helpers/refused-option';
import { ScriptedProvider } from '../../activities/llm';
import { ScopetrailPlugin } from '../../worker/plugin';
import { createWorker } from '../../worker/create-worker';
import type { Store } from '../../store/types';

const add = defineTool(
  { name: 'add', input: z.object({ a: z.number(), b: z.number() }), output: z.object({ sum: z.number().max(100) }) },
  async ({ a, b }) => ({ sum: a + b }),
);

test('a tool validates its input and output, naming the field, without retries', async () => {
  assert.deepEqual(await add.activity({ a: 1, b: 2 }), { sum: 3 });
  await assert.rejects(add.activity({ a: 1, b: 'two' }), (err: ApplicationFailure) => {
    assert.equal(err.type, 'InvalidToolInput');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /tool add: invalid field "input\.b"/);
    return true;
  });
  await assert.rejects(add.activity({ a: 100, b: 2 }), /tool add: invalid field "output\.sum"/);
});

test('a tool definition with a bad name or resource is refused at definition time', () => {
  assert.throws(() => defineTool({ name: 'no spaces', input: z.object({}), output: z.object({}) }, async () => ({})), /invalid field "name"/);
  assert.throws(
    () => defineTool({ name: 't', input: z.object({}), output: z.object({}), resources: [{ uri: '', mode: 'read' }] }, async () => ({})),
    (err: Error & { field?: string }) => err.field === 'resources.0.uri' && /invalid field "resources\.0\.uri"/.test(err.message),
  );
  assert.throws(
    () => defineTool({ name: 't', input: z.object({}), output: z.object({}), resources: [{ uri: 'db:x', mode: 'rw' as never }] }, async () => ({})),
    (err: Error & { field?: string }) => err.field === 'resources.0.mode' && /invalid field "resources\.0\.mode": Invalid option: expected one of "read"\|"write"\|"share"/.test(err.message),
  );
});

test('a refused tool definition is a TypeError, as before, carrying the field it names', () => {
  assert.throws(
    () => defineTool({ name: 'no spaces', input: z.object({}), output: z.object({}) }, async () => ({})),
    refusedFor('name', /^defineTool: invalid field "name": "no spaces": /),
  );
  const resources = [{ uri: 'api:ok', mode: 'read' as const }, { uri: 'api:bad', mode: 'delete' as never }];
  assert.throws(
    () => defineTool({ name: 't', input: z.object({}), output: z.object({}), resources }, async () => ({})),
    refusedFor('resources.1.mode', /^defineTool t: invalid field "resources\.1\.mode": /),
  );
});

test('a tool may not take the name of the model activities every worker registers', () => {
  for (const name of ['llm', 'llm.generate']) {
    assert.throws(
      () => defineTool({ name, input: z.object({}), output: z.object({}) }, async () => ({})),
      refusedFor('name', new RegExp(`^defineTool: invalid field "name": "${name.replace('.', '\\.')}" is the model call's activity.*give the tool another name`)),
    );
  }
  // Names that only begin alike are the user's to take.
  assert.equal(defineTool({ name: 'llm-summary', input: z.object({}), output: z.object({}) }, async () => ({})).spec.name, 'llm-summary');
});

test('a tool definition that could never run is refused at definition, naming the field', () => {
  const ok = { name: 't', input: z.object({}), output: z.object({}) };
  const fn = async () => ({});
  assert.throws(() => defineTool({ ...ok, resource: [{ uri: 'db:x', mode: 'write' }] } as never, fn), refusedFor('resource', /^defineTool t: invalid field "resource": not a field it takes \(did you mean "resources"\?\)/));
  assert.throws(() => defineTool({ ...ok, input: { a: 'string' } } as never, fn), refusedFor('input', /^defineTool t: invalid field "input": give a zod schema \(e\.g\. z\.object\(\{ … \}\)\), not a plain object$/));
  assert.throws(() => defineTool({ name: 't', input: z.object({}) } as never, fn), refusedFor('output', /invalid field "output": give a zod schema .*not undefined$/));
  assert.throws(() => defineTool(ok, undefined as never), refusedFor('fn', /^defineTool t: invalid field "fn": give the tool's code/));
  assert.throws(() => defineTool({ ...ok, recordPayloads: 'yes' } as never, fn), refusedFor('recordPayloads', /give true or false, not a string/));
  assert.throws(() => defineTool({ ...ok, resources: { uri: 'db:x', mode: 'read' } } as never, fn), refusedFor('resources', /give an array of \{ uri, mode \}, not a plain object/));
  assert.throws(() => defineTool(undefined as never, fn), refusedFor('spec', /^defineTool: invalid field "spec": give an object/));
});

test('two tools of one name are refused by the plugin, naming the second one\'s place', () => {
  const store = { upsertManifests: async () => undefined } as unknown as Store;
  const t = () => defineTool({ name: 'search', input: z.object({}), output: z.object({}) }, async () => ({}));
  assert.throws(
    () => new ScopetrailPlugin({ store, fingerprintKey: false, tools: [add, t(), t()] }),
    (err: Error & { field?: string }) => {
      assert.equal(err.name, 'ScopetrailConfigError');
      assert.equal(err.field, 'tools.2');
      assert.equal(err.message, 'ScopetrailPlugin: invalid field "tools.2": two tools are named "search"');
      return true;
    },
  );
  // One definition listed twice is one tool, not two of one name.
  const once = t();
  assert.doesNotThrow(() => new ScopetrailPlugin({ store, fingerprintKey: false, tools: [add, once, once] }));
});

test('two tools of one name given to createWorker are refused under its name, before it connects', async () => {
  const store = { upsertManifests: async () => undefined } as unknown as Store;
  const t = () => defineTool({ name: 'search', input: z.object({}), output: z.object({}) }, async () => ({}));
  // No server listens at this address: the refusal comes first.
  await assert.rejects(
    createWorker({ agents: '/x.js', tools: [t(), add, t()], store, fingerprintKey: false, taskQueue: 'q', address: '127.0.0.1:1' }),
    (err: Error & { field?: string }) => {
      assert.equal(err.name, 'ScopetrailConfigError');
      assert.equal(err.field, 'tools.2');
      assert.equal(err.message, 'createWorker: invalid field "tools.2": two tools are named "search"');
      return true;
    },
  );
});

test('a log that is not a function, or a fingerprint key that is not one, is refused at once naming the option', async () => {
  const store = { upsertManifests: async () => undefined } as unknown as Store;
  // Before, `log: 'console'` failed only when there was first something to log ("this.log is not a function"),
  // and `fingerprintKey: 'abc'` failed in node:crypto naming no option.
  for (const [options, field, message] of [
    [{ log: 'console' }, 'log', 'give a function (message, err?) => void'],
    [{ fingerprintKey: 'abc' }, 'fingerprintKey', 'give false, or a key from loadFingerprintKey()'],
    [{ fingerprintKey: { bytes: Buffer.alloc(4), id: 'k', origin: 'x' } }, 'fingerprintKey', 'at least 16 bytes'],
    [{ fingerprintKey: true }, 'fingerprintKey', 'give false'],
  ] as const) {
    assert.throws(
      () => new ScopetrailPlugin({ store, ...(options as object) } as never),
      (err: Error & { field?: string }) => {
        assert.equal(err.name, 'ScopetrailConfigError');
        assert.equal(err.field, field);
        assert.ok(err.message.startsWith(`ScopetrailPlugin: invalid field "${field}": `) && err.message.includes(message), err.message);
        return true;
      },
    );
    await assert.rejects(
      createWorker({ agents: '/x.js', tools: [], store, taskQueue: 'q', address: '127.0.0.1:1', ...(options as object) } as never),
      (err: Error & { field?: string }) => err.name === 'ScopetrailConfigError' && err.field === field && err.message.startsWith(`createWorker: invalid field "${field}"`),
    );
  }
  // What is given rightly still goes through.
  const log = (): void => undefined;
  assert.ok(new ScopetrailPlugin({ store, log, fingerprintKey: { bytes: Buffer.alloc(32, 1), id: 'k', origin: 'test' } }));
});

test('a misspelled worker or plugin option is refused, naming it and the option it most likely meant', async () => {
  const store = { upsertManifests: async () => undefined } as unknown as Store;
  assert.throws(
    () => new ScopetrailPlugin({ store, fingerprintKey: false, payloadCodec: [] } as never),
    (err: Error & { field?: string }) => err.name === 'ScopetrailConfigError' && err.field === 'payloadCodec' && /^ScopetrailPlugin: invalid field "payloadCodec": not a field it takes \(did you mean "payloadCodecs"\?\)/.test(err.message),
  );
  // Refused before it connects to anything: no server listens at this address.
  await assert.rejects(
    createWorker({ agents: '/x.js', tools: [], store, taskqueue: 'q', address: '127.0.0.1:1' } as never),
    (err: Error & { field?: string }) => err.name === 'ScopetrailConfigError' && err.field === 'taskqueue' && /^createWorker: invalid field "taskqueue": not a field it takes \(did you mean "taskQueue"\?\)/.test(err.message),
  );
  // Options that are all fine, and a Temporal address nothing answers on: named as the address.
  await assert.rejects(
    createWorker({ agents: '/x.js', tools: [], store, taskQueue: 'q', address: '127.0.0.1:1' }),
    (err: Error & { field?: string }) =>
      err.name === 'TemporalUnreachableError' && err.field === 'address' && /^Temporal at 127\.0\.0\.1:1 is not reachable \(.*\): start it, or give createWorker the address of one/.test(err.message),
  );
  // A plugin option given to createWorker is refused under createWorker's name, naming the key inside it.
  for (const [bad, field] of [
    [{ unendedScopes: { evryMs: 1_000 } }, 'unendedScopes.evryMs'],
    [{ runningRowAfterMs: 'soon' }, 'runningRowAfterMs'],
    [{ otel: { servicename: 'x' } }, 'otel.servicename'],
  ] as const) {
    await assert.rejects(
      createWorker({ agents: '/x.js', tools: [], store, taskQueue: 'q', address: '127.0.0.1:1', ...bad } as never),
      (err: Error & { field?: string }) => err.name === 'ScopetrailConfigError' && err.field === field && err.message.startsWith(`createWorker: invalid field "${field}"`),
    );
  }
});

test('the scripted provider answers per agent and turn, deterministically, with token counts', async () => {
  const p = new ScriptedProvider({ a: ['first answer', 'second'], '*': [(r) => `echo ${r.turn}`] });
  const req = { messages: [{ role: 'user' as const, content: 'hello there' }], turn: 0, agent: 'a', scopeId: 's' };
  // About four characters per token: "hello there" (11) → 3, "first answer" (12) → 3.
  assert.deepEqual(await p.complete(req), {
    text: 'first answer', model: 'scripted-1', inputTokens: 3, outputTokens: 3, totalTokens: 6, finishReason: 'stop',
  });
  assert.equal((await p.complete({ ...req, turn: 5 })).text, 'second', 'the last entry repeats');
  assert.equal((await p.complete({ ...req, agent: 'b', turn: 3 })).text, 'echo 3');
  assert.equal((await new ScriptedProvider().complete(req)).text, '[a] hello there');
});
