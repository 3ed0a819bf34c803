/** The workload with plain Temporal APIs: no scopetrail, used bare and with the OpenTelemetry interceptors. */
import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { PlainTools } from './plain-tools';
import { SHORT_TOOLS, TREE } from './shape';

const { lookup } = proxyActivities<PlainTools>({ startToCloseTimeout: '1 minute' });

export async function plainAgent(level: number, query: string): Promise<string> {
  const shape = TREE[level]!;
  const found: string[] = [];
  for (let i = 0; i < shape.tools; i++) found.push(await lookup(`${query}/${level}/${i}`));
  const children = await Promise.all(
    Array.from({ length: shape.children }, (_, n) =>
      executeChild(plainAgent, { args: [level + 1, `${query}.${n + 1}`], workflowId: `${workflowInfo().workflowId}.${n + 1}` }),
    ),
  );
  return [...found, ...children].join(',').slice(0, 200);
}

export async function plainShort(query: string): Promise<string> {
  const found: string[] = [];
  for (let i = 0; i < SHORT_TOOLS; i++) found.push(await lookup(`${query}/${i}`));
  return found.join(',');
}
