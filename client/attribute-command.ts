/** `scopetrail attribute <session> <file|->`: which agent and scope produced each part of a text. */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { AttributionReport } from './attribution';
import { DEFAULT_FINGERPRINT_PARAMS } from '../cim/fingerprint';
import { renderTable } from './format';
import { CliUsageError, type CommandContext } from './cli-context';
import type { ScopeClient } from './scope-client';
import { terminalJson } from './visible-text';

/** Shared runs at least this long are always detected (winnowing's guarantee). */
const GUARANTEED_WORDS = DEFAULT_FINGERPRINT_PARAMS.w + DEFAULT_FINGERPRINT_PARAMS.k - 1;

type WithClient = <T>(ctx: CommandContext, fn: (client: ScopeClient) => Promise<T>) => Promise<T>;

/** A path may hold spaces; like every positional it is neither empty nor over 1000 characters. */
const PathArg = z.string().min(1, 'must not be empty').max(1000);

/** A positional argument, as every command takes them: non-empty, no whitespace. */
const PositionalArg = z.string().min(1).max(1000).regex(/^[^\s]+$/, 'must not contain whitespace');

export async function attributeCommand(ctx: CommandContext, withClient: WithClient): Promise<number> {
  const [sessionId, file, extra] = ctx.args;
  // The same order as every other command: missing, then extra, then invalid arguments.
  if (sessionId === undefined) throw new CliUsageError('missing argument <session>');
  if (file === undefined) throw new CliUsageError('missing argument <file> (a path, or - to read standard input)');
  if (extra !== undefined) throw new CliUsageError(`unexpected argument "${extra}"`);
  const session = PositionalArg.safeParse(sessionId);
  if (!session.success) throw new CliUsageError(`invalid <session> "${sessionId}": ${session.error.issues[0]?.message}`);
  const path = PathArg.safeParse(file);
  if (!path.success) throw new CliUsageError(`invalid <file> "${file}": ${path.error.issues[0]?.message}`);
  const text = readText(file);
  return withClient(ctx, async (client) => {
    const report = await client.attribute(session.data, text);
    if (ctx.flags.json) ctx.out.log(terminalJson(report, 2));
    else ctx.out.log(renderAttribution(report));
    return 0;
  });
}

function readText(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a directory' : e.message;
    throw new CliUsageError(`cannot read <file> "${file}": ${why}`);
  }
}

export function renderAttribution(r: AttributionReport): string {
  const rows = r.segments.map((s) => [
    String(s.index),
    `${s.start}-${s.end}`,
    s.preview,
    s.agent ?? '-',
    s.scopeId ?? 'unattributed',
    s.confidence === null ? '-' : `${Math.round(s.confidence * 100)}%`,
    note(s),
  ]);
  const lines = [
    `Attribution of ${r.words} words against ${r.outputs} fingerprinted outputs of session ${r.sessionId} (key ${r.keyId}): ` +
      `${Math.round(r.attributedShare * 100)}% attributed, ${r.segments.length} segment(s)`,
    renderTable(['#', 'chars', 'text', 'agent', 'scope', 'conf', 'note'], rows),
  ];
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

function note(s: AttributionReport['segments'][number]): string {
  const parts: string[] = [];
  if (s.scopeId === null) parts.push(s.words < GUARANTEED_WORDS ? 'too short to attribute' : 'matches no recorded output');
  if (s.kinds.length && s.kinds[0] !== 'agent_output') parts.push(`from ${s.kinds[0]!.replace('_', ' ')}`);
  if (s.alsoIn.length) parts.push(`also in ${s.alsoIn.map((o) => `${o.scopeId} (${o.agent})`).join(', ')}: originated here`);
  if (s.redactions) parts.push(`${s.redactions} redaction(s)`);
  return parts.join('; ');
}
