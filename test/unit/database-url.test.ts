/** A database URL is printed (store descriptions, errors, test logs) only with its passwords hidden. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactUrl } from '../../store/postgres';
import { openStore } from '../../store';
import { runCli } from '../../client/cli';

test('passwords in the user info and in password= or sslpassword= query parameters are hidden', () => {
  assert.equal(redactUrl('postgres://app:s3cret@db:5432/cim'), 'postgres://app:***@db:5432/cim');
  assert.equal(
    redactUrl('postgresql://app@db/cim?sslmode=require&password=s3cret&PassWord=again&sslpassword=keypw'),
    'postgresql://app@db/cim?sslmode=require&password=***&PassWord=***&sslpassword=***',
  );
  assert.equal(redactUrl('postgres://db/cim?application_name=x'), 'postgres://db/cim?application_name=x');
});

test('an unreachable store names its URL without the password, in the error and in the CLI', async () => {
  // Port 1 refuses at once: the failure path is real, no server needed.
  const url = 'postgres://app:userinfo-secret@127.0.0.1:1/cim?password=query-secret';
  await assert.rejects(openStore({ url }), (err: Error) => {
    assert.match(err.message, /could not prepare the store \(postgres postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/cim\?password=\*\*\*\)/);
    assert.doesNotMatch(err.message, /secret/);
    return true;
  });
  const out: string[] = [];
  const code = await runCli(['sessions', '--database-url', url, '--address', '127.0.0.1:1'], { log: (t) => out.push(t), err: (t) => out.push(t) });
  assert.equal(code, 1);
  assert.doesNotMatch(out.join('\n'), /secret/);
  assert.match(out.join('\n'), /password=\*\*\*/);
});

test('DATABASE_URL chooses the store only where the call does not: memory and dataDir stay embedded, no url means the server', async () => {
  const saved = process.env.DATABASE_URL;
  // Port 1 refuses at once: a store that went to the server would fail to open.
  process.env.DATABASE_URL = 'postgres://app@127.0.0.1:1/cim';
  try {
    const memory = await openStore({ memory: true, migrate: false });
    assert.equal(memory.description, 'embedded PGlite (in memory)');
    await memory.close();
    await assert.rejects(openStore({ dataDir: __filename }), (err: Error & { field?: string }) => {
      assert.match(err.message, /is a file, not a folder/);
      return true;
    });
    await assert.rejects(openStore({ migrate: true }), /could not prepare the store \(postgres postgres:\/\/app@127\.0\.0\.1:1\/cim\)/);
  } finally {
    if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
  }
});
