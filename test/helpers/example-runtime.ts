/** A test runtime running the example agents (examples/agents.ts) with their tools and scripted LLM. */
import { createExampleTools, type ExampleToolOptions } from '../../examples/tools';
import { exampleLlm } from '../../examples/llm-script';
import { orchestrator } from '../../examples/agents';
import { startTestRuntime, type TestRuntime } from './runtime';

type RuntimeOptions = Omit<Parameters<typeof startTestRuntime>[0], 'agents' | 'tools'>;

export async function startExampleRuntime(
  options: RuntimeOptions & { toolOptions?: ExampleToolOptions } = {},
): Promise<TestRuntime & { searchLog: ReturnType<typeof createExampleTools>['searchLog'] }> {
  const { toolOptions, ...rest } = options;
  const { tools, searchLog } = createExampleTools({ latencyMs: 50, ...toolOptions });
  const rt = await startTestRuntime({ agents: require.resolve('../../examples/agents'), tools: Object.values(tools), llm: exampleLlm(), ...rest });
  return Object.assign(rt, { searchLog });
}

/** Runs one example session to its end and waits until its records are committed. */
export async function runExampleSession(
  rt: TestRuntime,
  question: string,
  objective?: string,
): Promise<{ sessionId: string; result: unknown }> {
  const s = await rt.client.startSession(orchestrator, { input: { question }, objective });
  const result = await s.result();
  await rt.worker.recorder.drain();
  return { sessionId: s.sessionId, result };
}
