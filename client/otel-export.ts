/**
 * Sends a session's GenAI spans (cim/otel-genai.ts) to an OTLP/HTTP endpoint as
 * protobuf. The spans are built as finished ReadableSpans rather than through a live
 * tracer because their times come from the store, not from the clock.
 */
import { ScopetrailError } from '../cim/errors';
import { createHash } from 'node:crypto';
import { SpanKind, SpanStatusCode, TraceFlags, type HrTime } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { z } from 'zod';
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import { parse } from './arguments';
import { sessionToGenAiSpans, type GenAiOperation, type GenAiSpan } from '../cim/otel-genai';
import type { CallReceipt } from '../cim/forensics/receipts';
import { ownPackage } from './own-package';
import { readOtlpVariables } from './otlp-env';

/** Reported as service.version and the instrumentation scope's version. */
const { version } = ownPackage();

export const DEFAULT_OTLP_TRACES_ENDPOINT = 'http://localhost:4318/v1/traces';

/** An OTLP/HTTP endpoint: the export's and the worker's live spans' (worker/live-otel.ts) alike. */
export const HttpUrl = z
  .string()
  .url('give an absolute URL such as http://localhost:4318/v1/traces')
  // zod runs this refinement after a failed url() check too: a text that is no URL must not throw here.
  .refine((u) => !URL.canParse(u) || /^https?:$/.test(new URL(u).protocol), 'OTLP/HTTP needs an http:// or https:// URL');

export const OtelExportOptions = z.object({
  /** Full traces URL; else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
  endpoint: HttpUrl.optional(),
  /** service.name of the resource; else OTEL_SERVICE_NAME, else "scopetrail". */
  serviceName: z.string().min(1).max(200).optional(),
  /** Else OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, else OTEL_EXPORTER_OTLP_TIMEOUT, else the exporter's 10 s. */
  timeoutMillis: z.number().int().min(1).max(600_000).optional(),
});
export type OtelExportOptions = z.input<typeof OtelExportOptions>;

export interface OtelExportSummary {
  sessionId: string;
  endpoint: string;
  serviceName: string;
  traceId: string;
  spans: Record<GenAiOperation, number>;
  total: number;
  events: number;
  links: number;
}

export class OtelExportError extends ScopetrailError {
  override name = 'OtelExportError';
}

/** Where spans go: the argument, then the standard OTLP environment variables, then the local default. */
export function resolveTracesEndpoint(endpoint: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (endpoint) return endpoint;
  const checked = (name: string, value: string) => {
    const parsed = HttpUrl.safeParse(value);
    if (!parsed.success) throw new OtelExportError(`invalid ${name} "${value}": ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  };
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return checked('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', traces);
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  // The generic variable names the collector's base URL; the signal path is appended (OTLP exporter spec).
  if (base) return `${checked('OTEL_EXPORTER_OTLP_ENDPOINT', base).replace(/\/+$/, '')}/v1/traces`;
  return DEFAULT_OTLP_TRACES_ENDPOINT;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export async function exportSessionToOtlp(
  sessionId: string,
  scopes: readonly ScopeRecord[],
  actions: readonly ActionRecord[],
  options: z.input<typeof OtelExportOptions> = {},
  env: NodeJS.ProcessEnv = process.env,
  /** The session's MCP receipts by call (receiptsByCall): an MCP call's span carries what its receipt reports. */
  receipts?: ReadonlyMap<string, CallReceipt>,
): Promise<OtelExportSummary> {
  const o = parse('exportOtel', OtelExportOptions, options);
  const endpoint = resolveTracesEndpoint(o.endpoint, env);
  const variables = readOtlpVariables(env);
  const serviceName = o.serviceName ?? (env.OTEL_SERVICE_NAME?.trim() || 'scopetrail');
  const trace = sessionToGenAiSpans(sessionId, scopes, actions, { hash: sha256Hex, now: new Date().toISOString(), ...(receipts ? { receipts } : {}) });
  const resource = otelResource(serviceName);
  const spans = trace.spans.map((s) => toReadableSpan(s, resource));
  const exporter = new OTLPTraceExporter({ url: endpoint, ...variables, timeoutMillis: o.timeoutMillis ?? variables.timeoutMillis });
  try {
    const result = await new Promise<{ code: number; error?: Error }>((done) => exporter.export(spans, done));
    if (result.code !== 0) {
      throw new OtelExportError(
        `could not export session ${sessionId} to ${endpoint}: ${result.error?.message ?? 'the exporter gave no reason'}; ` +
          'check that an OTLP/HTTP receiver listens there (--endpoint or OTEL_EXPORTER_OTLP_ENDPOINT)',
      );
    }
  } finally {
    await exporter.shutdown();
  }
  const count = (op: GenAiOperation) => trace.spans.filter((s) => s.operation === op).length;
  return {
    sessionId,
    endpoint,
    serviceName,
    traceId: trace.traceId,
    spans: { invoke_agent: count('invoke_agent'), execute_tool: count('execute_tool'), chat: count('chat') },
    total: trace.spans.length,
    events: trace.spans.reduce((n, s) => n + s.events.length, 0),
    links: trace.spans.reduce((n, s) => n + s.links.length, 0),
  };
}

/** The resource every scopetrail span carries, post-hoc or live, so both exports of a session are alike. */
export function otelResource(serviceName: string): ReadableSpan['resource'] {
  return resourceFromAttributes({ 'service.name': serviceName, 'service.version': version });
}

/** Shared with the worker's live export (worker/live-otel.ts): one conversion keeps both exports identical. */
export function toReadableSpan(s: GenAiSpan, resource: ReadableSpan['resource']): ReadableSpan {
  const startTime = hrTime(s.startTime);
  // A record whose end precedes its start (clock skew between worker and server) becomes a zero-length span.
  const endTime = hrTimeMax(hrTime(s.endTime), startTime);
  const context = { traceId: s.traceId, spanId: s.spanId, traceFlags: TraceFlags.SAMPLED };
  return {
    name: s.name,
    kind: s.kind === 'client' ? SpanKind.CLIENT : SpanKind.INTERNAL,
    spanContext: () => context,
    parentSpanContext: s.parentSpanId ? { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: TraceFlags.SAMPLED } : undefined,
    startTime,
    endTime,
    duration: hrDiff(endTime, startTime),
    status: s.status.code === 'error' ? { code: SpanStatusCode.ERROR, message: s.status.message } : { code: SpanStatusCode.UNSET },
    attributes: s.attributes,
    links: s.links.map((l) => ({ context: { traceId: l.traceId, spanId: l.spanId, traceFlags: TraceFlags.SAMPLED }, attributes: l.attributes })),
    events: s.events.map((e) => ({ name: e.name, time: hrTime(e.time), attributes: e.attributes })),
    ended: true,
    resource,
    instrumentationScope: { name: 'scopetrail', version },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/** Store times have millisecond precision; HrTime is [seconds, nanoseconds]. */
function hrTime(iso: string): HrTime {
  const ms = Date.parse(iso);
  return [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
}

function hrTimeMax(a: HrTime, b: HrTime): HrTime {
  return a[0] > b[0] || (a[0] === b[0] && a[1] >= b[1]) ? a : b;
}

function hrDiff(end: HrTime, start: HrTime): HrTime {
  let seconds = end[0] - start[0];
  let nanos = end[1] - start[1];
  if (nanos < 0) {
    seconds -= 1;
    nanos += 1_000_000_000;
  }
  return [seconds, nanos];
}
