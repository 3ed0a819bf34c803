/**
 * Encrypted payloads: with a user's AES-GCM payload codec (and a failure converter that
 * encodes failure messages) on client and worker, a session with delegations, a
 * handoff, tool calls and a failure leaves no plain text of its objectives, inputs,
 * outputs or errors in Temporal history or in the store; reconcile and verify read the
 * history through the codec; digests are those of the same session without a codec;
 * and the forensic answers come back decoded for a client with the codec.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { ensureTemporal, type TemporalEndpoint } from '../../devserver/dev-server';
import { bundleAgents, createWorker, type ScopetrailWorker } from '../../worker/create-worker';
import { quietTemporalLogs } from '../../worker/runtime-logging';
import { ScopeClient } from '../../client/scope-client';
import type { Store } from '../../store/types';
import type { ActionRecord } from '../../cim/schemas';
import { ENCODED_TEXT_PLACEHOLDER, isEncodedText } from '../../cim/encoded-text';
import { TEST_DATABASE_URL, dropTestSchema, openTestStore, usesPglite } from '../helpers/runtime';
import { CLI_STORE_SKIP, runCliFor } from '../helpers/cli';
import { payloadCodec } from '../fixtures/aes-codec';
import { createVaultTools } from '../fixtures/vault-tools';
import { vaultKeeper, vaultWaiter } from '../fixtures/vault-agents';

const AGENTS = require.resolve('../fixtures/vault-agents');
const CODEC_MODULE = 'test/fixtures/aes-codec.ts';
const SECRET = `zq7-vault-${randomBytes(4).toString('hex')}`;
const OBJECTIVE = `guard the vault of ${SECRET}`;
const dataConverter: DataConverter = {
  payloadCodecs: [payloadCodec],
  failureConverterPath: require.resolve('../fixtures/encoded-failures'),
};
const skip = usesPglite() ? 'scans the Postgres tables' : false;

interface Side {
  store: Store;
  schema: string;
  taskQueue: string;
  worker: ScopetrailWorker;
  running: Promise<void>;
  client: ScopeClient;
  sessionId: string;
  result: unknown;
}

let temporal: TemporalEndpoint;
let connection: Connection;
/** A session run with the codec, and the same session without one. */
let sealed: Side;
let plain: Side;
/** A client of the encrypted deployment that lacks the codec. */
let blind: ScopeClient;

async function startSide(withCodec: boolean): Promise<Side> {
  const { store, schema } = await openTestStore();
  const taskQueue = `enc-${randomBytes(5).toString('hex')}`;
  const worker = await createWorker({
    agents: AGENTS,
    tools: Object.values(createVaultTools()),
    store,
    taskQueue,
    address: temporal.address,
    spool: { dir: join(tmpdir(), `scopetrail-spool-${taskQueue}`) },
    // With the codec the worker bundles its agents itself, with the failure converter inside.
    ...(withCodec ? { dataConverter } : { workflowBundle: await bundleAgents(AGENTS) }),
  });
  const running = worker.run();
  const client = await ScopeClient.connect({ address: temporal.address, taskQueue, store, ...(withCodec ? { dataConverter } : {}) });
  const session = await client.startSession(vaultKeeper, { input: { secret: SECRET }, objective: OBJECTIVE });
  const result = await session.result();
  await worker.recorder.drain();
  await worker.recorder.sealer.drain();
  return { store, schema, taskQueue, worker, running, client, sessionId: session.sessionId, result };
}

before(async () => {
  quietTemporalLogs('ERROR');
  temporal = await ensureTemporal({ namespace: 'default', log: () => undefined });
  connection = await Connection.connect({ address: temporal.address });
  sealed = await startSide(true);
  plain = await startSide(false);
  blind = await ScopeClient.connect({ address: temporal.address, taskQueue: sealed.taskQueue, store: sealed.store });
});

after(async () => {
  await blind?.close();
  for (const side of [sealed, plain]) {
    if (!side) continue;
    await side.client.close();
    await side.worker.shutdown();
    await side.running.catch(() => undefined);
    await side.store.close();
    await dropTestSchema(side.schema);
  }
  await connection?.close();
  await temporal?.stop();
});

/** Every string and byte string in a value, bytes read as UTF-8: what a reader of the raw data could see. */
function textOf(value: unknown, out: string[] = []): string[] {
  if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) textOf(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) textOf(v, out);
  return out;
}

/** The raw histories of every run of a session, fetched without any codec. */
async function rawHistoryText(side: Side): Promise<string> {
  const raw = new Client({ connection });
  const runs = (await side.store.scopesOfSession(side.sessionId)).map((s) => [s.workflowId, s.runId] as const);
  const texts = await Promise.all(runs.map(async ([workflowId, runId]) => textOf(await raw.workflow.getHandle(workflowId, runId).fetchHistory()).join('\n')));
  return texts.join('\n');
}

