/**
 * Every subpath the package exports has its types found under `"moduleResolution": "node"`
 * too (TypeScript 5's default for CommonJS projects), which ignores `exports` and reads
 * `typesVersions` instead: the two maps must name the same declaration files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  types: string;
  exports: Record<string, string | { types?: string }>;
  typesVersions: Record<string, Record<string, string[]>>;
};

test('typesVersions names the declarations exports gives each subpath, and nothing else', () => {
  const fromExports = Object.fromEntries(
    Object.entries(pkg.exports)
      .filter(([path, target]) => path !== '.' && typeof target === 'object' && target.types)
      .map(([path, target]) => [path.slice(2), [(target as { types: string }).types]]),
  );
  assert.deepEqual(pkg.typesVersions['*'], fromExports);
  assert.equal((pkg.exports['.'] as { types: string }).types, `./${pkg.types.replace(/^\.\//, '')}`);
});
