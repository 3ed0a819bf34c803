/**
 * Forensics: the questions the client answers about recorded sessions — root cause,
 * footprint, "was R touched?", roles, drift, timeline and a session summary —
 * computed from CIM rows alone. Everything here is pure (no I/O, no clock), so the
 * store can hand over rows and the CLI, the client and the tests all get the same
 * answer from the same rows.
 *
 * Conventions shared by every function:
 * - Times are compared as instants (`Date.parse`), never as strings: the schema
 *   accepts ISO times with any UTC offset, and `…+01:00` does not sort lexically.
 * - Scope and action ids are ordered naturally (`s.2` before `s.10`, `s/w2` before
 *   `s/w10`), so ties come out in the order things were created.
 * - Rows are taken as given. A row that points at a missing row (a parent scope that
 *   was never written, say) ends a walk instead of failing it: finding such gaps is
 *   `reconcile`'s job, and a partial answer is more useful than none.
 */
export * from './calls';
export * from './root-cause';
export * from './delegations';
export * from './footprint';
export * from './outside-allowance';
export * from './roles';
export * from './drift';
export * from './timeline';
export * from './summary';
export * from './usage';
export * from './receipts';
