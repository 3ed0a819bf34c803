/**
 * TEMPORAL_NAMESPACE, the namespace wherever TEMPORAL_ADDRESS is the address: openStore,
 * ScopeClient.connect, createWorker and the CLI take it when no namespace is given (an
 * explicit option or --namespace wins). Unset or empty, they use `default`. A value Temporal
 * could never hold as a namespace name is refused by its name rather than passed on.
 */
import { InvalidOptionError } from './invalid-field';

export const DEFAULT_NAMESPACE = 'default';

/** Why `value` is no namespace name, or undefined when it is one. */
export function namespaceNameProblem(value: string): string | undefined {
  if (value.length > 255) return 'too long (a namespace name has at most 255 characters)';
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(value)) return 'a namespace name has no spaces or control characters';
  return undefined;
}

/**
 * The namespace TEMPORAL_NAMESPACE names, or undefined when it is unset or empty. `context`
 * begins the message of the InvalidOptionError (field TEMPORAL_NAMESPACE) a bad value throws.
 */
export function namespaceFromEnv(context: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const value = env.TEMPORAL_NAMESPACE;
  if (value === undefined || value === '') return undefined;
  const problem = namespaceNameProblem(value);
  if (problem) {
    throw new InvalidOptionError(`${context}: invalid TEMPORAL_NAMESPACE (from the environment) ${JSON.stringify(value)}: ${problem}`, 'TEMPORAL_NAMESPACE');
  }
  return value;
}
