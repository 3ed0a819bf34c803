/**
 * The Temporal address the command line was given (--address, else TEMPORAL_ADDRESS), checked
 * before anything is opened. The SDK reads a bare word as a host name on its default port, so
 * a mistyped `--address notanaddress` became a DNS failure at run time: `sessions` even exited 0,
 * listing from the store with "Temporal did not answer". HOST:PORT is what help asks for.
 */
import { CliUsageError } from './cli-context';

const HOST = /^(?:\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?\]|[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?)$/;

/** What is wrong with `address` as a Temporal server's HOST:PORT, or undefined when nothing is. */
export function temporalAddressProblem(address: string): string | undefined {
  if (address.trim() === '') return 'it is empty';
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(address)) return 'give HOST:PORT without a scheme';
  const colon = address.lastIndexOf(':');
  // A bracketed IPv6 host holds colons of its own: the port's is the one after the bracket.
  if (colon === -1 || (address.startsWith('[') && colon < address.indexOf(']'))) return 'it has no port';
  const host = address.slice(0, colon);
  const port = address.slice(colon + 1);
  if (!HOST.test(host)) return host === '' ? 'it has no host' : `${JSON.stringify(host)} is not a host name or IP address`;
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65_535) return `${JSON.stringify(port)} is not a port (1 to 65535)`;
  return undefined;
}

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
