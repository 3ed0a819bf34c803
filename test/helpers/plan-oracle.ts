/**
 * Random plans (test/fixtures/plan.ts) and what scopetrail must record for each, worked
 * out from the plan alone: every scope with its kind, parent, predecessor, path, depth and
 * rolled-up status, and every action. The status rules are written out again here from
 * docs/DESIGN.md, not imported from cim/status.ts, so that the oracle does not share the
 * code it checks.
 */
import { PLAN_AGENTS, PLAN_LEAVE_MAX_MS, PLAN_TOOL_ATTEMPTS, type Plan, type PlanAgent, type PlanDelegation, type PlanStep } from '../fixtures/plan';

export interface ExpectedAction {
  kind: 'tool_call' | 'delegate' | 'handoff';
  name: string;
  attempt: number;
  status: 'success' | 'error';
  targetScopeId: string | null;
  /** A local activity's attempt. */
  local?: true;
}

export interface ExpectedScope {
  scopeId: string;
  kind: 'root' | 'delegation' | 'handoff';
  parentScopeId: string | null;
  handoffFromScopeId: string | null;
  agent: PlanAgent;
  delegatedBy: PlanAgent | null;
  objective: string | null;
  depth: number;
  path: string;
  status: 'success' | 'degraded' | 'error';
  recovered: boolean;
  actions: ExpectedAction[];
  /**
   * Calls it left running (`leave` steps). Each records one successful attempt once its tool
   * has run, or nothing, when its run closed before Temporal started it (the server then
   * drops the call).
   */
  left: number;
  /** The scope failed by itself: a tool call it did not catch, or its plan threw. */
  ownFailure: 'tool' | 'throw' | null;
  /**
   * What the scope must record as having failed it: its own code, a call (the oracle does
   * not know activity ids: the last of the scope's calls that failed every attempt), or the
   * last attempt of a delegation it did not catch. Null when it did not fail by itself.
   */
  failedBy: { by: 'self' } | { by: 'call' } | { by: 'delegation'; scopeId: string } | null;
}

/** Where a failure that ended a run started: a tool call no one caught, or an agent's own throw. */
export interface FailureCause {
  scopeId: string;
  by: 'tool' | 'throw';
}

export interface ExpectedSession {
  sessionId: string;
  agent: PlanAgent;
  plan: Plan;
  scopes: Map<string, ExpectedScope>;
  /** The session's result, or null when its final scope failed. */
  result: string | null;
  /** For a failed session: where the failure that failed it started, followed down the delegations that passed it up. */
  cause: FailureCause | null;
}

interface Outcome {
  failed: boolean;
  /** Set when failed. */
  cause: FailureCause | null;
  status: ExpectedScope['status'];
  recovered: boolean;
  value: string | null;
}

interface Slot {
  attempts: Array<{ status: ExpectedScope['status']; recovered: boolean }>;
}

/** The documented roll-up: own failure first, then delegation slots by their last attempt. */
function rollUp(ownFailed: boolean, slots: Slot[], calls: Array<{ attempt: number; ok: boolean }>): { status: ExpectedScope['status']; recovered: boolean } {
  if (ownFailed) return { status: 'error', recovered: false };
  const finals = slots.map((s) => s.attempts.at(-1)!);
  const failed = finals.filter((f) => f.status === 'error').length;
  const recovered =
    calls.some((c) => c.ok && c.attempt > 1) ||
    slots.some((s) => {
      const last = s.attempts.at(-1)!;
      return last.status !== 'error' && (s.attempts.length > 1 || last.recovered);
    });
  if (failed > 0 && failed === finals.length) return { status: 'error', recovered: false };
  if (failed > 0 || finals.some((f) => f.status === 'degraded')) return { status: 'degraded', recovered };
  return { status: 'success', recovered };
}

