/**
 * Where benchmark results go: one JSON file per benchmark in bench/results, with the
 * command that produced it and the machine it ran on, plus the summary keys.
 */
import { cpus, totalmem, platform, release } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const RESULTS_DIR = join(__dirname, '..', 'results');

export interface Machine {
  cores: number;
  cpu: string;
  memoryGiB: number;
  os: string;
  node: string;
}

export function machine(): Machine {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()}`,
    node: process.version,
  };
}

export function command(): string {
  const script = process.argv[1] ? process.argv[1].replace(`${process.cwd()}/`, '') : '';
  return ['npx tsx', script, ...process.argv.slice(2)].join(' ').trim();
}

/** Writes bench/results/<name>.json and returns its path. */
export function writeResult(name: string, data: Record<string, unknown>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.json`);
  const body = { benchmark: name, command: command(), date: new Date().toISOString(), machine: machine(), ...data };
  writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`);
  return path;
}

export const SUMMARY_KEYS = [
  'overhead_ratio_vs_plain',
  'overhead_ratio_vs_otel',
  'loaded_tree_ratio_vs_plain',
  'loaded_tree_ratio_vs_otel',
  'loaded_short_ratio_vs_plain',
  'loaded_short_ratio_vs_otel',
  'loaded_tree_cpu_vs_otel',
  'loaded_short_cpu_vs_otel',
  'ingest_ratio_vs_copy',
  'ingest_sealed_ratio_vs_copy',
  'actions_under_p95_ms_10m',
  'footprint_p95_ms_10m',
  'worker_rss_growth_pct',
  'reconcile_1000_scopes_s',
  'actions_under_wide_root_p95_ms_10m',
  'footprint_wide_root_p95_ms_10m',
  'roles_ms_10m',
  'drift_ms_10m',
  'health_ms_10m',
  'prune_month_ms_10m',
  'storage_mib_per_million_actions',
  'scaleout_two_workers_throughput_ratio',
  'scaleout_task_queues_throughput_ratio',
  'scaleout_reconcile_differences',
  'seal_anchor_server_cpu_vs_per_scope',
  'seal_anchor_sets_server_cpu_vs_per_session',
  'local_tools_p50_vs_activities',
  'local_tools_loaded_p50_vs_activities',
  'seal_cpu_ratio_most_to_fewest_months',
  'replay_tree_cpu_vs_plain',
  'replay_tree_cpu_vs_otel',
  'replay_short_cpu_vs_plain',
  'replay_short_cpu_vs_otel',
] as const;
export type SummaryKey = (typeof SUMMARY_KEYS)[number];

/** Merges this benchmark's keys into bench/results/summary.json, keeping the others' latest values. */
export function updateSummary(values: Partial<Record<SummaryKey, number>>, source: string): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, 'summary.json');
  const current = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
  const sources = (current.sources as Record<string, string> | undefined) ?? {};
  for (const key of Object.keys(values)) sources[key] = source;
  const next: Record<string, unknown> = {};
  for (const key of SUMMARY_KEYS) next[key] = (values as Record<string, number>)[key] ?? current[key] ?? null;
  next.updated = new Date().toISOString();
  next.machine = machine();
  next.sources = sources;
  writeFileSync(path, `${JSON.stringify(next, null, 2)}\n`);
}

/** A fixed-width table for the terminal and for BENCHMARKS.md. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(3);
}
