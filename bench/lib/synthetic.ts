/**
 * A synthetic but realistic CIM: sessions whose delegation trees are typical (a few
 * sub-agents, some nested), deep (long delegation chains) or wide (large fan-outs),
 * with tool and LLM calls touching a spread of resources, retries and failures.
 * Deterministic for a seed, so every run loads the same store.
 */
import { createHash } from 'node:crypto';
import { activityActionId, childPath, childScopeId, rootPath, workflowActionId } from '../../cim/ids';
import type { ActionRecord, ResourceRef, ScopeRecord } from '../../cim/schemas';
import { prng } from '../../test/helpers/prng';

export type Shape = 'typical' | 'deep' | 'wide';

export interface SyntheticSession {
  shape: Shape;
  scopes: ScopeRecord[];
  actions: ActionRecord[];
}

export interface SyntheticOptions {
  seed: number;
  namespace: string;
  /** Share of sessions of each shape; the rest are typical. */
  deepShare?: number;
  wideShare?: number;
  /** Spread session starts over this many days before `epoch`. */
  days?: number;
  epoch?: number;
}

const AGENTS = ['orchestrator', 'researcher', 'verifier', 'analyst', 'writer', 'translator', 'coder', 'reviewer', 'planner', 'citer'];
const TOOLS: Array<{ name: string; resource: (r: () => number) => ResourceRef[] }> = [
  { name: 'search', resource: (r) => [{ uri: `web:search/${Math.floor(r() * 500)}`, mode: 'read' }] },
  { name: 'fetchPage', resource: (r) => [{ uri: `web:https://site${Math.floor(r() * 2000)}.example/page`, mode: 'read' }] },
  { name: 'saveNote', resource: (r) => [{ uri: `db:notes/${Math.floor(r() * 10_000)}`, mode: 'write' }] },
  { name: 'lookupCustomer', resource: (r) => [{ uri: `db:customers/${Math.floor(r() * 100_000)}`, mode: 'read' }] },
  { name: 'sendEmail', resource: (r) => [{ uri: `api:mail/${Math.floor(r() * 1000)}`, mode: 'share' }] },
  { name: 'runQuery', resource: (r) => [{ uri: `db:warehouse/table${Math.floor(r() * 50)}`, mode: 'read' }, { uri: 'db:warehouse/results', mode: 'write' }] },
];

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The session starts `syntheticSessions` spreads its sessions over. */
export function syntheticRange(options: Pick<SyntheticOptions, 'days' | 'epoch'> = {}): { from: Date; to: Date } {
  const epoch = options.epoch ?? DEFAULT_EPOCH;
  return { from: new Date(epoch - (options.days ?? DEFAULT_DAYS) * 86_400_000), to: new Date(epoch + 86_400_000) };
}

const DEFAULT_EPOCH = Date.UTC(2026, 10, 1);
const DEFAULT_DAYS = 30;

export function* syntheticSessions(options: SyntheticOptions): Generator<SyntheticSession> {
  const rand = prng(options.seed);
  const epoch = options.epoch ?? DEFAULT_EPOCH;
  const days = options.days ?? DEFAULT_DAYS;
  for (let index = 0; ; index++) {
    const roll = rand();
    const shape: Shape = roll < (options.deepShare ?? 0.03) ? 'deep' : roll < (options.deepShare ?? 0.03) + (options.wideShare ?? 0.03) ? 'wide' : 'typical';
    const start = epoch - Math.floor(rand() * days * 86_400_000);
    const session = buildSession(`ses-${options.seed}-${index}`, shape, start, options.namespace, rand);
    // Where the store keeps the session's rows: the month its root started.
    const sessionStartedAt = session.scopes[0]!.startedAt;
    for (const s of session.scopes) s.sessionStartedAt = sessionStartedAt;
    for (const a of session.actions) a.sessionStartedAt = sessionStartedAt;
    yield session;
  }
}

