/** The tool calls an llm_call records (cim/model-step.ts): a call that cannot run says why, as no row of its own will. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toolCallSummary } from '../../cim/model-step';

test('calls are listed by name, a tool by its own; one not offered or with arguments that are not JSON says so', () => {
  const offered = new Map([['search', 'search'], ['db_read', 'db.read'], ['delegate_to_researcher', 'delegate_to_researcher']]);
  assert.equal(
    toolCallSummary(
      [
        { toolName: 'search', input: '{"q":"x"}' },
        { toolName: 'db_read', input: '{"table":"notes"}' },
        { toolName: 'delegate_to_researcher', input: '' },
        { toolName: 'db_read', input: '{"q": ' },
        { toolName: 'nonexistent_tool', input: '{}' },
      ],
      offered,
    ),
    'search, db.read, delegate_to_researcher, db.read (arguments not JSON), nonexistent_tool (not offered)',
  );
  assert.equal(toolCallSummary([{ toolName: 'anything', input: '{}' }]), 'anything', 'without the offer, names are not judged');
});
