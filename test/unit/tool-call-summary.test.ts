/** The tool calls an llm_call records (cim/model-step.ts): a call that cannot run says why, as no row of its own will. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toolCallSummary } from '../../cim/model-step';

test('calls are listed by name; one not offered or with arguments that are not JSON says so', () => {
  const offered = new Set(['search', 'delegate_to_researcher']);
  assert.equal(
    toolCallSummary(
      [
        { toolName: 'search', input: '{"q":"x"}' },
        { toolName: 'delegate_to_researcher', input: '' },
        { toolName: 'search', input: '{"q": ' },
        { toolName: 'nonexistent_tool', input: '{}' },
      ],
      offered,
    ),
    'search, delegate_to_researcher, search (arguments not JSON), nonexistent_tool (not offered)',
  );
  assert.equal(toolCallSummary([{ toolName: 'anything', input: '{}' }]), 'anything', 'without the offer, names are not judged');
});
