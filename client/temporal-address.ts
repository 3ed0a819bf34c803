/**
 * The Temporal address the command line was given (--address, else TEMPORAL_ADDRESS), checked
 * before anything is opened. The SDK reads a bare word as a host name on its default port, so
 * a mistyped `--address notanaddress` became a DNS failure at run time: `sessions` even exited 0,
 * listing from the store with "Temporal did not answer". HOST:PORT is what help asks for.
 */
import { CliUsageError } from './cli-context';
import { temporalAddressProblem } from '../cim/temporal-address';

export { temporalAddressProblem };

/**
 * A usage error naming --address or TEMPORAL_ADDRESS when the one that applies is not HOST:PORT,
 * undefined when it is or neither is set (the default, localhost:7233, applies).
 */
export function temporalAddressError(flagValue: unknown, env: NodeJS.ProcessEnv = process.env): CliUsageError | undefined {
  const fromFlag = typeof flagValue === 'string';
  const address = fromFlag ? flagValue : env.TEMPORAL_ADDRESS;
  if (address === undefined) return undefined;
  const problem = temporalAddressProblem(address);
  if (problem === undefined) return undefined;
  const name = fromFlag ? '--address' : 'TEMPORAL_ADDRESS (from the environment)';
  return new CliUsageError(
    `invalid ${name} ${JSON.stringify(address)}: ${problem}; give the Temporal server as HOST:PORT, e.g. localhost:7233`,
    fromFlag ? '--address' : 'TEMPORAL_ADDRESS',
  );
}
