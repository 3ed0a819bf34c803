/**
 * Writes BENCHMARKS.md from bench/results/*.json, so the document always shows what the
 * last runs measured (with their commands, machine and dates), followed by the
 * hand-written notes in bench/optimizations.md.
 *
 *   npx tsx bench/write-report.ts
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS_DIR, table } from './lib/report';
import type { Summary } from './lib/stats';

type Json = Record<string, any>;
const read = (name: string): Json | undefined => {
  const path = join(RESULTS_DIR, `${name}.json`);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Json) : undefined;
};
const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const spread = (s: Summary, d = 3) => `${f(s.median, d)} (${f(s.min, d)}–${f(s.max, d)})`;
const provenance = (r: Json) =>
  `Command: \`${r.command}\` · ${r.date.slice(0, 16).replace('T', ' ')} UTC · ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memoryGiB} GiB, Node ${r.machine.node}`;

const GOALS: Record<string, { goal: string; met: (v: number) => boolean }> = {
  overhead_ratio_vs_plain: { goal: '≤ 1.05', met: (v) => v <= 1.05 },
  overhead_ratio_vs_otel: { goal: '≤ 1.00', met: (v) => v <= 1.0 },
  loaded_tree_ratio_vs_plain: { goal: '≤ 1.10', met: (v) => v <= 1.1 },
  loaded_tree_ratio_vs_otel: { goal: '≤ 1.00', met: (v) => v <= 1.0 },
  loaded_short_ratio_vs_plain: { goal: '≤ 1.15', met: (v) => v <= 1.15 },
  loaded_short_ratio_vs_otel: { goal: '≤ 1.00', met: (v) => v <= 1.0 },
  loaded_tree_cpu_vs_otel: { goal: '≤ 1.00', met: (v) => v <= 1.0 },
  loaded_short_cpu_vs_otel: { goal: '≤ 1.00', met: (v) => v <= 1.0 },
  ingest_ratio_vs_copy: { goal: '≥ 0.80', met: (v) => v >= 0.8 },
  ingest_sealed_ratio_vs_copy: { goal: '≥ 0.50', met: (v) => v >= 0.5 },
  actions_under_p95_ms_10m: { goal: '< 20 ms', met: (v) => v < 20 },
  footprint_p95_ms_10m: { goal: '< 50 ms', met: (v) => v < 50 },
  worker_rss_growth_pct: { goal: 'flat (≈ 0 %)', met: (v) => Math.abs(v) < 5 },
  reconcile_1000_scopes_s: { goal: 'reported', met: () => true },
  actions_under_wide_root_p95_ms_10m: { goal: '< 20 ms', met: (v) => v < 20 },
  footprint_wide_root_p95_ms_10m: { goal: '< 20 ms', met: (v) => v < 20 },
  roles_ms_10m: { goal: '< 100 ms', met: (v) => v < 100 },
  drift_ms_10m: { goal: '< 100 ms', met: (v) => v < 100 },
  health_ms_10m: { goal: '< 100 ms', met: (v) => v < 100 },
  prune_month_ms_10m: { goal: '< 1000 ms', met: (v) => v < 1000 },
  storage_mib_per_million_actions: { goal: 'reported', met: () => true },
  scaleout_two_workers_throughput_ratio: { goal: 'reported (> 1 when the worker is the bottleneck)', met: () => true },
  scaleout_task_queues_throughput_ratio: { goal: 'reported (> 1 when the worker is the bottleneck)', met: () => true },
  scaleout_reconcile_differences: { goal: '0', met: (v) => v === 0 },
  seal_anchor_server_cpu_vs_per_scope: { goal: 'reported (< 1: batches cost the server less)', met: () => true },
  seal_anchor_sets_server_cpu_vs_per_session: { goal: 'reported (< 1: anchors shared by sessions cost the server less)', met: () => true },
  local_tools_p50_vs_activities: { goal: 'reported (< 1: local calls are faster)', met: () => true },
  local_tools_loaded_p50_vs_activities: { goal: 'reported (< 1: local calls are faster)', met: () => true },
  seal_cpu_ratio_most_to_fewest_months: { goal: 'reported (near 1: sealing costs Postgres about the same however many months are kept)', met: () => true },
  replay_tree_cpu_vs_plain: { goal: 'reported (the sandbox\'s share of goal 1, apart from the host\'s load)', met: () => true },
  replay_tree_cpu_vs_otel: { goal: 'reported (≤ 1: less sandbox work than the OpenTelemetry interceptors)', met: () => true },
  replay_short_cpu_vs_plain: { goal: 'reported (the sandbox\'s share of goal 1, apart from the host\'s load)', met: () => true },
  replay_short_cpu_vs_otel: { goal: 'reported (≤ 1: less sandbox work than the OpenTelemetry interceptors)', met: () => true },
};

const out: string[] = [];
out.push('# Benchmarks', '');
out.push(
  'Every figure here comes from `npm run bench` (or one part alone, `npm run bench:<part>`), written to `bench/results/*.json` and turned into this page by `npx tsx bench/write-report.ts`. Comparisons are ratios measured in one run with the variants interleaved (the order rotates every round) and repeated; tables give medians with the spread (min–max) of the repeats. These are shared 2-core machines: read ratios, not absolute times.',
  '',
);
const summary = read('summary');
if (summary) {
  out.push('## Summary (bench/results/summary.json)', '');
  out.push(
    table(
      ['key', 'value', 'goal', 'met', 'from'],
      Object.keys(GOALS).map((k) => {
        const v = (summary[k] ?? null) as number | null;
        return [k, v === null ? 'not run' : String(v), GOALS[k]!.goal, v === null ? '' : GOALS[k]!.met(v) ? 'yes' : 'no', summary.sources?.[k] ?? ''];
      }),
    ),
    '',
  );
}

const overhead = read('overhead');
/** How the scopetrail variant's sandbox code was bundled (results from before this was recorded say nothing). */
const SANDBOX_NOTE: Record<string, string> = {
  'compiled package': "scopetrail's workflow sandbox runs its code compiled, as the installed package ships it (bench/lib/compiled-sandbox.ts). ",
  sources: "scopetrail's workflow sandbox runs its code bundled from the TypeScript sources (`--sources`). ",
};
if (overhead) {
  out.push('## 1. Capture overhead', '', provenance(overhead), '');
  out.push(
    'The same workload three ways: **plain** Temporal (no interceptors), **otel** (`@temporalio/interceptors-opentelemetry` through `OpenTelemetryPlugin`: workflow, activity and sink interceptors, spans batched to an in-memory exporter — no network cost, which favours it), and **scopetrail** (agents, tools, scope headers, CIM records committed to Postgres before each workflow task or activity completes). `tree` sessions are an orchestrator delegating to 3 sub-agents that each delegate to 2 more (depth 3, 10 scopes, 51 actions); `short` sessions are one agent with 2 tool calls. Latency runs one session at a time; `_loaded` runs keep several in flight to measure throughput on a saturated machine. Tools answer at once, so the runtime is all that is measured. ' +
      (overhead.main_thread === 'compiled package'
        ? "scopetrail runs compiled, as the installed package ships it: its sandbox code in the workflow bundle, and its worker, store and client on the main thread (bench/lib/compiled-sandbox.ts). "
        : (SANDBOX_NOTE[String(overhead.sandbox)] ?? '')) +
      'CPU is read from /proc around each batch (this process runs the worker and the client; Postgres counts every backend, those that exit during a batch too, through the postmaster\'s reaped children, since 2026-12-07 afternoon: runs before then left out the backends that closed).',
    '',
  );
  out.push(...overheadTables(overhead));
}

