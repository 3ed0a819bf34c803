/**
 * An agent runs only on a worker that records it. A bundle built with the plugin
 * (`bundleAgents`, `bundleWorkflowCode({ plugins })`) carries scopetrail's workflow code and
 * interceptors, but the recording is the worker's: its sinks, its activity interceptor and
 * its store. Given to a `Worker.create` without the plugin, such a bundle used to run every
 * agent to its end with nothing recorded and nothing said: the SDK drops calls to sinks it
 * has no function for, and tools ran without the interceptor that attributes them.
 *
 * The plugin always registers the model call activities (`llm`, `llm.generate`), and the
 * SDK tells each workflow which activity types its worker registered. Without them the
 * agent's first task fails, naming what to do; Temporal retries the task, so the session
 * waits, unrecorded and not run, until a worker with the plugin takes it. A replay (a
 * history replayed, or a run brought back into a worker's cache) does not check: whatever
 * it re-emits was recorded when the task first ran.
 */
import { workflowInfo } from '@temporalio/workflow';
import { maybeGetActivator } from '@temporalio/workflow/lib/global-attributes';
import { LLM_ACTIVITY, MODEL_STEP_ACTIVITY } from '../cim/names';

export class NoScopetrailPluginError extends Error {
  constructor(agent: string, taskQueue: string) {
    super(
      `agent ${agent} runs on a worker of task queue ${JSON.stringify(taskQueue)} without the ScopetrailPlugin: nothing it does would be recorded, ` +
        `so it does not run there. Give that worker the plugin (Worker.create({ plugins: [new ScopetrailPlugin({ store, tools })] }), or use createWorker); ` +
        `the session waits, and runs once a worker with the plugin takes its task`,
    );
    this.name = 'NoScopetrailPluginError';
  }
}

/** Throws NoScopetrailPluginError when the worker running this agent's first task has no plugin. */
export function requireRecordingWorker(agent: string): void {
  const info = workflowInfo();
  if (info.unsafe.isReplaying) return;
  // The set comes from the worker's own realm: looked at by its methods, not by `instanceof`.
  const registered = (maybeGetActivator() as { registeredActivityNames?: { has?: (name: string) => boolean } } | undefined)?.registeredActivityNames;
  // An SDK that does not say which activities its worker registered cannot be held to this.
  if (typeof registered?.has !== 'function') return;
  if (registered.has(LLM_ACTIVITY) && registered.has(MODEL_STEP_ACTIVITY)) return;
  throw new NoScopetrailPluginError(agent, info.taskQueue);
}
