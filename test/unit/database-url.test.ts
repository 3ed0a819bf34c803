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
