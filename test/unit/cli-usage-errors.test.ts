/**
 * A value the user gave that cannot be used is a usage error (exit 2, kind `usage`) whose
 * sentence names the flag or argument, never Node's bare errno or "Invalid URL" (exit 1,
 * kind `failure`), which leaves the user guessing which of their inputs was wrong. Each case
 * here is stopped before any store or server is opened.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT, runCli } from '../../client/cli';
import { joinNegativeValues } from '../../client/cli-options';
import { openStore } from '../../store';

async function cli(argv: string[]): Promise<{ code: number; err: string; doc: { error?: Record<string, unknown> } & Record<string, unknown> }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli([...argv, '--json'], { log: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, err: err.join('\n'), doc: out.length ? JSON.parse(out.join('\n')) : {} };
}

/** Exit 2 with kind `usage`, one sentence matching `message`, and no errno or bare Node message in it. */
async function refused(argv: string[], message: RegExp): Promise<void> {
  const run = await cli(argv);
  assert.equal(run.code, EXIT.usage, `${argv.join(' ')}: ${run.err}`);
  assert.equal(run.doc.error?.kind, 'usage');
  assert.match(String(run.doc.error?.message), message);
  assert.doesNotMatch(run.err, /^scopetrail \S+: (Invalid URL|E[A-Z]+:|getaddrinfo)/m);
}

const tmp = () => mkdtempSync(join(tmpdir(), 'cli-usage-'));

