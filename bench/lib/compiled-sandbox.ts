/**
 * The scopetrail worker's workflow bundle as an installed package makes it: the sandbox
 * code (workflows/, cim/, the interceptors) compiled by tsc to CommonJS, as `npm run build`
 * ships it, not the TypeScript sources. Bundled from the sources, swc hands webpack ES
 * modules and webpack defines a getter for every export of every module, which each
 * workflow pays for again when it evaluates them (about 0.25 ms per workflow more on an
 * idle host, bench/optimizations.md). The benchmark's agents module still comes from
 * bench/, as a user's own agents would; every module of this repository it imports is
 * swapped for its compiled twin. The worker's main thread and the client can run the same
 * compiled package (compiledMain): run through tsx, the sources carry esbuild's helpers
 * (a `__name` call for every function made), which tsc's output does not.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { SHARED_SANDBOX_MODULES, WORKFLOW_INTERCEPTORS_MODULE, quietBundlerLogger } from '../../worker/plugin';

const ROOT = join(__dirname, '..', '..');
/** Inside node_modules, so the compiled modules resolve their dependencies from the repository's. */
const OUT = join(ROOT, 'node_modules', '.cache', 'scopetrail-bench', 'compiled');

let compiled = false;

/**
 * The package compiled afresh, once per process (a stale build would measure other code),
 * with the store's migrations beside it as `npm run build` puts them: the folder.
 */
export function compiledPackage(): string {
  if (compiled) return OUT;
  rmSync(OUT, { recursive: true, force: true });
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', OUT, '--declaration', 'false'], {
    stdio: 'inherit',
  });
  if (tsc.status !== 0) throw new Error(`compiling the package for the benchmark failed (tsc exit ${tsc.status})`);
  cpSync(join(ROOT, 'store', 'migrations'), join(OUT, 'store', 'migrations'), { recursive: true });
  compiled = true;
  return OUT;
}

/** What the worker's main thread and the client run, from the compiled package as an installed one has them. */
export interface CompiledMain {
  createWorker: typeof import('../../worker/create-worker').createWorker;
  ScopeClient: typeof import('../../client/scope-client').ScopeClient;
  defineTool: typeof import('../../activities').defineTool;
  openPostgresStore: typeof import('../../store/postgres').openPostgresStore;
}

export function compiledMain(): CompiledMain {
  const out = compiledPackage();
  /* eslint-disable @typescript-eslint/no-require-imports */
  return {
    createWorker: (require(join(out, 'worker', 'create-worker.js')) as typeof import('../../worker/create-worker')).createWorker,
    ScopeClient: (require(join(out, 'client', 'scope-client.js')) as typeof import('../../client/scope-client')).ScopeClient,
    defineTool: (require(join(out, 'activities', 'index.js')) as typeof import('../../activities')).defineTool,
    openPostgresStore: (require(join(out, 'store', 'postgres.js')) as typeof import('../../store/postgres')).openPostgresStore,
  };
}

/** Bundles `agentsPath` against the compiled package. */
export async function compiledSandboxBundle(agentsPath: string): Promise<WorkflowBundle> {
  compiledPackage();
  // webpack as the SDK's bundler has it, not whatever a hoisted copy might be.
  const webpack = require(require.resolve('webpack', { paths: [dirname(require.resolve('@temporalio/worker'))] })) as {
    NormalModuleReplacementPlugin: new (test: RegExp, swap: (data: { createData?: { resource?: string; loaders?: Array<{ loader: string }> } }) => void) => unknown;
  };
  let swapped = 0;
  const swap = new webpack.NormalModuleReplacementPlugin(/.*/, (data) => {
    const resource = data.createData?.resource;
    if (!resource?.endsWith('.ts') || !resource.startsWith(`${ROOT}/`) || resource.startsWith(`${ROOT}/node_modules/`) || resource.startsWith(`${ROOT}/bench/`)) return;
    data.createData!.resource = join(OUT, resource.slice(ROOT.length)).replace(/\.ts$/, '.js');
    // The loaders were chosen for the .ts source: swc would compile tsc's output again, down to
    // the bundler's ES2017 (object spread and rest become helper calls). An installed package's
    // .js files reach the bundle as tsc wrote them.
    data.createData!.loaders = (data.createData!.loaders ?? []).filter((l) => !l.loader.includes('swc-loader'));
    swapped += 1;
  });
  const bundle = await bundleWorkflowCode({
    workflowsPath: agentsPath,
    workflowInterceptorModules: [WORKFLOW_INTERCEPTORS_MODULE],
    preloadModules: SHARED_SANDBOX_MODULES,
    logger: quietBundlerLogger,
    webpackConfigHook: (config) => ({ ...config, plugins: [...(config.plugins ?? []), swap as never] }),
  });
  if (swapped === 0) throw new Error('the compiled sandbox bundle took no compiled module: it would measure the sources');
  return bundle;
}
