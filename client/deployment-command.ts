/**
 * `scopetrail deployment set-current <name> <build>` and
 * `scopetrail deployment ramp <name> <build> <percent>`: move new sessions to a worker
 * build (a ramp of 0 ends the build's ramp). Running sessions are not moved: pinned ones finish
 * on the build that started them.
 */
import { Connection } from '@temporalio/client';
import { z } from 'zod';
import { CliUsageError, namespaceOf, type CommandContext } from './cli-context';
import { SetVersionOptions, setCurrentVersion, setRampingVersion, type SetVersionResult } from './deployment';

const Percent = z.coerce.number().min(0, 'use 0-100').max(100, 'use 0-100');
const WaitSeconds = z.coerce.number().int('use whole seconds').min(0).max(600);

export async function deploymentCommand(ctx: CommandContext): Promise<number> {
  const [action, name, buildId, percent, extra] = ctx.args;
  if (action !== 'set-current' && action !== 'ramp') {
    throw new CliUsageError(`give set-current or ramp after deployment${action === undefined ? '' : `, not ${JSON.stringify(action)}`}`);
  }
  if (name === undefined) throw new CliUsageError('missing argument <name>');
  if (buildId === undefined) throw new CliUsageError('missing argument <build>');
  if (action === 'ramp' && percent === undefined) throw new CliUsageError('missing argument <percent>');
  const unexpected = action === 'ramp' ? extra : percent;
  if (unexpected !== undefined) throw new CliUsageError(`unexpected argument "${unexpected}"`);
  // The rule every positional argument follows, in order.
  for (const [label, value] of [['<name>', name], ['<build>', buildId], ['<percent>', percent]] as const) {
    if (value !== undefined && (value === '' || /\s/.test(value) || value.length > 1000)) {
      throw new CliUsageError(`invalid ${label} ${JSON.stringify(value)}: ${value === '' ? 'must not be empty' : value.length > 1000 ? 'too long' : 'must not contain whitespace'}`);
    }
  }
  const percentage = action === 'ramp' ? Percent.safeParse(percent) : undefined;
  if (percentage && !percentage.success) throw new CliUsageError(`invalid <percent> "${percent}": ${percentage.error.issues[0]?.message}`);
  const waitFlag = typeof ctx.flags.wait === 'string' ? WaitSeconds.safeParse(ctx.flags.wait) : undefined;
  if (waitFlag && !waitFlag.success) throw new CliUsageError(`invalid --wait "${ctx.flags.wait}": ${waitFlag.error.issues[0]?.message}`);
  const options = SetVersionOptions.safeParse({
    namespace: namespaceOf(ctx),
    deploymentName: name,
    buildId,
    ...(percentage ? { percentage: percentage.data } : {}),
    ...(waitFlag ? { waitMs: waitFlag.data * 1000 } : {}),
  });
  if (!options.success) {
    const issue = options.error.issues[0];
    const key = String(issue?.path[0]);
    const field = { namespace: '--namespace', deploymentName: '<name>', buildId: '<build>' }[key] ?? 'argument';
    const given = { namespace: ctx.flags.namespace, deploymentName: name, buildId }[key];
    throw new CliUsageError(`invalid ${field}${given === undefined ? '' : ` ${JSON.stringify(given)}`}: ${issue?.message}`);
  }
  const address = (ctx.flags.address as string | undefined) ?? process.env.TEMPORAL_ADDRESS ?? 'localhost:7233';
  const connection = await Connection.connect({ address });
  try {
    const result = action === 'ramp' ? await setRampingVersion(connection, options.data) : await setCurrentVersion(connection, options.data);
    if (ctx.flags.json) ctx.out.log(JSON.stringify({ action, ...result, ...(percentage ? { percentage: percentage.data } : {}) }, null, 2));
    else ctx.out.log(describe(action, result, percentage?.data));
    return 0;
  } finally {
    await connection.close();
  }
}

function describe(action: 'set-current' | 'ramp', r: SetVersionResult, percentage: number | undefined): string {
  const was = r.previousBuildId ? ` (${action === 'ramp' ? 'ramping before' : 'was'}: ${r.previousBuildId})` : '';
  if (action === 'ramp' && percentage === 0) {
    return r.previousBuildId === r.buildId
      ? `Worker Deployment "${r.deploymentName}": build ${r.buildId} no longer ramps; new sessions start on the current build.`
      : `Worker Deployment "${r.deploymentName}": build ${r.buildId} was not ramping; nothing changed.`;
  }
  return action === 'ramp'
    ? `Worker Deployment "${r.deploymentName}": ${percentage}% of new sessions start on build ${r.buildId}${was}; running sessions stay where they are.`
    : `Worker Deployment "${r.deploymentName}": build ${r.buildId} is current${was}; new sessions start on it, pinned sessions finish on their own build.`;
}
