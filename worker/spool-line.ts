/**
 * Reading a spool line back. The spool is a file on disk a person or a broken disk may
 * have changed, so a line is checked like any other input before it reaches the store:
 * a line that is not a batch is rejected whole, a record that is not a valid record is
 * rejected alone (the rest of its batch still counts).
 */
import { z } from 'zod';
import { ActionRecord, ScopeRecord } from '../cim/schemas';
import { FingerprintRecord } from '../store/fingerprint-store';
import { invalidField } from '../cim/invalid-field';
import type { RecordBatch } from './recorder';

const PayloadRecord = z.object({
  namespace: z.string().min(1),
  actionId: z.string().min(1),
  side: z.enum(['input', 'output']),
  body: z.unknown(),
});

const ROW_SCHEMAS = {
  scopes: ScopeRecord,
  actions: ActionRecord,
  payloads: PayloadRecord,
  gaps: ActionRecord,
  fingerprints: FingerprintRecord,
} as const;

const BatchShape = z
  .object({
    scopes: z.array(z.unknown()).optional(),
    actions: z.array(z.unknown()).optional(),
    payloads: z.array(z.unknown()).optional(),
    gaps: z.array(z.unknown()).optional(),
    fingerprints: z.array(z.unknown()).optional(),
  })
  .strict();

export type SpoolLine =
  | { ok: true; batch: RecordBatch; rejected: Array<{ record: unknown; reason: string }> }
  | { ok: false; reason: string };

export function parseSpoolLine(text: string): SpoolLine {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON (${(err as Error).message})` };
  }
  const shape = BatchShape.safeParse(json);
  if (!shape.success) return { ok: false, reason: invalidField('spool line', shape.error, 'line') };
  const batch: Record<string, unknown[]> = {};
  const rejected: Array<{ record: unknown; reason: string }> = [];
  for (const key of Object.keys(ROW_SCHEMAS) as Array<keyof typeof ROW_SCHEMAS>) {
    const rows = shape.data[key];
    if (!rows) continue;
    batch[key] = [];
    for (const [i, row] of rows.entries()) {
      const parsed = ROW_SCHEMAS[key].safeParse(row);
      if (parsed.success) batch[key]!.push(parsed.data);
      else rejected.push({ record: row, reason: invalidField(`spool line ${key}[${i}]`, parsed.error, 'record') });
    }
  }
  return { ok: true, batch: batch as RecordBatch, rejected };
}
