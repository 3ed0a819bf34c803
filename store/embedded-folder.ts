/**
 * What a folder named as the embedded store's holds. PGlite writes a Postgres data
 * directory, which PG_VERSION marks; given any other folder it writes one there, some
 * 40 MB among the files already in it. A store is only made in a folder that is new or empty.
 */
import { readdirSync, statSync } from 'node:fs';
import { ScopetrailConfigError } from '../cim/errors';

export type EmbeddedFolder = 'missing' | 'store' | 'empty' | 'not-a-folder' | 'other-files';

/** Files a desktop puts in any folder it shows: they do not make a folder someone's. */
const INCIDENTAL = new Set(['.DS_Store', 'Thumbs.db', 'desktop.ini']);

export function embeddedFolder(dir: string): EmbeddedFolder {
  let stat;
  try {
    stat = statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  if (!stat.isDirectory()) return 'not-a-folder';
  const entries = readdirSync(dir);
  if (entries.includes('PG_VERSION')) return 'store';
  return entries.every((e) => INCIDENTAL.has(e)) ? 'empty' : 'other-files';
}

export class EmbeddedFolderError extends ScopetrailConfigError {
  override name = 'EmbeddedFolderError';
  constructor(
    readonly dataDir: string,
    readonly found: 'not-a-folder' | 'other-files',
  ) {
    super(
      found === 'not-a-folder'
        ? `the embedded store's folder ${dataDir} is a file, not a folder: give a new or empty folder, or an existing store's`
        : `the embedded store's folder ${dataDir} holds other files and no store (no PG_VERSION): ` +
            "give a new or empty folder, or an existing store's, so a database is not written among them",
      'dataDir',
    );
  }
}

/** Refuses a folder a new store must not be written into; a store, an empty folder or none at all pass. */
export function checkEmbeddedFolder(dir: string): void {
  const found = embeddedFolder(dir);
  if (found === 'not-a-folder' || found === 'other-files') throw new EmbeddedFolderError(dir, found);
}