/** Works out a session's records from its plan. */
export function expectSession(sessionId: string, agent: PlanAgent, plan: Plan): ExpectedSession {
  const scopes = new Map<string, ExpectedScope>();

  const runWorkflow = (
    workflowId: string,
    plan: Plan,
    agent: PlanAgent,
    first: Pick<ExpectedScope, 'kind' | 'parentScopeId' | 'objective' | 'depth' | 'path' | 'delegatedBy'>,
    parentPath: string | null,
  ): Outcome => {
    let scope: Pick<ExpectedScope, 'scopeId' | 'kind' | 'handoffFromScopeId' | 'objective' | 'path' | 'delegatedBy'> = {
      scopeId: workflowId,
      kind: first.kind,
      handoffFromScopeId: null,
      objective: first.objective,
      path: first.path,
      delegatedBy: first.delegatedBy,
    };
    let current = { plan, agent };
    // A recovery anywhere in the chain reaches whoever gets its result (the last scope's).
    let chainRecovered = false;
    for (let index = 1; ; index++) {
      const ran = runScope({ ...scope, parentScopeId: first.parentScopeId, depth: first.depth, agent: current.agent }, current.plan);
      if (!ran.handoff) return { ...ran.outcome, recovered: ran.outcome.recovered || (chainRecovered && !ran.outcome.failed) };
      chainRecovered ||= ran.outcome.recovered;
      const next = `${workflowId}~${index}`;
      scope = {
        scopeId: next,
        kind: 'handoff',
        handoffFromScopeId: scope.scopeId,
        objective: ran.handoff.reason,
        // At the top of a session a successor starts a path of its own; inside a delegation it sits under the delegator.
        path: parentPath === null ? `/${next}/` : `${parentPath}${next}/`,
        // Nobody delegated to a handoff target.
        delegatedBy: null,
      };
      current = { plan: ran.handoff.plan, agent: ran.handoff.handoff };
    }
  };

  const runScope = (
    s: Pick<ExpectedScope, 'scopeId' | 'kind' | 'parentScopeId' | 'handoffFromScopeId' | 'objective' | 'depth' | 'path' | 'agent' | 'delegatedBy'>,
    plan: Plan,
  ): { outcome: Outcome; handoff?: Extract<Plan['end'], { handoff: PlanAgent }> } => {
    const scope: ExpectedScope = { ...s, status: 'success', recovered: false, actions: [], left: 0, ownFailure: null, failedBy: null };
    scopes.set(scope.scopeId, scope);
    let childSeq = 0;
    const slots: Slot[] = [];
    const calls: Array<{ attempt: number; ok: boolean }> = [];

    let cause: FailureCause | null = null;
    const delegation = (d: PlanDelegation): boolean => {
      const slot: Slot = { attempts: [] };
      let last: Outcome | undefined;
      slots.push(slot);
      for (let attempt = 1; attempt <= d.attempts; attempt++) {
        childSeq += 1;
        const child = `${scope.scopeId}.${childSeq}`;
        const out = runWorkflow(
          child,
          d.plan,
          d.agent,
          { kind: 'delegation', parentScopeId: scope.scopeId, objective: d.objective, depth: scope.depth + 1, path: `${scope.path}${child}/`, delegatedBy: scope.agent },
          scope.path,
        );
        scope.actions.push({ kind: 'delegate', name: d.agent, attempt, status: out.failed ? 'error' : 'success', targetScopeId: child });
        slot.attempts.push({ status: out.failed ? 'error' : out.status, recovered: out.failed ? false : out.recovered });
        if (!out.failed) return true;
        last = out;
      }
      // In a parallel step the first uncaught failure in order is the one thrown.
      if (!d.catch && cause === null) {
        cause = last!.cause;
        scope.failedBy = { by: 'delegation', scopeId: `${scope.scopeId}.${childSeq}` };
      }
      return d.catch;
    };

    const step = (st: PlanStep): boolean => {
      if ('leave' in st) {
        // Never in the roll-up, and not in `actions`: whether its tool runs at all depends on
        // whether Temporal started it before the run closed.
        scope.left += 1;
        return true;
      }
      if ('tool' in st) {
        if (st.tool === 'echo') {
          scope.actions.push({ kind: 'tool_call', name: 'echo', attempt: 1, status: 'success', targetScopeId: null });
          calls.push({ attempt: 1, ok: true });
          return true;
        }
        // A timed-out attempt is a failed one, whatever the tool did after.
        const failures = st.tool === 'flaky' ? st.failures : st.timeouts;
        const attempts = Math.min(failures + 1, PLAN_TOOL_ATTEMPTS);
        for (let a = 1; a <= attempts; a++) {
          scope.actions.push({ kind: 'tool_call', name: st.tool, attempt: a, status: a <= failures ? 'error' : 'success', targetScopeId: null, ...('local' in st && st.local ? { local: true as const } : {}) });
        }
        const ok = failures < PLAN_TOOL_ATTEMPTS;
        calls.push({ attempt: attempts, ok });
        if (!ok && !st.catch) {
          scope.ownFailure = 'tool';
          scope.failedBy = { by: 'call' };
          cause = { scopeId: scope.scopeId, by: 'tool' };
        }
        return ok || st.catch;
      }
      if ('delegate' in st) return delegation(st.delegate);
      // Every parallel delegation runs to its end; the first uncaught failure fails the scope after.
      return st.parallel.map(delegation).every(Boolean);
    };

    let goneOn = true;
    for (const st of plan.steps) {
      goneOn = step(st);
      if (!goneOn) break;
    }
    let handoff: Extract<Plan['end'], { handoff: PlanAgent }> | undefined;
    let value: string | null = null;
    let ownFailed = !goneOn;
    if (goneOn) {
      if (plan.failIn?.includes(scope.scopeId) || 'throw' in plan.end) {
        ownFailed = true;
        scope.ownFailure = 'throw';
        scope.failedBy = { by: 'self' };
        cause = { scopeId: scope.scopeId, by: 'throw' };
      } else if ('handoff' in plan.end) {
        handoff = plan.end;
        scope.actions.push({ kind: 'handoff', name: plan.end.handoff, attempt: 1, status: 'success', targetScopeId: null });
      } else {
        value = plan.end.return;
      }
    }
    const rolled = rollUp(ownFailed, slots, calls);
    scope.status = rolled.status;
    scope.recovered = rolled.recovered;
    return { outcome: { failed: ownFailed, cause: ownFailed ? cause : null, status: rolled.status, recovered: rolled.recovered, value }, handoff };
  };

  const root = runWorkflow(sessionId, plan, agent, { kind: 'root', parentScopeId: null, objective: null, depth: 0, path: `/${sessionId}/`, delegatedBy: null }, null);
  // A handoff action names the scope it hands to: the next scope of the same workflow.
  for (const scope of scopes.values()) {
    const handoff = scope.actions.find((a) => a.kind === 'handoff');
    if (handoff) handoff.targetScopeId = [...scopes.values()].find((s) => s.handoffFromScopeId === scope.scopeId)!.scopeId;
  }
  return { sessionId, agent, plan, scopes, result: root.failed ? null : root.value, cause: root.cause };
}