function buildSession(sessionId: string, shape: Shape, start: number, namespace: string, rand: () => number): SyntheticSession {
  const scopes: ScopeRecord[] = [];
  const actions: ActionRecord[] = [];
  let clock = start;
  const tick = (ms: number) => (clock += Math.max(1, Math.floor(ms)));
  const iso = (t: number) => new Date(t).toISOString();

  const scopeOf = (scopeId: string, parent: ScopeRecord | null, agent: string): ScopeRecord => ({
    scopeId,
    sessionId,
    namespace,
    parentScopeId: parent?.scopeId ?? null,
    handoffFromScopeId: null,
    kind: parent ? 'delegation' : 'root',
    agent,
    agentVersion: rand() < 0.9 ? '1.0.0' : '1.1.0',
    delegatedBy: parent?.agent ?? null,
    objective: parent ? `subtask for ${agent}: ${Math.floor(rand() * 1e6).toString(36)}` : 'answer the request',
    allowance: null,
    depth: parent ? parent.depth + 1 : 0,
    path: parent ? childPath(parent.path, scopeId) : rootPath(scopeId),
    status: 'running',
    recovered: false,
    error: null,
    startedAt: iso(clock),
    endedAt: null,
    workflowId: scopeId,
    runId: digest(scopeId).slice(0, 36),
  });

  const work = (scope: ScopeRecord, calls: number): boolean => {
    let failed = false;
    for (let i = 1; i <= calls; i++) {
      const llm = rand() < 0.25;
      const tool = TOOLS[Math.floor(rand() * TOOLS.length)]!;
      const attempts = rand() < 0.03 ? 2 : 1;
      const finalFails = attempts === 2 && rand() < 0.3;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const startedAt = iso(clock);
        tick(5 + rand() * 400);
        const error = attempt < attempts || finalFails ? 'ServiceUnavailable: upstream returned 503' : null;
        actions.push({
          actionId: activityActionId(scope.scopeId, String(i), attempt),
          scopeId: scope.scopeId,
          sessionId,
          namespace,
          agent: scope.agent,
          kind: llm ? 'llm_call' : 'tool_call',
          name: llm ? 'llm' : tool.name,
          attempt,
          resources: llm ? [{ uri: 'llm:gpt-4o-mini', mode: 'share' }] : tool.resource(rand),
          inputDigest: digest(`${scope.scopeId}:${i}:in`),
          outputDigest: error ? null : digest(`${scope.scopeId}:${i}:out`),
          status: error ? 'error' : 'success',
          error,
          startedAt,
          endedAt: iso(clock),
          workflowId: scope.workflowId,
          runId: scope.runId,
          activityId: String(i),
          targetScopeId: null,
          attributes: llm ? { model: 'gpt-4o-mini', inputTokens: Math.floor(rand() * 2000), outputTokens: Math.floor(rand() * 500) } : {},
        });
      }
      if (finalFails) failed = true;
    }
    return failed;
  };

  const finish = (scope: ScopeRecord, ownFailed: boolean, children: ScopeRecord[]) => {
    const failedChildren = children.filter((c) => c.status === 'error').length;
    scope.status = ownFailed || (children.length > 0 && failedChildren === children.length) ? 'error' : failedChildren > 0 ? 'degraded' : 'success';
    scope.error = scope.status === 'error' ? 'a tool call failed after retries' : null;
    scope.endedAt = iso(tick(2));
  };

  const delegateTo = (parent: ScopeRecord, n: number, agent: string): ScopeRecord => {
    const child = scopeOf(childScopeId(parent.scopeId, n), parent, agent);
    actions.push({
      actionId: workflowActionId(parent.scopeId, n),
      scopeId: parent.scopeId,
      sessionId,
      namespace,
      agent: parent.agent,
      kind: 'delegate',
      name: agent,
      attempt: 1,
      resources: [],
      inputDigest: digest(`${child.scopeId}:input`),
      outputDigest: null,
      status: 'running',
      error: null,
      startedAt: child.startedAt,
      endedAt: null,
      workflowId: parent.workflowId,
      runId: parent.runId,
      activityId: null,
      targetScopeId: child.scopeId,
      attributes: {},
    });
    scopes.push(child);
    return child;
  };

  const closeDelegate = (parent: ScopeRecord, n: number, child: ScopeRecord) => {
    const action = actions.find((a) => a.actionId === workflowActionId(parent.scopeId, n))!;
    action.status = child.status === 'error' ? 'error' : 'success';
    action.error = child.status === 'error' ? `delegation to ${child.agent} failed` : null;
    action.outputDigest = digest(`${child.scopeId}:output`);
    action.endedAt = child.endedAt;
  };

  // Depth-first: a scope works, delegates, waits for its children, then ends.
  const run = (scope: ScopeRecord, fanout: number, depthLeft: number, perScope: () => number, childFanout: () => number) => {
    const ownFailed = work(scope, perScope());
    const children: ScopeRecord[] = [];
    for (let n = 1; n <= (depthLeft > 0 ? fanout : 0); n++) {
      const child = delegateTo(scope, n, AGENTS[1 + Math.floor(rand() * (AGENTS.length - 1))]!);
      run(child, childFanout(), depthLeft - 1, perScope, childFanout);
      closeDelegate(scope, n, child);
      children.push(child);
    }
    finish(scope, ownFailed, children);
  };

  const root = scopeOf(sessionId, null, AGENTS[0]!);
  scopes.push(root);
  if (shape === 'deep') run(root, 1, 24 + Math.floor(rand() * 8), () => 6 + Math.floor(rand() * 5), () => 1);
  else if (shape === 'wide') run(root, 150 + Math.floor(rand() * 100), 1, () => 6 + Math.floor(rand() * 5), () => 0);
  else run(root, 2 + Math.floor(rand() * 4), 2, () => 4 + Math.floor(rand() * 9), () => Math.floor(rand() * 3));
  return { shape, scopes, actions };
}
