/**
 * Reads sessions from the store with their hash chains and turns them into OCSF events
 * (cim/ocsf.ts), one JSON line each. Every event is checked against the vendored
 * definitions before it is written, so a consumer never receives one that does not
 * validate.
 */
import { ScopetrailError } from '../cim/errors';
import { scopeToOcsfEvents, type OcsfEvent, type OcsfMappingOptions, type OcsfScopeInput } from '../cim/ocsf';
import { validateOcsfEvent } from '../cim/ocsf-validate';
import type { SessionChains, StoredChain, Store } from '../store/types';
import { UnknownIdError } from './arguments';
import { sha256Hex } from './otel-export';
import { ownPackage } from './own-package';

const { version } = ownPackage();

/** Sessions read for one `--since` export or one poll of a tail. */
export const SESSION_PAGE = 100_000;

export class OcsfExportError extends ScopetrailError {
  override name = 'OcsfExportError';
}

export interface OcsfExportSummary {
  sessions: number;
  events: number;
  /** Rows that do not parse as CIM records, left out (verify names them). */
  invalidRows: number;
}

export function ocsfMappingOptions(now = new Date().toISOString()): OcsfMappingOptions {
  return { hash: sha256Hex, productVersion: version, now };
}

/** A scope's chain counts as sealed when it ended and the store wrote its chain fields. */
export function isSealed(chain: StoredChain): boolean {
  return chain.scope.status !== 'running' && chain.chainLength !== null && chain.scopeHash !== null;
}

export function ocsfInput(chain: StoredChain): OcsfScopeInput {
  const sealed = isSealed(chain);
  return {
    scope: chain.scope,
    actions: chain.actions.map((a) => ({
      record: a.record,
      link: sealed && a.seq !== null && a.prevHash !== null && a.hash !== null ? { seq: a.seq, prevHash: a.prevHash, hash: a.hash } : null,
    })),
  };
}

/** Scopes in start order, as the export writes them. */
export function scopesInOrder(chains: SessionChains): StoredChain[] {
  return [...chains.chains].sort(
    (a, b) => Date.parse(a.scope.startedAt) - Date.parse(b.scope.startedAt) || (a.scope.scopeId < b.scope.scopeId ? -1 : 1),
  );
}

/** The events of some scopes, each validated; an event that does not validate is a bug, never shipped. */
export function eventsOfScopes(chains: readonly StoredChain[], options: OcsfMappingOptions): OcsfEvent[] {
  const events = chains.flatMap((c) => scopeToOcsfEvents(ocsfInput(c), options));
  for (const e of events) {
    const result = validateOcsfEvent(e);
    if (!result.valid) {
      const uid = (e.metadata as { uid?: string } | undefined)?.uid;
      throw new OcsfExportError(`event ${uid} does not validate against OCSF: ${result.errors.join('; ')}`);
    }
  }
  return events;
}

export type OcsfTarget = { sessionId: string } | { since: string };

/** Every event of one session, or of every session started at or after `since`, written a session at a time. */
export async function exportOcsf(store: Store, target: OcsfTarget, write: (lines: string[]) => Promise<unknown>): Promise<OcsfExportSummary> {
  const ids = 'sessionId' in target ? [target.sessionId] : (await store.listSessions({ since: target.since, limit: SESSION_PAGE })).reverse();
  const options = ocsfMappingOptions();
  const summary: OcsfExportSummary = { sessions: 0, events: 0, invalidRows: 0 };
  for (const id of ids) {
    const chains = await store.chainsOfSession(id);
    if (chains.chains.length === 0 && 'sessionId' in target) throw new UnknownIdError('session', id);
    summary.sessions += 1;
    summary.invalidRows += chains.invalid.length;
    const lines = eventsOfScopes(scopesInOrder(chains), options).map((e) => JSON.stringify(e));
    await write(lines);
    summary.events += lines.length;
  }
  return summary;
}
