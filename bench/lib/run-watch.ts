/**
 * What a run did to this process and the server beside its time: the event loop's delay
 * and the garbage collector's pauses over a window, and the WAL the server wrote. For
 * looking into a result (ingest's INGEST_CPU_SPLIT=1), not for the ratios themselves.
 */
import pg from 'pg';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

/** Starts watching the event loop and the collector; `stop` ends it and describes the window. */
export function watchLoop(): { stop(): string } {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const gc = { ms: 0, pauses: 0, major: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.ms += entry.duration;
      gc.pauses += 1;
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind !== constants.NODE_PERFORMANCE_GC_MINOR) gc.major += 1;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop: () => {
      loop.disable();
      observer.disconnect();
      const ms = (ns: number) => (ns / 1e6).toFixed(2);
      return (
        `event loop delay ms: mean ${ms(loop.mean)}, p99 ${ms(loop.percentile(99))}, max ${ms(loop.max)}; ` +
        `garbage collection: ${gc.pauses} pauses (${gc.major} not minor), ${gc.ms.toFixed(0)} ms`
      );
    },
  };
}

/** Where the server's WAL is now, in bytes: what a run wrote is the difference. */
export async function walPosition(url: string): Promise<bigint> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ at: string }>(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS at`);
    return BigInt(rows[0]!.at);
  } finally {
    await client.end();
  }
}
