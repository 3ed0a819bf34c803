/**
 * The fast checks of rows read back (store/row-check.ts) against zod's ActionRecord (and
 * its fields footprint reads) and ScopeRecord, property-based: whatever it accepts, zod
 * accepts and builds into the very same record (same keys, same order, same values); every
 * valid row of the common form it accepts, so wide reads do not fall back to zod.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ActionKind, ActionRecord, ActionStatus, ResourceMode, ScopeKind, ScopeRecord, ScopeStatus } from '../../cim/schemas';
import { certainAction, certainActionRecord, certainFootprintAction, certainScope, certainScopeRecord, type ActionInput, type FootprintInput, type ScopeInput } from '../../store/row-check';
import { readAction } from '../../store/rows';

const RUNS = { numRuns: 3000 };

const identifier = fc.stringMatching(/^[A-Za-z0-9_.:~@-]{1,200}$/);
const agentName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,99}$/);
const text = fc.string({ minLength: 1, maxLength: 30 });
const isoMs = fc
  .date({ min: new Date('1000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const resource = fc.record({ uri: text, mode: fc.constantFrom(...ResourceMode.options) }, { noNullPrototype: true });
const attributeValue = fc.oneof(fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));

/** The fields of a valid row, as readAction hands them over. */
const validInput: fc.Arbitrary<ActionInput> = fc
  .tuple(
    fc.record({
      actionId: text,
      scopeId: identifier,
      sessionId: identifier,
      namespace: text,
      agent: agentName,
      kind: fc.constantFrom(...ActionKind.options),
      name: text,
      attempt: fc.integer({ min: 1, max: 1000 }),
      resources: fc.array(resource, { maxLength: 3 }),
      inputDigest: fc.option(fc.stringMatching(/^[0-9a-f]{64}$/)),
      outputDigest: fc.option(fc.stringMatching(/^[0-9a-f]{64}$/)),
      status: fc.constantFrom(...ActionStatus.options),
      error: fc.option(fc.string()),
      startedAt: isoMs,
      endedAt: fc.option(isoMs),
      workflowId: text,
      runId: text,
      activityId: fc.option(text),
      targetScopeId: fc.option(identifier),
      attributes: fc.dictionary(fc.string({ maxLength: 10 }).filter((k) => k !== '__proto__'), attributeValue, { maxKeys: 4, noNullPrototype: true }),
    }),
    fc.option(fc.string({ minLength: 1, maxLength: 255 })),
    fc.option(fc.string({ minLength: 1, maxLength: 255 })),
  )
  .map(([fields, deployment, build]) => {
    const input: ActionInput = { ...fields };
    if (deployment !== null) input.workerDeployment = deployment;
    if (build !== null) input.workerBuildId = build;
    return input;
  });

const FIELDS = [
  'actionId', 'scopeId', 'sessionId', 'namespace', 'agent', 'kind', 'name', 'attempt', 'resources', 'inputDigest',
  'outputDigest', 'status', 'error', 'startedAt', 'endedAt', 'workflowId', 'runId', 'activityId', 'targetScopeId',
  'attributes', 'workerDeployment', 'workerBuildId',
] as const;

