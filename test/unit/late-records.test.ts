/**
 * Late records (a spool's drain, a quarantine's replay) against the rows of scopes sealed
 * meanwhile: with a payload codec that encrypts, one record encoded by two workers is two
 * different stored forms of the same text. Such a copy changes nothing and is dropped;
 * a copy whose text differs, or that cannot be decoded, is still kept aside.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { splitLate, splitLateDecoded } from '../../worker/late-records';
import { textCodec } from '../../store/text-codec';
import { encodeBatch } from '../../store/encoded-records';
import type { SealedRows } from '../../store/types';
import type { ActionRecord, ScopeRecord } from '../../cim/schemas';
import { AesGcmCodec } from '../fixtures/aes-codec';
import { action, scope } from './fixtures';

const codec = textCodec([new AesGcmCodec()]);

const ended = scope('S', { status: 'error', error: 'the run failed', objective: 'find the root cause' });
const failed = action('S/a1#1', 'S', { status: 'error', error: 'upstream timeout' });

/** Stored rows as one worker encoded them; the late batch as another encoded the same records. */
async function sealedWith(stored: { scopes: ScopeRecord[]; actions: ActionRecord[] }): Promise<SealedRows> {
  const encoded = await encodeBatch(codec, stored);
  return {
    sealedScopes: new Set([`default\u0000S`]),
    stored: new Map(encoded.actions.map((a) => [`${a.namespace}\u0000${a.actionId}`, a])),
    storedScopes: new Map(encoded.scopes.map((s) => [`${s.namespace}\u0000${s.scopeId}`, s])),
  };
}

test('the same records encoded again by another worker are dropped, not kept aside', async () => {
  const found = await sealedWith({ scopes: [ended], actions: [failed] });
  const late = await encodeBatch(codec, { scopes: [ended], actions: [failed] });
  assert.notEqual(late.actions[0]!.error, found.stored.get('default\u0000S/a1#1')!.error, 'an encrypting codec encodes the same text differently');
  const plain = splitLate(late, found);
  assert.equal(plain.late.length + plain.lateScopes.length, 2, 'compared as stored, the copies differ');
  const split = await splitLateDecoded(late, found, codec);
  assert.deepEqual([split.late, split.lateScopes, split.lateGaps], [[], [], []]);
  assert.deepEqual([split.kept.actions, split.kept.scopes], [[], []], 'nothing is written over the sealed rows');
});

test('a record whose text differs from the sealed row is kept aside, encoded or not', async () => {
  const found = await sealedWith({ scopes: [ended], actions: [failed] });
  const late = await encodeBatch(codec, {
    scopes: [{ ...ended, error: 'another failure' }],
    actions: [{ ...failed, error: 'another timeout' }],
  });
  const split = await splitLateDecoded(late, found, codec);
  assert.deepEqual(split.late.map((a) => a.actionId), ['S/a1#1']);
  assert.deepEqual(split.lateScopes.map((s) => s.scopeId), ['S']);
  // The same text with another field changed (its end time) is still a change.
  const moved = await encodeBatch(codec, { actions: [{ ...failed, endedAt: '2026-01-01T00:00:09.000Z' }] });
  assert.equal((await splitLateDecoded(moved, found, codec)).late.length, 1);
});

test('without the codec, or with text it cannot decode, a differently encoded copy stays aside', async () => {
  const found = await sealedWith({ scopes: [ended], actions: [failed] });
  const late = await encodeBatch(codec, { scopes: [ended], actions: [failed] });
  const without = await splitLateDecoded(late, found, undefined);
  assert.equal(without.late.length + without.lateScopes.length, 2);
  // A codec that cannot read what the workers wrote (another key) proves nothing equal.
  const otherKey: PayloadCodec = {
    encode: async (p: Payload[]) => p,
    decode: async () => {
      throw new Error('unknown key');
    },
  };
  const unreadable = await splitLateDecoded(late, found, textCodec([otherKey]));
  assert.equal(unreadable.late.length + unreadable.lateScopes.length, 2);
});

test('plain records are compared as before: decoding never makes different rows equal', async () => {
  const found: SealedRows = {
    sealedScopes: new Set([`default\u0000S`]),
    stored: new Map([[`default\u0000S/a1#1`, failed]]),
    storedScopes: new Map([[`default\u0000S`, ended]]),
  };
  const split = await splitLateDecoded({ actions: [failed, { ...failed, actionId: 'S/a2#1' }], scopes: [{ ...ended, error: 'x' }] }, found, codec);
  // The identical action is dropped, the one with no stored row and the changed scope end stay aside.
  assert.deepEqual(split.late.map((a) => a.actionId), ['S/a2#1']);
  assert.deepEqual(split.lateScopes.map((s) => s.error), ['x']);
});
