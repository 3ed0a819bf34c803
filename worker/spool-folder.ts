/**
 * Where a worker spools: one folder per namespace, task queue and store. Records spooled
 * for one store must never be drained into another, and two workers on one machine may
 * share a namespace and a queue name while writing to different databases or schemas
 * (a test and a development worker, say). Earlier versions named the folder without the
 * store; a worker takes over what such a folder holds (worker/spool.ts, `adoptFrom`).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../store/types';

export interface SpoolFolder {
  dir: string;
  /** The folder an earlier version used for this namespace and queue, when it exists. */
  earlier?: string;
}

export function spoolFolder(base: string, namespace: string, taskQueue: string, store: Pick<Store, 'location' | 'description'>): SpoolFolder {
  const named = `${safeName(namespace)}--${safeName(taskQueue)}`;
  const earlier = join(base, named);
  return { dir: join(base, `${named}--${storeKey(store)}`), ...(existsSync(earlier) ? { earlier } : {}) };
}

/** 12 hex digits naming the store's tables (Store.location), the same for every worker configured alike. */
export function storeKey(store: Pick<Store, 'location' | 'description'>): string {
  return createHash('sha256').update(store.location ?? store.description).digest('hex').slice(0, 12);
}

/** The store key a spool folder's name ends with, if it has one (folders of earlier versions do not). */
export function folderStoreKey(folderName: string): string | undefined {
  return /--([0-9a-f]{12})$/.exec(folderName)?.[1];
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_');
}
