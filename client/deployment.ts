/**
 * Moving a Worker Deployment to a new build: make a version current (new sessions start
 * on it) or ramping (a share of them does). Sessions already running stay where their
 * versioning behaviour puts them — pinned ones on the build that started them.
 */
import type { Connection } from '@temporalio/client';
import { z } from 'zod';
import { ScopetrailError } from '../cim/errors';
import { parse, printableText } from './arguments';
import { DeploymentName } from '../cim/deployment-name';

export const SetVersionOptions = z.object({
  namespace: printableText(1000).default('default'),
  deploymentName: printableText(255).pipe(DeploymentName),
  buildId: printableText(255),
  /** For a ramp: the share of new sessions that start on this build, 0-100. */
  percentage: z.number().min(0).max(100).optional(),
  /**
   * A version exists once one of its workers has polled; until then the server refuses
   * it. Wait this long for the workers to appear (default 30 s).
   */
  waitMs: z.number().int().min(0).max(600_000).default(30_000),
  identity: printableText(200).default('scopetrail'),
});

const GRPC_NOT_FOUND = 5;
const GRPC_FAILED_PRECONDITION = 9;

export class DeploymentVersionError extends ScopetrailError {
  override name = 'DeploymentVersionError';
}

export interface SetVersionResult {
  deploymentName: string;
  buildId: string;
  /** The build that was current (or ramping) before, if any. */
  previousBuildId: string | null;
}

/** Makes `buildId` the current version of the deployment: every new session starts on it. */
export async function setCurrentVersion(connection: Connection, options: z.input<typeof SetVersionOptions>): Promise<SetVersionResult> {
  const o = parse('setCurrentVersion', SetVersionOptions, options);
  const res = await untilVersionExists(o, () =>
    connection.workflowService.setWorkerDeploymentCurrentVersion({
      namespace: o.namespace,
      deploymentName: o.deploymentName,
      buildId: o.buildId,
      identity: o.identity,
    }),
  );
  return { deploymentName: o.deploymentName, buildId: o.buildId, previousBuildId: res.previousDeploymentVersion?.buildId || null };
}

/** Sends `percentage` % of new sessions to `buildId` while the current version takes the rest. */
export async function setRampingVersion(connection: Connection, options: z.input<typeof SetVersionOptions>): Promise<SetVersionResult> {
  const o = parse('setRampingVersion', SetVersionOptions, options);
  if (o.percentage === undefined) throw new DeploymentVersionError('setRampingVersion: give the percentage of new sessions (0-100)', 'percentage');
  const res = await untilVersionExists(o, () =>
    connection.workflowService.setWorkerDeploymentRampingVersion({
      namespace: o.namespace,
      deploymentName: o.deploymentName,
      buildId: o.buildId,
      percentage: o.percentage,
      identity: o.identity,
    }),
  );
  return { deploymentName: o.deploymentName, buildId: o.buildId, previousBuildId: res.previousDeploymentVersion?.buildId || null };
}

async function untilVersionExists<T>(o: z.output<typeof SetVersionOptions>, call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + o.waitMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      const code = (err as { code?: number }).code;
      const notYet = code === GRPC_NOT_FOUND || code === GRPC_FAILED_PRECONDITION;
      if (!notYet || Date.now() >= deadline) {
        throw new DeploymentVersionError(
          `version ${o.buildId} of Worker Deployment "${o.deploymentName}" in namespace "${o.namespace}" could not be set: ` +
            `${(err as Error).message}${notYet ? ' (start a worker with this deployment and build id first)' : ''}`,
          'buildId',
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
