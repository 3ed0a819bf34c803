/**
 * A worker process's spool, run as a child so a test can give it a real file-size limit
 * (prlimit) or a PID namespace of its own (unshare: PID 1, as in a container).
 *
 *   tsx test/helpers/spool-child.ts fill  <dir>   writes batches until one is held; waits for a line on stdin first
 *   tsx test/helpers/spool-child.ts crash <dir>   spools one batch, says so, waits to be killed
 *   tsx test/helpers/spool-child.ts drain <dir>   drains what a predecessor left
 * Prints one JSON line with what happened.
 */
import { once } from 'node:events';
import { Recorder } from '../../worker/recorder';
import { Spool } from '../../worker/spool';
import type { Store } from '../../store/types';
import { action } from '../unit/fixtures';

const [mode, dir] = process.argv.slice(2);
const LEASE_MS = 300;

const unreachable = async () => {
  throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
};
const downStore = { upsertScopes: unreachable, upsertActions: unreachable, upsertPayloads: unreachable, fillActionGaps: unreachable } as unknown as Store;

async function fill(): Promise<void> {
  const spool = new Spool({ dir, leaseMs: LEASE_MS });
  const alerts: string[] = [];
  const recorder = new Recorder(downStore, { lingerMs: 0, spool, drainEveryMs: 60_000, onError: () => undefined, onAlert: (m) => alerts.push(m) });
  process.stdout.write('ready\n');
  await once(process.stdin, 'data'); // the parent has set the file-size limit
  const released: string[] = [];
  for (let i = 0; i < 200; i++) {
    const id = `fill-${String(i).padStart(3, '0')}`;
    const done = await Promise.race([
      recorder.write({ actions: [action(id, 'scope-fill', { error: 'x'.repeat(150 + i) })] }).then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 1_500)),
    ]);
    if (!done) {
      console.log(JSON.stringify({ released, held: id, alerts }));
      process.exit(0);
    }
    released.push(id);
  }
  console.log(JSON.stringify({ released, held: null, alerts }));
  process.exit(0);
}

async function crash(): Promise<void> {
  const spool = new Spool({ dir, leaseMs: LEASE_MS });
  spool.append({ actions: [action('left-behind', 'scope-crash')] });
  console.log(JSON.stringify({ pid: process.pid, spooled: 1 }));
  await new Promise(() => undefined);
}

async function drain(): Promise<void> {
  const spool = new Spool({ dir, leaseMs: LEASE_MS });
  const written: string[] = [];
  const deadline = Date.now() + 4 * LEASE_MS + 2_000;
  while (written.length === 0 && Date.now() < deadline) {
    await spool.drain(async (batch) => {
      written.push(...(batch.actions ?? []).map((a) => a.actionId));
    });
    if (written.length === 0) await new Promise((r) => setTimeout(r, 50));
  }
  spool.close();
  console.log(JSON.stringify({ pid: process.pid, written, empty: spool.isEmpty() }));
}

({ fill, crash, drain } as Record<string, () => Promise<void>>)[mode!]!().catch((err) => {
  console.error(err);
  process.exit(1);
});
