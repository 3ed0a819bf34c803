/** The `scopetrail` commands. Each validates its arguments, runs, and renders for people or --json. */
import { SESSIONS_MAX } from './limits';
import { CliUsageError, dataConverterOf, flag, namespaceOf, givenDataConverter, resolveModule, storeOptions, type CliStoreOptions, type Command, type CommandContext } from './cli-context';
import { z } from 'zod';
import { ActionKind } from '../cim/schemas';
import { openStore } from '../store';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultDataDir } from '../store/open';
import { embeddedFolder } from '../store/embedded-folder';
import type { Store } from '../store/types';
import { renderActions, renderScope, renderTree } from './format';
import { progress, working } from './progress';
import { treeJson } from './tree-json';
import { ScopeClient } from './scope-client';
import { SessionsArgs } from './forensic-queries';
import type { ChainProblem } from '../store/chain';
import { naturalCompare } from '../cim/scope-tree';
import { Id, NoStoreError, parse } from './arguments';
import { terminalJson, visible } from './visible-text';
import { CODEC_OPTIONS, QUERY_OPTIONS, STORE_OPTIONS } from './cli-options';
import {
  renderDrift,
  renderFootprint,
  renderReconcile,
  renderRoles,
  renderRootCause,
  renderSessions,
  renderStatus,
  renderTimeline,
  renderTouched,
  renderVerify,
  renderUsageCheck,
} from './format-forensics';

export { CliUsageError, resolveModule, type Command, type CommandContext };

/** Positional arguments are checked like any other input: one sentence naming what is wrong. */
function positionals(ctx: CommandContext, names: string[], optional = 0): string[] {
  const { args } = ctx;
  const required = names.length - optional;
  if (args.length < required) throw new CliUsageError(`missing argument <${names[args.length]}>`);
  if (args.length > names.length) throw new CliUsageError(`unexpected argument "${args[names.length]}"`);
  for (const [i, value] of args.entries()) {
    const parsed = z.string().min(1).max(1000).regex(/^[^\s]+$/, 'must not contain whitespace').safeParse(value);
    if (!parsed.success) throw new CliUsageError(`invalid <${names[i]}> "${value}": ${parsed.error.issues[0]?.message}`);
  }
  return args;
}

/**
 * The store the flags name, which must exist: a query never creates a schema or a data
 * folder (a mistyped --schema would otherwise answer "No sessions" from a new, empty
 * store). One that exists is migrated, so a newer CLI reads a store older workers made.
 */
async function openExistingStore(options: CliStoreOptions): Promise<Store> {
  if (!options.url) {
    const dir = options.dataDir ?? defaultDataDir();
    const found = embeddedFolder(dir);
    // Only a folder PGlite made is opened: given any other, PGlite would write a new database into it.
    if (found !== 'store') {
      // A project made by `scopetrail init` keeps its embedded store in the project.
      const local = join('.scopetrail', 'store');
      const hint = options.dataDir === undefined && existsSync(local) ? `this folder has one: add --data-dir ${local}` : 'give --data-dir of the one your workers use, or --database-url (DATABASE_URL) of their Postgres';
      const what = { missing: '', empty: ' (the folder is empty)', 'not-a-folder': ' (it is a file, not a folder)', 'unfinished-store': ' (the folder holds part of a database and no PG_VERSION: a store whose creation was stopped; delete it and start a worker again)', 'other-files': ' (the folder holds other files and no PG_VERSION)' }[found];
      throw new NoStoreError(`no embedded store at ${dir}${what}: ${hint}`, options.dataDir === undefined ? 'database-url' : 'data-dir');
    }
  }
  const store = await openStore({ ...options, migrate: false });
  try {
    if (store.prepared && !(await store.prepared())) {
      throw new NoStoreError(
        `no scopetrail store in schema "${options.schema ?? 'scopetrail'}" of ${store.description}: check --schema and --database-url (workers create the store when they start)`,
        'schema',
      );
    }
    // A query writes nothing to a store that is up to date (an auditor's role may only read);
    // one a worker of an older version prepared is brought up to this version's tables first.
    if (!store.upToDate || !(await store.upToDate())) await store.migrate();
  } catch (err) {
    await store.close().catch(() => undefined);
    if (err instanceof NoStoreError) throw err;
    throw new Error(`could not read the store (${store.description}): ${(err as Error).message}`);
  }
  return store;
}

