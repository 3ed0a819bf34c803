/**
 * The Temporal runtime logs every worker state change at INFO. Commands meant for
 * people (the demo, the CLI, tests) install a WARN-level logger once per process.
 *
 * The Rust core's own log lines (network errors, namespace lookups) are forwarded to
 * that logger too: left to its console logger they go to stdout with colour codes,
 * into the JSON lines of `worker --json` and `dev --json`. The logger writes to stderr.
 */
import { DefaultLogger, Runtime, makeTelemetryFilterString } from '@temporalio/worker';

let installed = false;

export function quietTemporalLogs(level: 'WARN' | 'ERROR' = 'WARN'): void {
  if (installed) return;
  installed = true;
  try {
    Runtime.install({
      logger: new DefaultLogger(level),
      telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: level, other: level }) } },
    });
  } catch {
    // The runtime was already created by someone else; keep their settings.
  }
}
