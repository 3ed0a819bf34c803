/**
 * Seeded generator of agent-like prose: multi-paragraph reports on varied topics, with
 * the recurring phrasing real agent outputs share ("the main risk is", "we recommend"),
 * so provenance is tested against realistic near-collisions, not random words.
 * Pure (no I/O): also used by fixture agents inside the workflow sandbox.
 */
import { prng } from './prng';

const TOPICS = [
  { area: 'supply chain', things: ['container shipments', 'port congestion', 'freight rates', 'warehouse capacity', 'customs delays', 'supplier lead times', 'inventory turns', 'backhaul utilisation'] },
  { area: 'cloud infrastructure', things: ['database failover', 'regional outages', 'autoscaling policies', 'storage costs', 'network latency', 'deployment frequency', 'cache hit rates', 'certificate renewals'] },
  { area: 'clinical research', things: ['trial enrolment', 'adverse events', 'dosage schedules', 'placebo response', 'follow-up visits', 'site activation', 'protocol deviations', 'consent withdrawals'] },
  { area: 'energy markets', things: ['wholesale prices', 'battery storage', 'grid frequency', 'wind curtailment', 'peak demand', 'interconnector flows', 'hedging costs', 'solar output'] },
  { area: 'retail banking', things: ['mortgage arrears', 'card fraud', 'deposit outflows', 'branch closures', 'loan approvals', 'savings balances', 'complaint volumes', 'capital buffers'] },
  { area: 'urban transport', things: ['bus ridership', 'cycle lanes', 'congestion charges', 'rail punctuality', 'parking revenue', 'fare evasion', 'tram reliability', 'night services'] },
  { area: 'software security', things: ['dependency audits', 'token leakage', 'privilege escalation', 'patch cadence', 'phishing attempts', 'secret rotation', 'audit log gaps', 'login anomalies'] },
  { area: 'agriculture', things: ['wheat yields', 'irrigation schedules', 'soil nitrogen', 'fertiliser prices', 'harvest timing', 'pest pressure', 'storage losses', 'export quotas'] },
  { area: 'higher education', things: ['application volumes', 'tuition income', 'student retention', 'research grants', 'staff turnover', 'course completion', 'housing demand', 'library usage'] },
  { area: 'customer support', things: ['ticket backlog', 'first response time', 'refund requests', 'escalation rates', 'satisfaction scores', 'chat deflection', 'repeat contacts', 'agent occupancy'] },
];
const ORGS = ['the northern division', 'our platform team', 'the regional office', 'the audit committee', 'two large customers',
  'the vendor', 'the operations group', 'an external reviewer', 'the finance team', 'the pilot sites', 'three partner labs',
  'the steering group', 'the night shift', 'our largest client', 'the compliance lead', 'the data team', 'the regulator'];
const VERBS_UP = ['rose', 'climbed', 'increased', 'jumped', 'edged up', 'recovered'];
const VERBS_DOWN = ['fell', 'dropped', 'declined', 'slipped', 'contracted', 'weakened'];
const ADJ = ['persistent', 'unexpected', 'modest', 'sharp', 'gradual', 'uneven', 'seasonal', 'structural', 'temporary', 'significant'];
const CAUSES = ['a staffing shortfall', 'a configuration change', 'higher input costs', 'a change in reporting rules', 'weather disruption',
  'a late software release', 'stronger competition', 'a contract renegotiation', 'an upstream dependency', 'lower consumer confidence',
  'a pricing error', 'an expired certificate', 'a supplier insolvency', 'a surge in demand', 'a new reporting tool', 'a policy change'];
const TIMES = ['in the first quarter', 'over the last six weeks', 'since March', 'during the holiday period', 'year on year',
  'in the most recent sample', 'after the migration', 'within the pilot period', 'across the last three releases'];
const ACTIONS = ['review the escalation thresholds', 'renegotiate the service terms', 'add a second supplier', 'rerun the analysis with fresh data',
  'pause the rollout', 'extend the monitoring window', 'publish the interim figures', 'ask the vendor for a root cause report',
  'move the deadline by two weeks', 'train the on-call rota', 'cap the exposure per account', 'simplify the approval workflow'];

const ROLES = ['owner', 'analyst on duty', 'project lead', 'account manager', 'site coordinator', 'team lead'];
const HEDGES = ['probably', 'most likely', 'at least in part', 'on balance', 'as far as we can tell', 'in our reading'];

