/** `scopetrail export-otel <session> [--endpoint URL] [--service-name NAME]`: the session as GenAI spans over OTLP/HTTP. */
import { z } from 'zod';
import { renderTable } from './format';
import { CliUsageError, type CommandContext } from './cli-context';
import type { OtelExportSummary } from './otel-export';
import type { ScopeClient } from './scope-client';
import { terminalJson } from './visible-text';

type WithClient = <T>(ctx: CommandContext, fn: (client: ScopeClient) => Promise<T>) => Promise<T>;

/** The words OtelExportOptions uses for a malformed URL, so both cases read alike. */
const NOT_A_URL = 'give an absolute URL such as http://localhost:4318/v1/traces';

const SessionArg = z.string().min(1).max(1000).regex(/^[^\s]+$/, 'must not contain whitespace');

export async function exportOtelCommand(ctx: CommandContext, withClient: WithClient): Promise<number> {
  const [sessionId, extra] = ctx.args;
  if (sessionId === undefined) throw new CliUsageError('missing argument <session>');
  if (extra !== undefined) throw new CliUsageError(`unexpected argument "${extra}"`);
  const session = SessionArg.safeParse(sessionId);
  if (!session.success) throw new CliUsageError(`invalid <session> "${sessionId}": ${session.error.issues[0]?.message}`);
  const { OtelExportOptions, resolveTracesEndpoint, OtelExportError } = require('./otel-export') as typeof import('./otel-export');
  const { readOtlpVariables, OtlpVariableError } = require('./otlp-env') as typeof import('./otlp-env');
  const endpoint = typeof ctx.flags.endpoint === 'string' ? ctx.flags.endpoint : undefined;
  // OtelExportOptions' scheme check would throw Node's bare "Invalid URL" on a value that is no URL at all.
  if (endpoint !== undefined && !URL.canParse(endpoint)) throw new CliUsageError(`invalid --endpoint: ${NOT_A_URL}`, '--endpoint');
  const options = OtelExportOptions.safeParse({
    endpoint,
    serviceName: typeof ctx.flags['service-name'] === 'string' ? ctx.flags['service-name'] : undefined,
  });
  if (!options.success) {
    const issue = options.error.issues[0];
    const name = { endpoint: '--endpoint', serviceName: '--service-name' }[String(issue?.path[0])] ?? 'option';
    throw new CliUsageError(`invalid ${name}: ${issue?.message}`);
  }
  // A malformed endpoint variable is a usage problem, reported before the store is opened. The one
  // used is the first set; like --endpoint, a value that is no URL at all is said before the scheme check throws.
  const variable = ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'].find((n) => process.env[n]?.trim());
  const value = variable ? process.env[variable]!.trim() : undefined;
  if (options.data.endpoint === undefined && variable && value && !URL.canParse(value)) {
    throw new CliUsageError(`invalid ${variable} ${JSON.stringify(value)}: ${NOT_A_URL}`, variable);
  }
  try {
    resolveTracesEndpoint(options.data.endpoint);
    readOtlpVariables();
  } catch (err) {
    if (err instanceof OtlpVariableError) throw new CliUsageError(err.message, err.field);
    if (err instanceof OtelExportError) throw new CliUsageError(err.message);
    throw err;
  }
  return withClient(ctx, async (client) => {
    const summary = await client.exportOtel(session.data, options.data);
    if (ctx.flags.json) ctx.out.log(terminalJson(summary, 2));
    else ctx.out.log(renderOtelSummary(summary));
    return 0;
  });
}

export function renderOtelSummary(s: OtelExportSummary): string {
  const rows = (Object.entries(s.spans) as Array<[string, number]>).map(([op, n]) => [op, String(n)]);
  return [
    `Exported session ${s.sessionId} to ${s.endpoint} as trace ${s.traceId} (service.name ${s.serviceName})`,
    renderTable(['operation', 'spans'], [...rows, ['total', String(s.total)]]),
    `${s.events} delegate/handoff/signal event(s) on agent spans, ${s.links} handoff link(s)`,
  ].join('\n');
}
