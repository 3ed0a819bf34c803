/**
 * The layering the design card promises, checked on the sources: no module imports
 * itself back through a circle, and arrows point inward — the sandbox side never
 * reaches the worker, store, client or node I/O, the pure CIM imports only itself, and
 * the library client never loads worker code (only the CLI's runtime starts workers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const FOLDERS = ['cim', 'workflows', 'activities', 'worker', 'store', 'client', 'devserver'];
/** The one client module whose job is to start workers (`scopetrail worker`, `scopetrail demo`). */
/** The CLI's runtime commands: they start workers or read their files, loaded only when run. */
const CLI_RUNTIME = new Set(['client/cli-runtime.ts', 'client/quarantine-command.ts']);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Runtime imports only: `import type` and `export type` vanish when compiled. */
const IMPORT = /^\s*(?:import|export)\s+(?!type\s)[^'";]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)/gm;

export function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  return [...text.matchAll(IMPORT)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

function resolveLocal(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = resolve(dirname(from), spec);
  return [`${base}.ts`, join(base, 'index.ts'), base].find((c) => c.endsWith('.ts') && existsSync(c)) ?? null;
}

export function graph(files: string[], read: (f: string) => string = (f) => readFileSync(f, 'utf8')): Map<string, { local: string[]; packages: string[] }> {
  return new Map(
    files.map((file) => {
      const specs = importsOf(file, read(file));
      return [file, { local: specs.map((s) => resolveLocal(file, s)).filter((r): r is string => r !== null), packages: specs.filter((s) => !s.startsWith('.')) }];
    }),
  );
}

export function circles(g: Map<string, { local: string[] }>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of g.get(node)?.local ?? []) {
      if (state.get(next) === 'open') found.push(stack.slice(stack.indexOf(next)).concat(next));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of g.keys()) if (!state.has(node)) visit(node);
  return found;
}

const files = [join(ROOT, 'index.ts'), ...FOLDERS.flatMap((f) => sources(join(ROOT, f)))];
const rel = (f: string) => relative(ROOT, f);
const folderOf = (f: string) => rel(f).split('/')[0]!;
const g = graph(files);

/** Every module `start` loads at run time, itself included. */
function closure(start: string): Set<string> {
  const seen = new Set<string>();
  const walk = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    g.get(f)?.local.forEach(walk);
  };
  walk(start);
  return seen;
}

test('no module imports itself back through a circle of runtime imports', () => {
  assert.deepEqual(circles(g).map((c) => c.map(rel).join(' → ')), []);
});

test('the circle check finds a circle when there is one', () => {
  const a = join(ROOT, 'cim', 'a.ts');
  const b = join(ROOT, 'cim', 'b.ts');
  const fake = new Map([
    [a, { local: [b], packages: [] }],
    [b, { local: [a], packages: [] }],
  ]);
  assert.equal(circles(fake).length, 1);
  assert.deepEqual(importsOf(a, "import type { X } from './b';\nimport { y } from './c';"), ['./c']);
});

test('the sandbox side reaches only workflows/ and cim/, and no node I/O', () => {
  for (const entry of ['workflows/index.ts', 'workflows/interceptors.ts']) {
    for (const f of closure(join(ROOT, entry))) {
      assert.ok(['workflows', 'cim'].includes(folderOf(f)), `${entry} loads ${rel(f)}`);
      const io = g.get(f)!.packages.filter((p) => p.startsWith('node:') || ['pg', 'fs', 'path', 'crypto', '@temporalio/worker', '@temporalio/client'].includes(p));
      assert.deepEqual(io, [], `${rel(f)} imports ${io.join(', ')}`);
    }
  }
});

test('the pure CIM imports nothing outside cim/', () => {
  for (const f of files.filter((f) => folderOf(f) === 'cim')) {
    for (const dep of g.get(f)!.local) assert.equal(folderOf(dep), 'cim', `${rel(f)} imports ${rel(dep)}`);
  }
});

test('the library client and the store never load worker code; only the CLI runtime starts workers', () => {
  for (const f of files.filter((f) => ['client', 'store', 'cim', 'activities'].includes(folderOf(f)) && !CLI_RUNTIME.has(rel(f)))) {
    for (const dep of g.get(f)!.local) {
      if (rel(f).startsWith('client/cli') && CLI_RUNTIME.has(rel(dep))) continue;
      assert.notEqual(folderOf(dep), 'worker', `${rel(f)} imports ${rel(dep)}`);
    }
  }
  for (const f of closure(join(ROOT, 'client', 'index.ts'))) assert.notEqual(folderOf(f), 'worker', `the library client loads ${rel(f)}`);
});

/** Packages a shipped module loads at run time, `import()` included: what an installed copy must find. */
function packagesLoadedBy(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const dynamic = [...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
  return [...importsOf(file, text), ...dynamic].filter((s) => !s.startsWith('.'));
}

/** `@scope/name/sub` and `name/sub` belong to `@scope/name` and `name`. */
const packageName = (spec: string) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');

/** Loaded only to build the dashboard from its sources, which an installed copy lacks (it ships the build). */
const SOURCE_CHECKOUT_ONLY = new Set(['client/ui-build.ts loads vite', 'client/ui-build.ts loads @vitejs/plugin-react']);

test('every package a shipped module loads is declared, so a strict installer provides it', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    name: string;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
  const declared = new Set([manifest.name, ...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
  const builtins = new Set(require('node:module').builtinModules as string[]);
  const shipped = [join(ROOT, 'index.ts'), ...[...FOLDERS, 'examples'].flatMap((f) => sources(join(ROOT, f)))].filter((f) => !f.endsWith('.test.ts'));
  const undeclared = shipped.flatMap((f) =>
    packagesLoadedBy(f)
      .filter((spec) => !spec.startsWith('node:') && !builtins.has(packageName(spec)) && !declared.has(packageName(spec)))
      .map((spec) => `${rel(f)} loads ${spec}`)
      .filter((line) => !SOURCE_CHECKOUT_ONLY.has(line)),
  );
  assert.deepEqual(undeclared, []);
});