/** Every text and JSON column of every table of the store's schema that mentions `needle`. */
async function storeColumnsMentioning(schema: string, needle: string): Promise<string[]> {
  const db = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await db.connect();
  try {
    const { rows } = await db.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = $1 AND data_type IN ('text', 'jsonb', 'json', 'character varying')`,
      [schema],
    );
    assert.ok(rows.length > 10, `text columns of ${schema}: ${rows.length}`);
    const found: string[] = [];
    for (const { table_name, column_name } of rows) {
      const hit = await db.query(`SELECT 1 FROM "${schema}"."${table_name}" WHERE "${column_name}"::text LIKE $1 LIMIT 1`, [`%${needle}%`]);
      if (hit.rowCount) found.push(`${table_name}.${column_name}`);
    }
    return found.sort();
  } finally {
    await db.end();
  }
}

describe('a session under an AES-GCM payload codec', () => {
  test('runs to the same result as without a codec, and the codec was in the path', () => {
    assert.equal(sealed.result, plain.result);
    assert.match(String(sealed.result), new RegExp(`^closed: echoed closer echoed keeper ${SECRET}`));
    assert.ok(payloadCodec.encoded > 10, `payloads encoded: ${payloadCodec.encoded}`);
  });

  test('its raw history holds no plain text of the objectives, inputs, outputs or failures (the session without a codec does)', async () => {
    const withCodec = await rawHistoryText(sealed);
    assert.ok(withCodec.includes('binary/encrypted'), 'the payloads are the codec\'s');
    assert.ok(withCodec.includes(`${sealed.sessionId}.1`), 'the reader sees identifiers');
    for (const word of [SECRET, 'guard the vault', 'close the vault', 'vault refused', 'kept notes']) {
      assert.ok(!withCodec.includes(word), `"${word}" is in the encrypted session's history`);
    }
    const without = await rawHistoryText(plain);
    assert.ok(without.includes(SECRET) && without.includes('vault refused'), 'the same reader finds the secret in a plain history');
  });

  test('its store holds no plain text of the secret in any text or JSON column (the plain store does)', { skip }, async () => {
    assert.deepEqual(await storeColumnsMentioning(sealed.schema, SECRET), []);
    assert.deepEqual(await storeColumnsMentioning(sealed.schema, 'vault refused'), []);
    const leaks = await storeColumnsMentioning(plain.schema, SECRET);
    assert.ok(['scopes.objective', 'actions.error', 'payloads.body'].every((c) => leaks.includes(c)), `plain store: ${leaks.join(', ')}`);
  });

  test('the store keeps the objective, errors and the handed-over payload encoded, and a client with the codec reads them back', async () => {
    const raw = await sealed.store.scopesOfSession(sealed.sessionId);
    const root = raw.find((s) => s.scopeId === sealed.sessionId)!;
    assert.ok(isEncodedText(root.objective), `stored objective: ${root.objective?.slice(0, 40)}`);
    assert.ok(isEncodedText(raw.find((s) => s.scopeId === `${sealed.sessionId}.2`)!.error));
    const scopes = await sealed.client.store.scopesOfSession(sealed.sessionId);
    const byId = new Map(scopes.map((s) => [s.scopeId.slice(sealed.sessionId.length), s]));
    assert.equal(byId.get('')!.objective, OBJECTIVE);
    assert.equal(byId.get('.1')!.objective, `help with ${SECRET}`);
    assert.equal(byId.get('~1')!.objective, `close the vault of ${SECRET}`);
    assert.match(byId.get('.2')!.error ?? '', new RegExp(`vault refused breaker ${SECRET}`));
    assert.deepEqual(await sealed.client.store.handoffPayload(sealed.sessionId), { notes: `kept notes about ${SECRET}` });
    // Without the codec the text reads as a placeholder, never as ciphertext.
    assert.equal((await blind.scope(sealed.sessionId)).objective, ENCODED_TEXT_PLACEHOLDER);
  });

  test('its digests are the digests of the same session without a codec', async () => {
    const key = (side: Side, a: ActionRecord) =>
      `${a.scopeId.slice(side.sessionId.length)} ${a.kind} ${a.name} #${a.attempt} in=${a.inputDigest} out=${a.outputDigest} ${a.status}`;
    const digests = async (side: Side) => (await side.store.actionsOfSession(side.sessionId)).map((a) => key(side, a)).sort();
    const withCodec = await digests(sealed);
    assert.equal(withCodec.length, 7, withCodec.join('\n'));
    assert.ok(withCodec.filter((k) => /in=sha256:[0-9a-f]{64}/.test(k)).length >= 5, withCodec.join('\n'));
    assert.deepEqual(withCodec, await digests(plain));
  });

  test('reconcile and verify read the history through the codec: 0 differences, 0 problems', async () => {
    const report = await sealed.client.reconcile(sealed.sessionId);
    assert.deepEqual(report.differences, []);
    const control = await plain.client.reconcile(plain.sessionId);
    assert.deepEqual([report.runs, report.expected, report.stored], [control.runs, control.expected, control.stored]);
    assert.equal(report.runs, 4, 'the root, its two delegates and the run the handoff continued as');
    const verified = await sealed.client.verify(sealed.sessionId);
    assert.deepEqual(verified.problems, []);
    assert.equal(verified.anchorsChecked, report.expected.scopes, "every scope's seal is anchored and checked");
  });

  test('reconcile without the codec stops with an error that names the codec', async () => {
    await assert.rejects(blind.reconcile(sealed.sessionId), (err: Error) => {
      assert.equal(err.name, 'CodecRequiredError');
      assert.match(err.message, /payload converter or codec/);
      assert.match(err.message, /--codec/);
      return true;
    });
  });

  test('a client without the codec still finds the session in Temporal: existing needs no payload decoded', async () => {
    const listed = await blind.sessions({ crossCheck: true });
    assert.equal(listed.find((s) => s.sessionId === sealed.sessionId)?.inTemporal, true, JSON.stringify(listed));
  });

  test('requestHandoff without the codec: a running encrypted session is refused saying the codec is needed, and nothing reaches its history in plain text', async () => {
    const s = await sealed.client.startSession(vaultWaiter, { input: { secret: SECRET, steps: 100 }, objective: `wait by the vault of ${SECRET}` });
    const reason = `take over the vault of ${SECRET}`;
    await assert.rejects(blind.requestHandoff(s.sessionId, { to: 'vaultCloser', reason, input: { secret: SECRET } }), (err: Error & { field?: string }) => {
      assert.equal(err.name, 'CodecRequiredError');
      assert.equal(err.field, 'payloadCodecs');
      assert.match(err.message, /^requestHandoff: /);
      assert.match(err.message, new RegExp(`"${s.sessionId}" is encoded with a payload codec this client does not have`));
      assert.match(err.message, /give the client the workers' payload codec/);
      return true;
    });
    const raw = new Client({ connection });
    const history = textOf(await raw.workflow.getHandle(s.sessionId).fetchHistory()).join('\n');
    assert.ok(!history.includes('scopetrail.handoff') && !history.includes('take over'), 'no request was signalled');

    // The client with the codec asks the same: it is encoded, and honoured.
    const receipt = await sealed.client.requestHandoff(s.sessionId, { to: 'vaultCloser', reason, input: { secret: SECRET } });
    assert.deepEqual(await receipt.outcome(), { outcome: 'honoured', to: 'vaultCloser', scopeId: `${s.sessionId}~1` });
    assert.match(String(await s.result()), new RegExp(`^closed: echoed closer ${SECRET}`));
    const after = textOf(await raw.workflow.getHandle(s.sessionId, receipt.runId).fetchHistory()).join('\n');
    assert.ok(after.includes('scopetrail.handoff') && !after.includes('take over') && !after.includes(SECRET), 'the request is in history, encoded');
  });

  test('requestHandoff without the codec needs no payload decoded to find an ended or a missing session', async () => {
    await assert.rejects(blind.requestHandoff(sealed.sessionId, { to: 'vaultCloser', reason: 'too late' }), (err: Error & { field?: string }) => {
      assert.equal(err.name, 'RunClosedError');
      assert.equal(err.field, 'workflowId');
      assert.match(err.message, /has ended \(/);
      return true;
    });
    await assert.rejects(blind.requestHandoff(`${sealed.sessionId}-nobody`, { to: 'vaultCloser', reason: 'nobody' }), (err: Error) => err.name === 'UnknownIdError');
  });

  test('the tree and the root cause show decoded text to a client with the codec, on the API and the CLI', { skip: CLI_STORE_SKIP }, async () => {
    const tree = await sealed.client.scopeTree(sealed.sessionId);
    assert.equal(tree.roots[0]!.scope.objective, OBJECTIVE);
    const cause = await sealed.client.rootCause(sealed.sessionId);
    assert.equal(cause?.scope.scopeId, `${sealed.sessionId}.2`);
    assert.match(cause?.action?.error ?? '', new RegExp(SECRET));

    const rt = { schema: sealed.schema, temporal };
    const withCodec = await runCliFor(rt, ['tree', sealed.sessionId, '--codec', CODEC_MODULE]);
    assert.equal(withCodec.code, 0, withCodec.stderr);
    assert.ok(withCodec.stdout.includes(`"${OBJECTIVE}"`), withCodec.stdout);
    const withoutCodec = await runCliFor(rt, ['tree', sealed.sessionId]);
    assert.equal(withoutCodec.code, 0, withoutCodec.stderr);
    assert.ok(!withoutCodec.stdout.includes(SECRET) && withoutCodec.stdout.includes('[encoded'), withoutCodec.stdout);

    const reconciled = await runCliFor(rt, ['reconcile', sealed.sessionId, '--codec', CODEC_MODULE]);
    assert.equal(reconciled.code, 0, reconciled.stderr + reconciled.stdout);
    assert.match(reconciled.stdout, /0 differences/);
    const refused = await runCliFor(rt, ['reconcile', sealed.sessionId]);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr + refused.stdout, /payload converter or codec.*--codec/s);
  });
});
