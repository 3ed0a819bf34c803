/**
 * `scopetrail prune --before <date> [--dry-run]`: retention by whole months of ended
 * sessions. Each month is anchored in Temporal (store/prune-anchor.ts) in every
 * namespace it held sessions of, then dropped with its record (store/prune.ts).
 */
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { CliFailure, CliUsageError, type CommandContext } from './cli-context';
import type { ScopeClient } from './scope-client';
import type { Store } from '../store/types';
import { monthLabel, monthOf } from '../store/partitions';
import { parse } from './arguments';
import { PruneRefusedError, type MonthContents, type PrunedMonth } from '../store/prune';
import { TemporalPruneAnchors } from '../store/prune-anchor';
import { renderTable } from './format';

type WithClient = <T>(ctx: CommandContext, fn: (client: ScopeClient, store: Store) => Promise<T>) => Promise<T>;

export interface PruneReport {
  before: string;
  dryRun: boolean;
  /** Months dropped (or, with dryRun, that would be). */
  months: Array<{ month: string; namespaces: MonthContents['namespaces'] }>;
  pruned: PrunedMonth[];
  ms: number;
}

/**
 * Drops every month whose sessions all started before the month of `before` ended and
 * have all ended. Any such month holding a running session refuses the whole prune
 * (nothing is dropped), naming the sessions.
 */
/** A date no later than `now`: the month it falls in, and every later one, has not ended. */
const notAfter = (now: Date) =>
  z.date().superRefine((d, ctx) => {
    if (d.getTime() <= now.getTime()) return;
    ctx.addIssue({
      code: 'custom',
      message: `${d.toISOString()} is later than now: a month is pruned only once it has ended, and sessions can still start in ${monthLabel(monthOf(now))}; give a date no later than now`,
    });
  });

/**
 * `now`: the time months must have ended by (the clock's by default; tests stand in a later one).
 * `requireTemporal`: fails at once when Temporal does not answer (ScopeClient.requireTemporal);
 * asked only when a month is to be anchored, the one step that needs Temporal.
 */
export async function pruneStore(
  store: Store,
  temporal: Client,
  before: Date,
  options: { dryRun?: boolean; now?: Date; requireTemporal?: () => Promise<void> } = {},
): Promise<PruneReport> {
  const now = options.now ?? new Date();
  parse('prune', notAfter(now), before, 'before');
  const started = performance.now();
  const retention = store.retention();
  // A dry run shows what would go; a real one counts each month under its lock, when it drops it.
  const plan = await retention.plan(before, { count: Boolean(options.dryRun), now });
  if (plan.refused.length > 0) throw new PruneRefusedError(plan.refused);
  const report: PruneReport = {
    before: before.toISOString(),
    dryRun: Boolean(options.dryRun),
    months: plan.drop.map((m) => ({ month: monthLabel(m.month), namespaces: m.namespaces })),
    pruned: [],
    ms: 0,
  };
  if (!options.dryRun && plan.drop.length > 0) {
    await options.requireTemporal?.();
    const anchors = new TemporalPruneAnchors(temporal.connection, retention.key);
    for (const month of plan.drop) {
      const memo = { month: monthLabel(month.month), before: report.before, prunedAt: new Date().toISOString() };
      // Anchored first, in every namespace with sessions that month: a month gone without its
      // anchor could not be told from a deletion.
      for (const namespace of await retention.namespacesOf(month.month)) await anchors.anchor(namespace, memo);
      const pruned = await retention.dropMonth(month.month, before);
      report.pruned.push(...pruned);
      const shown = report.months.find((m) => m.month === monthLabel(month.month));
      if (shown) shown.namespaces = pruned.map(({ namespace, sessions, scopes, actions }) => ({ namespace, sessions, scopes, actions }));
    }
  }
  report.ms = performance.now() - started;
  return report;
}

const Before = z.iso.datetime({ offset: true, error: 'give an ISO 8601 date or time such as 2026-06-01 or 2026-06-01T00:00:00Z' });

export async function pruneCommand(ctx: CommandContext, withClient: WithClient): Promise<number> {
  if (ctx.args.length > 0) throw new CliUsageError(`unexpected argument "${ctx.args[0]}"`);
  const raw = ctx.flags.before;
  if (typeof raw !== 'string') throw new CliUsageError('missing --before <date>: sessions that started in months entirely before it are dropped');
  const given = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? `${raw}T00:00:00Z` : raw;
  const parsed = Before.safeParse(given);
  if (!parsed.success) throw new CliUsageError(`invalid --before ${JSON.stringify(raw)}: ${parsed.error.issues[0]?.message}`);
  // pruneStore refuses it too; said here, it names the flag and comes before anything is opened.
  const ended = notAfter(new Date()).safeParse(new Date(parsed.data));
  if (!ended.success) throw new CliUsageError(`invalid --before ${JSON.stringify(raw)}: ${ended.error.issues[0]?.message}`, 'before');
  const dryRun = ctx.flags['dry-run'] === true;
  return withClient(ctx, async (client, store) => {
    let report: PruneReport;
    try {
      report = await pruneStore(store, client.temporal, new Date(parsed.data), { dryRun, requireTemporal: () => client.requireTemporal() });
    } catch (err) {
      if (!(err instanceof PruneRefusedError)) throw err;
      // Reported like any failure (exit 1; with --json the error document), the months and their running sessions with it.
      throw new CliFailure(err.message.replace(/^prune: /, ''), { refused: err.refused.map((m) => ({ month: monthLabel(m.month), running: m.running })) });
    }
    if (ctx.flags.json) {
      ctx.out.log(JSON.stringify(report, null, 2));
      return 0;
    }
    const rows = report.months.flatMap((m) =>
      (m.namespaces.length ? m.namespaces : [{ namespace: '-', sessions: 0, scopes: 0, actions: 0 }]).map((n) => [
        m.month, n.namespace, String(n.sessions), String(n.scopes), String(n.actions),
      ]),
    );
    if (rows.length === 0) ctx.out.log(`Nothing to prune: no month of sessions ends before ${report.before}.`);
    else {
      ctx.out.log(renderTable(['month', 'namespace', 'sessions', 'scopes', 'actions'], rows));
      ctx.out.log(report.dryRun ? 'Dry run: nothing was dropped.' : `Pruned ${report.months.length} month(s) in ${Math.round(report.ms)} ms; recorded in the store and anchored in Temporal.`);
    }
    return 0;
  });
}
