/**
 * The fast checks workflow code runs before zod (cim/certain-context.ts), property-based
 * against zod itself: whatever they accept, zod accepts and builds into the very same
 * value (same keys in the same order, same values); every valid value of the common
 * form they accept, so a child workflow does not build the schemas at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { certainDelegateOptions, certainManifest, certainScopeContext } from '../../cim/certain-context';
import { DELEGATE_OPTION_KEYS, delegateOptionsSchema, scopeContextSchema } from '../../cim/scope-context';
import { manifestSchema } from '../../cim/manifest';
import { decodeScopeHeader, encodeScopeHeader } from '../../cim/header';

const RUNS = { numRuns: 3000 };

const identifier = fc.stringMatching(/^[A-Za-z0-9_.:~@-]{1,200}$/);
const agentName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,99}$/);
const isoMs = fc
  .date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true })
  .map((d) => d.toISOString());

/** Keys that may be left out: absent, never present and undefined, in the common form. */
function withOptional<T extends Record<string, unknown>>(base: fc.Arbitrary<T>, optional: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<T> {
  const keys = Object.keys(optional);
  return fc.tuple(base, ...keys.map((k) => fc.option(optional[k]!, { nil: undefined }))).map(([b, ...values]) => {
    const out: Record<string, unknown> = { ...b };
    keys.forEach((k, i) => {
      if (values[i] !== undefined) out[k] = values[i];
    });
    return out as T;
  });
}

const validContext = withOptional(
  fc.record({
    sessionId: identifier,
    scopeId: identifier,
    parentScopeId: fc.option(identifier),
    handoffFromScopeId: fc.option(identifier),
    kind: fc.constantFrom('root', 'delegation', 'handoff'),
    agent: agentName,
    agentVersion: fc.string({ minLength: 1, maxLength: 20 }),
    delegatedBy: fc.option(agentName),
    allowance: fc.option(fc.array(fc.string({ maxLength: 20 }), { maxLength: 4 })),
    depth: fc.nat(),
    path: fc.string({ minLength: 3, maxLength: 40 }),
    handoffIndex: fc.nat(),
  }),
  { visibility: fc.boolean(), budget: fc.constant(null), sessionStartedAt: isoMs, chainRecovered: fc.constant(true as const) },
);

const validManifest = withOptional(
  fc.record({ name: agentName, version: fc.stringMatching(/^[^@\s]{1,50}$/) }),
  {
    description: fc.string({ maxLength: 100 }),
    tools: fc.array(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.\/:-]{0,19}$/), { maxLength: 4 }),
    subAgents: fc.array(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,20}(@[^@\s]{1,10})?$/), { maxLength: 3 }),
    handoffs: fc.array(agentName, { maxLength: 3 }),
    model: fc.string({ minLength: 1, maxLength: 40 }),
    resources: fc.array(fc.string({ minLength: 1, maxLength: 20 }), { maxLength: 3 }),
  },
);

const validDelegateOptions = withOptional(
  fc.record({
    objective: fc.string({ maxLength: 60 }).filter((o) => o.trim().length > 0),
    input: fc.oneof(fc.jsonValue(), fc.constant(undefined)),
  }),
  {
    allowance: fc.array(fc.string({ minLength: 1, maxLength: 20 }), { maxLength: 4 }),
    attempts: fc.integer({ min: 1, max: 100 }),
    workflowOptions: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue(), { maxKeys: 3, noNullPrototype: true }),
  },
);

/** Values a field might hold instead: wrong types, edges, hostile shapes. */
const hostile = fc.oneof(
  fc.constantFrom(
    undefined, null, '', 'x', 'ab', 'a'.repeat(51), 'a'.repeat(101), 'a'.repeat(201), '1abc', 'a b', 'a.b', 'a@', 'a@b@c', 'ok@ v',
    0, -1, 1.5, NaN, Infinity, 2 ** 53, -0, true, false, [], [1], [''], ['ok', 2], {}, { turns: 1 }, { turns: null, tokens: null, deadline: null },
    '2026-02-30T00:00:00.000Z', '2026-11-30T18:00:00Z', '2026-11-30T18:00:00.000+01:00', '2026-11-30T24:00:00.000Z', '2026-13-01T00:00:00.000Z',
    'root', 'handoff', 'other', Object.create(null) as object,
  ),
  fc.string({ maxLength: 5 }),
  fc.integer(),
  fc.array(fc.oneof(fc.string({ maxLength: 3 }), fc.integer()), { maxLength: 3 }),
);

function mutated<T extends Record<string, unknown>>(valid: fc.Arbitrary<T>, fields: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(valid, fc.array(fc.tuple(fc.constantFrom(...fields, 'extra', 'continuation', 'budget'), hostile, fc.boolean()), { minLength: 1, maxLength: 3 }))
    .map(([v, changes]) => {
      const out: Record<string, unknown> = { ...v };
      for (const [key, value, remove] of changes) {
        if (remove) delete out[key];
        else out[key] = value;
      }
      return out;
    });
}

