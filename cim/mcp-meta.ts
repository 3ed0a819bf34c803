/**
 * What a call into an MCP server carries in `params._meta`: W3C `traceparent` and
 * `baggage` (the trace and span ids are the ones the OTel export gives the session and
 * the calling action, so the server's spans join the same trace), and the delegation
 * object `io.scopetrail/delegation` — who is calling, under which scope — signed with
 * HMAC-SHA256 under the deployment's delegation key so the server can check it.
 *
 * Pure: the HMAC and the id hash come from the caller (store/delegation-key.ts), so this
 * module needs no node:crypto and both sides share one definition of the signed text.
 */
import { z } from 'zod';
import { canonicalJson } from './canonical-json';
import { recordSpanId, sessionTraceId } from './otel-genai';
import { invalidField } from './invalid-field';

export const DELEGATION_META_KEY = 'io.scopetrail/delegation';
/** How old a delegation may be when the server sees it, by default (a call is signed per attempt). */
export const DEFAULT_MAX_AGE_MS = 5 * 60_000;
/** How far ahead of the server's clock an issue time may be. */
export const DEFAULT_CLOCK_SKEW_MS = 30_000;

const Id = z.string().min(1).max(400);
const Hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`), `must be ${n} lowercase hex digits`);

/** The claims a caller signs. `server` and `tool` bind them to one tool, `actionId` to one attempt. */
export const DelegationClaims = z.object({
  v: z.literal(1),
  namespace: Id,
  sessionId: Id,
  scopeId: Id,
  parentScopeId: Id.nullable(),
  agent: Id,
  /** The caller's CIM action id for this attempt: the receipt is stored under it. */
  actionId: Id,
  attempt: z.number().int().min(1),
  server: Id,
  tool: Id,
  issuedAt: z.iso.datetime({ offset: true }),
  /** Names the signing key without revealing it, so a key mismatch is told apart from a forgery. */
  keyId: Hex(16),
});
export type DelegationClaims = z.infer<typeof DelegationClaims>;

export const SignedDelegation = DelegationClaims.extend({ sig: Hex(64) });
export type SignedDelegation = z.infer<typeof SignedDelegation>;

/** A type alias, not an interface: it must fit the SDK's open `_meta` record. */
export type McpMeta = {
  traceparent: string;
  baggage: string;
  [DELEGATION_META_KEY]: SignedDelegation;
};

/**
 * What a server's refusal of a delegation starts with (worker/mcp-server-middleware.ts). A
 * refused call is recorded by nobody on the server's side, so the caller owes it no receipt.
 */
export const DELEGATION_REFUSED = 'scopetrail delegation refused';

/** HMAC-SHA256 of a text under the delegation key, as 64 lowercase hex digits. */
export type Sign = (text: string) => string;
/** A lowercase hex digest of at least 32 digits (sha-256 in practice), as the OTel export uses. */
export type IdHash = (text: string) => string;

/** The exact bytes signed: a domain tag, then the claims as canonical JSON (key order cannot change them). */
export function delegationSigningText(claims: DelegationClaims): string {
  return `scopetrail delegation v1\n${canonicalJson(claims)}`;
}

export function signDelegation(claims: DelegationClaims, sign: Sign): SignedDelegation {
  const parsed = DelegationClaims.safeParse(claims);
  if (!parsed.success) throw new TypeError(invalidField('delegation', parsed.error));
  return { ...parsed.data, sig: sign(delegationSigningText(parsed.data)) };
}

/** `00-<trace>-<span>-01`: the session's trace id and the calling action's span id, sampled. */
export function traceparentOf(claims: Pick<DelegationClaims, 'namespace' | 'sessionId' | 'actionId'>, hash: IdHash): string {
  const trace = sessionTraceId(claims.namespace, claims.sessionId, hash);
  const span = recordSpanId('action', claims.namespace, claims.actionId, hash);
  return `00-${trace}-${span}-01`;
}

/** W3C baggage: plain facts for servers that read no scopetrail object (unsigned, for logs only). */
export function baggageOf(claims: Pick<DelegationClaims, 'sessionId' | 'scopeId' | 'agent'>): string {
  return [
    ['scopetrail.session', claims.sessionId],
    ['scopetrail.scope', claims.scopeId],
    ['scopetrail.agent', claims.agent],
  ]
    .map(([k, v]) => `${k}=${encodeURIComponent(v!)}`)
    .join(',');
}

export function buildMcpMeta(claims: DelegationClaims, sign: Sign, hash: IdHash): McpMeta {
  const signed = signDelegation(claims, sign);
  return { traceparent: traceparentOf(signed, hash), baggage: baggageOf(signed), [DELEGATION_META_KEY]: signed };
}

export interface VerifyOptions {
  sign: Sign;
  keyId: string;
  /** The server's name and the tool being called: a delegation signed for another is refused. */
  server: string;
  tool: string;
  now: Date;
  maxAgeMs?: number;
  clockSkewMs?: number;
}

export type VerifyResult = { ok: true; delegation: SignedDelegation } | { ok: false; reason: string };

/**
 * Checks a request's `_meta`: the delegation object is present and well formed, signed
 * under this key, for this server and tool, and fresh. Every refusal says which check
 * failed, because the caller has to act on it (configure the key, sync clocks, …).
 */
export function verifyDelegation(meta: unknown, o: VerifyOptions): VerifyResult {
  const raw = meta && typeof meta === 'object' ? (meta as Record<string, unknown>)[DELEGATION_META_KEY] : undefined;
  if (raw === undefined) return { ok: false, reason: `no ${DELEGATION_META_KEY} object in _meta: call this tool through a scopetrail agent` };
  const parsed = SignedDelegation.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: invalidField(DELEGATION_META_KEY, parsed.error, 'object') };
  const d = parsed.data;
  if (d.keyId !== o.keyId) {
    return { ok: false, reason: `${DELEGATION_META_KEY} is signed under key ${d.keyId}, this server checks key ${o.keyId}: give both sides the same delegation key` };
  }
  const { sig, ...claims } = d;
  if (!sameHex(sig, o.sign(delegationSigningText(claims)))) {
    return { ok: false, reason: `${DELEGATION_META_KEY} signature does not match its claims (forged or altered)` };
  }
  if (d.server !== o.server || d.tool !== o.tool) {
    return { ok: false, reason: `${DELEGATION_META_KEY} was issued for ${d.server}/${d.tool}, not ${o.server}/${o.tool}` };
  }
  const age = o.now.getTime() - Date.parse(d.issuedAt);
  const maxAge = o.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  if (age > maxAge) return { ok: false, reason: `${DELEGATION_META_KEY} was issued ${Math.round(age / 1000)} s ago, more than the ${Math.round(maxAge / 1000)} s allowed` };
  if (-age > (o.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS)) {
    return { ok: false, reason: `${DELEGATION_META_KEY} is issued ${Math.round(-age / 1000)} s in the future: check the clocks of caller and server` };
  }
  return { ok: true, delegation: d };
}

/** Compares two hex strings in time independent of where they differ (no early exit a timer could measure). */
export function sameHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
