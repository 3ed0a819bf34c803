/**
 * The Temporal server configuration that mirrors the compose stack's
 * temporalio/auto-setup container (DB=postgres12): Postgres persistence in one
 * database, Postgres (SQL) visibility in another, 4 history shards, one process
 * running all four services. Pure: rendered as JSON, which YAML parsers read as is,
 * so no value ever needs YAML quoting.
 */

/**
 * auto-setup's NUM_HISTORY_SHARDS default. The count is written into the cluster metadata
 * when a database is first used; a server started later with another count logs a
 * mismatch and keeps the persisted one, so a new count needs new databases.
 */
export const HISTORY_SHARDS = 4;

export interface ClusterPostgres {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  visibilityDatabase: string;
}

export interface ClusterPorts {
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  /** Membership (ringpop) ports, one per service. */
  membership: { frontend: number; history: number; matching: number; worker: number };
}

/**
 * The compose stack's port layout (7233 frontend, 7234 history, 7235 matching, 7239
 * worker, 7243 HTTP, 693x membership) shifted to `base`. The default base keeps every
 * port below Linux's ephemeral range (32768+), where the tests' dev servers get theirs.
 */
export function clusterPorts(base: number): ClusterPorts {
  if (!Number.isInteger(base) || base < 1024 || base + 110 > 32767) {
    throw new RangeError(`cluster port ${base} is out of range: use a whole number from 1024 to ${32767 - 110}`);
  }
  return {
    frontend: base,
    frontendHttp: base + 10,
    history: base + 1,
    matching: base + 2,
    worker: base + 6,
    membership: { frontend: base + 100, history: base + 101, matching: base + 102, worker: base + 106 },
  };
}

function sqlStore(pg: ClusterPostgres, database: string, maxConns: number) {
  return {
    sql: {
      pluginName: 'postgres12',
      databaseName: database,
      connectAddr: `${pg.host}:${pg.port}`,
      connectProtocol: 'tcp',
      user: pg.user,
      password: pg.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  };
}

export function clusterConfig(o: { postgres: ClusterPostgres; ports: ClusterPorts; dynamicConfigFile: string; logLevel?: string; historyShards?: number }) {
  const { postgres, ports } = o;
  const rpc = (grpcPort: number, membershipPort: number, httpPort?: number) => ({
    rpc: { grpcPort, membershipPort, bindOnIP: '127.0.0.1', ...(httpPort ? { httpPort } : {}) },
  });
  return {
    log: { stdout: true, level: o.logLevel ?? 'warn' },
    persistence: {
      numHistoryShards: o.historyShards ?? HISTORY_SHARDS,
      defaultStore: 'default',
      visibilityStore: 'visibility',
      datastores: {
        // auto-setup's SQL_MAX_CONNS and SQL_VIS_MAX_CONNS defaults.
        default: sqlStore(postgres, postgres.database, 20),
        visibility: sqlStore(postgres, postgres.visibilityDatabase, 10),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      pprof: { port: 0 },
    },
    services: {
      frontend: rpc(ports.frontend, ports.membership.frontend, ports.frontendHttp),
      history: rpc(ports.history, ports.membership.history),
      matching: rpc(ports.matching, ports.membership.matching),
      worker: rpc(ports.worker, ports.membership.worker),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `127.0.0.1:${ports.frontend}`,
          httpAddress: `127.0.0.1:${ports.frontendHttp}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: o.dynamicConfigFile, pollInterval: '60s' },
  };
}

/** The keys of auto-setup's dynamicconfig/docker.yaml that change behaviour a scopetrail user can see. */
export function clusterDynamicConfig(ports: ClusterPorts) {
  const on = [{ value: true }];
  return {
    'limit.maxIDLength': [{ value: 255, constraints: {} }],
    'frontend.workerVersioningDataAPIs': on,
    'frontend.workerVersioningWorkflowAPIs': on,
    'frontend.workerVersioningRuleAPIs': on,
    'system.enableDeploymentVersions': on,
    'system.enableDeployments': on,
    'frontend.enableExecuteMultiOperation': on,
    'system.enableNexus': on,
    'component.nexusoperations.callback.endpoint.template': [
      { value: `http://127.0.0.1:${ports.frontendHttp}/namespaces/{{.NamespaceName}}/nexus/callback` },
    ],
    'history.enableTransitionHistory': on,
  };
}
