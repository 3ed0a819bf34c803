/**
 * An auditor's database role may only read: the CLI's queries write nothing to a store that
 * is up to date, so they answer under a role with SELECT alone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { TEST_DATABASE_URL, usesPglite, type TestRuntime } from '../helpers/runtime';
import { runExampleSession, startExampleRuntime } from '../helpers/example-runtime';
import { testSql } from '../helpers/test-sql';
import { runCli } from '../../client/cli';

const skip = usesPglite() && 'needs roles of the Postgres server';
const ROLE = `scopetrail_ro_${randomBytes(4).toString('hex')}`;
let rt: TestRuntime;
let sid: string;

before(async () => {
  if (skip) return;
  rt = await startExampleRuntime();
  sid = (await runExampleSession(rt, 'read only')).sessionId;
  await rt.worker.recorder.sealer.drain();
  await testSql(`CREATE ROLE ${ROLE} LOGIN`);
  await testSql(`GRANT USAGE ON SCHEMA "${rt.schema}" TO ${ROLE}`);
  await testSql(`GRANT SELECT ON ALL TABLES IN SCHEMA "${rt.schema}" TO ${ROLE}`);
});

after(async () => {
  if (skip) return;
  await testSql(`REVOKE ALL ON ALL TABLES IN SCHEMA "${rt.schema}" FROM ${ROLE}`).catch(() => undefined);
  await testSql(`REVOKE ALL ON SCHEMA "${rt.schema}" FROM ${ROLE}`).catch(() => undefined);
  await rt?.stop();
  await testSql(`DROP ROLE IF EXISTS ${ROLE}`).catch(() => undefined);
});

test('queries answer under a role that may only read, and write nothing', { skip }, async () => {
  const url = new URL(TEST_DATABASE_URL);
  url.username = ROLE;
  url.password = '';
  const migrations = async () => (await testSql<{ n: string }>(`SELECT count(*) AS n FROM "${rt.schema}".migrations`)).rows[0]!.n;
  const before = await migrations();
  for (const args of [['tree', sid], ['roles'], ['verify', sid], ['status', sid]]) {
    const out: string[] = [];
    const err: string[] = [];
    const flags = ['--database-url', url.toString(), '--schema', rt.schema, ...(args[0] === 'roles' ? [] : ['--address', rt.temporal.address])];
    const code = await runCli([...args, ...flags], { log: (t) => out.push(t), err: (t) => err.push(t) });
    assert.equal(code, 0, `${args[0]}: ${err.join('\n')}`);
  }
  assert.equal(await migrations(), before);
});
