/**
 * How the CLI gets the workers' payload codec: `--codec <module>` loads a module that
 * exports one (`payloadCodec`, `codec`, `payloadCodecs` or a `dataConverter` with
 * `payloadCodecs`, default export included); `--codec-endpoint <url>` speaks Temporal's
 * remote codec-server protocol (POST <url>/encode and <url>/decode with
 * `{ payloads: [{ metadata, data }] }`, base64 fields), like `temporal --codec-endpoint`.
 */
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { ScopetrailError } from '../cim/errors';
import { fromJson, toJson } from '../store/text-codec';

export class CodecOptionError extends ScopetrailError {
  override name = 'CodecOptionError';
}

function isCodec(value: unknown): value is PayloadCodec {
  return typeof (value as PayloadCodec | null)?.encode === 'function' && typeof (value as PayloadCodec | null)?.decode === 'function';
}

/** The codecs a module exports, in the shapes users already have them in. */
export function codecsOfModule(mod: unknown, path: string): PayloadCodec[] {
  const candidates = [mod, (mod as { default?: unknown } | null)?.default];
  for (const m of candidates) {
    if (!m || typeof m !== 'object') continue;
    const o = m as Record<string, unknown>;
    if (isCodec(o.payloadCodec)) return [o.payloadCodec];
    if (isCodec(o.codec)) return [o.codec];
    if (Array.isArray(o.payloadCodecs) && o.payloadCodecs.length && o.payloadCodecs.every(isCodec)) return o.payloadCodecs;
    const dc = o.dataConverter as DataConverter | undefined;
    if (Array.isArray(dc?.payloadCodecs) && dc.payloadCodecs.length && dc.payloadCodecs.every(isCodec)) return dc.payloadCodecs;
    if (isCodec(m)) return [m];
  }
  throw new CodecOptionError(
    `--codec ${path}: the module exports no payload codec; export \`payloadCodec\` (an object with encode and decode), \`payloadCodecs\` or \`dataConverter\``,
    'codec',
  );
}

const CodecServerAnswer = z.object({ payloads: z.array(z.object({ metadata: z.record(z.string(), z.string()).default({}), data: z.string().default('') })) });

/** A codec served over HTTP by a Temporal codec server. */
export class RemoteCodec implements PayloadCodec {
  private readonly base: string;

  constructor(
    endpoint: string,
    private readonly namespace: string,
  ) {
    const url = z.url({ protocol: /^https?$/ }).safeParse(endpoint);
    if (!url.success) throw new CodecOptionError(`--codec-endpoint: "${endpoint}" is not an http(s) URL`, 'codec-endpoint');
    this.base = endpoint.replace(/\/+$/, '');
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    return this.call('encode', payloads);
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return this.call('decode', payloads);
  }

  private async call(op: 'encode' | 'decode', payloads: Payload[]): Promise<Payload[]> {
    if (payloads.length === 0) return payloads;
    const url = `${this.base}/${op}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-namespace': this.namespace },
        body: JSON.stringify({ payloads: payloads.map(toJson) }),
      });
    } catch (err) {
      throw new CodecOptionError(`codec server ${url} did not answer: ${(err as Error).message}`, 'codec-endpoint');
    }
    if (!response.ok) throw new CodecOptionError(`codec server ${url} answered HTTP ${response.status}`, 'codec-endpoint');
    const parsed = CodecServerAnswer.safeParse(await response.json().catch(() => null));
    if (!parsed.success || parsed.data.payloads.length !== payloads.length) {
      throw new CodecOptionError(`codec server ${url} answered without one payload per payload sent`, 'codec-endpoint');
    }
    return parsed.data.payloads.map(fromJson);
  }
}
