/**
 * Builds the dashboard's frontend (ui/) with Vite's JS API into ui/dist. The built
 * files are never committed, so in a checkout `scopetrail ui` builds them on first use
 * and again whenever a source file is newer than the build. The installed package
 * ships the build and no sources (dist/ui/dist, made at pack time), so it never needs
 * Vite at run time.
 */
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { ScopetrailError } from '../cim/errors';
import { join } from 'node:path';

export const UI_ROOT = join(__dirname, '..', 'ui');
export const UI_DIST = join(UI_ROOT, 'dist');
/**
 * Files whose change means the build is stale, besides everything under ui/src: the
 * page's shell, and the modules of client/ the page bundles (it shows text as the CLI does).
 */
const UI_INPUTS = ['index.html', 'tsconfig.json', '../client/visible-text.ts', '../client/deep-json.ts'];

export interface UiBuildState {
  built: boolean;
  stale: boolean;
  /** Why a build is needed, for the progress message. */
  reason: string | null;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function mtime(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

export function uiBuildState(root = UI_ROOT, dist = join(root, 'dist')): UiBuildState {
  const builtAt = mtime(join(dist, 'index.html'));
  if (builtAt === null) return { built: false, stale: true, reason: `${dist} has no build yet` };
  // A prebuilt dashboard without its sources is what the package ships: nothing to compare against.
  if (!existsSync(join(root, 'src'))) return { built: true, stale: false, reason: null };
  const sources = Math.max(newestMtime(join(root, 'src')), ...UI_INPUTS.map((f) => mtime(join(root, f)) ?? 0));
  if (sources > builtAt) return { built: true, stale: true, reason: 'the sources changed since the last build' };
  return { built: true, stale: false, reason: null };
}

export interface BuildUiOptions {
  /** Build even when the existing build is up to date. */
  force?: boolean;
  log?: (line: string) => void;
  root?: string;
  outDir?: string;
}

/** Builds ui/ into ui/dist when missing or stale (or when forced); returns whether it built. */
export async function buildUi(options: BuildUiOptions = {}): Promise<{ built: boolean; seconds: number }> {
  const root = options.root ?? UI_ROOT;
  const outDir = options.outDir ?? join(root, 'dist');
  const log = options.log ?? (() => undefined);
  const state = uiBuildState(root, outDir);
  if (!options.force && !state.stale) return { built: false, seconds: 0 };
  if (!existsSync(join(root, 'src'))) {
    throw new ScopetrailError(`the dashboard is neither built nor buildable: ${outDir} and ${join(root, 'src')} are both missing; reinstall scopetrail`);
  }
  const started = Date.now();
  log(`building the dashboard (${state.reason ?? 'forced'}) into ${outDir}…`);
  // Both are ESM-only; loaded here so commands that never build don't pay for them.
  const { build } = await import('vite');
  const { default: react } = await import('@vitejs/plugin-react');
  // Built beside the old build and swapped in whole, so a server reading ui/dist never sees half a build.
  const staging = `${outDir}.building-${process.pid}-${Date.now()}`;
  try {
    await build({
      configFile: false,
      root,
      // Relative asset URLs: the built page works under any mount path.
      base: './',
      logLevel: 'warn',
      plugins: [react()],
      build: { outDir: staging, emptyOutDir: true, sourcemap: false, reportCompressedSize: false },
    });
    rmSync(outDir, { recursive: true, force: true });
    renameSync(staging, outDir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const seconds = (Date.now() - started) / 1000;
  log(`built the dashboard in ${seconds.toFixed(1)} s`);
  return { built: true, seconds };
}
