/** The native cluster's settings and configuration: the compose release, the compose settings, bad input named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPOSE_FILE, composeTemporalRelease, temporalReleaseFromCompose } from '../../devserver/compose-release';
import { HISTORY_SHARDS, clusterConfig, clusterPorts } from '../../devserver/cluster-config';
import { clusterSettings } from '../../devserver/cluster-settings';
import { SERVER_BINARY, SQL_TOOL_BINARY, serverCacheDir, serverUnavailableReason } from '../../devserver/server-build';

test('the server is built at the release the compose file runs', () => {
  const compose = readFileSync(COMPOSE_FILE, 'utf8');
  const tag = /temporalio\/auto-setup:(\S+)/.exec(compose)![1];
  assert.equal(composeTemporalRelease(), `v${tag}`);
  assert.equal(temporalReleaseFromCompose('services:\n  t:\n    image: "temporalio/server:1.30.0"\n'), 'v1.30.0');
});

test('a compose file without a release, with two, or with a non-release tag is refused with the reason', () => {
  assert.throws(() => temporalReleaseFromCompose('services: {}'), /names no temporalio\/auto-setup/);
  assert.throws(
    () => temporalReleaseFromCompose('  image: temporalio/auto-setup:1.29.1\n  image: temporalio/server:1.28.0\n'),
    /several Temporal releases \(1\.29\.1, 1\.28\.0\)/,
  );
  assert.throws(() => temporalReleaseFromCompose('  image: temporalio/auto-setup:latest\n'), /tag "latest", which is not a release/);
});

test('the config mirrors auto-setup on postgres12: two databases, 4 shards, all four services on loopback', () => {
  const settings = clusterSettings({});
  const ports = clusterPorts(settings.port);
  const config = clusterConfig({ postgres: settings.postgres, ports, dynamicConfigFile: '/x/dynamic.yaml' });
  assert.equal(config.persistence.numHistoryShards, HISTORY_SHARDS);
  assert.ok(HISTORY_SHARDS > 1);
  const { default: persistence, visibility } = config.persistence.datastores;
  assert.deepEqual(
    [persistence.sql.pluginName, persistence.sql.databaseName, visibility.sql.pluginName, visibility.sql.databaseName],
    ['postgres12', 'scopetrail_temporal', 'postgres12', 'scopetrail_temporal_visibility'],
  );
  assert.equal(persistence.sql.connectAddr, '127.0.0.1:5432');
  assert.equal(persistence.sql.user, 'postgres');
  assert.deepEqual(Object.keys(config.services).sort(), ['frontend', 'history', 'matching', 'worker']);
  const all = [ports.frontend, ports.frontendHttp, ports.history, ports.matching, ports.worker, ...Object.values(ports.membership)];
  assert.equal(new Set(all).size, all.length, 'no port used twice');
  assert.ok(all.every((p) => p < 32768), 'below the ephemeral range the dev servers draw from');
  assert.equal(config.clusterMetadata.clusterInformation.active.rpcAddress, `127.0.0.1:${ports.frontend}`);
});

test('settings come from the environment; a bad value is an error naming the variable', () => {
  const s = clusterSettings({
    SCOPETRAIL_CLUSTER_PORT: '18000',
    SCOPETRAIL_CLUSTER_DATABASE_URL: 'postgres://tem%40p:s3cret@db.internal:6543',
    SCOPETRAIL_CLUSTER_DB: 'tp',
    SCOPETRAIL_CLUSTER_VISIBILITY_DB: 'tv',
    SCOPETRAIL_CLUSTER_HISTORY_SHARDS: '16',
  });
  assert.equal(s.port, 18000);
  assert.equal(s.historyShards, 16);
  assert.equal(clusterConfig({ postgres: s.postgres, ports: clusterPorts(s.port), dynamicConfigFile: '/x/d.yaml', historyShards: s.historyShards }).persistence.numHistoryShards, 16);
  assert.equal(clusterSettings({}).historyShards, HISTORY_SHARDS);
  assert.throws(() => clusterSettings({ SCOPETRAIL_CLUSTER_HISTORY_SHARDS: 'many' }), /^Error: SCOPETRAIL_CLUSTER_HISTORY_SHARDS: use a whole number of shards, e.g. 16 \(got "many"\)/);
  assert.throws(() => clusterSettings({ SCOPETRAIL_CLUSTER_HISTORY_SHARDS: '0' }), /SCOPETRAIL_CLUSTER_HISTORY_SHARDS: use at least 1 shard/);
  assert.deepEqual(s.postgres, { host: 'db.internal', port: 6543, user: 'tem@p', password: 's3cret', database: 'tp', visibilityDatabase: 'tv' });
  assert.throws(() => clusterSettings({ SCOPETRAIL_CLUSTER_PORT: 'abc' }), /^Error: SCOPETRAIL_CLUSTER_PORT: use a port number \(got "abc"\)/);
  assert.throws(() => clusterSettings({ SCOPETRAIL_CLUSTER_PORT: '40000' }), /SCOPETRAIL_CLUSTER_PORT: use a port below 32658/);
  assert.throws(() => clusterSettings({ SCOPETRAIL_CLUSTER_DATABASE_URL: 'mysql://x' }), /SCOPETRAIL_CLUSTER_DATABASE_URL: use a postgres:\/\/ URL/);
  assert.throws(() => clusterSettings({ SCOPETRAIL_CLUSTER_DB: 'Temporal; DROP' }), /SCOPETRAIL_CLUSTER_DB: use a Postgres database name/);
  assert.throws(() => clusterSettings({ SCOPETRAIL_CLUSTER_DB: 'x', SCOPETRAIL_CLUSTER_VISIBILITY_DB: 'x' }), /SCOPETRAIL_CLUSTER_VISIBILITY_DB: visibility needs a database of its own/);
  assert.throws(() => clusterSettings({ SCOPETRAIL_CLUSTER_ADDRESS: 'no port' }), /SCOPETRAIL_CLUSTER_ADDRESS: use host:port/);
  assert.throws(() => clusterPorts(80), /cluster port 80 is out of range/);
});

test('without Go and without a cached build, the reason says what to install; with a cached build there is none', () => {
  const saved = { PATH: process.env.PATH, SCOPETRAIL_CACHE_DIR: process.env.SCOPETRAIL_CACHE_DIR };
  const cache = mkdtempSync(join(tmpdir(), 'scopetrail-cache-'));
  try {
    process.env.PATH = '/nonexistent';
    process.env.SCOPETRAIL_CACHE_DIR = cache;
    assert.match(serverUnavailableReason('v1.29.1') ?? '', /no Go toolchain to build it: install Go 1\.25 or newer .*apt-get install golang-go/);
    const dir = serverCacheDir('v1.29.1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, SERVER_BINARY), '');
    writeFileSync(join(dir, SQL_TOOL_BINARY), '');
    assert.equal(serverUnavailableReason('v1.29.1'), undefined);
  } finally {
    process.env.PATH = saved.PATH;
    if (saved.SCOPETRAIL_CACHE_DIR === undefined) delete process.env.SCOPETRAIL_CACHE_DIR;
    else process.env.SCOPETRAIL_CACHE_DIR = saved.SCOPETRAIL_CACHE_DIR;
    rmSync(cache, { recursive: true, force: true });
  }
});
