/**
 * The plugin's `spool` option, checked when the worker is configured rather than at the first
 * outage. A bound that is not a positive number of bytes either refuses every batch (-1: the
 * worker holds its work as soon as the store goes away) or, compared as NaN, never fills
 * ('100MB': no bound at all); and a folder that cannot be made would only fail once records
 * need it.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { z } from 'zod';
import { ScopetrailConfigError } from '../cim/errors';
import type { SpoolOptions } from './spool';

export const SPOOL_OPTION_KEYS = ['dir', 'maxBytes', 'segmentBytes', 'leaseMs', 'adoptFrom'] as const satisfies ReadonlyArray<keyof SpoolOptions>;

function bytes(what: string) {
  return z
    .number({ error: `give ${what} as a number of bytes (e.g. 256 * 1024 * 1024), not a string` })
    .int(`give ${what} as a whole number of bytes`)
    .positive(`give ${what} as a positive number of bytes`);
}

// Checked as the object unless it is `false`, so an error names the field inside it (`spool.maxBytes`).
export const SpoolOption = z.preprocess(
  (v) => (v === false ? undefined : v),
  z
    .object(
      {
        dir: z.string().min(1, 'give the folder records wait in while the store is down, or leave dir out for the default').optional(),
        maxBytes: bytes('the most the spool may hold').optional(),
        segmentBytes: bytes('the size of a spool file').optional(),
        leaseMs: z.number().int().min(100).max(3_600_000).optional(),
        adoptFrom: z.array(z.string().min(1)).optional(),
      } satisfies Record<(typeof SPOOL_OPTION_KEYS)[number], z.ZodType>,
      { error: 'give { dir, maxBytes } or false' },
    )
    .strict()
    .optional(),
);

/**
 * Makes the spool's folder now, so a path that is a file, or a folder this worker cannot
 * write, is refused at the start naming the option rather than failing the first outage.
 */
export function ensureSpoolDir(dir: string, context: string): void {
  const problem = spoolDirProblem(dir);
  if (problem === undefined) return;
  throw new ScopetrailConfigError(
    `${context}: invalid field "spool.dir": cannot use ${dir} as the spool's folder (${problem}); give a folder this worker can create and write`,
    'spool.dir',
  );
}

/** Why `dir` cannot hold a spool (made if missing), or undefined when it can. */
export function spoolDirProblem(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK | constants.X_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : (err as Error).message;
  }
}
