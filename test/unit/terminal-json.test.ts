/** JSON on stdout carries no raw character a terminal acts on, and reads back exactly (client/visible-text.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { terminalJson } from '../../client/visible-text';

test('C1 controls, DEL, line separators and bidi overrides are escaped; the document parses back to the same value', () => {
  const value = { objective: 'a\u009b2Jb\u202egnp.exe\u2028x\u007f', error: 'ok \u001b[31mred' };
  const text = terminalJson(value, 2);
  assert.doesNotMatch(text, /[\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
  assert.match(text, /\\u009b2Jb\\u202egnp\.exe\\u2028x\\u007f/);
  assert.deepEqual(JSON.parse(text), value);
});

test('any string reads back exactly, and nothing a terminal acts on is left raw', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      const text = terminalJson({ s });
      assert.deepEqual(JSON.parse(text), { s });
      assert.doesNotMatch(text, /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
    }),
  );
});
