/**
 * scopetrail's own package.json, wherever this code runs from: the sources in a checkout
 * (`client/…`) or the built files of an installed package (`dist/client/…`), which sit at
 * different depths below it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface OwnPackage {
  name: string;
  version: string;
  peerDependencies?: Record<string, string>;
}

let found: OwnPackage | undefined;

export function ownPackage(): OwnPackage {
  if (found) return found;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as OwnPackage;
      if (pkg.name === 'scopetrail') return (found = pkg);
    }
    if (dirname(dir) === dir) throw new Error("cannot find scopetrail's own package.json above " + __dirname);
  }
}
