/** The Temporal runtime's log lines as scopetrail's commands print them (worker/runtime-logging.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compactLogLine } from '../../worker/runtime-logging';

function captured(fn: () => void): string {
  const write = process.stderr.write;
  let out = '';
  process.stderr.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = write;
  }
  return out;
}

test('a failed tool attempt is one line naming the tool, the attempt, the run and the error, without its stack', () => {
  const error = new Error('translation service unavailable for "de"');
  error.stack = `${error.message}\n    at translate (tools.ts:10:5)\n    at Activity.execute (activity.js:1:1)`;
  const out = captured(() =>
    compactLogLine({
      level: 'WARN',
      message: 'Activity failed',
      meta: { error, durationMs: 3, activityType: 'translate', attempt: 2, workflowId: 'ses-1.3', taskQueue: 'agents' },
      timestampNanos: 1_764_000_000_000_000_000n,
    }),
  );
  assert.equal(out.split('\n').filter(Boolean).length, 1, out);
  assert.match(out, /^\S+Z \[WARN\] Activity failed: translate · attempt 2 · ses-1\.3: translation service unavailable for "de"\n$/);
});

test('any other entry keeps its message and its metadata on one line', () => {
  const out = captured(() => compactLogLine({ level: 'ERROR', message: 'Worker failed', meta: { taskQueue: 'agents' }, timestampNanos: 0n }));
  assert.equal(out, "1970-01-01T00:00:00.000Z [ERROR] Worker failed { taskQueue: 'agents' }\n");
});
