/** Where `export-otel` sends spans: the argument, then the standard OTLP environment variables. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_OTLP_TRACES_ENDPOINT, OtelExportError, resolveTracesEndpoint } from '../../client/otel-export';

test('an explicit endpoint wins over the environment', () => {
  const env = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/custom', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318' };
  assert.equal(resolveTracesEndpoint('http://given:4318/v1/traces', env), 'http://given:4318/v1/traces');
});

test('the traces variable is used as is; the generic one gets /v1/traces appended; else localhost:4318', () => {
  assert.equal(
    resolveTracesEndpoint(undefined, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/custom', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318' }),
    'http://traces:4318/custom',
  );
  assert.equal(resolveTracesEndpoint(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://base:4318/otlp/' }), 'https://base:4318/otlp/v1/traces');
  assert.equal(resolveTracesEndpoint(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: ' ' }), DEFAULT_OTLP_TRACES_ENDPOINT);
  assert.equal(resolveTracesEndpoint(undefined, {}), 'http://localhost:4318/v1/traces');
});

test('a malformed variable is refused with its name and value', () => {
  assert.throws(
    () => resolveTracesEndpoint(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }),
    (err: Error) => err instanceof OtelExportError && /invalid OTEL_EXPORTER_OTLP_ENDPOINT "collector:4318"/.test(err.message),
  );
  assert.throws(() => resolveTracesEndpoint(undefined, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://c:4317' }), /OTLP\/HTTP needs an http/);
});
