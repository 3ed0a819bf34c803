/** Small display helpers shared by the views. */

/**
 * A moment in UTC, marked so: the CLI prints UTC too, and a reader comparing the two
 * (or two readers in different zones) must not be off by their offset.
 */
export function when(iso: string | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Time of day in UTC with milliseconds: actions of one session are close together. Unmarked: where it is shown says UTC. */
export function clock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().slice(11, 23);
}

export function duration(startIso: string, endIso: string | null): string {
  if (!endIso) return 'running';
  const ms = Date.parse(endIso) - Date.parse(startIso);
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function percent(rate: number | null): string {
  if (rate === null) return '—';
  return `${Math.round(rate * 1000) / 10}%`;
}

/** The part of a scope id after its session id: `.1.1`, `~1`, or `root`. */
export function scopeSuffix(scopeId: string, sessionId: string): string {
  return scopeId === sessionId ? 'root' : scopeId.startsWith(sessionId) ? scopeId.slice(sessionId.length) : scopeId;
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Text from the store as a person should see it: objectives, names, errors and URIs come
 * from agents, models and tools, and a bidi override in one (U+202E) would show "evil"
 * as "live". The CLI's rule (client/visible-text.ts), so both show the same escapes.
 */
export { visible } from '../../client/visible-text';

/** `1 scope`, `2 scopes`: a count with its noun in the number it needs. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}
