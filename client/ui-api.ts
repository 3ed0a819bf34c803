/**
 * The dashboard's JSON API: each route checks its path segments and query
 * parameters with zod, asks ScopeClient, and answers a JSON document (shapes in
 * client/ui-api-types.ts). Bad input is a 400 naming the parameter, an unknown id a
 * 404, an unreachable Temporal server (reconcile only) a 503 saying what to do.
 */
import { storedSealProblems } from './forensic-queries';
import { sessionKeyOf } from './session-cursor';
import { z } from 'zod';
import { ActionKind, ScopeStatus } from '../cim/schemas';
import { healthFromUsage } from '../cim/forensics/health';
import { driftFromUsage, rolesFromUsage } from '../cim/forensics';
import { sessionSummary } from '../cim/forensics/summary';
import { buildScopeTree } from '../cim/scope-tree';
import { Id, AgentNameArg, InvalidArgumentError, IsoTime, SessionPrunedError, UnknownIdError, printableText } from './arguments';
import type { ScopeClient } from './scope-client';
import { SESSIONS_LIMIT } from './limits';
import { TemporalUnreachableError, isUnreachable, unreachableMessage } from './temporal-reachable';
import { ChangesQuery, ResourcesQuery, changes, resourceTouches, sessionTimeline } from './ui-dashboard-routes';
import type {
  ActionsResponse,
  ApiError,
  FootprintResponse,
  HealthResponse,
  ReconcileResponse,
  SessionResponse,
  SessionsResponse,
} from './ui-api-types';

export interface ApiResult {
  status: number;
  body: unknown;
}

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const Flag = z.enum(['true', 'false', '1', '0'], 'use true or false').transform((v) => v === 'true' || v === '1');
const Count = z
  .string()
  .regex(/^\d{1,6}$/, 'use a whole number')
  .transform(Number)
  .pipe(z.number().int().min(1, 'use at least 1').max(10_000, 'use at most 10000'));

const SessionsQuery = z.strictObject({
  limit: Count.optional(),
  status: ScopeStatus.optional(),
  agent: AgentNameArg.optional(),
  since: IsoTime.optional(),
  after: z.string().refine((c) => sessionKeyOf(c) !== undefined, 'not a cursor a sessions listing gave (its "next")').optional(),
});
const ActionsQuery = z.strictObject({
  descendants: Flag.optional(),
  kind: z
    .string()
    .transform((v) => v.split(','))
    .pipe(z.array(ActionKind))
    .optional(),
  tool: printableText(200).optional(),
});
const FootprintQuery = z.strictObject({ descendants: Flag.optional() });
const NoQuery = z.strictObject({});

/** The query string as an object; a parameter given twice becomes an array, which the schemas reject by name. */
function queryObject(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of params) {
    const prev = out[k];
    out[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
  }
  return out;
}

function check<T extends z.ZodType>(schema: T, value: unknown, what: 'query parameter' | 'path segment'): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues.find((i) => i.code === 'unrecognized_keys') ?? parsed.error.issues[0]!;
  // A known parameter given twice reached the schema as an array: zod would only say it "expected string, received array".
  const repeated = issue.code === 'unrecognized_keys' ? undefined : Object.entries(value as object).find(([, v]) => Array.isArray(v));
  if (repeated) throw new ApiProblem(400, `${what} "${repeated[0]}" is given ${(repeated[1] as unknown[]).length} times: give it once`, repeated[0]);
  // The parameter's own name, even when an item of a list (kind=a,b) is what was wrong.
  const field = issue.code === 'unrecognized_keys' ? String(issue.keys[0]) : String(issue.path[0] ?? '');
  const message =
    issue.code === 'unrecognized_keys'
      ? `unknown ${what} "${field}"`
      : `invalid ${what} "${field}": ${issue.message}`;
  throw new ApiProblem(400, message, field);
}

function pathId(name: 'sessionId' | 'scopeId', raw: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new ApiProblem(400, `invalid path segment "${name}": not valid percent-encoding`, name);
  }
  return check(z.object({ [name]: Id }), { [name]: decoded }, 'path segment')[name] as string;
}

export interface ApiContext {
  client: ScopeClient;
  /** For messages: where reconcile looks for Temporal. */
  temporalAddress: string;
}

type Route = (ctx: ApiContext, ids: string[], query: Record<string, string | string[]>) => Promise<unknown>;

