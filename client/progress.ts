/**
 * Progress of a long operation, on stderr only (stdout stays clean for --json): on a
 * terminal a bar redrawn in place with count/total, rate and ETA; elsewhere (CI logs,
 * pipes) a plain line every few seconds, so a log shows it is alive without a flood.
 *
 *   const p = progress({ label: 'inserting actions', total: 1_000_000 });
 *   for (…) p.tick(batch.length);
 *   p.done();
 */

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  label: string;
  /** Units expected; without it the report has no bar, percentage or ETA. */
  total?: number;
  /** Default: process.stderr. */
  stream?: ProgressStream;
  /** Milliseconds between plain lines when the stream is not a terminal (default 5000). */
  lineEveryMs?: number;
  /** Milliseconds between redraws on a terminal (default 100). */
  redrawEveryMs?: number;
  /** The clock, for tests. */
  now?: () => number;
}

export interface Progress {
  /** `n` more units are done (default 1). */
  tick(n?: number): void;
  /** Exactly `done` units are done (for callbacks that report a running count). */
  set(done: number): void;
  /** Ends the report. `clear` removes it (a terminal's bar is erased, nothing else is written). */
  done(options?: { clear?: boolean }): void;
}

export interface ProgressState {
  label: string;
  done: number;
  total?: number;
  elapsedMs: number;
}

const BAR_WIDTH = 24;

export function progress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = Boolean(stream.isTTY);
  const now = options.now ?? Date.now;
  const every = tty ? (options.redrawEveryMs ?? 100) : (options.lineEveryMs ?? 5_000);
  const started = now();
  let count = 0;
  let lastShown = started;
  let shown = false;
  let finished = false;

  const state = (): ProgressState => ({ label: options.label, done: count, total: options.total, elapsedMs: now() - started });
  const fit = (line: string) => {
    const width = stream.columns ? stream.columns - 1 : undefined;
    return width !== undefined && line.length > width ? line.slice(0, width) : line;
  };
  const show = () => {
    stream.write(tty ? `\r\u001b[2K${fit(renderProgress(state(), { bar: true }))}` : `${renderProgress(state(), { bar: false })}\n`);
    shown = true;
    lastShown = now();
  };
  const maybeShow = () => {
    if (finished) return;
    if (now() - lastShown >= every) show();
  };
  return {
    tick(n = 1) {
      count += n;
      maybeShow();
    },
    set(done) {
      count = done;
      maybeShow();
    },
    done(o = {}) {
      if (finished) return;
      finished = true;
      if (o.clear) {
        if (tty && shown) stream.write('\r\u001b[2K');
        return;
      }
      const line = renderSummary(state());
      stream.write(tty ? `\r\u001b[2K${fit(line)}\n` : `${line}\n`);
    },
  };
}

/**
 * Progress of one long step that reports no count (a single statement): the time it has
 * taken so far, redrawn each second on a terminal, a plain line every few seconds elsewhere;
 * nothing at all if it ends within the first interval. `done` erases a terminal's line.
 */
export function working(options: { label: string; stream: ProgressStream; lineEveryMs?: number; redrawEveryMs?: number }): { done(): void } {
  const tty = Boolean(options.stream.isTTY);
  const started = Date.now();
  let shown = false;
  const timer = setInterval(
    () => {
      const line = `${options.label}… ${duration(Date.now() - started)}`;
      options.stream.write(tty ? `\r\u001b[2K${line}` : `${line}\n`);
      shown = true;
    },
    tty ? (options.redrawEveryMs ?? 1_000) : (options.lineEveryMs ?? 5_000),
  );
  timer.unref();
  return {
    done() {
      clearInterval(timer);
      if (tty && shown) options.stream.write('\r\u001b[2K');
    },
  };
}

/** One report line: `label [████░░░░] 1,200/5,000 24% · 310/s · ETA 12 s`. */
export function renderProgress(s: ProgressState, o: { bar: boolean }): string {
  const rate = s.elapsedMs > 0 ? (s.done * 1000) / s.elapsedMs : 0;
  const parts: string[] = [];
  if (s.total !== undefined && s.total > 0) {
    const ratio = Math.min(1, s.done / s.total);
    const count = `${num(s.done)}/${num(s.total)} ${Math.floor(ratio * 100)}%`;
    if (o.bar) {
      const filled = Math.round(ratio * BAR_WIDTH);
      parts.push(`[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${count}`);
    } else {
      parts.push(count);
    }
  } else {
    parts.push(num(s.done));
  }
  parts.push(`${num(Math.round(rate))}/s`);
  if (s.total !== undefined && s.total > s.done) {
    parts.push(rate > 0 ? `ETA ${duration(((s.total - s.done) / rate) * 1000)}` : 'ETA ?');
  } else {
    parts.push(duration(s.elapsedMs));
  }
  return `${s.label} ${parts.join(' · ')}`;
}

export function renderSummary(s: ProgressState): string {
  const rate = s.elapsedMs > 0 ? (s.done * 1000) / s.elapsedMs : 0;
  const of = s.total !== undefined && s.total !== s.done ? ` of ${num(s.total)}` : '';
  return `${s.label}: ${num(s.done)}${of} in ${duration(s.elapsedMs)} (${num(Math.round(rate))}/s)`;
}

function num(n: number): string {
  return n.toLocaleString('en-US');
}

function duration(ms: number): string {
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 120) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
