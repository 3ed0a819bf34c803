/**
 * Reads the CPU profiles `node --cpu-prof` wrote (one per thread: the main thread runs
 * activities, sinks, the recorder and the client; each workflow thread runs bundled
 * workflow code) and prints where the time went: self time by source file and the
 * heaviest functions, with inclusive time for those matching --focus.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/overhead.ts --rounds 1 --workloads tree_loaded
 *   npx tsx bench/profile-summary.ts /tmp/prof [--top 40] [--focus scopetrail-source-substring]
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '40' }, focus: { type: 'string', multiple: true, default: [] } },
});
const dir = positionals[0];
if (!dir) throw new Error('give the folder the .cpuprofile files are in');

const shortUrl = (url: string) => url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, 'nm:').replace(process.cwd() + '/', '');

for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(id, (self.get(id) ?? 0) + dt);
    total += dt;
  });
  const idle = [...self].filter(([id]) => ['(idle)', '(program)'].includes(byId.get(id)!.callFrame.functionName)).reduce((s, [, t]) => s + t, 0);
  const busy = total - idle;
  const key = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const selfByFn = new Map<string, number>();
  const selfByFile = new Map<string, number>();
  // Inclusive time: each sample counts once for every distinct function on its stack.
  const inclusive = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const n = byId.get(id)!;
    if (['(idle)', '(program)'].includes(n.callFrame.functionName)) return;
    selfByFn.set(key(n), (selfByFn.get(key(n)) ?? 0) + dt);
    const f = shortUrl(n.callFrame.url) || '(native)';
    selfByFile.set(f, (selfByFile.get(f) ?? 0) + dt);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const k = key(byId.get(at)!);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
  });
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms ${((us / busy) * 100).toFixed(1).padStart(5)} %`;
  const top = Number(args.top);
  console.log(`\n=== ${file}: busy ${(busy / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms`);
  console.log('-- self time by file');
  for (const [f, t] of [...selfByFile].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(t)}  ${f}`);
  console.log('-- self time by function');
  for (const [f, t] of [...selfByFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(t)}  ${f}`);
  for (const focus of args.focus as string[]) {
    console.log(`-- inclusive time, functions matching "${focus}"`);
    for (const [f, t] of [...inclusive].filter(([k]) => k.includes(focus)).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(t)}  ${f}`);
  }
}
