/** The workflow side's SHA-256 gives Node's digests, for any text (surrogates included). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sha256HexPure } from '../../cim/sha256-pure';
import { sha256Hex } from '../../store/sha256';

test('known vectors and every length around a block boundary', () => {
  assert.equal(sha256HexPure(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(sha256HexPure('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  for (let n = 50; n < 140; n++) assert.equal(sha256HexPure('x'.repeat(n)), sha256Hex('x'.repeat(n)), `length ${n}`);
});

test('any text, lone surrogates and astral characters included, hashes as Node hashes it', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => sha256HexPure(s) === sha256Hex(s)), { numRuns: 500 });
  assert.equal(sha256HexPure('a\ud800b\udc00😀'), sha256Hex('a\ud800b\udc00😀'));
});