const ROUTES: Array<{ pattern: RegExp; ids: Array<'sessionId' | 'scopeId'>; run: Route }> = [
  {
    pattern: /^\/api\/sessions$/,
    ids: [],
    run: async ({ client }, _ids, query): Promise<SessionsResponse> => {
      const q = check(SessionsQuery, query, 'query parameter');
      const limit = q.limit ?? SESSIONS_LIMIT;
      const { sessions, truncated, next } = await client.sessionsPage({ ...q, limit, crossCheck: false });
      // The listing's Temporal cross-check is left out: the dashboard lists from the store alone.
      return { sessions: sessions.map(({ inTemporal: _, ...s }) => s), limit, truncated, ...(next ? { next } : {}) };
    },
  },
  {
    pattern: /^\/api\/sessions\/([^/]+)$/,
    ids: ['sessionId'],
    run: async ({ client }, [id], query): Promise<SessionResponse> => {
      check(NoQuery, query, 'query parameter');
      const [scopes, actions, sealProblems] = await Promise.all([client.store.scopesOfSession(id!), client.actionsOfSession(id!), storedSealProblems(client.store, id!)]);
      if (scopes.length === 0) throw await client.missing('session', id!);
      return { summary: sessionSummary(scopes, actions), tree: buildScopeTree(id!, scopes), sealProblems };
    },
  },
  {
    pattern: /^\/api\/sessions\/([^/]+)\/reconcile$/,
    ids: ['sessionId'],
    run: async (ctx, [id], query): Promise<ReconcileResponse> => {
      check(NoQuery, query, 'query parameter');
      return reconcileRoute(ctx, id!);
    },
  },
  {
    pattern: /^\/api\/scopes\/([^/]+)\/actions$/,
    ids: ['scopeId'],
    run: async ({ client }, [id], query): Promise<ActionsResponse> => {
      const q = check(ActionsQuery, query, 'query parameter');
      const descendants = q.descendants ?? false;
      const actions = await client.actionsUnder(id!, { descendants, kinds: q.kind, tool: q.tool });
      return { scopeId: id!, descendants, actions };
    },
  },
  {
    pattern: /^\/api\/scopes\/([^/]+)\/footprint$/,
    ids: ['scopeId'],
    run: async ({ client }, [id], query): Promise<FootprintResponse> => {
      const q = check(FootprintQuery, query, 'query parameter');
      return client.footprint(id!, { descendants: q.descendants ?? true });
    },
  },
  {
    pattern: /^\/api\/scopes\/([^/]+)\/status$/,
    ids: ['scopeId'],
    run: async ({ client }, [id], query) => {
      check(NoQuery, query, 'query parameter');
      return client.status(id!);
    },
  },
  {
    pattern: /^\/api\/sessions\/([^/]+)\/timeline$/,
    ids: ['sessionId'],
    run: async ({ client }, [id], query) => {
      check(NoQuery, query, 'query parameter');
      return sessionTimeline(client, id!);
    },
  },
  {
    pattern: /^\/api\/resources$/,
    ids: [],
    run: async ({ client }, _ids, query) => resourceTouches(client, check(ResourcesQuery, query, 'query parameter')),
  },
  {
    pattern: /^\/api\/changes$/,
    ids: [],
    run: async ({ client }, _ids, query) => changes(client, check(ChangesQuery, query, 'query parameter')),
  },
  {
    pattern: /^\/api\/health$/,
    ids: [],
    run: async ({ client }, _ids, query): Promise<HealthResponse> => {
      check(NoQuery, query, 'query parameter');
      // One aggregate read serves all three rules.
      const [manifests, usage] = await Promise.all([client.store.manifests(), client.store.agentUsage()]);
      return { agents: healthFromUsage(usage, driftFromUsage(manifests, usage), rolesFromUsage(manifests, usage)) };
    },
  },
];

async function reconcileRoute({ client, temporalAddress }: ApiContext, sessionId: string): Promise<ReconcileResponse> {
  if (!(await client.store.sessionHasScopes(sessionId))) throw await client.missing('session', sessionId);
  const unavailable = (err: unknown) =>
    new ApiProblem(
      503,
      unreachableMessage(
        temporalAddress,
        err instanceof TemporalUnreachableError ? err.reason : errorText(err),
        'start the server that ran the session (reconcile reads its workflow histories there), or restart the dashboard with --address',
      ),
    );
  try {
    const report = await client.reconcile(sessionId);
    return { temporalAddress, report, complete: report.differences.length === 0 };
  } catch (err) {
    if (err instanceof UnknownIdError) {
      throw new ApiProblem(404, `Temporal at ${temporalAddress} has no workflow for session "${sessionId}" (it may be past the namespace's retention)`);
    }
    if (isUnreachable(err)) throw unavailable(err);
    throw err;
  }
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);
}

/** Answers one API request; never throws. */
export async function handleApi(ctx: ApiContext, method: string, url: URL): Promise<ApiResult> {
  try {
    const route = ROUTES.find((r) => r.pattern.test(url.pathname));
    if (!route) throw new ApiProblem(404, `no API route ${url.pathname}`);
    if (method !== 'GET') throw new ApiProblem(405, `${method} is not supported: the API is read-only, use GET`);
    const match = route.pattern.exec(url.pathname)!;
    const ids = route.ids.map((name, i) => pathId(name, match[i + 1]!));
    return { status: 200, body: await route.run(ctx, ids, queryObject(url.searchParams)) };
  } catch (err) {
    return { status: statusOf(err), body: errorBody(err) };
  }
}

function statusOf(err: unknown): number {
  if (err instanceof ApiProblem) return err.status;
  if (err instanceof UnknownIdError) return 404;
  if (err instanceof InvalidArgumentError) return 400;
  return 500;
}

function errorBody(err: unknown): ApiError {
  const status = statusOf(err);
  const field = err instanceof ApiProblem ? err.field : undefined;
  const pruned = err instanceof SessionPrunedError ? err.pruned : undefined;
  return { error: { status, message: errorText(err), ...(field ? { field } : {}), ...(pruned ? { pruned } : {}) } };
}
