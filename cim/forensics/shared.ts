/** Small helpers shared by the forensic rules. */
import { naturalCompare, naturalSort } from '../scope-tree';
import type { ActionRecord, ResourceMode, ScopeRecord } from '../schemas';

// shared helpers

export function ms(iso: string): number {
  return Date.parse(iso);
}

export function earlier(a: string, b: string): string {
  return ms(b) < ms(a) ? b : a;
}

export function later(a: string, b: string): string {
  return ms(b) > ms(a) ? b : a;
}

export function uniqueSorted(values: Iterable<string>, compare: (a: string, b: string) => number = naturalCompare): string[] {
  const unique = [...new Set(values)];
  return compare === naturalCompare ? naturalSort(unique) : unique.sort(compare);
}

/** Keeps first occurrences, in order: declaration order carries meaning in manifests. */
export function uniqueInOrder(values: Iterable<string>): string[] {
  return [...new Set(values)];
}

export function byStart(a: ScopeRecord, b: ScopeRecord): number {
  return ms(a.startedAt) - ms(b.startedAt) || naturalCompare(a.scopeId, b.scopeId);
}

/** Ended first first; a scope with no end (still running) last. */
export function byEnd(a: ScopeRecord, b: ScopeRecord): number {
  const end = (s: ScopeRecord) => (s.endedAt === null ? Number.POSITIVE_INFINITY : ms(s.endedAt));
  return end(a) - end(b) || byStart(a, b);
}

const MODE_ORDER: Record<ResourceMode, number> = { read: 0, write: 1, share: 2 };

/** Footprint order: by uri, then read < write < share. */
export function byResource(x: { uri: string; mode: ResourceMode }, y: { uri: string; mode: ResourceMode }): number {
  return x.uri < y.uri ? -1 : x.uri > y.uri ? 1 : MODE_ORDER[x.mode] - MODE_ORDER[y.mode];
}

export function plural(n: number, word: string): string {
  return n === 1 ? `once` : `${n} ${word}s`;
}

/** A refused action never ran: the allowance check stopped it before the tool body. */
export function isDenied(a: Pick<ActionRecord, 'status' | 'kind'>): boolean {
  return a.status === 'denied' || a.kind === 'denied';
}

/** An attempt failed when it ended in error or was refused; `cancelled` was stopped on purpose. */
export function isFailedAttempt(a: ActionRecord): boolean {
  return a.status === 'error' || a.status === 'denied';
}