const ownCpus = read('overhead-postgres-own-cpus');
if (ownCpus) {
  out.push('## 1b. Capture overhead with Postgres on CPUs of its own', '', provenance(ownCpus), '');
  out.push(
    `The same benchmark with the local Postgres server held to CPU ${ownCpus.postgres_cpus.join(', ')} and the workers, the client and Temporal to CPU ${ownCpus.app_cpus.join(', ')} (\`--postgres-cpus\`, bench/lib/pin-cpus.ts), as a database on a host of its own would be. Every variant runs on the same CPUs; what scopetrail adds here is its own work in the worker and in Temporal, not Postgres's share of their cores.`,
    '',
    ...overheadTables(ownCpus),
  );
}

/** Each workload's table of an overhead run (bench/overhead.ts). */
function overheadTables(run: Json): string[] {
  const out: string[] = [];
  for (const w of ['tree', 'short', 'tree_loaded', 'short_loaded']) {
    const r = run[w];
    if (!r) continue;
    out.push(`**${w}** — ${r.actions_per_session} actions per session, ${r.concurrency} in flight, ${r.sessions_per_round} sessions per variant per round, ${run.rounds} rounds`, '');
    out.push(
      table(
        ['variant', 'sessions/s', 'actions/s', 'latency p50 ms', 'latency p95 ms', 'CPU ms/session: worker+client', 'Temporal', 'Postgres'],
        ['plain', 'otel', 'scopetrail'].map((v) => {
          const x = r.variants[v];
          const cpu = x.cpu_ms_per_session ?? {};
          return [
            v,
            spread(x.sessions_per_s, 2),
            f(x.actions_per_s),
            f(x.latency_ms.p50, 0),
            f(x.latency_ms.p95, 0),
            f(cpu.worker_and_client, 0),
            f(Math.max(0, cpu.temporal), 0),
            f(Math.max(0, cpu.postgres), 0),
          ];
        }),
      ),
      '',
      `scopetrail p50 latency ÷ plain: **${spread(r.ratio_p50_vs_plain)}**; ÷ otel: **${spread(r.ratio_p50_vs_otel)}** (per-round ratios: median (min–max)).`,
      '',
    );
    // Runs before the split was measured have no thread figures.
    if (r.variants.plain?.cpu_ms_per_session?.main_thread !== undefined) {
      const split = (v: string) => {
        const c = r.variants[v].cpu_ms_per_session;
        return `${v} ${f(c.main_thread, 1)} / ${f(c.sdk_core, 1)} / ${f(c.other_threads, 1)}`;
      };
      out.push(`Worker+client CPU ms per session by thread (main thread / the SDK core's threads / workflow threads and V8's helpers): ${['plain', 'otel', 'scopetrail'].map(split).join('; ')}.`, '');
    }
    const st = r.variants.scopetrail;
    if (st?.postgres_statements_per_session !== undefined) {
      out.push(
        `scopetrail sent ${f(st.postgres_statements_per_session, 1)} Postgres statements per session, sealing included, for ${f(st.rows_per_session, 0)} rows (records, fingerprints, payloads): a cost that moves far less with the host's load than CPU time does (group commits grow a little when commits are slow).`,
        '',
      );
    }
  }
  return out;
}