describe('export-otel --endpoint', () => {
  test('a value that is no URL at all is a usage error naming --endpoint, like a URL of another scheme', async () => {
    await refused(['export-otel', 'S1', '--endpoint', 'notaurl'], /^invalid --endpoint: give an absolute URL such as http:\/\/localhost:4318\/v1\/traces$/);
    await refused(['export-otel', 'S1', '--endpoint', 'http://'], /^invalid --endpoint: give an absolute URL/);
    await refused(['export-otel', 'S1', '--endpoint', 'ftp://x/y'], /^invalid --endpoint: OTLP\/HTTP needs an http:\/\/ or https:\/\/ URL$/);
  });

  test('so is an OTLP endpoint variable that is no URL, naming the variable', async () => {
    const saved = { traces: process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, base: process.env.OTEL_EXPORTER_OTLP_ENDPOINT };
    try {
      delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'notaurl';
      await refused(['export-otel', 'S1'], /^invalid OTEL_EXPORTER_OTLP_ENDPOINT "notaurl": give an absolute URL/);
      process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = 'also not';
      await refused(['export-otel', 'S1'], /^invalid OTEL_EXPORTER_OTLP_TRACES_ENDPOINT "also not": give an absolute URL/);
    } finally {
      for (const [name, value] of [['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', saved.traces], ['OTEL_EXPORTER_OTLP_ENDPOINT', saved.base]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

describe('the other OTLP variables', () => {
  const bad = [
    ['OTEL_EXPORTER_OTLP_HEADERS', 'x', /"x" is not a key=value pair/],
    ['OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'a=%ZZ', /not valid URL encoding/],
    ['OTEL_EXPORTER_OTLP_TIMEOUT', 'abc', /give the timeout in milliseconds/],
    ['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', '0', /give the timeout in milliseconds/],
    ['OTEL_EXPORTER_OTLP_COMPRESSION', 'zip', /give gzip or none/],
    ['OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', 'zip', /give gzip or none/],
  ] as const;

  /** Runs `fn` with `name` set to `value` and every other OTLP variable unset. */
  async function withVariable(name: string, value: string, fn: () => Promise<void>): Promise<void> {
    const saved = Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('OTEL_EXPORTER_OTLP_')).map((k) => [k, process.env[k]]));
    for (const k of Object.keys(saved)) delete process.env[k];
    process.env[name] = value;
    try {
      await fn();
    } finally {
      delete process.env[name];
      Object.assign(process.env, saved);
    }
  }

  test('a malformed one is a usage error of export-otel naming the variable, before the store is opened', async () => {
    for (const [name, value, why] of bad) {
      await withVariable(name, value, () => refused(['export-otel', 'S1', '--database-url', 'postgres://127.0.0.1:1/none'], new RegExp(`^invalid ${name} "${value}": .*${why.source}`)));
    }
  });

  test('and of worker --otel, before the store is opened or a server is dialled', async () => {
    for (const [name, value, why] of bad) {
      await withVariable(name, value, () => refused(['worker', '--otel', '--database-url', 'postgres://127.0.0.1:1/none'], new RegExp(`^invalid ${name} "${value}": .*${why.source}`)));
    }
  });
});

describe('export-ocsf', () => {
  test('an --out or --cursor file that cannot be written is named, with why, before the store is opened', async () => {
    const dir = tmp();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'notes\n');
    const since = ['--since', '2026-12-05T00:00:00Z'];
    await refused(['export-ocsf', ...since, '--out', join(dir, 'missing', 'x.jsonl')], /^cannot write --out ".*x\.jsonl": its folder .*missing does not exist$/);
    await refused(['export-ocsf', ...since, '--out', join(file, 'x.jsonl')], /^cannot write --out ".*": .*a-file is a file, not a folder$/);
    await refused(['export-ocsf', ...since, '--out', dir], /^cannot write --out ".*": it is a folder/);
    await refused(['export-ocsf', '--follow', '--cursor', join(dir, 'missing', 'c')], /^cannot write --cursor ".*c": its folder .*missing does not exist$/);
  });

  test('--since takes a date alone, as sessions --since and prune --before do, and still refuses what is no time', async () => {
    const dir = tmp();
    const dataDir = join(dir, 'store');
    const out = join(dir, 'events.jsonl');
    await (await openStore({ dataDir })).close();
    // With --out the summary is the document on stdout.
    const run = await cli(['export-ocsf', '--since', '2026-12-05', '--out', out, '--data-dir', dataDir, '--address', '127.0.0.1:1']);
    assert.equal(run.code, EXIT.ok, run.err);
    assert.deepEqual(run.doc, { sessions: 0, events: 0, invalidRows: 0, out });
    await refused(['export-ocsf', '--since', 'yesterday'], /^invalid --since "yesterday": give an ISO 8601 time such as .*, or a date alone such as 2026-01-01/);
    await refused(['export-ocsf', '--since', '0000-01-01'], /^invalid --since "0000-01-01": use a time from 0001-01-01/);
  });
});

describe('export-ocsf --out over a file with content', () => {
  test('is refused naming --out, before the store is opened, and the file is left as it was', async () => {
    const dir = tmp();
    const out = join(dir, 'events.jsonl');
    writeFileSync(out, '{"earlier":"export"}\n');
    const unreachable = ['--database-url', 'postgres://127.0.0.1:1/none'];
    await refused(['export-ocsf', 'S1', '--out', out, ...unreachable], /^--out ".*events\.jsonl" already holds 21 bytes; give --force to replace it, or another file$/);
    // A tail with no cursor to resume from would start the file afresh too.
    await refused(
      ['export-ocsf', 'S1', '--follow', '--out', out, ...unreachable],
      /^--out ".*events\.jsonl" already holds 21 bytes; give --force .*there is none at .*events\.jsonl\.cursor\)$/,
    );
    await refused(['export-ocsf', '--follow', '--out', out, '--cursor', join(dir, 'elsewhere.cursor'), ...unreachable], /there is none at .*elsewhere\.cursor/);
    assert.equal(readFileSync(out, 'utf8'), '{"earlier":"export"}\n');
    await refused(['export-ocsf', 'S1', '--force', ...unreachable], /^--force only goes with --out/);
  });

  test('is replaced with --force; an empty file needs no --force', async () => {
    const dir = tmp();
    const dataDir = join(dir, 'store');
    await (await openStore({ dataDir })).close();
    const out = join(dir, 'events.jsonl');
    writeFileSync(out, '{"earlier":"export"}\n');
    const args = ['export-ocsf', '--since', '2099-01-01', '--out', out, '--data-dir', dataDir, '--address', '127.0.0.1:1'];
    const forced = await cli([...args, '--force']);
    assert.equal(forced.code, EXIT.ok, forced.err);
    assert.equal(readFileSync(out, 'utf8'), '');
    const again = await cli(args);
    assert.equal(again.code, EXIT.ok, again.err);
  });
});

describe('init <dir>', () => {
  test('a folder under a file is refused naming <dir> and the file, not with ENOTDIR', async () => {
    const file = join(tmp(), 'pack.tgz');
    writeFileSync(file, 'x');
    await refused(['init', join(file, 'sub')], /^invalid <dir> ".*pack\.tgz\/sub": .*pack\.tgz is not a folder/);
    assert.equal(existsSync(join(file, 'sub')), false);
  });

  test('a folder under /proc or /sys is refused at once (Node\'s recursive mkdir would loop there for ever)', async () => {
    await refused(['init', '/proc/nope'], /^invalid <dir> "\/proc\/nope": it is under \/proc/);
    await refused(['init', '/sys/nope/deeper'], /^invalid <dir> "\/sys\/nope\/deeper": it is under \/sys/);
  });
});

describe('ui --host', () => {
  test('an address that cannot be listened on is a usage error naming --host, before the store is opened', async () => {
    // Neither an IP address nor a name that resolves.
    await refused(['ui', '--host', '999.1.1.1', '--port', '0'], /^invalid --host "999\.1\.1\.1": cannot listen on it \(it is neither an IP address nor a host name that resolves/);
    // An address of TEST-NET-1 (RFC 5737), which no machine here has.
    await refused(['ui', '--host', '192.0.2.1', '--port', '0'], /^invalid --host "192\.0\.2\.1": cannot listen on it \(it is not an address of this machine/);
  });
});

describe('a negative number after a value option', () => {
  test('is joined to its option, so that parseArgs passes it on instead of calling it ambiguous', () => {
    assert.deepEqual(joinNegativeValues(['sessions', '--limit', '-1']), ['sessions', '--limit=-1']);
    assert.deepEqual(joinNegativeValues(['ui', '--port', '-80', '--host', 'h']), ['ui', '--port=-80', '--host', 'h']);
    assert.deepEqual(joinNegativeValues(['x', '--poll-ms', '-.5']), ['x', '--poll-ms=-.5']);
    // Left alone: a flag after a boolean option, a value that is no number, an option value given inline, and anything after --.
    for (const argv of [['tree', '-d', '-1'], ['actions', '--json', '-1'], ['x', '--limit', '-d'], ['x', '--limit=-1'], ['x', '--', '--limit', '-1']]) {
      assert.deepEqual(joinNegativeValues(argv), argv);
    }
  });

  test('so the command says of it what it says of any bad value', async () => {
    const zero = await cli(['sessions', '--limit', '0']);
    assert.equal(zero.code, EXIT.usage);
    assert.equal(zero.doc.error?.message, 'invalid --limit "0": give a positive whole number');
    await refused(joinNegativeValues(['sessions', '--limit', '-1']), /^invalid --limit "-1": give a positive whole number$/);
    await refused(joinNegativeValues(['ui', '--port', '-1']), /^invalid --port "-1": give a port number/);
  });

  test('runCli joins them itself', async () => {
    await refused(['sessions', '--limit', '-1'], /^invalid --limit "-1": give a positive whole number$/);
  });
});

describe('the store a command reads', () => {
  test('a DATABASE_URL that is no postgres URL is named as the variable, not as a --database-url the user never gave', async () => {
    const saved = process.env.DATABASE_URL;
    try {
      process.env.DATABASE_URL = 'garbage';
      await refused(['tree', 'S1'], /^invalid DATABASE_URL \(from the environment\): must be a postgres:\/\/ or postgresql:\/\/ URL$/);
      await refused(['tree', 'S1', '--database-url', 'garbage'], /^invalid --database-url: must be a postgres:\/\/ or postgresql:\/\/ URL$/);
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved;
    }
  });
});

describe('an option no command takes', () => {
  test('is named with the command it was given to, and the option likely meant', async () => {
    await refused(['actions', 'S1', '--descendant'], /^--descendant is not an option of actions \(did you mean --descendants\? it takes --descendants, --kind, --tool, /);
    await refused(['--bogus'], /^--bogus is not an option of scopetrail\. Run scopetrail --help\.$/);
  });
});

describe('the payload codec', () => {
  // Each command that reads SCOPETRAIL_CODEC: the variable and --codec must mean the same there.
  const readers = (file: string): string[][] => [
    ['sessions'], ['roles'], ['drift'], ['tree', 'S1'], ['attribute', 'S1', file], ['prune', '--before', '2020-01-01'], ['ui'],
  ];

  test('every command that reads SCOPETRAIL_CODEC takes --codec and --codec-endpoint, and reads them alike', async () => {
    const file = join(tmp(), 'text.txt');
    writeFileSync(file, 'some text');
    const saved = process.env.SCOPETRAIL_CODEC;
    try {
      for (const argv of readers(file)) {
        delete process.env.SCOPETRAIL_CODEC;
        await refused([...argv, '--codec', './no-such-codec.js'], /^--codec: no module at "\.\/no-such-codec\.js"$/);
        await refused([...argv, '--codec', './c.js', '--codec-endpoint', 'http://localhost:1'], /^give --codec or --codec-endpoint, not both$/);
        process.env.SCOPETRAIL_CODEC = './no-such-codec.js';
        await refused(argv, /^--codec: no module at "\.\/no-such-codec\.js"$/);
      }
    } finally {
      if (saved === undefined) delete process.env.SCOPETRAIL_CODEC;
      else process.env.SCOPETRAIL_CODEC = saved;
    }
  });
});

describe('worker --task-queue', () => {
  test('an empty or overlong task queue is a usage error naming --task-queue', async () => {
    await refused(['worker', '--task-queue', ''], /^invalid --task-queue "": must not be empty$/);
    await refused(['dev', '--task-queue', ''], /^invalid --task-queue "": must not be empty$/);
    await refused(['worker', '--task-queue', 'q'.repeat(201)], /^invalid --task-queue "q+": too long \(at most 200 characters\)$/);
  });
});

describe('a negative number given as an argument', () => {
  test('is read as a value, and a percentage out of 0-100 is refused naming it', async () => {
    await refused(['deployment', 'ramp', 'agents', 'v2', '-5'], /^invalid <percent> "-5": use 0-100$/);
    await refused(['deployment', 'ramp', 'agents', 'v2', '-5', '--wait', '0'], /^invalid <percent> "-5": use 0-100$/);
    await refused(['deployment', 'ramp', 'agents', 'v2', '--wait', '-1', '-5'], /^invalid <percent> "-5": use 0-100$/);
  });

  test('anywhere a command takes no number it is a mistyped option, named as one', async () => {
    await refused(['timeline', '-4'], /^-4 is not an option of timeline /);
    await refused(['deployment', 'set-current', 'agents', '-4'], /^-4 is not an option of deployment /);
    await refused(['deployment', 'ramp', '-4'], /^-4 is not an option of deployment /);
  });
});

describe('--address and TEMPORAL_ADDRESS', () => {
  const { COMMANDS } = require('../../client/cli-commands') as typeof import('../../client/cli-commands');
  const taking = Object.entries(COMMANDS).filter(([, c]) => c.options.includes('address')).map(([name]) => name);

  test('an address that is not HOST:PORT is a usage error naming --address, for every command that takes it', async () => {
    assert.ok(taking.includes('sessions') && taking.includes('worker') && taking.includes('deployment'), taking.join(' '));
    for (const name of taking) {
      await refused([name, '--address', 'notanaddress'], /^invalid --address "notanaddress": it has no port; give the Temporal server as HOST:PORT, e.g\. localhost:7233$/);
    }
    await refused(['sessions', '--address', 'http://localhost:7233'], /^invalid --address "http:\/\/localhost:7233": give HOST:PORT without a scheme/);
    await refused(['sessions', '--address', 'localhost:99999'], /^invalid --address "localhost:99999": "99999" is not a port/);
    await refused(['sessions', '--address', 'local host:7233'], /^invalid --address "local host:7233": "local host" is not a host name/);
    await refused(['sessions', '--address', ''], /^invalid --address "": it is empty/);
  });

  test('so is a TEMPORAL_ADDRESS that is not, named as the variable; the flag wins over it', async () => {
    const saved = process.env.TEMPORAL_ADDRESS;
    try {
      process.env.TEMPORAL_ADDRESS = 'notanaddress';
      await refused(['sessions'], /^invalid TEMPORAL_ADDRESS \(from the environment\) "notanaddress": it has no port/);
      await refused(['reconcile', 'S1'], /^invalid TEMPORAL_ADDRESS/);
      // dev and run use a server the variable names instead of starting one: it is checked for them too.
      await refused(['dev'], /^invalid TEMPORAL_ADDRESS \(from the environment\) "notanaddress": it has no port/);
      await refused(['run', 'demo'], /^invalid TEMPORAL_ADDRESS/);
      // Given, the flag is the address used: a malformed variable is then not in the way.
      const run = await cli(['sessions', '--address', '127.0.0.1:1', '--database-url', 'postgres://postgres@127.0.0.1:1/x']);
      assert.doesNotMatch(String(run.doc.error?.message), /TEMPORAL_ADDRESS/);
    } finally {
      if (saved === undefined) delete process.env.TEMPORAL_ADDRESS;
      else process.env.TEMPORAL_ADDRESS = saved;
    }
  });

  test('HOST:PORT forms Temporal is reached at pass the check', () => {
    const { temporalAddressProblem } = require('../../client/temporal-address') as typeof import('../../client/temporal-address');
    for (const good of ['localhost:7233', '127.0.0.1:7233', '[::1]:7233', 'my-ns.a1b2c.tmprl.cloud:7233', 'temporal_frontend:7233']) {
      assert.equal(temporalAddressProblem(good), undefined, good);
    }
  });
});

describe('an option given no value', () => {
  test('is named with what it takes and the command it was given to, last or followed by another option', async () => {
    // Followed by --json (cli() adds it): Node calls this "ambiguous".
    await refused(['sessions', '--limit'], /^--limit needs a value N: at most N sessions, newest first \(default: 50, at most 10000\)\. Run scopetrail sessions --help\.$/);
    assert.equal((await cli(['sessions', '--limit'])).doc.error?.command, 'sessions');
    const err: string[] = [];
    const code = await runCli(['actions', 'S1', '--tool'], { log: () => undefined, err: (t) => err.push(t) });
    assert.equal(code, EXIT.usage);
    assert.equal(err.join('\n'), 'scopetrail actions: --tool needs a value T: only calls of tool T. Run scopetrail actions --help.');
  });
});
