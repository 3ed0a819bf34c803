/**
 * The worker's place in a Temporal Worker Deployment: the deployment it belongs to and
 * the build it runs. A versioned worker only receives tasks of its own version, and a
 * pinned workflow stays on the version that started it, so an agent upgrade never
 * replays old histories on new code (see docs/deployment.md, "Upgrading agents while
 * sessions run").
 */
import type { WorkerOptions } from '@temporalio/worker';
import { z } from 'zod';
import type { ActionRecord } from '../cim/schemas';
import { DeploymentName } from '../cim/deployment-name';

export const DeploymentOption = z
  .object({
    /** The Worker Deployment's name: one per service (e.g. `research-agents`). */
    name: DeploymentName,
    /** This build of the agents' code (e.g. a git sha or `v2`). */
    buildId: z.string().min(1, 'give the build id of this worker').max(255),
    /**
     * How workflows on this worker move between versions. `PINNED` (the default): a
     * session stays on the build that started it, so agent code may change freely
     * between builds. `AUTO_UPGRADE`: runs move to the current version at their next
     * task, and the new code must replay the old histories (patching).
     */
    defaultVersioningBehavior: z.enum(['PINNED', 'AUTO_UPGRADE']).default('PINNED'),
  })
  .strict();
export type DeploymentOption = z.input<typeof DeploymentOption>;

/** The SDK's workerDeploymentOptions for a parsed deployment option. */
export function workerDeploymentOptions(d: z.output<typeof DeploymentOption>): NonNullable<WorkerOptions['workerDeploymentOptions']> {
  return {
    useWorkerVersioning: true,
    version: { deploymentName: d.name, buildId: d.buildId },
    defaultVersioningBehavior: d.defaultVersioningBehavior,
  };
}

/** What the records a worker writes itself (its activity attempts) say about it. */
export function workerIdentity(options: Pick<WorkerOptions, 'workerDeploymentOptions'>): Pick<ActionRecord, 'workerDeployment' | 'workerBuildId'> {
  const version = options.workerDeploymentOptions?.version;
  if (!version?.buildId || !version.deploymentName) return {};
  return { workerDeployment: version.deploymentName, workerBuildId: version.buildId };
}
