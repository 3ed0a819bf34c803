/**
 * delegate(): a transfer of authority to another agent. It starts a child workflow
 * whose id is the new scope's id; the delegator waits for the result and stays in
 * control. The scope's context reaches the child through the outbound interceptor.
 */
import { ApplicationFailure, executeChild, isCancellation, type ChildWorkflowOptions } from '@temporalio/workflow';
import { childScopeId } from '../cim/ids';
import type { BudgetSpec } from '../cim/budget';
import { unwrapAgentResult } from '../cim/envelope';
import { agentNameOf, isKnownAgent, knownAgentNames, type AgentWorkflow } from './agent';
import { errorMessage, requireState } from './scope-state';
import { DELEGATE_OPTION_KEYS, delegateOptionsSchema } from '../cim/scope-context';
import { certainDelegateOptions } from '../cim/certain-context';
import { invalidField, unknownOption } from '../cim/invalid-field';
import { invalidChildDuration } from './child-options';
import { UNSENDABLE_DELEGATION_INPUT } from './sendable-result';

export interface DelegateOptions<I> {
  /** What the delegate is asked to achieve; stored on its scope. */
  objective: string;
  input: I;
  /** Narrow the delegate's allowance further than the delegator's own. */
  allowance?: string[];
  /** At most this many model turns, tokens and this much wall time for the delegate's subtree (never more than this scope has left). */
  budget?: BudgetSpec;
  /** Re-delegate after a failure, each attempt a new scope of the same slot. Default 1 (no retry). */
  attempts?: number;
  /** Extra child workflow options (task queue, timeouts, cancellation type). */
  workflowOptions?: Omit<ChildWorkflowOptions, 'workflowId' | 'args'>;
}

/** A delegation that failed after all its attempts; catch it to degrade gracefully. */
export class DelegationError extends ApplicationFailure {
  constructor(
    readonly agent: string,
    readonly scopeId: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(
      `delegation to ${agent} (scope ${scopeId}) failed after ${attempts} attempt(s): ${errorMessage(cause)}`,
      'DelegationError',
      true,
      [{ agent, scopeId, attempts }],
      cause instanceof Error ? cause : undefined,
    );
  }
}

export function delegate<I, O>(agent: AgentWorkflow<I, O> | string, options: DelegateOptions<I>): Promise<O> {
  const result = delegateOnce(agent, options);
  // A delegation nobody awaits is cancelled when its delegator's run ends (open-delegates.ts);
  // its failure is recorded, and must not fail the delegator's workflow task as an unhandled rejection.
  result.catch(() => undefined);
  return result;
}

async function delegateOnce<I, O>(
  agent: AgentWorkflow<I, O> | string,
  options: DelegateOptions<I>,
): Promise<O> {
  const agentName = typeof agent === 'string' ? agent : agentNameOf(agent);
  const unknown = unknownOption(`delegate to ${agentName}`, options, DELEGATE_OPTION_KEYS);
  if (unknown) throw unknown;
  // The common form is checked without zod, which every delegating workflow would build the schema for again.
  if (!certainDelegateOptions(options)) {
    const checked = delegateOptionsSchema().safeParse(options);
    if (!checked.success) throw new TypeError(invalidField(`delegate to ${agentName}`, checked.error, 'options'));
  }
  // Durations the SDK reads only when it starts the child: refused now, before an attempt is counted.
  const badDuration = invalidChildDuration(`delegate to ${agentName}`, options.workflowOptions ?? {});
  if (badDuration) throw badDuration;
  const st = requireState('delegate()');
  if (options.workflowOptions?.taskQueue === undefined && !isKnownAgent(agentName)) {
    // A child of a workflow type no worker of this queue has waits for one forever, and its
    // delegator with it. An agent served on another task queue is named with workflowOptions.taskQueue.
    throw new TypeError(
      `delegate: unknown agent "${agentName}"; this worker's agents are ${knownAgentNames().join(', ')} ` +
        `(for an agent of a worker on another task queue, give workflowOptions.taskQueue)`,
    );
  }
  const attempts = Math.max(1, Math.floor(options.attempts ?? 1));
  st.slotSeq += 1;
  const slot = `d${st.slotSeq}`;
  let lastError: unknown;
  let lastScopeId = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    st.childSeq += 1;
    const scopeId = childScopeId(st.ctx.scopeId, st.childSeq);
    lastScopeId = scopeId;
    st.pendingChildren.set(scopeId, {
      objective: options.objective,
      allowance: options.allowance ?? null,
      ...(options.budget ? { budget: options.budget } : {}),
      slot,
      attempt,
    });
    try {
      const result = await executeChild(agentName, {
        ...options.workflowOptions,
        workflowId: scopeId,
        args: [options.input],
      });
      // The interceptors hand over the agent's value; a bundle without them still gets the envelope.
      return unwrapAgentResult(result).value as O;
    } catch (err) {
      // Refused before it started (the interceptor's check of its input): no attempt was made, and another would be refused alike.
      if (isCancellation(err) || (err instanceof ApplicationFailure && err.type === UNSENDABLE_DELEGATION_INPUT)) throw err;
      lastError = err;
    }
  }
  throw new DelegationError(agentName, lastScopeId, attempts, lastError);
}