/** Values zod refuses, or that sit at the edge of what it accepts, field by field. */
const times = fc.constantFrom(
  '2023-02-29T00:00:00.000Z', '2024-02-29T00:00:00.000Z', '2100-02-29T00:00:00.000Z', '2000-02-29T00:00:00.000Z',
  '2026-04-31T00:00:00.000Z', '2026-00-10T00:00:00.000Z', '2026-13-10T00:00:00.000Z', '2026-01-00T00:00:00.000Z',
  '2026-01-10T24:00:00.000Z', '2026-01-10T23:60:00.000Z', '2026-01-10T23:59:60.000Z', '2026-01-10T23:59:59Z',
  '2026-01-10T23:59:59.1234Z', '2026-01-10T23:59:59.123+01:00', '2026-01-10 23:59:59.123Z', '2026-01-10T23:59:59.123z',
  '+010000-01-01T00:00:00.000Z', '0999-12-31T23:59:59.999Z', '', 'not a time', null,
);
const ids = fc.constantFrom('a'.repeat(200), 'a'.repeat(201), 'a b', '', 'é', 's.1~2@x:y-z_', null, 7);
const texts = fc.constantFrom('', ' ', null, 7, ['x']);
const workers = fc.constantFrom('a'.repeat(255), 'a'.repeat(256), '', null, 1, undefined);
const EDGES: Record<(typeof FIELDS)[number], fc.Arbitrary<unknown>> = {
  actionId: texts,
  scopeId: ids,
  sessionId: ids,
  namespace: texts,
  agent: fc.constantFrom('a'.repeat(100), 'a'.repeat(101), '1a', '_a', 'a-b', '', null),
  kind: fc.constantFrom('other', 'TOOL_CALL', '', null, ...ActionKind.options),
  name: texts,
  attempt: fc.constantFrom(0, 1, -1, 1.5, 2 ** 53 - 1, 2 ** 53, NaN, Infinity, -0, '1'),
  resources: fc.constantFrom(
    [{ uri: '', mode: 'read' }],
    [{ uri: 'db:x', mode: 'execute' }],
    [{ uri: 'db:x', mode: 'read', extra: 1 }],
    [{ uri: 'db:x', mode: 'read' }, { uri: 'db:x', mode: 'read' }],
    JSON.parse('[{"uri": "db:x", "mode": "read", "__proto__": {"uri": "y"}}]'),
    [Object.assign(Object.create(null) as object, { uri: 'db:x', mode: 'read' })],
    [null], [['db:x', 'read']], {}, 'db:x', null, [],
  ),
  inputDigest: texts,
  outputDigest: texts,
  status: fc.constantFrom('other', '', null, ...ActionStatus.options),
  error: texts,
  startedAt: times,
  endedAt: times,
  workflowId: texts,
  runId: texts,
  activityId: texts,
  targetScopeId: ids,
  attributes: fc.constantFrom(
    JSON.parse('{"__proto__": null}'), JSON.parse('{"__proto__": "x"}'), JSON.parse('{"__proto__": {"a": 1}}'),
    { a: Infinity }, { a: NaN }, { a: -0 }, { a: {} }, { a: [] }, { a: undefined }, { 1: 'x', b: 2, 0: true },
    Object.create(null), [], 'x', null, new Date(0), { [Symbol('s')]: 'x' }, Object.defineProperty({ a: 1 }, 'hidden', { value: 2 }),
  ),
  workerDeployment: workers,
  workerBuildId: workers,
};
const hostile = fc.anything({ maxDepth: 2, withBoxedValues: true, withNullPrototype: true, withDate: true, withMap: true });

