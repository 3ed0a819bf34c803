#!/usr/bin/env node
// Builds what the package ships (`npm run build`, run by `npm pack` and git installs):
// the compiled JS and .d.ts, the store's SQL migrations beside the code that reads them,
// and the dashboard prebuilt so an installed `scopetrail ui` needs no Vite.
const { spawnSync } = require('node:child_process');
const { cpSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = __dirname;
const DIST = join(ROOT, 'dist');

rmSync(DIST, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
cpSync(join(ROOT, 'store', 'migrations'), join(DIST, 'store', 'migrations'), { recursive: true });
const { buildUi } = require(join(DIST, 'client', 'ui-build.js'));
buildUi({ force: true, root: join(ROOT, 'ui'), outDir: join(DIST, 'ui', 'dist'), log: (line) => console.error(line) }).catch((err) => {
  console.error(err);
  process.exit(1);
});
