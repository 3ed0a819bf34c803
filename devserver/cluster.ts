/**
 * The real Temporal server, run natively the way the compose stack runs it: built from
 * Go modules at the compose file's release, Postgres persistence and visibility in
 * databases of its own, the default namespace and scopetrail's search attributes
 * registered through the operator API. `npm run cluster` starts it; Ctrl-C stops it.
 *
 *   npm run cluster                       start on 127.0.0.1:17233 (SCOPETRAIL_CLUSTER_PORT)
 *   npm run cluster -- --build-only       build and cache the binaries, then exit
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { clusterConfig, clusterDynamicConfig, clusterPorts, type ClusterPorts } from './cluster-config';
import { clusterSettings, type ClusterSettings } from './cluster-settings';
import { ensureClusterSchemas, type SchemaReport } from './cluster-schema';
import { composeTemporalRelease } from './compose-release';
import { stopChild, waitUntilServing, type TemporalEndpoint } from './dev-server';
import { INDEXED_VALUE_TYPE, REGISTERED_SEARCH_ATTRIBUTES } from './search-attributes';
import { resolveServer, type ServerBinaries } from './server-build';

/** auto-setup's DEFAULT_NAMESPACE_RETENTION. */
const RETENTION = '24h';
const GRPC_ALREADY_EXISTS = 6;

export interface ClusterEndpoint extends TemporalEndpoint {
  binaries?: ServerBinaries;
  schemas?: SchemaReport[];
  /** Seconds from the call to a server with namespace and search attributes ready. */
  readySeconds: number;
}

export interface StartClusterOptions {
  settings?: ClusterSettings;
  log?: (line: string) => void;
}

/**
 * A cluster at settings.reuseAddress when one is given (it must already have the
 * namespace and search attributes), else a server of our own on settings.port.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<ClusterEndpoint> {
  const started = Date.now();
  const settings = options.settings ?? clusterSettings(process.env);
  const log = options.log ?? ((line: string) => console.error(line));
  const namespace = settings.namespace;
  if (settings.reuseAddress) {
    await waitUntilServing(settings.reuseAddress, 15_000);
    await ensureNamespaceReady(settings.reuseAddress, namespace, 60_000);
    return {
      address: settings.reuseAddress,
      namespace,
      description: `running Temporal server at ${settings.reuseAddress}`,
      readySeconds: (Date.now() - started) / 1000,
      stop: async () => undefined,
    };
  }
  const binaries = await resolveServer(composeTemporalRelease(), log);
  const ports = clusterPorts(settings.port);
  await assertPortsFree(ports);
  const schemas = await ensureClusterSchemas(binaries.sqlTool, settings.postgres);
  for (const s of schemas) log(`  database ${s.database}: ${s.created ? 'created, ' : ''}schema version ${s.version}`);

  const root = mkdtempSync(join(tmpdir(), 'scopetrail-cluster-'));
  mkdirSync(join(root, 'config'));
  const dynamicConfigFile = join(root, 'config', 'dynamic.yaml');
  writeFileSync(dynamicConfigFile, JSON.stringify(clusterDynamicConfig(ports), null, 2));
  const config = clusterConfig({ postgres: settings.postgres, ports, dynamicConfigFile, logLevel: settings.logLevel, historyShards: settings.historyShards });
  writeFileSync(join(root, 'config', 'scopetrail.yaml'), JSON.stringify(config, null, 2));
  const logFile = join(root, 'server.log');
  const logStream = createWriteStream(logFile);
  const child = spawn(binaries.server, ['--root', root, '--config', 'config', '--env', 'scopetrail', '--allow-no-auth', 'start'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(logStream);
  child.stderr!.pipe(logStream);
  const stopOnExit = () => child.kill('SIGKILL');
  process.once('exit', stopOnExit);
  const address = `127.0.0.1:${ports.frontend}`;
  const logTail = () => {
    try {
      return readFileSync(logFile, 'utf8').slice(-3000).trim();
    } catch {
      return '';
    }
  };
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`temporal-server exited (${signal ?? `code ${code}`}); its log ends:\n${logTail()}`))),
  );
  exited.catch(() => undefined);
  const stop = async () => {
    // The server hands its shards back on SIGTERM; that may take a while.
    await stopChild(child, stopOnExit, 15_000);
    logStream.end();
    if (!settings.keepRunDir) rmSync(root, { recursive: true, force: true });
  };
  try {
    await Promise.race([waitUntilServing(address, 120_000), exited]);
    await Promise.race([registerNamespaceAndAttributes(address, namespace, log), exited]);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    address,
    namespace,
    description: `Temporal server ${binaries.version} on Postgres at ${address} (log: ${logFile})`,
    binaries,
    schemas,
    readySeconds: (Date.now() - started) / 1000,
    stop,
  };
}

function assertPortsFree(ports: ClusterPorts): Promise<void> {
  const all = [ports.frontend, ports.frontendHttp, ports.history, ports.matching, ports.worker, ...Object.values(ports.membership)];
  return all.reduce(
    (prev, port) =>
      prev.then(
        () =>
          new Promise<void>((resolve, reject) => {
            const srv = createServer();
            srv.once('error', () =>
              reject(
                new Error(
                  `port ${port} on 127.0.0.1 is taken: if a cluster already runs there, set SCOPETRAIL_CLUSTER_ADDRESS=127.0.0.1:${ports.frontend} ` +
                    'to use it, else pick other ports with SCOPETRAIL_CLUSTER_PORT',
                ),
              ),
            );
            srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
          }),
      ),
    Promise.resolve(),
  );
}

/** What auto-setup and the compose file's temporal-setup service do, through the gRPC APIs. */
async function registerNamespaceAndAttributes(address: string, namespace: string, log: (line: string) => void): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs(RETENTION),
      });
      log(`  namespace ${namespace} registered`);
    } catch (err) {
      if ((err as { code?: number }).code !== GRPC_ALREADY_EXISTS) throw err;
    }
    // A new namespace reaches the frontend's cache a few seconds later; until then it is "not found".
    await retry(60_000, async () => {
      const existing = (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
      const missing = REGISTERED_SEARCH_ATTRIBUTES.filter(({ name }) => !(name in existing));
      if (missing.length === 0) return;
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map(({ name, type }) => [name, INDEXED_VALUE_TYPE[type]])),
      });
      log(`  search attributes ${missing.map(({ name }) => name).join(', ')} registered`);
    });
  } finally {
    await connection.close();
  }
  await ensureNamespaceReady(address, namespace, 60_000);
}

