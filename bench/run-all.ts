/**
 * `npm run bench`: every benchmark, one after another, each in its own process so one's
 * memory and caches do not colour the next. Extra arguments go to none; run a part alone
 * (npm run bench:ingest, bench:commit-cpu, bench:queries, bench:overhead, bench:anchors, bench:memory,
 * bench:reconcile, bench:scaleout, bench:history, bench:local-tools, bench:seal-months,
 * bench:sandbox-replay)
 * to pass it options.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const PARTS = ['ingest', 'commit-cpu', 'queries', 'overhead', 'sandbox-replay', 'local-tools', 'history-bytes', 'anchors', 'seal-months', 'reconcile', 'scaleout', 'memory'];

let failed = 0;
for (const [i, part] of PARTS.entries()) {
  console.error(`\n== bench ${i + 1}/${PARTS.length}: ${part}`);
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, `${part}.ts`)], { stdio: 'inherit' });
  console.error(`== ${part}: ${r.status === 0 ? 'done' : `FAILED (exit ${r.status})`} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (r.status !== 0) failed += 1;
}
console.error(`\nresults in bench/results/; summary in bench/results/summary.json${failed ? `; ${failed} part(s) failed` : ''}`);
process.exit(failed ? 1 : 0);
