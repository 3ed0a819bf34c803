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
    'search, db.read, delegate_to_researcher (refused: give the objective as a non-empty string), db.read (arguments not JSON), nonexistent_tool (not offered)',
  );
  assert.equal(toolCallSummary([{ toolName: 'anything', input: '{}' }]), 'anything', 'without the offer, names are not judged');
});

test("a tool the model names by its own name, not the one it was offered, is not offered, and the entry says which name the model used", () => {
  const offered = new Map([['db_read', 'db.read'], ['search', 'search']]);
  assert.equal(
    toolCallSummary([{ toolName: 'db_read', input: '{}' }, { toolName: 'db.read', input: '{}' }], offered),
    'db.read, db.read (not offered: the model asked for "db.read"; it is offered as db_read)',
  );
});

test('a delegation or handoff whose arguments the agent refuses says why, as the model is told', () => {
  const offered = new Map([['delegate_to_scout', 'delegate_to_scout'], ['handoff_to_editor', 'handoff_to_editor']]);
  assert.equal(
    toolCallSummary(
      [
        { toolName: 'delegate_to_scout', input: '{"objective":"find the sources"}' },
        { toolName: 'delegate_to_scout', input: '{"objective":42}' },
        { toolName: 'handoff_to_editor', input: '{"nope":1}' },
        { toolName: 'handoff_to_editor', input: '{"reason":"  "}' },
        { toolName: 'handoff_to_editor', input: '[1]' },
        { toolName: 'handoff_to_editor', input: '{"reason":"the editor finishes"}' },
      ],
      offered,
    ),
    [
      'delegate_to_scout',
      'delegate_to_scout (refused: give the objective as a non-empty string)',
      'handoff_to_editor (refused: "nope" is not an argument it takes (it takes "reason" alone))',
      'handoff_to_editor (refused: give the reason as a non-empty string)',
      'handoff_to_editor (refused: give the arguments as an object with "reason")',
      'handoff_to_editor',
    ].join(', '),
  );
});
