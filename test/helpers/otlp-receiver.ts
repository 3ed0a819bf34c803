/**
 * A real OTLP/HTTP trace receiver on loopback: accepts POST /v1/traces with
 * application/x-protobuf (optionally gzip), decodes ExportTraceServiceRequest with
 * the official opentelemetry-proto definitions (./otlp-proto, v1.11.0) through
 * protobufjs, keeps what it received and answers with an ExportTraceServiceResponse.
 * Decoding with the published .proto files, not with the exporter's own serializer,
 * is what makes a test against it check the wire format.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

const PROTO_DIR = join(__dirname, 'otlp-proto');
const SERVICE = 'opentelemetry.proto.collector.trace.v1';

export type ReceivedValue = string | number | boolean | null | ReceivedValue[] | { [key: string]: ReceivedValue };

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: string;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, ReceivedValue>;
  events: Array<{ name: string; timeUnixNano: bigint; attributes: Record<string, ReceivedValue> }>;
  links: Array<{ traceId: string; spanId: string; attributes: Record<string, ReceivedValue> }>;
  status: { code: string; message: string };
  resource: Record<string, ReceivedValue>;
  scope: { name: string; version: string };
}

export interface OtlpReceiver {
  /** Base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it. */
  baseUrl: string;
  /** The traces URL, as --endpoint and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT take it. */
  tracesUrl: string;
  /** One entry per accepted export request, in arrival order. */
  requests: ReceivedSpan[][];
  /** The HTTP headers of each accepted request, in the same order. */
  headers: IncomingHttpHeaders[];
  /** Requests refused, with the reason the receiver gave. */
  rejected: Array<{ status: number; reason: string }>;
  spans(): ReceivedSpan[];
  reset(): void;
  close(): Promise<void>;
}

function loadTypes() {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', { keepCase: true });
  return {
    request: root.lookupType(`${SERVICE}.ExportTraceServiceRequest`),
    response: root.lookupType(`${SERVICE}.ExportTraceServiceResponse`),
  };
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const types = loadTypes();
  const requests: ReceivedSpan[][] = [];
  const headers: IncomingHttpHeaders[] = [];
  const rejected: OtlpReceiver['rejected'] = [];
  const refuse = (res: ServerResponse, status: number, reason: string) => {
    rejected.push({ status, reason });
    res.writeHead(status, { 'content-type': 'text/plain' }).end(reason);
  };
  const server = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/traces') return refuse(res, 404, `no route ${req.method} ${req.url}`);
    if (!String(req.headers['content-type']).startsWith('application/x-protobuf')) {
      return refuse(res, 415, `expected application/x-protobuf, got ${req.headers['content-type']}`);
    }
    let body = await readBody(req);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    let spans: ReceivedSpan[];
    try {
      spans = flatten(types.request.toObject(types.request.decode(body), { longs: String, enums: String }));
    } catch (err) {
      return refuse(res, 400, `not an ExportTraceServiceRequest: ${(err as Error).message}`);
    }
    requests.push(spans);
    headers.push(req.headers);
    const reply = types.response.encode(types.response.create({})).finish();
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(reply));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    tracesUrl: `${baseUrl}/v1/traces`,
    requests,
    headers,
    rejected,
    spans: () => requests.flat(),
    reset() {
      requests.length = 0;
      headers.length = 0;
      rejected.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/* protobufjs's plain-object form of the official schema: fields at their default value are absent. */
type Obj = Record<string, any>;

function flatten(request: Obj): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of request.resource_spans ?? []) {
    const resource = attributes(rs.resource?.attributes);
    for (const ss of rs.scope_spans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: hex(s.trace_id),
          spanId: hex(s.span_id),
          parentSpanId: s.parent_span_id?.length ? hex(s.parent_span_id) : null,
          name: s.name ?? '',
          kind: s.kind ?? 'SPAN_KIND_UNSPECIFIED',
          startTimeUnixNano: BigInt(s.start_time_unix_nano ?? 0),
          endTimeUnixNano: BigInt(s.end_time_unix_nano ?? 0),
          attributes: attributes(s.attributes),
          events: (s.events ?? []).map((e: Obj) => ({ name: e.name, timeUnixNano: BigInt(e.time_unix_nano ?? 0), attributes: attributes(e.attributes) })),
          links: (s.links ?? []).map((l: Obj) => ({ traceId: hex(l.trace_id), spanId: hex(l.span_id), attributes: attributes(l.attributes) })),
          status: { code: s.status?.code ?? 'STATUS_CODE_UNSET', message: s.status?.message ?? '' },
          resource,
          scope: { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '' },
        });
      }
    }
  }
  return out;
}

function hex(bytes: Uint8Array | undefined): string {
  return Buffer.from(bytes ?? []).toString('hex');
}

function attributes(list: Obj[] | undefined): Record<string, ReceivedValue> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, anyValue(kv.value)]));
}

function anyValue(v: Obj | undefined): ReceivedValue {
  if (!v) return null;
  if (v.string_value !== undefined) return v.string_value;
  if (v.bool_value !== undefined) return v.bool_value;
  if (v.int_value !== undefined) return Number(v.int_value);
  if (v.double_value !== undefined) return v.double_value;
  if (v.array_value !== undefined) return (v.array_value.values ?? []).map(anyValue);
  if (v.kvlist_value !== undefined) return attributes(v.kvlist_value.values);
  if (v.bytes_value !== undefined) return hex(v.bytes_value);
  return null;
}
