/**
 * The store's side of a payload codec: stored text round-trips through the user's codec,
 * a reader without it sees a placeholder and a reconcile-style reader gets an error that
 * names the codec, a replay never re-encrypts sealed text, and the CLI finds codecs in
 * modules and behind a codec server.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload } from '@temporalio/common';
import { openStore } from '../../store';
import type { Store } from '../../store/types';
import { CodecRequiredError, fromJson, opaqueTextCodec, textCodec, toJson } from '../../store/text-codec';
import { decodingStore, encodeBatch } from '../../store/encoded-records';
import { ENCODED_TEXT_PLACEHOLDER, isEncodedText } from '../../cim/encoded-text';
import { RemoteCodec, codecsOfModule } from '../../client/codec-loader';
import { AesGcmCodec } from '../fixtures/aes-codec';
import { action, scope } from './fixtures';

const aes = new AesGcmCodec();
const codec = textCodec([aes]);

let store: Store;
let server: Server;
let endpoint: string;
before(async () => {
  store = await openStore({ memory: true, url: undefined });
  // A codec server as Temporal's protocol describes it, backed by the same AES codec.
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const op = req.url === '/codec/encode' ? 'encode' : req.url === '/codec/decode' ? 'decode' : null;
      if (!op || req.method !== 'POST' || req.headers['x-namespace'] !== 'default') return res.writeHead(404).end();
      const payloads = (JSON.parse(body) as { payloads: unknown[] }).payloads.map(fromJson);
      const out = await aes[op](payloads as Payload[]);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ payloads: out.map(toJson) }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/codec`;
});
after(async () => {
  await store?.close();
  await new Promise((r) => server?.close(r));
});

test('text encoded with the codec holds no plain text and decodes back; plain text passes through', async () => {
  const encoded = await codec.encode('the secret plan');
  assert.ok(isEncodedText(encoded));
  assert.ok(!encoded.includes('secret'), encoded);
  assert.equal(await codec.decode(encoded), 'the secret plan');
  assert.equal(await codec.decode('already plain'), 'already plain');
  assert.deepEqual(await codec.decodeJson(await codec.encodeJson({ messages: ['hi'] })), { messages: ['hi'] });
});

test('without the codec, a reader sees a placeholder; a decoder without it is told to give the codec', async () => {
  const encoded = await codec.encode('the secret plan');
  assert.equal(await opaqueTextCodec().decode(encoded), ENCODED_TEXT_PLACEHOLDER);
  await assert.rejects(textCodec([]).decode(encoded), (err: Error) => err instanceof CodecRequiredError && /payloadCodecs|--codec/.test(err.message));
  const tampered = encoded.replace(/"data":"(.)/, (_m, c: string) => `"data":"${c === 'A' ? 'B' : 'A'}`);
  await assert.rejects(codec.decode(tampered), /could not decode stored text/);
});

test('a batch is encoded field by field: objective, errors and payload bodies; ids and digests stay readable', async () => {
  const batch = await encodeBatch(codec, {
    scopes: [scope('e', { objective: 'secret objective', error: 'secret error', status: 'error' })],
    actions: [action('e/a1#1', 'e', { error: 'secret failure', inputDigest: 'sha256:ab', status: 'error' })],
    payloads: [{ namespace: 'default', actionId: 'e/a1#1', side: 'input', body: { notes: 'secret notes' } }],
  });
  assert.ok(!JSON.stringify(batch).includes('secret'), JSON.stringify(batch).slice(0, 300));
  assert.equal(batch.actions![0]!.inputDigest, 'sha256:ab');
  assert.equal(batch.scopes![0]!.scopeId, 'e');
});

test('a replay that re-encrypts the same record keeps the stored text, so a sealed chain is not disturbed; a real change still lands', async () => {
  const write = async (objective: string, status: 'running' | 'error', error: string | null) =>
    store.upsertScopes((await encodeBatch(codec, { scopes: [scope('r', { objective, status, error, endedAt: status === 'running' ? null : '2026-01-01T00:00:01.000Z' })] })).scopes!);
  await write('secret objective', 'error', 'secret error');
  const first = (await store.getScope('r'))!;
  await write('secret objective', 'error', 'secret error');
  const again = (await store.getScope('r'))!;
  assert.equal(again.objective, first.objective);
  assert.equal(again.error, first.error);
  await store.upsertScopes([scope('p', { objective: 'plain', status: 'success' })]);
  await store.upsertScopes([scope('p', { objective: 'plain, corrected', status: 'success' })]);
  assert.equal((await store.getScope('p'))!.objective, 'plain, corrected', 'unencoded text updates as before');
  const decoded = decodingStore(store, codec);
  assert.equal((await decoded.getScope('r'))!.objective, 'secret objective');
  assert.equal((await decoded.scopesOfSession('s')).find((s) => s.scopeId === 'r')!.error, 'secret error');
});

test('the CLI finds a codec in the shapes modules export it, and names the option when none is there', () => {
  for (const mod of [{ payloadCodec: aes }, { codec: aes }, { payloadCodecs: [aes] }, { dataConverter: { payloadCodecs: [aes] } }, { default: { payloadCodec: aes } }]) {
    assert.deepEqual(codecsOfModule(mod, 'm.js'), [aes]);
  }
  assert.throws(() => codecsOfModule({ something: 1 }, 'm.js'), /--codec m\.js: the module exports no payload codec/);
});

test('a codec server speaking Temporal\'s protocol decodes what the codec encoded', async () => {
  const remote = textCodec([new RemoteCodec(endpoint, 'default')]);
  const encoded = await codec.encode('the secret plan');
  assert.equal(await remote.decode(encoded), 'the secret plan');
  assert.equal(await codec.decode(await remote.encode('round trip')), 'round trip');
  await assert.rejects(textCodec([new RemoteCodec(`${endpoint}/nowhere`, 'default')]).decode(encoded), /answered HTTP 404/);
  assert.throws(() => new RemoteCodec('ftp://x', 'default'), /--codec-endpoint: "ftp:\/\/x" is not an http\(s\) URL/);
});
