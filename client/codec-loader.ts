/**
 * How the CLI gets the workers' data converter: `--codec <module>` loads a module that
 * exports a codec (`payloadCodec`, `codec`, `payloadCodecs`, default export included) or a
 * `dataConverter` with `payloadCodecs` and/or `payloadConverterPath` (a custom payload
 * converter, such as one with an encoding of its own); `--codec-endpoint <url>` speaks
 * Temporal's remote codec-server protocol (POST <url>/encode and <url>/decode with
 * `{ payloads: [{ metadata, data }] }`, base64 fields), like `temporal --codec-endpoint`.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
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

/** What the CLI's client and worker are given: the workers' codecs, and their payload converter's module when it is not Temporal's. */
export interface CliDataConverter {
  payloadCodecs: PayloadCodec[];
  payloadConverterPath?: string;
}

/** The codecs a module exports, in the shapes users already have them in. */
export function codecsOfModule(mod: unknown, path: string): PayloadCodec[] {
  return dataConverterOfModule(mod, path).payloadCodecs;
}

/**
 * The data converter a module exports: its codecs, and the path of a custom payload
 * converter (`dataConverter.payloadConverterPath`, as Worker.create and Client take it; a
 * relative path is taken from the module's folder). `file` is the module's resolved path.
 */
export function dataConverterOfModule(mod: unknown, path: string, file?: string): CliDataConverter {
  const candidates = [mod, (mod as { default?: unknown } | null)?.default];
  for (const m of candidates) {
    if (!m || typeof m !== 'object') continue;
    const o = m as Record<string, unknown>;
    if (isCodec(o.payloadCodec)) return { payloadCodecs: [o.payloadCodec] };
    if (isCodec(o.codec)) return { payloadCodecs: [o.codec] };
    if (Array.isArray(o.payloadCodecs) && o.payloadCodecs.length && o.payloadCodecs.every(isCodec)) return { payloadCodecs: o.payloadCodecs };
    const dc = o.dataConverter as DataConverter | undefined;
    if (dc && typeof dc === 'object') {
      const codecs = dc.payloadCodecs ?? [];
      if (!Array.isArray(codecs) || !codecs.every(isCodec)) {
        throw new CodecOptionError(`--codec ${path}: dataConverter.payloadCodecs must be an array of codecs (objects with encode and decode)`, 'codec');
      }
      const converter = dc.payloadConverterPath === undefined ? undefined : converterPath(dc.payloadConverterPath, path, file);
      if (codecs.length || converter) return { payloadCodecs: codecs, ...(converter ? { payloadConverterPath: converter } : {}) };
    }
    if (isCodec(m)) return { payloadCodecs: [m] };
  }
  throw new CodecOptionError(
    `--codec ${path}: the module exports no payload codec or converter; export \`payloadCodec\` (an object with encode and decode), \`payloadCodecs\`, or \`dataConverter\` ({ payloadCodecs, payloadConverterPath })`,
    'codec',
  );
}

/** A payload converter module that is there and exports `payloadConverter`, as Temporal's Client requires of it. */
function converterPath(given: unknown, path: string, file: string | undefined): string {
  const at = `--codec ${path}: dataConverter.payloadConverterPath`;
  if (typeof given !== 'string' || given === '') throw new CodecOptionError(`${at} must be the path of a module that exports payloadConverter`, 'codec');
  const full = isAbsolute(given) || !file ? resolve(given) : resolve(dirname(file), given);
  let found: string;
  try {
    found = require.resolve(full);
  } catch {
    throw new CodecOptionError(`${at}: no module at "${given}"${existsSync(full) ? '' : ` (looked for ${full})`}`, 'codec');
  }
  let mod: { payloadConverter?: { toPayload?: unknown; fromPayload?: unknown } };
  try {
    mod = require(found) as typeof mod;
  } catch (err) {
    throw new CodecOptionError(`${at}: could not load ${found}: ${(err as Error).message.split('\n')[0]}`, 'codec');
  }
  if (typeof mod.payloadConverter?.toPayload !== 'function' || typeof mod.payloadConverter?.fromPayload !== 'function') {
    throw new CodecOptionError(`${at}: ${found} exports no \`payloadConverter\` (an object with toPayload and fromPayload)`, 'codec');
  }
  return found;
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