/** Waits until the namespace lists scopetrail's search attributes, so the first session already publishes its scopes. */
export async function ensureNamespaceReady(address: string, namespace: string, timeoutMs: number): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await retry(timeoutMs, async () => {
      const custom = (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
      const missing = REGISTERED_SEARCH_ATTRIBUTES.filter(({ name }) => !(name in custom)).map(({ name }) => name);
      if (missing.length > 0) throw new Error(`namespace ${namespace} at ${address} lacks the search attributes ${missing.join(', ')}`);
    });
  } finally {
    await connection.close();
  }
}

async function retry(timeoutMs: number, fn: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'build-only': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(readFileSync(__filename, 'utf8').split('*/')[0]!.replace(/^\/\*\*?|^ \* ?/gm, '').trim());
    return;
  }
  const log = (line: string) => console.error(line);
  if (values['build-only']) {
    const started = Date.now();
    const b = await resolveServer(composeTemporalRelease(), log);
    console.log(
      b.buildSeconds !== undefined
        ? `Temporal server ${b.version} built from Go modules in ${b.buildSeconds.toFixed(1)} s: ${b.server}`
        : `Temporal server ${b.version} from the cache in ${((Date.now() - started) / 1000).toFixed(1)} s: ${b.server}`,
    );
    return;
  }
  const settings = clusterSettings(process.env);
  const cluster = await startCluster({ settings, log });
  console.log(`${cluster.description}; ready in ${cluster.readySeconds.toFixed(1)} s`);
  console.log(`  namespace ${cluster.namespace} with ${REGISTERED_SEARCH_ATTRIBUTES.map(({ name }) => name).join(', ')}`);
  console.log(`  TEMPORAL_ADDRESS=${cluster.address} npm start    # Ctrl-C here stops the server`);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`${signal}: stopping the Temporal server…`);
    cluster.stop().then(
      () => process.exit(0),
      (err) => {
        console.error(err instanceof Error ? err.message : String(err));
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
