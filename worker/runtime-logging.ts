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
import { InvalidOptionError } from '../cim/invalid-field';

/**
 * Sets the options the Temporal runtime is created with, without creating it. The SDK makes
 * its runtime from `Runtime.defaultOptions` when the first worker or native connection needs
 * one, and again after it shut down once the last of them closed. Installing it here instead
 * (`Runtime.install`) started the Rust core at once: its log forwarding kept the event loop
 * alive and its signal handlers swallowed SIGINT and SIGTERM until a worker registered, so a
 * command failing before it connected (a store in use) never exited and could not be stopped.
 */
let configured = false;

/** Whether quietTemporalLogs() was called: the bundler's logger is quieted with the runtime's (worker/plugin.ts). */
export function temporalLogsQuieted(): boolean {
  return configured;
}

export function quietTemporalLogs(level: 'WARN' | 'ERROR' = 'WARN'): void {
  // A level the logger does not know ('EROR') would quiet nothing, or everything, unseen.
  if (level !== 'WARN' && level !== 'ERROR') {
    throw new InvalidOptionError(`quietTemporalLogs: invalid field "level": give 'WARN' or 'ERROR', not ${JSON.stringify(level)}`, 'level');
  }
  if (configured) return;
  configured = true;
  // A runtime that already exists was configured by someone else; keep their settings.
  if (Runtime._instance !== undefined) return;
  Runtime.defaultOptions = {
    ...Runtime.defaultOptions,
    logger: new DefaultLogger(level, compactLogLine),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: level, other: level }) } },
  };
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
