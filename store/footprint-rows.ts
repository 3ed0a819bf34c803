/**
 * What a footprint reads of the actions under a scope: of each row only the fields the
 * footprint counts (cim/forensics FootprintAction), and the refused actions whole, since
 * the report lists them. A wide scope's footprint so moves about half the bytes of
 * actionsUnder, and every field it uses is still validated (a row written by anyone but
 * scopetrail is an error naming the field, as with any read).
 */
import { ActionRecord } from '../cim/schemas';
import type { FootprintAction } from '../cim/forensics/footprint';
import { certainFootprintAction, type FootprintInput } from './row-check';
import { ACTION_COLUMNS, invalidRow, json, readAction } from './rows';
import { isoTime } from './row-times';

export interface FootprintRows {
  /** The actions footprint counts, with the fields it reads. */
  actions: FootprintAction[];
  /** The refused ones, whole (footprint leaves them out, the report lists them). */
  denied: ActionRecord[];
}

const FOOTPRINT_COLUMNS = ['action_id', 'scope_id', 'session_id', 'agent', 'kind', 'name', 'resources', 'status', 'started_at', 'ended_at'];
/** The record's other columns, read only for a refused action (one JSON text, so the others carry one null instead of a dozen). */
const REFUSED_COLUMNS = ACTION_COLUMNS.filter((c) => c !== 'session_started_at' && !FOOTPRINT_COLUMNS.includes(c));

const FootprintActionRecord = ActionRecord.pick({
  actionId: true, scopeId: true, sessionId: true, agent: true, kind: true, name: true, resources: true, status: true, startedAt: true, endedAt: true,
});

/** The select list of the footprint's read of actions aliased `a` (times as text, see row-times.ts). */
export function footprintReadColumns(a: string): string {
  const refused = `${a}.status = 'denied' OR ${a}.kind = 'denied'`;
  return [
    ...FOOTPRINT_COLUMNS.map((c) => (c === 'started_at' || c === 'ended_at' ? `${a}.${c}::text AS ${c}` : `${a}.${c}`)),
    `CASE WHEN ${refused} THEN json_build_object(${REFUSED_COLUMNS.map((c) => `'${c}', ${a}.${c}`).join(', ')})::text END AS refused`,
  ].join(', ');
}

export function readFootprintRows(rows: ReadonlyArray<Record<string, unknown>>): FootprintRows {
  const actions: FootprintAction[] = [];
  const denied: ActionRecord[] = [];
  for (const row of rows) {
    if (typeof row.refused === 'string') {
      // The other columns as their JSON gives them: text, the attempt's number, the attributes' object.
      denied.push(readAction({ ...row, ...(JSON.parse(row.refused) as Record<string, unknown>) }));
    } else {
      actions.push(readFootprintAction(row));
    }
  }
  return { actions, denied };
}

function readFootprintAction(row: Record<string, unknown>): FootprintAction {
  const input: FootprintInput = {
    actionId: row.action_id,
    scopeId: row.scope_id,
    sessionId: row.session_id,
    agent: row.agent,
    kind: row.kind,
    name: row.name,
    resources: json(row.resources),
    status: row.status,
    startedAt: isoTime(row.started_at),
    endedAt: isoTime(row.ended_at),
  };
  const certain = certainFootprintAction(input);
  if (certain) return certain;
  const parsed = FootprintActionRecord.safeParse(input);
  if (!parsed.success) throw invalidRow('actions', row.action_id, row, parsed.error);
  return parsed.data;
}
