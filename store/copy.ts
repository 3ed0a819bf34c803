/**
 * `COPY ... FROM STDIN` in text format: Postgres's fastest way in. The store stages
 * large batches with it, and the benchmarks use it as the baseline and to load data.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** The characters COPY's text format escapes, and how. */
const SPECIAL = /[\\\t\n\r]/;
const SPECIALS = /[\\\t\n\r]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function field(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  const text = typeof value === 'string' ? value : typeof value === 'boolean' || typeof value === 'number' ? String(value) : JSON.stringify(value);
  // Most fields have nothing to escape: testing first costs a third of always replacing.
  return SPECIAL.test(text) ? text.replace(SPECIALS, (c) => ESCAPED[c]!) : text;
}

export function copyLine(row: readonly unknown[]): string {
  if (row.length === 0) return '\n';
  let line = field(row[0]);
  for (let i = 1; i < row.length; i++) line += `\t${field(row[i])}`;
  return `${line}\n`;
}

/** Streams rows (already in column order) into `table` with one COPY. */
export async function copyRows(client: pg.ClientBase, table: string, columns: readonly string[], rows: Iterable<readonly unknown[]>): Promise<void> {
  const sink = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  async function* lines() {
    let buffer = '';
    for (const row of rows) {
      buffer += copyLine(row);
      if (buffer.length > 1 << 16) {
        yield buffer;
        buffer = '';
      }
    }
    if (buffer) yield buffer;
  }
  await pipeline(Readable.from(lines()), sink);
}