/** An ingest run's table (bench/ingest.ts). */
function ingestTable(run: Json): string {
  return table(
    ['batch rows', 'COPY rows/s', 'durable rows/s', 'sealed rows/s', 'durable ÷ COPY', 'sealed ÷ COPY', 'CPU: COPY ÷ sealed'],
    (run.batches as Json[]).map((b) => [
      b.batch_rows === run.rows ? `all (${b.batch_rows})` : String(b.batch_rows),
      f(b.copy_rows_per_s.median, 0),
      f(b.scopetrail_rows_per_s.median, 0),
      f(b.scopetrail_sealed_rows_per_s.median, 0),
      spread(b.ratio_vs_copy),
      spread(b.sealed_ratio_vs_copy),
      b.cpu_ratio_vs_copy ? spread(b.cpu_ratio_vs_copy) : 'n/a',
    ]),
  );
}

const ingest = read('ingest');
if (ingest?.batches) {
  out.push('## 2. Ingest', '', provenance(ingest), '');
  out.push(
    `${ingest.rows.toLocaleString('en-US')} rows (${ingest.scopes.toLocaleString('en-US')} scopes, ${ingest.actions.toLocaleString('en-US')} actions of synthetic sessions), ${ingest.rounds} rounds, fresh tables with the same indexes for every run and a \`CHECKPOINT\` before it (no run pays for writing out the one before), at several batch sizes. **COPY** is raw \`COPY ... FROM STDIN\` of the same rows, one transaction per batch. **scopetrail** is the worker's write path: one small write per scope (its record and its actions), a batch's worth of rows in flight, through the recorder's group commit into idempotent upserts, timed until every writer is released (durable — what a workflow task or activity waits for); **sealed** also waits for the hash chains, which are sealed behind the write path. The figures under "all" put every write in flight at once.`,
    '',
  );
  out.push(
    ingestTable(ingest),
    '',
    'Ratios are per round (COPY and scopetrail measured back to back, order rotating): median (min–max). The CPU column divides the CPU seconds of COPY by those of the write path to sealed (this process and its own Postgres backends): steadier than wall time on a shared machine.',
    '',
  );
  const sustained = read('ingest-sustained');
  /** Each goal of the standard run, said of the sustained one: where it holds, and at which batch sizes it does not. */
  const sustainedVerdict = (batches: Json[], rows: number): string => {
    const below = (key: string, goal: number) =>
      batches.filter((b) => b[key].median < goal).map((b) => (b.batch_rows === rows ? 'with every write in flight' : `at ${b.batch_rows}-row batches`));
    const durable = below('ratio_vs_copy', 0.8);
    const sealed = below('sealed_ratio_vs_copy', 0.5);
    const said = [
      durable.length ? `**the durable goal (≥ 0.80) is not met** ${durable.join(' and ')}` : 'the durable goal (≥ 0.80) holds at every batch size',
      sealed.length ? `**the sealed goal (≥ 0.50) is not met** ${sealed.join(' and ')}` : 'the sealed goal (≥ 0.50) holds at every batch size',
    ];
    const overflow = sealed.includes('with every write in flight')
      ? ' With every write in flight, one commit holds all the actions, more than the 100 000 records the sealer keeps (`maxHeldRecords`): the scopes that end whole in it are hashed while Postgres writes it, and those not hashed by the time it commits are read back at sealing (docs/deployment.md, "Under a sustained write load").'
      : '';
    return `Here ${said.join('; ')}.${overflow}`;
  };
  if (sustained?.batches) {
    out.push(
      '### Sustained',
      '',
      provenance(sustained),
      '',
      `The run above is a burst: while writes keep coming, the sealer waits until its oldest scope has waited 5 s, or the records it holds for sealing fill half its cache (\`maxHeldBacklog\` in worker/sealer.ts); at that bound it first hashes them ahead and keeps only their chains, about a tenth of the memory, and seals beside the writes only once the chains fill it (a single commit larger than the cache has its ended scopes hashed while Postgres writes it). The burst's ${ingest.actions.toLocaleString('en-US')} actions reach the bound near their end, and hashing keeps them under it. ${sustained.rows.toLocaleString('en-US')} rows (${sustained.actions.toLocaleString('en-US')} actions, ${sustained.rounds} rounds) show the steady state, where the 5 s bound is passed and sealing keeps pace beside the writes. ${sustainedVerdict(sustained.batches as Json[], sustained.rows)}`,
      '',
      ingestTable(sustained),
      '',
    );
  }
}

