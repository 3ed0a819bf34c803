/**
 * What a folder named as the embedded store's holds. PGlite writes a Postgres data
 * directory, which PG_VERSION marks; given any other folder it writes one there, some
 * 40 MB among the files already in it. A store is only made in a folder that is new or empty.
 */
import { readdirSync, statSync } from 'node:fs';
import { ScopetrailConfigError } from '../cim/errors';

export type EmbeddedFolder = 'missing' | 'store' | 'empty' | 'not-a-folder' | 'unfinished-store' | 'other-files';

/** Files a desktop puts in any folder it shows: they do not make a folder someone's. */
const INCIDENTAL = new Set(['.DS_Store', 'Thumbs.db', 'desktop.ini']);

/** The names a Postgres data directory holds, PG_VERSION aside. */
const DATA_DIRECTORY = /^(base|global|pg_[a-z_]+|postgresql(\.auto)?\.conf|postmaster\.(pid|opts))$/;

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
  if (entries.every((e) => INCIDENTAL.has(e))) return 'empty';
  // What a store's creation cut short leaves, where stores were made in place (before createStore in pglite.ts).
  const mine = entries.filter((e) => !INCIDENTAL.has(e));
  return mine.includes('base') && mine.every((e) => DATA_DIRECTORY.test(e)) ? 'unfinished-store' : 'other-files';
}

export class EmbeddedFolderError extends ScopetrailConfigError {
  override name = 'EmbeddedFolderError';
  constructor(
    readonly dataDir: string,
    readonly found: 'not-a-folder' | 'unfinished-store' | 'other-files',
  ) {
    super(
      found === 'not-a-folder'
        ? `the embedded store's folder ${dataDir} is a file, not a folder: give a new or empty folder, or an existing store's`
        : found === 'unfinished-store'
          ? `the embedded store's folder ${dataDir} holds part of a database and no PG_VERSION: a store whose creation was stopped before it finished. ` +
            'Nothing was recorded in it: delete the folder and start again'
          : `the embedded store's folder ${dataDir} holds other files and no store (no PG_VERSION): ` +
            "give a new or empty folder, or an existing store's, so a database is not written among them",
      'dataDir',
    );
  }
}

/** Refuses a folder a new store must not be written into; a store, an empty folder or none at all pass, and say which. */
export function checkEmbeddedFolder(dir: string): 'store' | 'empty' | 'missing' {
  const found = embeddedFolder(dir);
  if (found === 'not-a-folder' || found === 'unfinished-store' || found === 'other-files') throw new EmbeddedFolderError(dir, found);
  return found;
}
