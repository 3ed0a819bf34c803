/**
 * The Temporal runtime logs every worker state change at INFO. Commands meant for
 * people (the demo, the CLI, tests) install a WARN-level logger once per process.
 *
 * The Rust core's own log lines (network errors, namespace lookups) are forwarded to
 * that logger too: left to its console logger they go to stdout with colour codes,
 * into the JSON lines of `worker --json` and `dev --json`. The logger writes to stderr.
 */
import { inspect } from 'node:util';
import { DefaultLogger, Runtime, makeTelemetryFilterString, type LogEntry } from '@temporalio/worker';

let installed = false;

export function quietTemporalLogs(level: 'WARN' | 'ERROR' = 'WARN'): void {
  if (installed) return;
  installed = true;
  try {
    Runtime.install({
      logger: new DefaultLogger(level, compactLogLine),
      telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: level, other: level }) } },
    });
  } catch {
    // The runtime was already created by someone else; keep their settings.
  }
}

/**
 * Writes one log entry to stderr. A failed tool attempt is one line (the SDK logs its whole
 * stack at WARN, some twenty lines an attempt): scopetrail records the attempt with its
 * error, where `root-cause` and `actions` show it.
 */
export function compactLogLine(entry: LogEntry): void {
  const at = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta = entry.meta as Record<string, unknown> | undefined;
  if (entry.message === 'Activity failed' && meta) {
    const error = meta.error instanceof Error ? meta.error.message.split('\n')[0] : String(meta.error);
    const where = [meta.activityType, meta.attempt !== undefined ? `attempt ${String(meta.attempt)}` : undefined, meta.workflowId]
      .filter((v) => v !== undefined)
      .join(' · ');
    process.stderr.write(`${at} [${entry.level}] Activity failed: ${where}: ${error}\n`);
    return;
  }
  process.stderr.write(`${at} [${entry.level}] ${entry.message}${meta === undefined ? '' : ` ${inspect(meta, { breakLength: Infinity, depth: 4 })}`}\n`);
}
