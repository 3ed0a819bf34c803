/**
 * The model a provider served, when it is not the one asked for (activities/llm.ts): the call
 * has happened, so its resource is recorded whatever the allowance says, and one outside the
 * allowance is marked on the record and logged — without failing the call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineLlm, OUTSIDE_ALLOWANCE_ATTRIBUTE, type LlmProvider } from '../../activities/llm';
import { runWithToolRun, type ToolRun } from '../../activities/tool-context';
import type { ScopeContext } from '../../cim/schemas';

/** A provider that answers every request with `served`, whatever was asked. */
const serving = (served: string): LlmProvider => ({
  name: 'openai',
  defaultModel: 'gpt-4o',
  complete: async () => ({ text: 'ok', model: served, inputTokens: 1, outputTokens: 1 }),
});

async function call(served: string, allowance: string[] | null): Promise<{ run: ToolRun; warnings: string[]; model: string }> {
  const scope = { scopeId: 's.1', sessionId: 's', agent: 'writer', allowance } as unknown as ScopeContext;
  const run: ToolRun = { scope, attempt: 1, resources: [], attributes: {}, refused: [] };
  const warnings: string[] = [];
  const original = console.error;
  console.error = (message: unknown) => void warnings.push(String(message));
  try {
    const result = await runWithToolRun(run, () => defineLlm(serving(served)).activity({ messages: [{ role: 'user', content: 'hi' }] }));
    return { run, warnings, model: result.model };
  } finally {
    console.error = original;
  }
}

test('a served model outside the allowance is recorded, marked and logged, and the call still answers', async () => {
  const { run, warnings, model } = await call('other-model', ['llm:openai/gpt-4o']);
  assert.equal(model, 'other-model');
  assert.deepEqual(run.resources, [
    { uri: 'llm:openai/gpt-4o', mode: 'share' },
    { uri: 'llm:openai/other-model', mode: 'share' },
  ]);
  assert.equal(run.attributes[OUTSIDE_ALLOWANCE_ATTRIBUTE], 'llm:openai/other-model');
  assert.deepEqual(run.refused, [], 'nothing was refused: the call had already happened');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /writer in scope s\.1 asked openai for gpt-4o and was served other-model, outside its allowance \(llm:openai\/gpt-4o\)/);
});

test('a served model the allowance permits (by prefix, or unrestricted) is recorded without a mark', async () => {
  for (const allowance of [['llm:openai/gpt-4o*'], null]) {
    const { run, warnings } = await call('gpt-4o-2024-08-06', allowance);
    assert.deepEqual(run.resources.map((r) => r.uri), ['llm:openai/gpt-4o', 'llm:openai/gpt-4o-2024-08-06']);
    assert.equal(run.attributes[OUTSIDE_ALLOWANCE_ATTRIBUTE], undefined);
    assert.deepEqual(warnings, []);
  }
});

test('the model asked for, served as asked, adds nothing', async () => {
  const { run, warnings } = await call('gpt-4o', ['llm:openai/gpt-4o']);
  assert.deepEqual(run.resources, [{ uri: 'llm:openai/gpt-4o', mode: 'share' }]);
  assert.equal(run.attributes[OUTSIDE_ALLOWANCE_ATTRIBUTE], undefined);
  assert.deepEqual(warnings, []);
});
