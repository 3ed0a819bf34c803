import { typedLengthChecks } from './typed-length-checks';

/**
 * A schema built the first time it is asked for. Every workflow evaluates the modules it
 * imports again (schemas cannot be shared between workflows, see
 * workflows/sandbox-preload.ts), and most workflows use few of the schemas workflow code
 * may need: a root agent reads no scope header, few runs receive a handoff.
 *
 * Each is built with length checks that respect its type (cim/typed-length-checks.ts).
 */
export function lazySchema<T>(build: () => T): () => T {
  let schema: T | undefined;
  return () => (schema ??= typedLengthChecks(build()));
}