const TEMPLATES: Array<(p: Pick) => string> = [
  (p) => `${cap(p.thing())} ${p.up()} ${p.pct()} ${p.time()}, ${p.pick(['driven', 'pushed', 'helped', 'explained'])} ${p.hedge()} by ${p.cause()}.`,
  (p) => `${p.pick(['By contrast', 'Meanwhile', 'On the other side', 'Less happily'])}, ${p.thing()} ${p.down()} ${p.pct()}, which ${p.org()} ${p.pick(['attributes to', 'blames on', 'links to', 'puts down to'])} ${p.cause()}.`,
  (p) => `The ${p.pick(['main', 'biggest', 'most immediate', 'least understood'])} risk is that ${p.adj()} pressure on ${p.thing()} ${p.pick(['spills into', 'feeds through to', 'drags down', 'distorts'])} ${p.thing()} before ${p.org()} can ${p.pick(['react', 'respond', 'adjust', 'intervene'])}.`,
  (p) => `We ${p.pick(['recommend', 'suggest', 'propose', 'strongly advise'])} that ${p.org()} ${p.action()} and ${p.action()} ${p.pick(['before review number', 'ahead of milestone', 'by week'])} ${p.n(2, 16)}.`,
  (p) => `${p.pick(['According to', 'As reported by', 'Per the notes from', 'In the words of'])} ${p.org()}, ${p.thing()} ${p.pick(['stayed within', 'held inside', 'kept to', 'barely left'])} the agreed range ${p.time()}, although the variance was ${p.adj()}.`,
  (p) => `${cap(p.org())} ${p.pick(['flagged', 'counted', 'found', 'logged'])} ${p.n(2, 40)} ${p.pick(['cases', 'weeks', 'sites', 'incidents'])} where ${p.thing()} and ${p.thing()} moved in opposite directions.`,
  (p) => `A ${p.adj()} shift in ${p.thing()} is ${p.pick(['visible', 'apparent', 'emerging', 'showing'])} ${p.time()}; ${p.org()} ${p.pick(['thinks', 'suspects', 'doubts', 'argues'])} it is ${p.hedge()} ${p.adj()}.`,
  (p) => `If ${p.pick(['the trend holds', 'nothing changes', 'this continues', 'the forecast is right'])}, ${p.thing()} could reach ${p.n(110, 990)} ${p.pick(['units', 'cases', 'points', 'thousand'])} ${p.pick(['by the end of the period', 'next quarter', 'within a year', 'by the autumn'])}, ${p.pct()} above plan.`,
  (p) => `Evidence: ${p.n(3, 25)} ${p.pick(['sources', 'studies', 'reports', 'interviews'])} agree on the direction of ${p.thing()}, but only ${p.n(1, 3)} ${p.pick(['report how large the change was', 'quantify it', 'give figures', 'measure it directly'])}.`,
  (p) => `${cap(p.thing())} ${p.pick(['should be tracked', 'deserve a look', 'need watching', 'must be reviewed'])} ${p.pick(['weekly', 'daily', 'monthly', 'closely'])}, because ${p.cause()} ${p.pick(['tends to show up there first', 'usually surfaces there', 'hits them early', 'is felt there first'])}.`,
  (p) => `One open question is whether ${p.cause()} will ${p.pick(['persist', 'fade', 'matter', 'repeat'])} once ${p.org()} has ${p.pick(['dealt with', 'looked at', 'fixed', 'priced in'])} ${p.thing()}.`,
  (p) => `In short, ${p.thing()} look ${p.adj()} rather than ${p.pick(['alarming', 'critical', 'urgent', 'worrying'])}, and ${p.org()} ${p.pick(['agrees', 'disagrees', 'has not said', 'is less sure'])}.`,
  (p) => `The data for ${p.thing()} were ${p.pick(['incomplete', 'late', 'revised', 'patchy'])} for ${p.n(2, 9)} days ${p.time()}, so ${p.pick(['those', 'the affected', 'the weekly', 'some'])} figures are estimates.`,
  (p) => `Next, ${p.org()} will ${p.action()}; the ${p.role()} reports back within ${p.n(2, 14)} days.`,
  (p) => `${cap(p.org())} ${p.pick(['asked', 'wants to know', 'keeps asking'])} why ${p.thing()} ${p.down()} while ${p.thing()} ${p.up()}; ${p.pick(['nobody has a full answer yet', 'the answer is partly seasonal', 'we think the data lag explains it', 'two theories compete'])}.`,
  (p) => `${p.pick(['Looking back', 'Over the longer run', 'Taken together', 'Across all sites'])}, ${p.thing()} ${p.pick(['track', 'follow', 'mirror', 'lag'])} ${p.thing()} with a delay of about ${p.n(2, 12)} weeks.`,
  (p) => `${p.pick(['Two', 'Three', 'Several', 'A few'])} ${p.pick(['managers', 'analysts', 'customers', 'engineers'])} told ${p.org()} that ${p.cause()} ${p.pick(['caught them off guard', 'was expected', 'is still unresolved', 'cost them time'])}.`,
  (p) => `${p.pick(['Without', 'Short of', 'Absent'])} ${p.pick(['fresh numbers', 'a second opinion', 'better sampling', 'a longer baseline'])}, ${p.org()} ${p.pick(['cannot', 'should not', 'will hesitate to'])} ${p.action()}.`,
];

interface Pick {
  thing(): string;
  org(): string;
  up(): string;
  down(): string;
  adj(): string;
  cause(): string;
  time(): string;
  action(): string;
  pct(): string;
  n(lo: number, hi: number): number;
  hedge(): string;
  role(): string;
  pick(xs: readonly string[]): string;
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A report of `paragraphs` paragraphs (3-6 sentences each) on one topic, reproducible from `seed`. */
export function agentReport(seed: number, paragraphs = 3, opts: { title?: string } = {}): string {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const topic = pick(TOPICS);
  const p: Pick = {
    thing: () => pick(topic.things),
    org: () => pick(ORGS),
    up: () => pick(VERBS_UP),
    down: () => pick(VERBS_DOWN),
    adj: () => pick(ADJ),
    cause: () => pick(CAUSES),
    time: () => pick(TIMES),
    action: () => pick(ACTIONS),
    pct: () => `${(1 + rnd() * 30).toFixed(1)}%`,
    n: (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1)),
    hedge: () => pick(HEDGES),
    role: () => pick(ROLES),
    pick: (xs) => pick(xs),
  };
  const out: string[] = [];
  if (opts.title) out.push(opts.title);
  for (let i = 0; i < paragraphs; i++) {
    const sentences = 3 + Math.floor(rnd() * 4);
    out.push(Array.from({ length: sentences }, () => pick(TEMPLATES)(p)).join(' '));
  }
  return out.join('\n\n');
}