const queries = read('queries');
if (queries) {
  out.push('## 3. Queries at scale', '', provenance(queries), '');
  out.push(
    'Synthetic stores loaded straight into Postgres with COPY (bench/lib/load-store.ts): 94 % typical sessions (a root with 2–5 sub-agents, some nested; 4–12 calls per scope), 3 % deep (a delegation chain 24–31 scopes long), 3 % wide (a root fanning out to 150–250 sub-agents), 25 % LLM calls, 3 % retried calls, resources spread over web, databases, mail. Each query runs through `ScopeClient` on sampled scopes (any scope; roots of typical, deep and wide sessions; leaves), warm, in rotating order. `scopeTree` and `rootCause` take the sampled scope\'s session; `wasTouched` here is its store half (the actions under the scope matched against a resource prefix) — the reconcile it adds as evidence is timed in section 5.',
    '',
  );
  for (const [size, r] of Object.entries(queries.sizes as Json)) {
    out.push(`**${Number(size).toLocaleString('en-US')} actions** (${r.actions.toLocaleString('en-US')} actions, ${r.scopes.toLocaleString('en-US')} scopes, ${r.sessions.toLocaleString('en-US')} sessions; loaded in ${f(r.loadSeconds, 0)} s) — p50 / p95 in ms`, '');
    const qs = Object.keys(r.results.any ?? {});
    out.push(
      table(
        ['scopes sampled', 'actions under (avg)', ...qs],
        Object.entries(r.results as Json).map(([cat, x]) => [cat, String(r.rowsReturned[cat]), ...qs.map((q) => `${f(x[q].p50)} / ${f(x[q].p95)}`)]),
      ),
      '',
    );
  }
  const biggest = Object.values(queries.sizes as Json).at(-1) as Json | undefined;
  if (biggest?.plans) {
    out.push('Plans at the largest size (`EXPLAIN` of the descendants query, `EXPLAIN (ANALYZE, BUFFERS)` of a session\'s scopes):', '');
    out.push('```', biggest.plans.actionsUnder, '```', '', '```', biggest.plans.scopesOfSession, '```', '');
  }
}

