/**
 * A Temporal server's address, checked where it is given (an option, TEMPORAL_ADDRESS)
 * rather than left to the SDK, whose refusal of a malformed one is a TypeError naming no
 * option, and which reads a mistyped word as a host name to look up. The command line asks
 * for HOST:PORT; the API also takes a bare host, to which the SDK adds port 7233.
 */
import { z } from 'zod';
import { InvalidOptionError } from './invalid-field';

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

/** An address option of the API: HOST:PORT, or a host alone. */
export const TemporalAddressOption = z.string().superRefine((address, ctx) => {
  const problem = apiAddressProblem(address);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

function apiAddressProblem(address: string): string | undefined {
  let problem = temporalAddressProblem(address);
  // A host alone is taken, if it is a host: the SDK adds its default port.
  if (problem === 'it has no port') problem = temporalAddressProblem(`${address}:7233`);
  return problem && `${problem}; give the Temporal server as HOST:PORT, e.g. localhost:7233`;
}

/**
 * The address TEMPORAL_ADDRESS names, or undefined when it is unset or empty. `context`
 * begins the message of the InvalidOptionError (field TEMPORAL_ADDRESS) a bad value throws.
 */
export function addressFromEnv(context: string, env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  const value = env.TEMPORAL_ADDRESS;
  if (value === undefined || value === '') return undefined;
  const problem = apiAddressProblem(value);
  if (problem) throw new InvalidOptionError(`${context}: invalid TEMPORAL_ADDRESS (from the environment) ${JSON.stringify(value)}: ${problem}`, 'TEMPORAL_ADDRESS');
  return value;
}
