/** cim/typed-length-checks.ts: a value of the wrong type with an odd `length` is an issue naming its field, never a throw. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { typedLengthChecks } from '../../cim/typed-length-checks';
import { Manifest } from '../../cim/schemas';

const odd = () => ({ length: Object.create(null) as object });

test('strings and arrays of a guarded schema, in fields, wrappers and unions, answer an issue for a non-string with a null-prototype length', () => {
  const schema = typedLengthChecks(
    z.object({
      name: z.string().min(1).max(10),
      tags: z.array(z.string().max(3)).max(2),
      maybe: z.string().length(2).nullable().optional(),
      either: z.union([z.string().min(2), z.number()]),
    }),
  );
  for (const field of ['name', 'tags', 'maybe', 'either'] as const) {
    const value = { name: 'a', tags: [], maybe: null, either: 1, [field]: odd() };
    const parsed = schema.safeParse(value);
    assert.equal(parsed.success, false, field);
    assert.equal(parsed.error!.issues[0]!.path[0], field);
  }
  const inArray = schema.safeParse({ name: 'a', tags: [odd()], either: 1 });
  assert.deepEqual(inArray.error!.issues[0]!.path, ['tags', 0]);
});

test('issues still add up: a string too short and off its pattern reports both', () => {
  const schema = typedLengthChecks(z.object({ id: z.string().min(3).regex(/^[a-z]+$/) }));
  const parsed = schema.safeParse({ id: 'A' });
  assert.deepEqual(parsed.error!.issues.map((i) => i.code).sort(), ['invalid_format', 'too_small']);
  assert.equal(schema.safeParse({ id: 'abc' }).success, true);
});

test('the boundary schemas are guarded: a manifest whose name is such a value is refused naming the name', () => {
  const parsed = Manifest.safeParse({ name: odd(), version: '1', tools: [], subAgents: [] });
  assert.equal(parsed.success, false);
  assert.deepEqual(parsed.error!.issues[0]!.path, ['name']);
});
