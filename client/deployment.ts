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

/**
 * Sends `percentage` % of new sessions to `buildId` while the current version takes the rest.
 * 0 clears the ramp of `buildId` (a version ramping at 0% stays listed as ramping until cleared).
 */
export async function setRampingVersion(connection: Connection, options: z.input<typeof SetVersionOptions>): Promise<SetVersionResult> {
  const o = parse('setRampingVersion', SetVersionOptions, options);
  if (o.percentage === undefined) throw new DeploymentVersionError('setRampingVersion: give the percentage of new sessions (0-100)', 'percentage');
  const routing = await routingOf(connection, o);
  if (routing?.current === o.buildId) {
    throw new DeploymentVersionError(
      `build ${o.buildId} is already the current version of Worker Deployment "${o.deploymentName}": every new session starts on it; ` +
        'ramp a build that is not current, or make another build current first',
      'buildId',
    );
  }
  if (o.percentage === 0) return clearRamp(connection, o, routing?.ramping ?? null);
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

/** No build ramps after this; clearing a build that does not ramp changes nothing, and another build's ramp is left alone. */
async function clearRamp(connection: Connection, o: z.output<typeof SetVersionOptions>, ramping: string | null): Promise<SetVersionResult> {
  const unchanged = { deploymentName: o.deploymentName, buildId: o.buildId, previousBuildId: ramping };
  if (ramping === null) return unchanged;
  if (ramping !== o.buildId) {
    throw new DeploymentVersionError(
      `build ${o.buildId} of Worker Deployment "${o.deploymentName}" is not ramping, build ${ramping} is: nothing of ${o.buildId}'s to clear ` +
        `(deployment ramp ${o.deploymentName} ${ramping} 0 clears that one)`,
      'buildId',
    );
  }
  // An empty build id with 0% is how the API unsets the ramping version.
  await connection.workflowService.setWorkerDeploymentRampingVersion({
    namespace: o.namespace,
    deploymentName: o.deploymentName,
    buildId: '',
    percentage: 0,
    identity: o.identity,
  });
  return unchanged;
}

interface Routing {
  current: string | null;
  ramping: string | null;
}

/** Where new sessions go now; undefined when the deployment does not exist yet. */
async function routingOf(connection: Connection, o: z.output<typeof SetVersionOptions>): Promise<Routing | undefined> {
  try {
    const res = await connection.workflowService.describeWorkerDeployment({ namespace: o.namespace, deploymentName: o.deploymentName });
    const info = res.workerDeploymentInfo;
    return {
      current: info?.routingConfig?.currentDeploymentVersion?.buildId || null,
      ramping: info?.routingConfig?.rampingDeploymentVersion?.buildId || null,
    };
  } catch (err) {
    if ((err as { code?: number }).code === GRPC_NOT_FOUND) return undefined;
    throw err;
  }
}

/**
 * Calls until the server takes it. The server refuses a version it does not know (no worker
 * of it has polled yet) or whose workers no longer poll: that refusal is waited out and, past
 * the wait, said with what to do. Any other refusal is said at once, as the server put it.
 */
async function untilVersionExists<T>(o: z.output<typeof SetVersionOptions>, call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + o.waitMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      const code = (err as { code?: number }).code;
      const notYet = code === GRPC_NOT_FOUND || (code === GRPC_FAILED_PRECONDITION && /poller/i.test((err as Error).message));
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
