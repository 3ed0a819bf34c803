/**
 * Reads sessions from the store with their hash chains and turns them into OCSF events
 * (cim/ocsf.ts), one JSON line each. Every event is checked against the vendored
 * definitions before it is written, so a consumer never receives one that does not
 * validate.
 */
import { ScopetrailError } from '../cim/errors';
import { scopeToOcsfEvents, type OcsfEvent, type OcsfMappingOptions, type OcsfScopeInput } from '../cim/ocsf';
import { validateOcsfEvent } from '../cim/ocsf-validate';
import { callReceiptKey, receiptsByCall, type CallReceipt } from '../cim/forensics/receipts';
import type { SessionChains, SessionKey, StoredChain, Store } from '../store/types';
import { receiptChecker, type ReceiptChecker } from '../store/delegation-key';
import { UnknownIdError } from './arguments';
import { sha256Hex } from './otel-export';
import { ownPackage } from './own-package';

const { version } = ownPackage();

/** Sessions listed at a time by a `--since` export or a poll of a tail. */
export const SESSION_PAGE = 1_000;

/**
 * Every session started at or after `since`, oldest first, listed a page at a time: an
 * export reads them all however many there are (one listing capped at 100 000 left the
 * oldest out of a large export, unsaid), and holds one page of ids at a time.
 */
export async function* sessionsSince(store: Store, since: string, page = SESSION_PAGE): AsyncGenerator<string> {
  let after: SessionKey | undefined;
  for (;;) {
    const keys = await store.sessionKeys({ since, order: 'oldest', limit: page, ...(after ? { after } : {}) });
    for (const key of keys) yield key.sessionId;
    if (keys.length < page) return;
    after = keys[keys.length - 1];
  }
}

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

/** `receipts`: the session's MCP receipts by call (receiptsByCall); an MCP call carries what its receipt reports. */
export function ocsfInput(chain: StoredChain, receipts?: ReadonlyMap<string, CallReceipt>): OcsfScopeInput {
  const sealed = isSealed(chain);
  return {
    scope: chain.scope,
    actions: chain.actions.map((a) => {
      const receipt = receipts?.get(callReceiptKey(a.record.scopeId, a.record.actionId));
      return {
        record: a.record,
        link: sealed && a.seq !== null && a.prevHash !== null && a.hash !== null ? { seq: a.seq, prevHash: a.prevHash, hash: a.hash } : null,
        ...(receipt ? { receipt } : {}),
      };
    }),
  };
}

/**
 * A session's MCP receipts by call, each checked against its server's signature with
 * `key` (as footprint checks them), and the receipt rows that do not parse (left out).
 */
export async function sessionReceipts(store: Store, sessionId: string, key: ReceiptChecker): Promise<{ receipts: Map<string, CallReceipt>; invalid: number }> {
  const { receipts, invalid } = await store.receipts().checkedOfSession(sessionId);
  return { receipts: receipts.length ? receiptsByCall(receipts, key) : new Map(), invalid: invalid.length };
}

/** Scopes in start order, as the export writes them. */
export function scopesInOrder(chains: SessionChains): StoredChain[] {
  return [...chains.chains].sort(
    (a, b) => Date.parse(a.scope.startedAt) - Date.parse(b.scope.startedAt) || (a.scope.scopeId < b.scope.scopeId ? -1 : 1),
  );
}

/** The events of some scopes, each validated; an event that does not validate is a bug, never shipped. */
export function eventsOfScopes(chains: readonly StoredChain[], options: OcsfMappingOptions, receipts?: ReadonlyMap<string, CallReceipt>): OcsfEvent[] {
  const events = chains.flatMap((c) => scopeToOcsfEvents(ocsfInput(c, receipts), options));
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

/**
 * Every event of one session, or of every session started at or after `since`, written a session at a time.
 * `receiptKey`: what MCP receipts are checked with (the servers' delegation key; by default the environment's).
 */
export async function exportOcsf(
  store: Store,
  target: OcsfTarget,
  write: (lines: string[]) => Promise<unknown>,
  receiptKey: ReceiptChecker = receiptChecker(),
): Promise<OcsfExportSummary> {
  const ids = 'sessionId' in target ? [target.sessionId] : sessionsSince(store, target.since);
  const options = ocsfMappingOptions();
  const summary: OcsfExportSummary = { sessions: 0, events: 0, invalidRows: 0 };
  for await (const id of ids) {
    const chains = await store.chainsOfSession(id);
    if (chains.chains.length === 0 && 'sessionId' in target) throw new UnknownIdError('session', id);
    summary.sessions += 1;
    const receipts = await sessionReceipts(store, id, receiptKey);
    summary.invalidRows += chains.invalid.length + receipts.invalid;
    const lines = eventsOfScopes(scopesInOrder(chains), options, receipts.receipts).map((e) => JSON.stringify(e));
    await write(lines);
    summary.events += lines.length;
  }
  return summary;
}
