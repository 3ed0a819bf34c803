/**
 * The dashboard's views that follow work as it happens: a session's timeline, the
 * resource view across sessions, and the change token live updates compare. The
 * query schemas are checked by client/ui-api.ts like every other route's.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ResourceMode } from '../cim/schemas';
import { sessionSummary } from '../cim/forensics/summary';
import { buildScopeTree } from '../cim/scope-tree';
import { Id, IsoTime, printableText } from './arguments';
import type { ScopeClient } from './scope-client';
import type { ChangesResponse, ResourcesResponse, TimelineResponse } from './ui-api-types';

export const ResourcesQuery = z
  .strictObject({
    glob: printableText(2000),
    mode: z
      .string()
      .transform((v) => v.split(','))
      .pipe(z.array(ResourceMode))
      .optional(),
    from: IsoTime.optional(),
    to: IsoTime.optional(),
    limit: z
      .string()
      .regex(/^\d{1,6}$/, 'use a whole number')
      .transform(Number)
      .pipe(z.number().int().min(1, 'use at least 1').max(10_000, 'use at most 10000'))
      .optional(),
  })
  .superRefine((q, ctx) => {
    if (q.from && q.to && Date.parse(q.to) < Date.parse(q.from)) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `ends before "from" (${q.from}): give a range that runs forward` });
    }
  });

export const ChangesQuery = z.strictObject({ session: Id.optional() });

export async function sessionTimeline(client: ScopeClient, sessionId: string): Promise<TimelineResponse> {
  const [scopes, actions] = await Promise.all([client.store.scopesOfSession(sessionId), client.actionsOfSession(sessionId)]);
  if (scopes.length === 0) throw await client.missing('session', sessionId);
  // The server's clock, so that running bars end at the same "now" the rows were read at.
  return { summary: sessionSummary(scopes, actions), tree: buildScopeTree(sessionId, scopes), actions, now: new Date().toISOString() };
}

export async function resourceTouches(client: ScopeClient, q: z.output<typeof ResourcesQuery>): Promise<ResourcesResponse> {
  const limit = q.limit ?? 500;
  const { touches, truncated, receiptProblems } = await client.store
    .dashboard()
    .resourceTouches({ glob: q.glob, modes: q.mode, from: q.from, to: q.to, limit, receiptKey: client.receiptChecker() });
  return {
    glob: q.glob,
    modes: q.mode ?? null,
    from: q.from ?? null,
    to: q.to ?? null,
    touches,
    truncated,
    receiptProblems,
    sessions: new Set(touches.map((t) => t.sessionId)).size,
    scopes: new Set(touches.map((t) => t.scopeId)).size,
  };
}

export async function changes(client: ScopeClient, q: z.output<typeof ChangesQuery>): Promise<ChangesResponse> {
  const queries = client.store.dashboard();
  if (q.session !== undefined) {
    if (!(await client.store.getScope(q.session))) throw await client.missing('session', q.session);
  }
  const token = q.session === undefined ? await queries.namespaceChanges() : await queries.sessionChanges(q.session);
  // Short and opaque: it travels as an SSE event id and in URLs.
  const cursor = createHash('sha256').update(token.cursor).digest('hex').slice(0, 20);
  return { session: q.session ?? null, cursor, runningScopes: token.runningScopes };
}
