/**
 * Which stored fields a payload codec covers, both ways. Written encoded: a scope's
 * objective and error, an action's error, and every payload body (kept by reference or
 * recorded). Everything else is identifiers, counts, times, digests and resource names,
 * which forensic queries match on and which carry no payload content.
 */
import type { ActionRecord, ScopeRecord } from '../cim/schemas';
import type { PayloadRecord, Store } from './types';
import type { TextCodec } from './text-codec';

export interface EncodableBatch {
  scopes?: ScopeRecord[];
  actions?: ActionRecord[];
  gaps?: ActionRecord[];
  payloads?: PayloadRecord[];
}

export async function encodeBatch<B extends EncodableBatch>(codec: TextCodec, batch: B): Promise<B> {
  const text = (t: string | null) => (t === null ? Promise.resolve(null) : codec.encode(t));
  const action = async (a: ActionRecord): Promise<ActionRecord> => ({ ...a, error: await text(a.error) });
  return {
    ...batch,
    ...(batch.scopes ? { scopes: await Promise.all(batch.scopes.map(async (s) => ({ ...s, objective: await text(s.objective), error: await text(s.error) }))) } : {}),
    ...(batch.actions ? { actions: await Promise.all(batch.actions.map(action)) } : {}),
    ...(batch.gaps ? { gaps: await Promise.all(batch.gaps.map(action)) } : {}),
    ...(batch.payloads ? { payloads: await Promise.all(batch.payloads.map(async (p) => ({ ...p, body: await codec.encodeJson(p.body) }))) } : {}),
  };
}

export async function decodeScope(codec: TextCodec, s: ScopeRecord): Promise<ScopeRecord> {
  return {
    ...s,
    objective: s.objective === null ? null : await codec.decode(s.objective),
    error: s.error === null ? null : await codec.decode(s.error),
  };
}

export async function decodeAction(codec: TextCodec, a: ActionRecord): Promise<ActionRecord> {
  return a.error === null ? a : { ...a, error: await codec.decode(a.error) };
}

/**
 * The store as a client with the codec reads it: scopes and actions come back decoded.
 * Other writes and the chain rows `verify` hashes pass through untouched (a seal covers what
 * is stored, not what it decodes to).
 */
export function decodingStore(store: Store, codec: TextCodec): Store {
  const scopes = (p: Promise<ScopeRecord[]>) => p.then((rows) => Promise.all(rows.map((s) => decodeScope(codec, s))));
  // Only an action with an error has text to decode: a wide read waits on those, not on a promise per row.
  const actions = async (p: Promise<ActionRecord[]>) => {
    const rows = await p;
    const decoded = await Promise.all(rows.filter((a) => a.error !== null).map((a) => decodeAction(codec, a)));
    let next = 0;
    return rows.map((a) => (a.error === null ? a : decoded[next++]!));
  };
  const overrides: Partial<Store> = {
    getScope: async (id) => {
      const s = await store.getScope(id);
      return s && decodeScope(codec, s);
    },
    locateScope: async (id) => {
      const found = await store.locateScope(id);
      return found && { ...found, record: await decodeScope(codec, found.record) };
    },
    scopesOfSession: (id, o) => scopes(store.scopesOfSession(id, o)),
    allScopes: (o) => scopes(store.allScopes(o)),
    actionsUnder: (scope, o) => actions(store.actionsUnder(scope, o)),
    // Only the refused actions are read with their error text.
    footprintActions: async (scope, o) => {
      const read = await store.footprintActions(scope, o);
      return { ...read, denied: await actions(Promise.resolve(read.denied)) };
    },
    actionsOfSession: (id) => actions(store.actionsOfSession(id)),
    actionsOfAgent: (agent) => actions(store.actionsOfAgent(agent)),
    handoffPayload: async (id) => codec.decodeJson(await store.handoffPayload(id)),
    callPayloadsOfSession: async (id) => Promise.all((await store.callPayloadsOfSession(id)).map(async (p) => ({ ...p, body: await codec.decodeJson(p.body) }))),
    // A reconcile repair writes what history proves (an error message): stored as workers store it.
    fillScopeGaps: async (records) => store.fillScopeGaps((await encodeBatch(codec, { scopes: [...records] })).scopes ?? []),
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && prop in overrides) return overrides[prop as keyof Store];
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
