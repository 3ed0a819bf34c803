/**
 * The scopetrail worker's workflow bundle as an installed package makes it: the sandbox
 * code (workflows/, cim/, the interceptors) compiled by tsc to CommonJS, as `npm run build`
 * ships it, not the TypeScript sources. Bundled from the sources, swc hands webpack ES
 * modules and webpack defines a getter for every export of every module, which each
 * workflow pays for again when it evaluates them (about 0.25 ms per workflow more on an
 * idle host, bench/optimizations.md). The benchmark's agents module still comes from
 * bench/, as a user's own agents would; every module of this repository it imports is
 * swapped for its compiled twin.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { SHARED_SANDBOX_MODULES, WORKFLOW_INTERCEPTORS_MODULE, quietBundlerLogger } from '../../worker/plugin';

const ROOT = join(__dirname, '..', '..');
/** Inside node_modules, so the compiled modules resolve their dependencies from the repository's. */
const OUT = join(ROOT, 'node_modules', '.cache', 'scopetrail-bench', 'compiled');

/** Compiles the package afresh (a stale build would measure other code) and bundles `agentsPath` against it. */
export async function compiledSandboxBundle(agentsPath: string): Promise<WorkflowBundle> {
  rmSync(OUT, { recursive: true, force: true });
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', OUT, '--declaration', 'false'], {
    stdio: 'inherit',
  });
  if (tsc.status !== 0) throw new Error(`compiling the package for the benchmark failed (tsc exit ${tsc.status})`);
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