const memory = read('memory');
if (memory) {
  out.push('## 4. Memory', '', provenance(memory), '');
  out.push(
    `A scopetrail worker in its own process, short sessions with ${memory.concurrency} in flight for ${memory.minutes} minutes (${memory.sessions.toLocaleString('en-US')} sessions, ${f(memory.sessions_per_s)} sessions/s, ${f(memory.actions_per_s)} actions/s, ${memory.failures} failed); resident set size sampled every 5 s.`,
    '',
  );
  out.push(
    table(
      ['window', 'RSS median MiB', 'min', 'max'],
      [
        ['minute 2 (after a 1-minute warm-up)', f(memory.rss_after_warmup_mib.median), f(memory.rss_after_warmup_mib.min), f(memory.rss_after_warmup_mib.max)],
        ['last minute', f(memory.rss_last_minute_mib.median), f(memory.rss_last_minute_mib.min), f(memory.rss_last_minute_mib.max)],
      ],
    ),
    '',
    `Growth: **${f(memory.rss_growth_pct, 2)} %**. Per minute (median RSS MiB): ${perMinute(memory.samples)}.`,
    '',
  );
}

const reconcile = read('reconcile');
if (reconcile) {
  out.push('## 5. Reconcile cost', '', provenance(reconcile), '');
  out.push(
    `One session of ${reconcile.scopes} scopes (a fan-out of ${reconcile.scopes - 1} delegations, 50 at a time, each with one tool call; the session itself ran in ${f(reconcile.session_seconds)} s), reconciled against its Temporal histories; ${reconcile.differences} differences.`,
    '',
  );
  out.push(
    table(
      ['measure', 'median s', 'min s', 'max s', 'scopes/s'],
      [
        ['reconcile', f(reconcile.reconcile_s.median, 2), f(reconcile.reconcile_s.min, 2), f(reconcile.reconcile_s.max, 2), f(reconcile.scopes / reconcile.reconcile_s.median, 0)],
        ['wasTouched (negative answer, with its reconcile)', f(reconcile.was_touched_s.median, 2), f(reconcile.was_touched_s.min, 2), f(reconcile.was_touched_s.max, 2), f(reconcile.scopes / reconcile.was_touched_s.median, 0)],
      ],
    ),
    '',
  );
}

const scaleout = read('scaleout');
if (scaleout) {
  out.push('## 6. Scale-out', '', provenance(scaleout), '');
  out.push(
    `Tree sessions (${scaleout.actions_per_session} actions each), ${scaleout.concurrency} in flight, ${scaleout.sessions_per_round} sessions per variant per round, ${scaleout.rounds} rounds, one Postgres store schema and one dev server. **one**: one worker process on the task queue; **two**: two worker processes polling the same task queue; **queues**: one worker process per agent group — the orchestrators on one task queue, the sub-agents they delegate to on another. Every worker is its own Node process; CPU is read from /proc per process.`,
    '',
  );
  out.push(
    table(
      ['variant', 'sessions/s', 'actions/s', 'latency p50 ms', 'latency p95 ms', 'CPU ms/session per process'],
      ['one', 'two', 'queues'].map((v) => {
        const x = scaleout.variants[v];
        return [
          `${v}: ${x.workers.join(' + ')} (${x.task_queues.length} task queue${x.task_queues.length > 1 ? 's' : ''})`,
          spread(x.sessions_per_s, 2),
          f(x.actions_per_s),
          f(x.latency_ms.p50, 0),
          f(x.latency_ms.p95, 0),
          Object.entries(x.cpu_ms_per_session as Record<string, number>).map(([k, n]) => `${k} ${f(n, 0)}`).join(', '),
        ];
      }),
    ),
    '',
    `Throughput ÷ one worker, per round: two workers **${spread(scaleout.two_workers_throughput_ratio)}**, task queues per agent group **${spread(scaleout.task_queues_throughput_ratio)}**. Every session of the run (${scaleout.reconciled_sessions}) reconciled against its Temporal histories in ${f(scaleout.reconcile_s)} s: **${scaleout.reconcile_differences} differences**.`,
    '',
  );
}