function agreesWithZod(check: (v: unknown) => object | undefined, schema: () => { safeParse(v: unknown): { success: boolean; data?: unknown } }, v: unknown): void {
  const fast = check(v);
  if (fast === undefined) return;
  const zod = schema().safeParse(v);
  assert.ok(zod.success, `accepted what zod refuses: ${JSON.stringify(v)}`);
  assert.deepStrictEqual(fast, zod.data);
  assert.deepStrictEqual(Object.keys(fast), Object.keys(zod.data as object), 'same keys in the same order');
}

/** The delegate options check answers only yes or no: delegate() goes on with the options as given. */
function delegateAgreesWithZod(v: unknown): void {
  if (certainDelegateOptions(v)) assert.ok(delegateOptionsSchema().safeParse(v).success, `accepted what zod refuses: ${JSON.stringify(v)}`);
}

const CONTEXT_FIELDS = Object.keys(scopeContextSchema().shape);
const MANIFEST_FIELDS = Object.keys(manifestSchema().shape);

test('every scope context of the common form is accepted, as zod builds it', () => {
  fc.assert(
    fc.property(validContext, (v) => {
      assert.notEqual(certainScopeContext(v), undefined, JSON.stringify(v));
      agreesWithZod(certainScopeContext, scopeContextSchema, v);
    }),
    RUNS,
  );
});

test('a scope context with one to three fields replaced or removed is accepted only as zod accepts and builds it', () => {
  fc.assert(fc.property(mutated(validContext, CONTEXT_FIELDS), (v) => agreesWithZod(certainScopeContext, scopeContextSchema, v)), RUNS);
});

test('every manifest of the common form is accepted, as zod builds it', () => {
  fc.assert(
    fc.property(validManifest, (v) => {
      assert.notEqual(certainManifest(v), undefined, JSON.stringify(v));
      agreesWithZod(certainManifest, manifestSchema, v);
    }),
    RUNS,
  );
});

test('a manifest with one to three fields replaced or removed is accepted only as zod accepts and builds it', () => {
  fc.assert(fc.property(mutated(validManifest, MANIFEST_FIELDS), (v) => agreesWithZod(certainManifest, manifestSchema, v)), RUNS);
});

test('what the checks leave to zod still parses through it: a budget, a continuation, a class instance', () => {
  const base = { sessionId: 's', scopeId: 's.1', parentScopeId: 's', handoffFromScopeId: null, kind: 'delegation', agent: 'a', agentVersion: '1', delegatedBy: 'b', allowance: null, depth: 1, path: '/s/s.1/', handoffIndex: 0 };
  const budget = { ...base, budget: { turns: 3, tokens: null, deadline: null } };
  assert.equal(certainScopeContext(budget), undefined);
  assert.deepEqual(decodeScopeHeader(encodeScopeHeader(budget as never))?.budget, { turns: 3, tokens: null, deadline: null });
  assert.equal(certainScopeContext(new (class { sessionId = 's' })()), undefined);
  assert.equal(certainManifest({ name: 'a', version: '1', budget: { turns: 2 } }), undefined);
  assert.equal(decodeScopeHeader(encodeScopeHeader({ ...base, depth: -1 } as never)), undefined, 'a header zod refuses is not trusted');
});

test('the fields delegate() takes are named as its schema has them', () => {
  assert.deepEqual([...DELEGATE_OPTION_KEYS], Object.keys(delegateOptionsSchema().shape));
});

test('every delegate() options object of the common form is accepted, as zod accepts it', () => {
  fc.assert(
    fc.property(validDelegateOptions, (v) => {
      assert.ok(certainDelegateOptions(v), JSON.stringify(v));
      delegateAgreesWithZod(v);
    }),
    RUNS,
  );
});

test('delegate() options with one to three fields replaced or removed are accepted only as zod accepts them', () => {
  fc.assert(fc.property(mutated(validDelegateOptions, DELEGATE_OPTION_KEYS), delegateAgreesWithZod), RUNS);
});

test('what the delegate() check leaves to zod: a budget, a missing input, a blank objective, a key present but undefined', () => {
  const base = { objective: 'find it', input: { q: 1 } };
  for (const v of [
    { ...base, budget: { turns: 2 } },
    { objective: 'find it' },
    { ...base, objective: '   ' },
    { ...base, objective: 'x'.repeat(10_001) },
    { ...base, allowance: undefined },
    { ...base, allowance: 'db:*' },
    { ...base, attempts: 0 },
    { ...base, attempts: 1.5 },
    { ...base, workflowOptions: [] },
    { ...base, workflowOptions: { [Symbol('s')]: 1 } },
    { ...base, extra: 1 },
    Object.assign(Object.create(null) as object, base),
  ]) {
    assert.equal(certainDelegateOptions(v), false, JSON.stringify(v));
  }
  assert.equal(delegateOptionsSchema().safeParse({ ...base, budget: { turns: 2 } }).success, true, 'a budget still passes, through zod');
  assert.equal(delegateOptionsSchema().safeParse({ ...base, objective: '   ' }).success, false, 'a blank objective is still refused, by zod');
});
