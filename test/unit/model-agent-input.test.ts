/**
 * A model agent's input is checked before its loop runs: a bad one fails the session
 * naming the field, non-retryable, as a tool's bad input does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { checkedInput, INVALID_AGENT_INPUT, startingMessages } from '../../workflows/model-agent-input';

function refusal(input: unknown): ApplicationFailure {
  try {
    checkedInput('lead', input);
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, INVALID_AGENT_INPUT);
    assert.equal(err.nonRetryable, true);
    return err;
  }
  assert.fail(`accepted ${JSON.stringify(input)}`);
}

test('a bad message is refused naming its field', () => {
  assert.match(refusal({ messages: [{ role: 'user', content: 'hi' }, { role: 'bogus', content: 'x' }] }).message, /^lead: invalid field "messages\.1\.role": /);
  assert.match(refusal({ messages: [{ role: 'user', content: 5 }] }).message, /^lead: invalid field "messages\.0\.content": /);
  assert.match(refusal({ messages: 'hello' }).message, /^lead: invalid field "messages": .*expected array/);
  assert.match(refusal({ prompt: 42 }).message, /^lead: invalid field "prompt": .*expected string/);
  assert.match(refusal({ conversation: { from: 'sid', messages: 'many', bytes: 10 } }).message, /^lead: invalid field "conversation\.messages": /);
});

test('an input of no known shape says which shapes it takes', () => {
  assert.match(refusal('hello').message, /^lead: invalid field "input": give \{ prompt: string \} or \{ messages: \[\.\.\.\] \}, not string$/);
  assert.match(refusal(null).message, /invalid field "input": .*not null$/);
  assert.match(refusal({}).message, /^lead: invalid field "input": give \{ prompt/);
  assert.match(refusal({ promt: 'hi' }).message, /^lead: invalid field "promt": not a field it takes \(did you mean "prompt"\?\); give /);
});

test('good inputs pass as given', () => {
  const inputs = [
    { prompt: 'hi' },
    { messages: [{ role: 'system', content: 's' }, { role: 'user', content: [{ type: 'text', text: 'hi' }] }, { role: 'assistant', content: 'ok' }], from: 'lead' },
    { conversation: { from: 'sid', digest: 'ab', messages: 3, bytes: 120 }, from: 'lead', reason: 'over to you' },
  ];
  for (const input of inputs) assert.equal(checkedInput('lead', input), input);
});

test('a handed-over conversation ends with the note of who handed it over and why, inline or by reference alike', () => {
  const said = [{ role: 'user' as const, content: 'start' }, { role: 'assistant' as const, content: 'over to the editor' }];
  const inline = startingMessages('editor', { messages: said, from: 'lead', reason: 'the draft is ready' });
  const byReference = startingMessages('editor', { conversation: { from: 'sid', digest: 'ab', messages: 2, bytes: 90 }, from: 'lead', reason: 'the draft is ready' });
  const note = { role: 'user', content: 'Continue the conversation handed over by lead (2 earlier messages): the draft is ready' };
  assert.deepEqual(inline, { messages: [...said, note] });
  // By reference the model step puts the kept conversation before the note.
  assert.deepEqual(byReference, { messages: [note], conversation: { from: 'sid', digest: 'ab', messages: 2, bytes: 90 } });
  // Messages given by whoever started the session, not by a handoff, are the conversation as it is.
  assert.deepEqual(startingMessages('editor', { messages: said }), { messages: said });
  assert.deepEqual(startingMessages('editor', { prompt: 'hi' }), { messages: [{ role: 'user', content: 'hi' }] });
});

test('an input holding both a prompt and messages (or a conversation) is refused naming them, not read as one of them', () => {
  assert.equal(
    refusal({ prompt: 'PROMPT-FIELD', messages: [{ role: 'user', content: 'MESSAGES-FIELD' }] }).message,
    'lead: invalid field "prompt": give "messages" or "prompt", not both (one would be dropped unseen)',
  );
  assert.match(refusal({ prompt: 'x', conversation: { from: 'sid', messages: 1, bytes: 2 } }).message, /^lead: invalid field "conversation": give "prompt" or "conversation", not both/);
  assert.match(refusal({ messages: [], prompt: 'x', conversation: {} }).message, /^lead: invalid field "prompt": give "messages" or "prompt" or "conversation", not several/);
});

test('{ messages: [] } is refused naming messages; an empty conversation handed over still has its note', () => {
  assert.equal(refusal({ messages: [] }).message, 'lead: invalid field "messages": give at least one message');
  assert.deepEqual(startingMessages('editor', { messages: [], from: 'lead', reason: 'over to you' }).messages, [
    { role: 'user', content: 'Continue the conversation handed over by lead (0 earlier messages): over to you' },
  ]);
});

test('a run made before these refusals (the patch says no) reads the input as it did then', () => {
  const old = () => false;
  assert.deepEqual(startingMessages('lead', { prompt: 'dropped', messages: [{ role: 'user', content: 'used' }] }, old), { messages: [{ role: 'user', content: 'used' }] });
  assert.deepEqual(startingMessages('lead', { messages: [] }, old), { messages: [] });
});
