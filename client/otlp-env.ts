/**
 * The OTLP exporter variables besides the endpoint (headers, timeout, compression, TLS
 * files), read and checked. The OTel exporter reads them too, but drops a malformed one
 * with a diagnostic nobody sees, so a typo'd API key header or timeout would silently
 * not apply. Both exports (`export-otel` and the worker's live spans) read them here and
 * hand the exporter the values, so what is checked is what is sent.
 */
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import type { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ScopetrailError } from '../cim/errors';

type ExporterConfig = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

export class OtlpVariableError extends ScopetrailError {
  override name = 'OtlpVariableError';
}

export interface OtlpVariables {
  /** Signal-specific headers win key by key over the general ones (as the OTel exporter merges them). */
  headers?: Record<string, string>;
  timeoutMillis?: number;
  /** The exporter's CompressionAlgorithm, whose values are these words. */
  compression?: ExporterConfig['compression'];
}

/** The longest timeout the export options take (OtelExportOptions.timeoutMillis). */
const MAX_TIMEOUT_MS = 600_000;
/** An HTTP header name (RFC 9110 token) and what Node lets into a header value. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** The traces variable first, then the general one: the order the OTLP exporter spec gives. */
const names = (what: string) => [`OTEL_EXPORTER_OTLP_TRACES_${what}`, `OTEL_EXPORTER_OTLP_${what}`] as const;

function set(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function refuse(name: string, value: string, why: string): never {
  throw new OtlpVariableError(`invalid ${name} ${JSON.stringify(value)}: ${why}`, name);
}

function decoded(name: string, value: string, raw: string, part: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return refuse(name, value, `${part} is not valid URL encoding (write a literal % as %25)`);
  }
}

/** `key=value,key2=value2`, each side URL-encoded (the OTLP exporter spec's format). */
function headersOf(name: string, value: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const entry of value.split(',')) {
    if (!entry.trim()) continue;
    const at = entry.indexOf('=');
    const hint = 'give comma-separated key=value pairs, such as api-key=secret,x-tenant=research';
    if (at <= 0 || !entry.slice(0, at).trim() || !entry.slice(at + 1).trim()) refuse(name, value, `"${entry.trim()}" is not a key=value pair; ${hint}`);
    // The OTel parser reads what follows a ';' as W3C baggage metadata and drops it from the value.
    if (entry.includes(';')) refuse(name, value, `"${entry.trim()}" has a ';', which would cut the value short; write it as %3B`);
    const key = decoded(name, value, entry.slice(0, at).trim(), `the key of "${entry.trim()}"`);
    const text = decoded(name, value, entry.slice(at + 1).trim(), `the value of "${entry.trim()}"`);
    if (!HEADER_NAME.test(key)) refuse(name, value, `"${key}" is not an HTTP header name (letters, digits and !#$%&'*+.^_\`|~-)`);
    if (!HEADER_VALUE.test(text)) refuse(name, value, `the value of "${key}" holds a control character, which an HTTP header cannot carry`);
    headers[key] = text;
  }
  return headers;
}

function timeoutOf(name: string, value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(ms >= 1 && ms <= MAX_TIMEOUT_MS)) refuse(name, value, `give the timeout in milliseconds, a whole number from 1 to ${MAX_TIMEOUT_MS}`);
  return ms;
}

function compressionOf(name: string, value: string): ExporterConfig['compression'] {
  if (value !== 'gzip' && value !== 'none') refuse(name, value, 'give gzip or none');
  return value as ExporterConfig['compression'];
}

/** A TLS file the exporter would read: one it cannot read would be skipped with only a diagnostic. */
function checkReadable(name: string, value: string): void {
  const path = resolve(process.cwd(), value);
  try {
    accessSync(path, constants.R_OK);
  } catch {
    refuse(name, value, `${path} cannot be read; give the path of a PEM file`);
  }
}

/** Every OTLP variable the trace exporter reads except the endpoints (resolveTracesEndpoint checks those). */
export function readOtlpVariables(env: NodeJS.ProcessEnv = process.env): OtlpVariables {
  const out: OtlpVariables = {};
  const [tracesHeaders, headers] = names('HEADERS');
  const general = set(env, headers);
  const traces = set(env, tracesHeaders);
  const merged = { ...(general ? headersOf(headers, general) : {}), ...(traces ? headersOf(tracesHeaders, traces) : {}) };
  if (Object.keys(merged).length) out.headers = merged;
  // Both are checked, though the traces one wins: a malformed value is a mistake wherever it sits.
  for (const name of [...names('TIMEOUT')].reverse()) {
    const value = set(env, name);
    if (value !== undefined) out.timeoutMillis = timeoutOf(name, value);
  }
  for (const name of [...names('COMPRESSION')].reverse()) {
    const value = set(env, name);
    if (value !== undefined) out.compression = compressionOf(name, value);
  }
  for (const what of ['CERTIFICATE', 'CLIENT_CERTIFICATE', 'CLIENT_KEY']) {
    for (const name of names(what)) {
      const value = set(env, name);
      if (value !== undefined) checkReadable(name, value);
    }
  }
  return out;
}
