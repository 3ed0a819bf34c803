/**
 * Records a tool's worker could only spool (see ToolRelay in cim/envelope.ts), written
 * again through this workflow's worker. Its scope's end goes the same way, after them,
 * so the store holds them before the end that lets the scope be sealed. The tool's
 * worker moves its own copy into the store later: the same row, with the same content.
 */
import type { ToolRelay } from '../cim/envelope';
import { emitRelay } from './scope-state';

export function relaySpooled(relay: ToolRelay | undefined): void {
  if (relay && (relay.actions?.length || relay.gaps?.length)) emitRelay(relay);
}
