/**
 * The Temporal runtime logs every worker state change at INFO. Commands meant for
 * people (the demo, the CLI, tests) install a WARN-level logger once per process.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';

let installed = false;

export function quietTemporalLogs(level: 'WARN' | 'ERROR' = 'WARN'): void {
  if (installed) return;
  installed = true;
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch {
    // The runtime was already created by someone else; keep their settings.
  }
}
