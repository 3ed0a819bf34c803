/**
 * A signal whose name no handler was registered for waits in the SDK's buffer, and the
 * interceptors see it only once a handler takes it. When the run ends (or continues as
 * new) the buffer is dropped, so the signal would be in history and nowhere in the store.
 * As the run ends, a default handler that does nothing takes each buffered signal through
 * the interceptors, which record it as unhandled (UNHANDLED_SIGNAL_ERROR).
 *
 * An agent that set a default handler of its own has nothing buffered; the handler is
 * unset afterwards either way, and nothing of the agent runs after a run's end. (Before a
 * continue-as-new, a delegator may still wait for its open delegates: a signal arriving
 * then waits in the buffer and is dropped with the run, as before.)
 */
import { setDefaultSignalHandler } from '@temporalio/workflow';
import type { ScopeState } from './scope-state';

export function recordUnhandledSignals(st: ScopeState): void {
  st.drainingSignals = true;
  try {
    // The SDK throws out of this call for a buffered signal it cannot deliver (a reserved
    // `__temporal_` name, arguments that do not decode), after taking it from the buffer: go
    // on with the rest. Each throw takes one signal; the bound only guards the loop.
    for (let tries = 0; tries < MAX_REFUSED; tries++) {
      try {
        setDefaultSignalHandler(ignore);
        break;
      } catch {
        // that signal is dropped, as the run's end would drop it
      }
    }
  } finally {
    st.drainingSignals = false;
    setDefaultSignalHandler(undefined);
  }
}

const MAX_REFUSED = 10_000;

function ignore(): void {}