/** A valid input with one to three fields replaced by edge or hostile values (keys in the schema's order, as readAction gives them). */
const spoiledInput = fc
  .tuple(
    validInput,
    fc.array(
      fc.constantFrom(...FIELDS).chain((field) =>
        fc.tuple(fc.constant(field), fc.oneof({ weight: 4, arbitrary: EDGES[field] }, { weight: 1, arbitrary: hostile })),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  )
  .map(([input, changes]) => {
    const values: Record<string, unknown> = { ...input };
    for (const [field, value] of changes) values[field] = value;
    const spoiled: Record<string, unknown> = {};
    for (const field of FIELDS) if (field in values) spoiled[field] = values[field];
    return spoiled as unknown as ActionInput;
  });

const FOOTPRINT_FIELDS = ['actionId', 'scopeId', 'sessionId', 'agent', 'kind', 'name', 'resources', 'status', 'startedAt', 'endedAt'] as const;
const FootprintActionRecord = ActionRecord.pick(Object.fromEntries(FOOTPRINT_FIELDS.map((f) => [f, true])) as { [K in (typeof FOOTPRINT_FIELDS)[number]]: true });
/** The fields footprint reads, in the schema's order, as readFootprintAction gives them. */
const footprintInput = (input: ActionInput): FootprintInput => Object.fromEntries(FOOTPRINT_FIELDS.map((f) => [f, input[f]])) as unknown as FootprintInput;

/** certainAction (certainFootprintAction) answers a record only where zod gives the same one. */
function agreesWithZod(input: ActionInput, fields: 'all' | 'footprint' = 'all'): 'accepted' | 'refused' {
  const zod = fields === 'all' ? ActionRecord.safeParse(input) : FootprintActionRecord.safeParse(footprintInput(input));
  // A shallow copy: the check takes over the object it is given.
  const certain = fields === 'all' ? certainAction({ ...input }) : certainFootprintAction(footprintInput(input));
  if (certain === undefined) return 'refused';
  assert.ok(zod.success, `accepted what zod refuses: ${zod.error?.issues[0]?.path.join('.')} ${zod.error?.issues[0]?.message}`);
  assert.equal(JSON.stringify(certain), JSON.stringify(zod.data));
  assert.deepStrictEqual(certain, zod.data);
  return 'accepted';
}

describe('the fast check of action rows', () => {
  test('accepts every valid row of the form the store reads, as the record zod builds', () => {
    fc.assert(fc.property(validInput, (input) => assert.equal(agreesWithZod(input), 'accepted')), RUNS);
  });

  test('never accepts what zod refuses, and builds what zod builds from what it accepts', () => {
    let accepted = 0;
    fc.assert(
      fc.property(spoiledInput, (input) => {
        if (agreesWithZod(input) === 'accepted') accepted += 1;
      }),
      RUNS,
    );
    // Some spoiled inputs stay valid (a null where null is allowed): the check is not refusing everything.
    assert.ok(accepted > 0);
  });

  test('the check of the fields footprint reads holds to the same rules for those fields', () => {
    fc.assert(fc.property(validInput, (input) => assert.equal(agreesWithZod(input, 'footprint'), 'accepted')), RUNS);
    let accepted = 0;
    fc.assert(
      fc.property(spoiledInput, (input) => {
        if (agreesWithZod(input, 'footprint') === 'accepted') accepted += 1;
      }),
      RUNS,
    );
    // A spoiled field footprint does not read leaves the row valid for it.
    assert.ok(accepted > RUNS.numRuns / 4);
  });

  test('drops the keys zod drops from resources and copies what it copies', () => {
    const input: ActionInput = {
      ...fc.sample(validInput, { numRuns: 1, seed: 7 })[0]!,
      resources: [{ uri: 'db:a', mode: 'read', note: 'x' }],
      attributes: { model: 'm', tokens: 3 },
    };
    const resources = input.resources;
    const record = certainAction({ ...input })!;
    assert.deepStrictEqual(record.resources, [{ uri: 'db:a', mode: 'read' }]);
    assert.notEqual(record.resources, resources);
    assert.deepStrictEqual(Object.keys(record), Object.keys(ActionRecord.parse(input)));
  });

  test('a row the check refuses is still read by zod, and a bad one still names its field', () => {
    const row = {
      action_id: 'a1', scope_id: 's', session_id: 's', namespace: 'default', agent: 'agent', kind: 'tool_call', name: 't',
      attempt: 1, resources: [], input_digest: null, output_digest: null, status: 'success', error: null,
      started_at: '2026-01-10 23:59:59.123456+00', ended_at: null, workflow_id: 'w', run_id: 'r', activity_id: null,
      target_scope_id: null, attributes: {}, worker_deployment: null, worker_build_id: null,
    };
    // Attributes without a prototype: the check leaves them to zod, which accepts them.
    const bare = Object.assign(Object.create(null) as object, { model: 'm' });
    assert.equal(certainAction({ ...(readAction(row) as ActionInput), attributes: bare }), undefined);
    assert.deepStrictEqual(readAction({ ...row, attributes: bare }), { ...readAction(row), attributes: { model: 'm' } });
    assert.equal(readAction(row).startedAt, '2026-01-10T23:59:59.123Z');
    assert.throws(() => readAction({ ...row, agent: '1agent' }), /invalid field "agent"/);
    assert.throws(() => readAction({ ...row, resources: [{ uri: '', mode: 'read' }] }), /invalid field "resources.0.uri"/);
  });
});

// ───────────────────────────── scopes ─────────────────────────────

const validScope: fc.Arbitrary<ScopeInput> = fc
  .tuple(
    fc.record({
      sessionId: identifier,
      scopeId: identifier,
      parentScopeId: fc.option(identifier),
      handoffFromScopeId: fc.option(identifier),
      kind: fc.constantFrom(...ScopeKind.options),
      agent: agentName,
      agentVersion: text,
      delegatedBy: fc.option(agentName),
      allowance: fc.option(fc.array(fc.string(), { maxLength: 3 })),
      depth: fc.integer({ min: 0, max: 50 }),
      path: fc.string({ minLength: 3, maxLength: 40 }),
      objective: fc.option(fc.string({ maxLength: 50 })),
      namespace: text,
      status: fc.constantFrom(...ScopeStatus.options),
      recovered: fc.boolean(),
      error: fc.option(fc.string()),
      startedAt: isoMs,
      endedAt: fc.option(isoMs),
      workflowId: text,
      runId: text,
    }),
    fc.option(fc.string({ minLength: 1, maxLength: 255 })),
    fc.option(fc.string({ minLength: 1, maxLength: 255 })),
    fc.option(fc.string({ minLength: 1, maxLength: 300 })),
  )
  .map(([fields, deployment, build, failedBy]) => {
    const input: ScopeInput = { ...fields };
    if (deployment !== null) input.workerDeployment = deployment;
    if (build !== null) input.workerBuildId = build;
    if (failedBy !== null) input.failedBy = failedBy;
    return input;
  });

const SCOPE_FIELDS = [
  'sessionId', 'scopeId', 'parentScopeId', 'handoffFromScopeId', 'kind', 'agent', 'agentVersion', 'delegatedBy', 'allowance',
  'depth', 'path', 'objective', 'namespace', 'status', 'recovered', 'error', 'startedAt', 'endedAt', 'workflowId', 'runId',
  'workerDeployment', 'workerBuildId', 'failedBy',
] as const;
const SCOPE_EDGES: Record<(typeof SCOPE_FIELDS)[number], fc.Arbitrary<unknown>> = {
  sessionId: ids,
  scopeId: ids,
  parentScopeId: ids,
  handoffFromScopeId: ids,
  kind: fc.constantFrom('other', 'ROOT', '', null, ...ActionKind.options, ...ScopeKind.options),
  agent: EDGES.agent,
  agentVersion: texts,
  delegatedBy: EDGES.agent,
  allowance: fc.constantFrom([], ['a', 'b'], [''], [1], [null], ['a', ['b']], 'a', {}, null, [, 'a'], Object.assign(['a'], { extra: 1 })),
  depth: fc.constantFrom(0, -1, 1.5, 2 ** 53, NaN, Infinity, -0, '1', null),
  path: fc.constantFrom('', '/a', '/a/', 'abc', null, 7, 'x'.repeat(1000)),
  objective: fc.constantFrom('', null, 'x'.repeat(200_000), 'x'.repeat(200_001), 7),
  namespace: texts,
  status: fc.constantFrom('other', 'denied', '', null, ...ScopeStatus.options),
  recovered: fc.constantFrom(true, false, 0, 1, 'true', null),
  error: texts,
  startedAt: times,
  endedAt: times,
  workflowId: texts,
  runId: texts,
  workerDeployment: workers,
  workerBuildId: workers,
  failedBy: fc.constantFrom('', null, 7, 'x', 'x'.repeat(10_000), ['a'], undefined),
};
const spoiledScope = fc
  .tuple(
    validScope,
    fc.array(
      fc.constantFrom(...SCOPE_FIELDS).chain((field) =>
        fc.tuple(fc.constant(field), fc.oneof({ weight: 4, arbitrary: SCOPE_EDGES[field] }, { weight: 1, arbitrary: hostile })),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  )
  .map(([input, changes]) => {
    const values: Record<string, unknown> = { ...input };
    for (const [field, value] of changes) values[field] = value;
    const spoiled: Record<string, unknown> = {};
    for (const field of SCOPE_FIELDS) if (field in values) spoiled[field] = values[field];
    return spoiled as unknown as ScopeInput;
  });

function scopeAgreesWithZod(input: ScopeInput): 'accepted' | 'refused' {
  const zod = ScopeRecord.safeParse(input);
  const certain = certainScope({ ...input });
  if (certain === undefined) return 'refused';
  assert.ok(zod.success, `accepted what zod refuses: ${zod.error?.issues[0]?.path.join('.')} ${zod.error?.issues[0]?.message}`);
  assert.equal(JSON.stringify(certain), JSON.stringify(zod.data));
  assert.deepStrictEqual(certain, zod.data);
  return 'accepted';
}

describe('the fast check of scope rows', () => {
  test('accepts every valid row of the form the store reads, as the record zod builds', () => {
    fc.assert(fc.property(validScope, (input) => assert.equal(scopeAgreesWithZod(input), 'accepted')), RUNS);
  });

  test('never accepts what zod refuses, and builds what zod builds from what it accepts', () => {
    let accepted = 0;
    fc.assert(
      fc.property(spoiledScope, (input) => {
        if (scopeAgreesWithZod(input) === 'accepted') accepted += 1;
      }),
      RUNS,
    );
    assert.ok(accepted > 0);
  });
});

/**
 * Records from anywhere (the sink's, a tool's relay): any key order, the session's start,
 * perhaps keys the schema does not know, perhaps spoiled. What the check accepts, zod
 * accepts as the same record; a key zod would drop sends the record to zod.
 */
describe('the fast check of records from the workflow sandbox and relays', () => {
  const extraKey = fc.option(fc.constantFrom('input', 'output', 'extra', 'constructor', 'toString', 'hasOwnProperty', '__proto__'), { nil: undefined });
  const sessionStart = fc.option(fc.oneof({ weight: 3, arbitrary: isoMs }, { weight: 1, arbitrary: times }, { weight: 1, arbitrary: hostile }), { nil: undefined });
  /** The record as a sandbox might hand it over: shuffled keys, the session's start, maybe an extra key. */
  const asHandedOver = (input: object, start: unknown, extra: string | undefined, order: number[]): Record<string, unknown> => {
    const entries = Object.entries(input);
    if (start !== undefined) entries.push(['sessionStartedAt', start]);
    const shuffled = order.slice(0, entries.length).map((i) => entries[i % entries.length]!);
    const out: Record<string, unknown> = Object.fromEntries([...new Map([...shuffled, ...entries]).entries()]);
    if (extra === '__proto__') return JSON.parse(JSON.stringify({ ...out, __proto__: null }).replace(/}$/, ',"__proto__":{"x":1}}')) as Record<string, unknown>;
    if (extra !== undefined) out[extra] = 'x';
    return out;
  };
  const order = fc.array(fc.nat(40), { minLength: 30, maxLength: 30 });

  function agrees(record: Record<string, unknown>, schema: typeof ActionRecord | typeof ScopeRecord, check: (v: unknown) => unknown): 'accepted' | 'refused' {
    const zod = schema.safeParse(record);
    // A shallow copy: the check takes over the object it is given.
    const certain = check({ ...record });
    if (certain === undefined) return 'refused';
    assert.ok(zod.success, `accepted what zod refuses: ${zod.error?.issues[0]?.path.join('.')} ${zod.error?.issues[0]?.message}`);
    assert.deepStrictEqual(certain, zod.data);
    return 'accepted';
  }

  test('valid action and scope records in any key order, with a valid session start, pass as the records zod builds', () => {
    fc.assert(fc.property(validInput, fc.option(isoMs, { nil: undefined }), order, (input, start, o) => {
      assert.equal(agrees(asHandedOver(input, start, undefined, o), ActionRecord, certainActionRecord), 'accepted');
    }), RUNS);
    fc.assert(fc.property(validScope, fc.option(isoMs, { nil: undefined }), order, (input, start, o) => {
      assert.equal(agrees(asHandedOver(input, start, undefined, o), ScopeRecord, certainScopeRecord), 'accepted');
    }), RUNS);
  });

  test('spoiled records, odd session starts and unknown keys are never accepted where zod refuses, nor as another record', () => {
    let accepted = 0;
    fc.assert(fc.property(spoiledInput, sessionStart, extraKey, order, (input, start, extra, o) => {
      const record = asHandedOver(input, start, extra, o);
      if (agrees(record, ActionRecord, certainActionRecord) === 'accepted') {
        accepted += 1;
        assert.equal(extra, undefined, 'a key zod drops goes to zod');
      }
    }), RUNS);
    fc.assert(fc.property(spoiledScope, sessionStart, extraKey, order, (input, start, extra, o) => {
      const record = asHandedOver(input, start, extra, o);
      if (agrees(record, ScopeRecord, certainScopeRecord) === 'accepted') {
        accepted += 1;
        assert.equal(extra, undefined, 'a key zod drops goes to zod');
      }
    }), RUNS);
    assert.ok(accepted > 0);
  });

  test('a record with a key the schema does not know, or an explicit undefined, is left to zod', () => {
    const input = fc.sample(validInput, { numRuns: 1, seed: 3 })[0]!;
    assert.ok(certainActionRecord({ ...input }));
    assert.equal(certainActionRecord({ ...input, input: { q: 1 } }), undefined);
    assert.equal(certainActionRecord({ ...input, sessionStartedAt: undefined }), undefined);
    assert.equal(certainActionRecord({ ...input, sessionStartedAt: '2026-02-30T00:00:00.000Z' }), undefined);
    assert.equal(certainActionRecord(Object.assign(Object.create(null) as object, input)), undefined);
  });
});