/** The store alone, as workers write it (text a codec encoded stays encoded). */
async function withStore<T>(ctx: CommandContext, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openExistingStore(storeOptions(ctx));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/**
 * `--kind K`: several as a comma-separated list (`--kind tool_call,llm_call`), the flag
 * repeated, or both, as actionsUnder takes them; each checked, the one that is no kind named.
 */
export function kindsFlag(given: readonly string[] | undefined): ActionKind[] | undefined {
  if (given === undefined) return undefined;
  const kinds = new Set<ActionKind>();
  for (const value of given) {
    for (const k of value.split(',')) {
      const parsed = ActionKind.safeParse(k);
      if (parsed.success) {
        kinds.add(parsed.data);
        continue;
      }
      const which = value === k ? '' : k === '' ? ': an empty kind in the list' : `: ${JSON.stringify(k)} is not a kind`;
      throw new CliUsageError(`invalid --kind "${value}"${which}: use one of ${ActionKind.options.join(', ')} (several: comma-separated, or --kind again)`);
    }
  }
  return [...kinds];
}

async function withClient<T>(ctx: CommandContext, fn: (client: ScopeClient, store: Store) => Promise<T>): Promise<T> {
  const options = storeOptions(ctx);
  const namespace = namespaceOf(ctx);
  const converter = dataConverterOf(ctx, namespace);
  const store = await openExistingStore(options);
  const client = await ScopeClient.connect({
    store,
    address: flag(ctx, 'address'),
    namespace,
    // Queries start no session, so the task queue sessions start on is never used here.
    taskQueue: 'scopetrail',
    ...givenDataConverter(converter),
  });
  try {
    // The client's view of the store: text the workers encoded comes back decoded.
    return await fn(client, client.store);
  } finally {
    await client.close();
    await store.close();
  }
}

/**
 * After an answer read from rows that do not match their seals: on stderr, how many rows and
 * which scopes, and where to look for the rest. 3, as for any answer the record does not bear
 * out (touched's unproved one), so a script reading only the exit code does not take it as fact.
 */
function sealWarning(ctx: CommandContext, sessionId: string, problems: readonly ChainProblem[]): number {
  if (problems.length === 0) return 0;
  const rows = new Set(problems.map((p) => `${p.scopeId}\u0000${p.recordId}`)).size;
  const scopes = [...new Set(problems.map((p) => p.scopeId))].sort(naturalCompare);
  const shown = scopes.slice(0, 5).map(visible).join(', ') + (scopes.length > 5 ? ` and ${scopes.length - 5} more` : '');
  ctx.out.err(
    `WARNING: ${rows} row(s) of session ${visible(sessionId)} do not match their seals (scope${scopes.length === 1 ? '' : 's'} ${shown}): ` +
      `they were changed, added or removed after they were sealed, and this answer rests on them; ` +
      `scopetrail verify ${visible(sessionId)} names every change`,
  );
  return 3;
}

/** The session a scope id belongs to, as the store has it (the id itself when it is not found). */
async function sessionOfScope(client: ScopeClient, scopeId: string): Promise<string> {
  const located = await client.store.locateScope(scopeId).catch(() => undefined);
  return located?.record.sessionId ?? scopeId;
}

/**
 * A question answered from the store alone about a session Temporal has no trace of says so on
 * stderr: its rows were written by hand (a forged session), or it is past the namespace's retention.
 * Nothing is said when Temporal does not answer: these queries need only the store.
 */
async function warnIfNotInTemporal(ctx: CommandContext, client: ScopeClient, scopeId: string): Promise<void> {
  const located = await client.store.locateScope(scopeId).catch(() => undefined);
  const sessionId = located?.record.sessionId ?? scopeId;
  if ((await client.sessionInTemporal(sessionId)) !== false) return;
  ctx.out.err(
    `WARNING: Temporal has no session "${visible(sessionId)}": its rows were written into the store by other means, or it is past the namespace's retention; ` +
      `this answer rests on the store alone (scopetrail verify ${visible(sessionId)} says what can be checked)`,
  );
}

function json(ctx: CommandContext, value: unknown): void {
  ctx.out.log(terminalJson(value, 2));
}

/** A report of Temporal histories read; `expected` (the scopes the store knows) gives it a total. */
function historiesProgress(ctx: CommandContext, expected?: number): { onProgress: (n: number) => void; done(): void } {
  if (!ctx.out.stderr) return { onProgress: () => undefined, done: () => undefined };
  const p = progress({ label: 'reading Temporal histories', total: expected || undefined, stream: ctx.out.stderr });
  return { onProgress: (n) => p.set(n), done: () => p.done({ clear: true }) };
}

/** What to say under a listing the limit cut: older sessions matched but are not shown. */
export function moreSessionsHint(limit: number, next: string | undefined, after: boolean): string {
  const shown = `${after ? 'the next' : 'the newest'} ${limit} session${limit === 1 ? '' : 's'} shown; older ones match too`;
  return `(${shown}: ${next ? `the next page with --after ${next}, ` : ''}raise --limit, at most ${SESSIONS_MAX}, or narrow with --since, --agent or --status)`;
}

function limitFlag(ctx: CommandContext): number | undefined {
  const raw = flag(ctx, 'limit');
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new CliUsageError(`invalid --limit "${raw}": give a positive whole number`);
  return n;
}

export const COMMANDS: Record<string, Command> = {
  sessions: {
    group: 'query',
    args: '[--agent A] [--status S] [--since ISO] [--limit N] [--after CURSOR]',
    summary: 'recent sessions with their status, checked against Temporal',
    options: ['agent', 'status', 'since', 'limit', 'after', ...QUERY_OPTIONS],
    async run(ctx) {
      positionals(ctx, []);
      // Every flag is checked before anything is opened.
      const args = SessionsArgs.safeParse({
        agent: flag(ctx, 'agent'),
        status: flag(ctx, 'status'),
        since: flag(ctx, 'since'),
        limit: limitFlag(ctx),
        after: flag(ctx, 'after'),
      });
      if (!args.success) {
        const issue = args.error.issues[0];
        throw new CliUsageError(`invalid --${String(issue?.path[0] ?? 'option')}: ${issue?.message}`);
      }
      return withClient(ctx, async (client) => {
        const { sessions, truncated, next } = await client.sessionsPage({ ...args.data, after: flag(ctx, 'after'), crossCheck: true });
        if (ctx.flags.json) json(ctx, { sessions, truncated, ...(next ? { next } : {}) });
        else {
          ctx.out.log(renderSessions(sessions));
          // On stderr: for the person reading, not for a script reading the table.
          if (truncated) ctx.out.err(moreSessionsHint(args.data.limit, next, args.data.after !== undefined));
        }
        return 0;
      });
    },
  },

  'root-cause': {
    group: 'query',
    args: '<session>',
    summary: 'the failure that failed the session, its attempts and its delegation chain (exit 3 when its rows do not match their seals)',
    options: QUERY_OPTIONS,
    async run(ctx) {
      const [sessionId] = positionals(ctx, ['session']);
      return withClient(ctx, async (client) => {
        const { rootCause: rc, sealProblems } = await client.rootCause(sessionId!, { checkSeals: true });
        await warnIfNotInTemporal(ctx, client, sessionId!);
        if (ctx.flags.json) json(ctx, { sessionId, rootCause: rc, sealProblems });
        else ctx.out.log(renderRootCause(sessionId!, rc));
        return sealWarning(ctx, sessionId!, sealProblems);
      });
    },
  },

  footprint: {
    group: 'query',
    args: '<scope> [--no-descendants]',
    summary: 'resources a scope and its descendants touched, with modes, tools and scopes (exit 3 when its session\'s rows do not match their seals)',
    options: ['no-descendants', ...QUERY_OPTIONS],
    optionHelp: { 'no-descendants': "only the scope's own resources, not its descendants' (included by default)" },
    async run(ctx) {
      const [scopeId] = positionals(ctx, ['scope']);
      return withClient(ctx, async (client) => {
        const report = await client.footprint(scopeId!, { descendants: !ctx.flags['no-descendants'], checkSeals: true });
        await warnIfNotInTemporal(ctx, client, scopeId!);
        if (ctx.flags.json) json(ctx, report);
        else ctx.out.log(renderFootprint(report));
        return sealWarning(ctx, await sessionOfScope(client, scopeId!), report.sealProblems);
      });
    },
  },

  touched: {
    group: 'query',
    args: '<scope> <resource>',
    summary: 'was a resource touched under a scope? "no" comes with reconcile evidence',
    options: QUERY_OPTIONS,
    async run(ctx) {
      const [scopeId, resource] = positionals(ctx, ['scope', 'resource']);
      return withClient(ctx, async (client) => {
        const bar = historiesProgress(ctx);
        const report = await client.wasTouched(scopeId!, resource!, bar.onProgress).finally(bar.done);
        if (ctx.flags.json) json(ctx, report);
        else ctx.out.log(renderTouched(report));
        // Not proved: the record is contradicted, or calls never heard back. A script reading only the
        // exit code must not take such an answer for a proof either way.
        return report.proved ? 0 : 3;
      });
    },
  },

  status: {
    group: 'query',
    args: '<scope>',
    summary: 'a scope\'s rolled-up status with its delegations and calls (exit 3 when its session\'s rows do not match their seals)',
    options: QUERY_OPTIONS,
    async run(ctx) {
      const [scopeId] = positionals(ctx, ['scope']);
      return withClient(ctx, async (client) => {
        const report = await client.status(scopeId!, { checkSeals: true });
        await warnIfNotInTemporal(ctx, client, scopeId!);
        if (ctx.flags.json) json(ctx, report);
        else ctx.out.log(renderStatus(report));
        return sealWarning(ctx, report.scope.sessionId, report.sealProblems);
      });
    },
  },

  roles: {
    group: 'query',
    args: '',
    summary: 'orchestrators, sub-agents and handoff peers, from manifests and observed delegations and handoffs',
    options: [...STORE_OPTIONS, ...CODEC_OPTIONS],
    async run(ctx) {
      positionals(ctx, []);
      return withClient(ctx, async (client) => {
        const roles = await client.roles();
        if (ctx.flags.json) json(ctx, { roles });
        else ctx.out.log(renderRoles(roles));
        return 0;
      });
    },
  },

  drift: {
    group: 'query',
    args: '[agent]',
    summary: 'observed tools, sub-agents and versions that differ from the manifests (exit 3 on drift, or a verdict on a manifest its signature does not vouch for)',
    options: [...STORE_OPTIONS, ...CODEC_OPTIONS],
    async run(ctx) {
      const [agent] = positionals(ctx, ['agent'], 1);
      return withClient(ctx, async (client) => {
        const entries = await client.drift(agent);
        if (ctx.flags.json) json(ctx, { drift: entries });
        else ctx.out.log(renderDrift(entries, agent));
        // A script gates on the exit code: an "ok" judged by a forged or unsigned manifest is no ok.
        return entries.some((d) => d.drifted || (d.manifestSignature !== undefined && d.manifestSignature !== 'valid')) ? 3 : 0;
      });
    },
  },

  timeline: {
    group: 'query',
    args: '<session>',
    summary: 'every scope start, action and scope end of a session in time order',
    options: QUERY_OPTIONS,
    async run(ctx) {
      const [sessionId] = positionals(ctx, ['session']);
      return withClient(ctx, async (client) => {
        const events = await client.timeline(sessionId!);
        await warnIfNotInTemporal(ctx, client, sessionId!);
        if (ctx.flags.json) json(ctx, { sessionId, events });
        else ctx.out.log(renderTimeline(events));
        return 0;
      });
    },
  },

  verify: {
    group: 'query',
    args: '<session>',
    summary: 'recompute the hash chains of a session, check them against their seals in Temporal and history (exit 3 on any finding)',
    options: QUERY_OPTIONS,
    async run(ctx) {
      const [sessionId] = positionals(ctx, ['session']);
      return withClient(ctx, async (client) => {
        const report = await client.verify(sessionId!);
        if (ctx.flags.json) json(ctx, report);
        else ctx.out.log(renderVerify(report));
        return report.problems.length ? 3 : 0;
      });
    },
  },

  'verify-usage': {
    group: 'query',
    args: '[--repair]',
    summary: 'recount what roles, drift and health read (the usage rollup) from the sealed rows (exit 3 on any difference; --repair replaces it)',
    options: ['repair', ...STORE_OPTIONS],
    optionHelp: { repair: 'replace the rollup with the recount when they differ' },
    async run(ctx) {
      positionals(ctx, []);
      const namespace = namespaceOf(ctx);
      return withStore(ctx, async (store) => {
        const { verifyUsage } = require('./usage-check') as typeof import('./usage-check');
        const shown = ctx.out.stderr ? working({ label: "recounting the sealed scopes' rows", stream: ctx.out.stderr }) : undefined;
        const report = await verifyUsage(store, namespace, { repair: Boolean(ctx.flags.repair) }).finally(() => shown?.done());
        if (ctx.flags.json) json(ctx, report);
        else ctx.out.log(renderUsageCheck(report));
        return report.differences.length && !report.repaired ? 3 : 0;
      });
    },
  },

  reconcile: {
    group: 'query',
    args: '<session> [--repair]',
    summary: 'compare the store with Temporal history (exit 3 on any difference)',
    options: ['repair', ...QUERY_OPTIONS],
    optionHelp: { repair: 'complete the store from Temporal history where it can, then reconcile again' },
    async run(ctx) {
      const [sessionId] = positionals(ctx, ['session']);
      return withClient(ctx, async (client, store) => {
        // Each stored scope is one workflow run to read: a good estimate of the total.
        const bar = historiesProgress(ctx, (await store.scopesOfSession(parse('reconcile', Id, sessionId, 'sessionId'))).length);
        const report = await client
          .reconcile(sessionId!, { onProgress: bar.onProgress, repair: Boolean(ctx.flags.repair) })
          .finally(bar.done);
        if (report.repaired) ctx.out.err(`repaired ${report.repaired} scope(s) from Temporal history`);
        if (ctx.flags.repair && report.differences.length) {
          // Said, so that a repair that changed nothing is not taken for one that failed silently.
          ctx.out.err(
            `${report.differences.length} difference(s) --repair cannot mend: it only writes scopes the store never received, ` +
              `and never rewrites a row that is there or an action (a sealed record stays as sealed; scopetrail verify names what changed)`,
          );
        }
        if (ctx.flags.json) json(ctx, report);
        else ctx.out.log(renderReconcile(report));
        return report.differences.length ? 3 : 0;
      });
    },
  },

  tree: {
    group: 'query',
    args: '<session>',
    summary: 'the scope tree of a session, each scope with its actions',
    options: QUERY_OPTIONS,
    async run(ctx) {
      const [sessionId] = positionals(ctx, ['session']);
      return withClient(ctx, async (client) => {
        const tree = await client.scopeTree(sessionId!);
        await warnIfNotInTemporal(ctx, client, sessionId!);
        const actions = await client.actionsOfSession(sessionId!);
        if (ctx.flags.json) {
          json(ctx, treeJson(tree, actions));
        } else {
          ctx.out.log(renderTree(tree, { actions }));
        }
        return 0;
      });
    },
  },

  actions: {
    group: 'query',
    args: '<scope> [--descendants] [--kind K,…] [--tool T]',
    summary: 'actions under a scope (and its descendants) (exit 3 when its session\'s rows do not match their seals)',
    options: ['descendants', 'kind', 'tool', ...QUERY_OPTIONS],
    async run(ctx) {
      const [scopeId] = positionals(ctx, ['scope']);
      const kinds = kindsFlag(ctx.flags.kind as string[] | undefined);
      return withClient(ctx, async (client) => {
        const { actions, sealProblems } = await client.actionsUnder(scopeId!, {
          descendants: Boolean(ctx.flags.descendants),
          kinds,
          tool: flag(ctx, 'tool'),
          checkSeals: true,
        });
        await warnIfNotInTemporal(ctx, client, scopeId!);
        if (ctx.flags.json) json(ctx, { scopeId, descendants: Boolean(ctx.flags.descendants), actions, sealProblems });
        else {
          // An empty answer says what it was asked: a mistyped --tool must not read as an idle scope.
          const asked = [kinds?.length ? `of kind ${kinds.join(' or ')}` : '', flag(ctx, 'tool') !== undefined ? `of tool "${flag(ctx, 'tool')}"` : ''].filter(Boolean).join(', ');
          const where = ctx.flags.descendants ? `${scopeId} or its descendants` : scopeId;
          ctx.out.log(actions.length ? renderActions(actions) : `no actions${asked ? ` ${asked}` : ''} under ${where}`);
        }
        return sealWarning(ctx, await sessionOfScope(client, scopeId!), sealProblems);
      });
    },
  },

  scope: {
    group: 'query',
    args: '<scope>',
    summary: 'one scope: who delegated it, its mandate and its status',
    options: QUERY_OPTIONS,
    async run(ctx) {
      const [scopeId] = positionals(ctx, ['scope']);
      return withClient(ctx, async (client) => {
        const scope = await client.scope(scopeId!);
        if (ctx.flags.json) json(ctx, scope);
        else ctx.out.log(renderScope(scope));
        return 0;
      });
    },
  },

  attribute: {
    group: 'query',
    args: '<session> <file>',
    summary: 'which agent and scope produced each part of a text (<file> may be - for standard input), from output fingerprints',
    options: QUERY_OPTIONS,
    async run(ctx) {
      const { attributeCommand } = require('./attribute-command') as typeof import('./attribute-command');
      return attributeCommand(ctx, withClient);
    },
  },

  'export-otel': {
    group: 'query',
    args: '<session> [--endpoint URL] [--service-name N]',
    summary: 'send the session to an OTLP/HTTP endpoint as OpenTelemetry GenAI spans',
    options: ['endpoint', 'service-name', ...QUERY_OPTIONS],
    async run(ctx) {
      const { exportOtelCommand } = require('./otel-command') as typeof import('./otel-command');
      return exportOtelCommand(ctx, withClient);
    },
  },

  'export-ocsf': {
    group: 'query',
    args: '<session> | --since ISO [--out F [--force]] [--follow]',
    summary: 'the records as OCSF 1.9 API Activity events (JSON Lines); --follow tails sealed scopes and resumes from a cursor',
    options: ['since', 'out', 'force', 'follow', 'cursor', 'poll-ms', ...QUERY_OPTIONS],
    optionHelp: { since: 'every session started at or after this ISO 8601 time, instead of one <session>' },
    async run(ctx) {
      const { exportOcsfCommand } = require('./ocsf-command') as typeof import('./ocsf-command');
      return exportOcsfCommand(ctx, withClient);
    },
  },

  prune: {
    group: 'runtime',
    args: '--before DATE [--dry-run]',
    summary: 'retention: drop whole months of ended sessions started before DATE (recorded, and anchored in Temporal)',
    options: ['before', 'dry-run', 'database-url', 'data-dir', 'schema', 'address', ...CODEC_OPTIONS],
    async run(ctx) {
      const { pruneCommand } = require('./prune') as typeof import('./prune');
      return pruneCommand(ctx, withClient);
    },
  },

  quarantine: {
    group: 'runtime',
    args: 'list | replay [--spool DIR] [--codec MODULE | --codec-endpoint URL]',
    summary: "what workers' spools kept aside (refused, late or unreadable records); replay writes what is sound now",
    options: ['spool', ...STORE_OPTIONS, ...CODEC_OPTIONS],
    async run(ctx) {
      const { quarantineCommand } = require('./quarantine-command') as typeof import('./quarantine-command');
      return quarantineCommand(ctx, withStore);
    },
  },

  ui: {
    group: 'runtime',
    args: '[--port N] [--host H]',
    summary: 'the web dashboard: sessions, scope graphs, actions, footprints, agent health, reconcile',
    options: ['port', 'host', ...QUERY_OPTIONS],
    optionHelp: { json: 'print the dashboard\'s URL and port as one JSON line' },
    async run(ctx) {
      const { uiCommand } = require('./ui-command') as typeof import('./ui-command');
      return uiCommand(ctx, withClient);
    },
  },

  worker: {
    group: 'runtime',
    args: '[--agents M --tools M] [--deployment N --build-id B]',
    summary: 'run a worker for your agents (default: the example agents)',
    options: ['agents', 'tools', 'deployment', 'build-id', 'task-queue', 'otel', ...STORE_OPTIONS, 'address', ...CODEC_OPTIONS],
    optionHelp: { json: 'print one JSON line per event (ready, stopped) on stdout, errors as JSON too' },
    async run(ctx) {
      positionals(ctx, []);
      const { startWorkerCommand } = require('./cli-runtime') as typeof import('./cli-runtime');
      return startWorkerCommand(ctx, { startServer: false });
    },
  },

  deployment: {
    group: 'runtime',
    args: 'set-current <name> <build> | ramp <name> <build> <percent>',
    summary: 'make a worker build current (new sessions start on it) or ramp a share of new sessions to it (0 ends its ramp)',
    options: ['wait', 'address', 'namespace'],
    optionHelp: { namespace: 'Temporal namespace (default: TEMPORAL_NAMESPACE, else default)' },
    async run(ctx) {
      const { deploymentCommand } = require('./deployment-command') as typeof import('./deployment-command');
      return deploymentCommand(ctx);
    },
  },

  dev: {
    group: 'runtime',
    args: '[--agents M --tools M]',
    summary: 'start a Temporal dev server and a worker, until Ctrl-C',
    options: ['agents', 'tools', 'deployment', 'build-id', 'task-queue', 'otel', ...STORE_OPTIONS, ...CODEC_OPTIONS],
    optionHelp: { json: 'print one JSON line per event (ready, stopped) on stdout, errors as JSON too' },
    async run(ctx) {
      positionals(ctx, []);
      const { startWorkerCommand } = require('./cli-runtime') as typeof import('./cli-runtime');
      return startWorkerCommand(ctx, { startServer: true });
    },
  },

  init: {
    group: 'runtime',
    args: '<dir> [--scopetrail-spec <spec>]',
    summary: 'write a starter project (agents, tools, worker, client) that runs with npm install && npm start',
    options: ['scopetrail-spec'],
    async run(ctx) {
      const { initProject } = require('./init-command') as typeof import('./init-command');
      return initProject(ctx);
    },
  },

  run: {
    group: 'runtime',
    args: '<example>',
    summary: 'run an example session end to end (examples: demo, research)',
    options: ['memory'],
    async run(ctx) {
      const [example] = positionals(ctx, ['example']);
      const options = { memory: Boolean(ctx.flags.memory), json: Boolean(ctx.flags.json), log: ctx.out.log };
      if (example === 'demo') {
        const { runDemo } = require('../examples/demo') as typeof import('../examples/demo');
        await runDemo(options);
      } else if (example === 'research') {
        const { runResearch } = require('../examples/research') as typeof import('../examples/research');
        await runResearch(options);
      } else {
        throw new CliUsageError(`unknown example "${example}": available: demo, research`);
      }
      return 0;
    },
  },
};