const anchors = read('anchors');
if (anchors) {
  out.push('## 7. Seal anchors', '', provenance(anchors), '');
  const label: Record<string, string> = {
    per_scope: 'one per scope (a namespace whose visibility cannot find anchors by id prefix)',
    batched: 'one per session and sealer batch (a namespace without the ScopetrailSealedSessions attribute)',
    sets: 'one per sealer batch, its sessions listed in ScopetrailSealedSessions (scopes a worker saw end)',
    sets_looked: 'the same, the sessions\' anchors read first (scopes the sweep found)',
    batched_looked: 'one per session and sealer batch, the sessions\' anchors read first',
  };
  out.push(
    `Synthetic seals of ${anchors.sessions} sessions × ${anchors.scopes_per_session} scopes, each session's scopes arriving in ${anchors.batches_per_session} sealer batches (as scopes end over a session's life), anchored through \`anchorSeals\` each way on one dev server, ${anchors.rounds} rounds in rotating order. CPU is read from /proc: the Temporal server's, and this process's (what the worker spends).`,
    '',
    table(
      ['anchors', 'server CPU ms/scope', 'worker CPU ms/scope', 'wall ms/scope', "verify's read, ms/session"],
      ['per_scope', 'batched', 'sets', 'sets_looked', 'batched_looked'].filter((m) => anchors[m]).map((m) => [
        label[m]!,
        spread(anchors[m].server_cpu_ms_per_scope, 2),
        spread(anchors[m].worker_cpu_ms_per_scope, 2),
        spread(anchors[m].wall_ms_per_scope, 2),
        spread(anchors[m].verify_read_ms_per_session, 1),
      ]),
    ),
    '',
    anchors.batched_vs_per_scope.sets_server_cpu === undefined
      ? `Batched ÷ per scope: server CPU **${f(anchors.batched_vs_per_scope.server_cpu, 3)}**, worker CPU **${f(anchors.batched_vs_per_scope.worker_cpu, 3)}**; with the anchors read first: server ${f(anchors.batched_vs_per_scope.looked_server_cpu, 3)}, worker ${f(anchors.batched_vs_per_scope.looked_worker_cpu, 3)}.`
      : `÷ one per scope: one per session, server CPU ${f(anchors.batched_vs_per_scope.server_cpu, 3)}, worker CPU ${f(anchors.batched_vs_per_scope.worker_cpu, 3)}; one per batch, server CPU **${f(anchors.batched_vs_per_scope.sets_server_cpu, 3)}**, worker CPU **${f(anchors.batched_vs_per_scope.sets_worker_cpu, 3)}**, verify's read ${f(anchors.batched_vs_per_scope.sets_verify_read, 3)}; one per batch with the anchors read first: server ${f(anchors.batched_vs_per_scope.looked_server_cpu, 3)}, worker ${f(anchors.batched_vs_per_scope.looked_worker_cpu, 3)}. One per batch ÷ one per session, server CPU: **${f(anchors.batched_vs_per_scope.sets_vs_batched_server_cpu, 3)}**.`,
    '',
  );
}

const local = read('local-tools');
if (local) {
  out.push('## 8. Tools as local activities', '', provenance(local), '');
  out.push(
    `A session of ${local.calls_per_session} lookups one after another, recorded by scopetrail, with the tool called as an activity (\`useTools\`) or as a local activity (\`useLocalTools\`), ${local.rounds} rounds in rotating order. A local call runs in the worker that runs the agent, with no server round trip.`,
    '',
  );
  for (const [mode, title] of [['one_at_a_time', 'one session at a time'], ['loaded', `${local.loaded?.concurrency} in flight`]] as const) {
    const m = local[mode];
    if (!m) continue;
    out.push(
      `**${title}**`,
      '',
      table(
        ['variant', 'sessions/s', 'p50 ms', 'p95 ms', 'CPU ms/session: worker+client', 'temporal', 'postgres'],
        ['activities', 'local'].map((v) => [v, spread(m[v].sessions_per_s, 2), f(m[v].latency_ms.p50, 0), f(m[v].latency_ms.p95, 0), f(m[v].cpu_ms_per_session.worker_and_client), f(m[v].cpu_ms_per_session.temporal), f(m[v].cpu_ms_per_session.postgres)]),
      ),
      '',
      `local p50 ÷ activities: **${f(m.local_p50_vs_activities, 3)}** (median of per-round ratios)`,
      '',
    );
  }
}

