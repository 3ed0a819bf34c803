/**
 * The OTLP exporter variables besides the endpoint: a malformed one is refused with its
 * name (the OTel exporter would drop it with a diagnostic nobody sees), and well-formed
 * ones reach the receiver.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OtlpVariableError, readOtlpVariables } from '../../client/otlp-env';
import { exportSessionToOtlp } from '../../client/otel-export';
import { startOtlpReceiver } from '../helpers/otlp-receiver';
import { action, scope } from './fixtures';

function refusedFor(variable: string, value: string, why: RegExp): void {
  assert.throws(
    () => readOtlpVariables({ [variable]: value }),
    (err: Error) => err instanceof OtlpVariableError && err.field === variable && err.message.startsWith(`invalid ${variable} ${JSON.stringify(value)}: `) && why.test(err.message),
    `${variable}=${value}`,
  );
}

test('headers are comma-separated key=value pairs, URL-decoded; the traces variable wins key by key', () => {
  assert.deepEqual(readOtlpVariables({}), {});
  assert.deepEqual(readOtlpVariables({ OTEL_EXPORTER_OTLP_HEADERS: 'api-key=s%3Dcret%20x, x-tenant=research,' }).headers, { 'api-key': 's=cret x', 'x-tenant': 'research' });
  assert.deepEqual(
    readOtlpVariables({ OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a,x-tenant=research', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=traces' }).headers,
    { 'api-key': 'a', 'x-tenant': 'traces' },
  );
});

test('a timeout is milliseconds and compression is gzip or none; the traces variable wins', () => {
  assert.deepEqual(readOtlpVariables({ OTEL_EXPORTER_OTLP_TIMEOUT: '2500', OTEL_EXPORTER_OTLP_COMPRESSION: 'none' }), { timeoutMillis: 2500, compression: 'none' });
  assert.deepEqual(
    readOtlpVariables({
      OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: ' 700 ',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
      OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip',
    }),
    { timeoutMillis: 700, compression: 'gzip' },
  );
});

test('a malformed header, timeout or compression variable, general or for traces, is refused naming it', () => {
  for (const variable of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) {
    refusedFor(variable, 'x', /"x" is not a key=value pair/);
    refusedFor(variable, 'a=b,=c', /"=c" is not a key=value pair/);
    refusedFor(variable, 'a=', /"a=" is not a key=value pair/);
    refusedFor(variable, 'a=%ZZ', /the value of "a=%ZZ" is not valid URL encoding/);
    refusedFor(variable, '%E0=b', /the key of "%E0=b" is not valid URL encoding/);
    refusedFor(variable, 'a b=c', /"a b" is not an HTTP header name/);
    refusedFor(variable, 'a=b%0Ac', /control character/);
    refusedFor(variable, 'a=b;c', /has a ';'.*%3B/);
  }
  for (const variable of ['OTEL_EXPORTER_OTLP_TIMEOUT', 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT']) {
    for (const bad of ['abc', '0', '-5', '1.5', '10s', '600001']) refusedFor(variable, bad, /give the timeout in milliseconds/);
  }
  for (const variable of ['OTEL_EXPORTER_OTLP_COMPRESSION', 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION']) {
    for (const bad of ['zip', 'GZIP', 'deflate']) refusedFor(variable, bad, /give gzip or none/);
  }
  // The general variable is checked even where the traces one would win.
  assert.throws(() => readOtlpVariables({ OTEL_EXPORTER_OTLP_TIMEOUT: 'abc', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '500' }), /OTEL_EXPORTER_OTLP_TIMEOUT "abc"/);
});

test('a TLS file variable naming a file that cannot be read is refused naming it', () => {
  const pem = join(mkdtempSync(join(tmpdir(), 'otlp-env-')), 'ca.pem');
  writeFileSync(pem, '-----BEGIN CERTIFICATE-----\n');
  assert.deepEqual(readOtlpVariables({ OTEL_EXPORTER_OTLP_CERTIFICATE: pem }), {});
  for (const variable of ['OTEL_EXPORTER_OTLP_CERTIFICATE', 'OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY', 'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE']) {
    refusedFor(variable, `${pem}.missing`, /cannot be read; give the path of a PEM file/);
  }
});

test('export-otel sends the headers and compression the variables give', async () => {
  const receiver = await startOtlpReceiver();
  try {
    const summary = await exportSessionToOtlp('s', [scope('s')], [action('s/a1#1', 's', { name: 'search' })], {}, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.baseUrl,
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=s%3Dcret%20x,x-tenant=research',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=traces',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_TIMEOUT: '5000',
    });
    assert.equal(summary.total, 2);
    assert.equal(receiver.headers.length, 1);
    assert.equal(receiver.headers[0]?.['api-key'], 's=cret x');
    assert.equal(receiver.headers[0]?.['x-tenant'], 'traces');
    assert.equal(receiver.headers[0]?.['content-encoding'], 'gzip');
  } finally {
    await receiver.close();
  }
});

test('export-otel refuses a malformed variable before sending anything', async () => {
  const receiver = await startOtlpReceiver();
  try {
    await assert.rejects(
      exportSessionToOtlp('s', [scope('s')], [], {}, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.baseUrl, OTEL_EXPORTER_OTLP_COMPRESSION: 'zip' }),
      (err: Error) => err instanceof OtlpVariableError && err.field === 'OTEL_EXPORTER_OTLP_COMPRESSION',
    );
    assert.equal(receiver.headers.length, 0);
  } finally {
    await receiver.close();
  }
});
