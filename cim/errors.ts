/**
 * The base of every error scopetrail raises on purpose. Each subclass sets a stable
 * `name`, so `err.name` works where `instanceof` cannot (two copies of the package in
 * one process, errors that crossed a worker thread), and `field` names the offending
 * option, argument or variable when there is one.
 */
export class ScopetrailError extends Error {
  override name = 'ScopetrailError';
  readonly field: string | null;

  constructor(message: string, field: string | null = null) {
    super(message);
    this.field = field;
  }
}

/** A worker, plugin or store was configured with a value it cannot run with. */
export class ScopetrailConfigError extends ScopetrailError {
  override name = 'ScopetrailConfigError';
}