const sealMonths = read('seal-months');
if (sealMonths) {
  out.push('## 9. Sealing by months kept', '', provenance(sealMonths), '');
  out.push(
    `For each count of months kept, a fresh schema with that many monthly partitions and ${sealMonths.sessions} sessions of one scope and two tool calls in the current month; each scope sealed in a transaction of its own (as a worker with little load seals), half with keys that carry the session's start as a worker's do, half without (their month looked up first), then the client's probe of a given session id run once per session. Postgres CPU is the benchmark's own backends', read from /proc.`,
    '',
    table(
      ['months kept', 'seal ms/scope', 'seal Postgres CPU ms/scope', 'key without start: ms/scope', 'key without start: Postgres CPU ms/scope', 'session-id probe ms', 'probe Postgres CPU ms'],
      sealMonths.rows.map((r: { months: number; seal_ms_per_scope: number; seal_postgres_cpu_ms_per_scope: number; seal_unplaced_ms_per_scope?: number; seal_unplaced_postgres_cpu_ms_per_scope?: number; probe_ms: number; probe_postgres_cpu_ms: number }) => [
        String(r.months),
        f(r.seal_ms_per_scope, 2),
        f(r.seal_postgres_cpu_ms_per_scope, 2),
        r.seal_unplaced_ms_per_scope === undefined ? '–' : f(r.seal_unplaced_ms_per_scope, 2),
        r.seal_unplaced_postgres_cpu_ms_per_scope === undefined ? '–' : f(r.seal_unplaced_postgres_cpu_ms_per_scope, 2),
        f(r.probe_ms, 2),
        f(r.probe_postgres_cpu_ms, 2),
      ]),
    ),
    '',
  );
}

const replayed = read('sandbox-replay');
if (replayed) {
  out.push('## 10. The workflow side alone, replayed', '', provenance(replayed), '');
  out.push(
    `Sessions recorded on a dev server (${replayed.sessions} of each kind per variant, as section 1 runs them, scopetrail compiled as the package ships), then replayed in replay workers: every activation of every workflow of a session goes through the sandbox and the SDK's handling of it again, with no server, no database and no activities. Each round a variant replays its histories in one replay worker (trees ${replayed.replays.tree} times, short sessions ${replayed.replays.short} times), and the CPU from the first history's end to the last one's, per session, is one session's replay without the replay worker's start; ${replayed.rounds} rounds in rotating order after a warm-up. This isolates what scopetrail's interceptors, headers and records cost the workflow side from the host's load, which section 1's loaded ratios carry. Replays keep each history's workflow id. CPU is this process's, from /proc.`,
    '',
  );
  for (const workload of ['tree', 'short'] as const) {
    const w = replayed[workload];
    if (!w) continue;
    out.push(
      `**${workload}**`,
      '',
      table(
        ['variant', 'workflows per session', 'CPU ms per session replayed'],
        ['plain', 'otel', 'scopetrail'].map((v) => [v, f(w.workflows_per_session[v], 0), spread(w.cpu_ms_per_session[v], 2)]),
      ),
      '',
      `scopetrail ÷ plain: **${spread(w.ratio_vs_plain)}**; ÷ otel: **${spread(w.ratio_vs_otel)}** (per-round ratios: median (min–max)).`,
      '',
    );
  }
}

function perMinute(samples: Array<{ t: number; rssMiB: number }>): string {
  const minutes = new Map<number, number[]>();
  for (const s of samples) minutes.set(Math.floor(s.t / 60), [...(minutes.get(Math.floor(s.t / 60)) ?? []), s.rssMiB]);
  return [...minutes.values()].map((v) => f([...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!, 0)).join(' → ');
}

const notes = join(__dirname, 'optimizations.md');
if (existsSync(notes)) out.push(readFileSync(notes, 'utf8').trim(), '');
writeFileSync(join(__dirname, '..', 'BENCHMARKS.md'), `${out.join('\n')}\n`);
console.log('wrote BENCHMARKS.md');