export interface PlanShape {
  /** Deepest delegation level. */
  maxDepth: number;
  /** Most handoffs in one chain. */
  maxHandoffs: number;
  /** Most steps in one plan. */
  maxSteps: number;
  /** Whether plans leave calls running (`leave` steps); their tools may finish after the session. */
  leave?: boolean;
  /** Whether some flaky calls are local activities. */
  local?: boolean;
}

/**
 * A random plan for a session. Scope ids are needed to make a delegation's first attempts
 * fail and a later one succeed, so the generator tracks them as the runtime assigns them.
 */
export function randomPlan(rnd: () => number, sessionId: string, shape: PlanShape): { agent: PlanAgent; plan: Plan } {
  let labels = 0;
  const label = (what: string) => `${what} #${++labels}`;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

  const plan = (scopeId: string, workflowId: string, depth: number, handoffs: number): Plan => {
    const steps: PlanStep[] = [];
    let childSeq = 0;
    const delegationTo = (attempts: number): PlanDelegation => {
      const agent = pick(PLAN_AGENTS);
      const first = childSeq + 1;
      childSeq += attempts;
      // The same plan runs in every attempt's scope; failIn picks the attempts that fail.
      const child = plan(`${scopeId}.${childSeq}`, `${scopeId}.${childSeq}`, depth + 1, 0);
      const failing = attempts > 1 ? Math.floor(rnd() * (attempts + 1)) : 0;
      const failIn = Array.from({ length: failing }, (_, i) => `${scopeId}.${first + i}`);
      // Only attempts that fail need a plan that can: the plan's own failures (a throw, a
      // tool call it does not catch) fail every attempt alike.
      if (failIn.length) child.failIn = failIn;
      return { agent, objective: label('objective'), plan: child, attempts, catch: rnd() < 0.6 };
    };
    const count = Math.floor(rnd() * (shape.maxSteps + 1));
    for (let i = 0; i < count; i++) {
      if (shape.leave && rnd() < 0.15) {
        steps.push({ leave: 200 + Math.floor(rnd() * (PLAN_LEAVE_MAX_MS - 200)), pause: rnd() < 0.7 });
        continue;
      }
      const r = rnd();
      if (depth < shape.maxDepth && r < 0.3) {
        steps.push({ delegate: delegationTo(rnd() < 0.35 ? 2 : 1) });
      } else if (depth < shape.maxDepth && r < 0.45) {
        steps.push({ parallel: Array.from({ length: 2 + Math.floor(rnd() * 2) }, () => delegationTo(1)) });
      } else if (r < 0.65) {
        steps.push({ tool: 'echo', text: label('text') });
      } else if (r < 0.88) {
        // 0: clean; 1..ATTEMPTS-1: recovers; ATTEMPTS: every attempt fails.
        const failures = Math.floor(rnd() * (PLAN_TOOL_ATTEMPTS + 1));
        const caught = rnd() < 0.7;
        steps.push({ tool: 'flaky', failures, catch: caught, ...(shape.local && rnd() < 0.4 ? { local: true } : {}) });
      } else {
        // The same, by timing out (each timed-out attempt costs a second).
        steps.push({ tool: 'overrun', timeouts: Math.floor(rnd() * (PLAN_TOOL_ATTEMPTS + 1)), catch: rnd() < 0.7 });
      }
    }
    const r = rnd();
    let end: Plan['end'];
    if (handoffs < shape.maxHandoffs && r < 0.25) {
      const index = handoffs + 1;
      end = { handoff: pick(PLAN_AGENTS), reason: label('reason'), plan: plan(`${workflowId}~${index}`, workflowId, depth, index) };
    } else if (r < 0.33) {
      end = { throw: label('planned failure') };
    } else {
      end = { return: label('result') };
    }
    return { steps, end };
  };
  return { agent: pick(PLAN_AGENTS), plan: plan(sessionId, sessionId, 0, 0) };
}
