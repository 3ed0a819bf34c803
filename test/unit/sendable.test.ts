/** Client inputs are measured as Temporal receives them: encoded by the data converter, codecs included. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Connection } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { refusedAsTooLarge, requireSendable } from '../../client/sendable';
import { PayloadTooLargeError } from '../../client/arguments';

/** Doubles every payload, as a verbose encoding (base64 of ciphertext, say) may. */
const doubling: PayloadCodec = {
  encode: async (ps: Payload[]) => ps.map((p) => ({ metadata: p.metadata, data: new Uint8Array([...p.data!, ...p.data!]) })),
  decode: async (ps: Payload[]) => ps,
};

const client = (codecs: PayloadCodec[] = []) =>
  new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }), dataConverter: { payloadCodecs: codecs } });

test('an input under the limit passes with its encoded size; the same input a codec doubles is refused naming the field', async () => {
  const input = { text: 'x'.repeat(1.5 * 1024 * 1024) };
  const bytes = await requireSendable(client(), 'startSession', 'input', input);
  assert.ok(bytes > 1.5 * 1024 * 1024 && bytes < 1.6 * 1024 * 1024, String(bytes));
  await assert.rejects(requireSendable(client([doubling]), 'startSession', 'input', input), (err: PayloadTooLargeError) => {
    assert.ok(err instanceof PayloadTooLargeError);
    assert.equal(err.field, 'input');
    assert.equal(err.limitBytes, 2 * 1024 * 1024);
    assert.match(err.message, /^startSession: invalid field "input": it is 3\.0 MiB encoded, over Temporal's payload limit of 2\.0 MiB/);
    return true;
  });
});

test("a server with a lower limit: its refusal becomes the same error; any other error is left as it is", () => {
  const grpc = (code: number, details: string) => Object.assign(new Error(details), { code, details, metadata: {} });
  const wrapped = Object.assign(new Error('Failed to start Workflow'), { cause: grpc(3, 'Blob data size exceeds limit.') });
  const err = refusedAsTooLarge(wrapped, 'requestHandoff', 'input', 1_500_000) as PayloadTooLargeError;
  assert.ok(err instanceof PayloadTooLargeError);
  assert.equal(err.limitBytes, null);
  assert.match(err.message, /^requestHandoff: invalid field "input": it is 1\.4 MiB encoded, over Temporal's payload limit \(the server's, set lower than the default\)/);
  const other = Object.assign(new Error('Failed to start Workflow'), { cause: grpc(14, 'unavailable') });
  assert.equal(refusedAsTooLarge(other, 'startSession', 'input', 10), other);
});
