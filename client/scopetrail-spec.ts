/**
 * What the starter's package.json depends on for scopetrail, from `--scopetrail-spec`.
 * npm resolves a local path in package.json from the project's folder, not from where
 * `scopetrail init` ran, so a path given on the command line has to be rewritten for
 * the new folder, and checked while the user can still see what they typed.
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliUsageError } from './cli-context';

/** The same test npm (npm-package-arg) applies: these spec shapes are read as paths, not registry ranges. */
const PATH_START = /^(?:\.\.?(?:\/|$)|~\/|\/)/;
const TARBALL_NAME = /\.(?:tgz|tar\.gz|tar)$/i;
const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The path a spec names when it is a local one, as written (relative paths unresolved); undefined for anything else. */
function localPathOf(spec: string): string | undefined {
  if (spec.startsWith('file:')) {
    const rest = spec.slice('file:'.length);
    // file:///abs and file://localhost/abs are URLs; file:../x and file:/abs are plain paths.
    return rest.startsWith('//') ? fileURLToPath(spec) : rest;
  }
  if (PATH_START.test(spec)) return spec;
  if (TARBALL_NAME.test(spec) && !URL_SCHEME.test(spec) && !spec.startsWith('git@')) return spec;
  return undefined;
}

/**
 * The dependency spec to write into the package.json in `projectDir`: a registry range or a
 * URL unchanged; a local tarball or folder resolved from `cwd` and written as a `file:` spec
 * npm finds from `projectDir` — relative when the user gave a relative path (as `npm install
 * ../x.tgz` writes it, so the two folders can move together), absolute when they gave one.
 */
export function scopetrailDependency(spec: string, cwd: string, projectDir: string): string {
  let given: string | undefined;
  try {
    given = localPathOf(spec);
  } catch (err) {
    throw new CliUsageError(`invalid --scopetrail-spec "${spec}": ${(err as Error).message}`);
  }
  if (given === undefined) return spec;
  const expanded = given === '~' || given.startsWith('~/') ? join(homedir(), given.slice(1)) : given;
  const path = resolve(cwd, expanded);
  const hint = 'give the path of a scopetrail tarball (npm pack) or checkout, or a version range';
  if (!existsSync(path)) {
    throw new CliUsageError(`invalid --scopetrail-spec "${spec}": ${path} does not exist; ${hint}`);
  }
  if (statSync(path).isDirectory() && !existsSync(join(path, 'package.json'))) {
    throw new CliUsageError(`invalid --scopetrail-spec "${spec}": the folder ${path} has no package.json; ${hint}`);
  }
  if (isAbsolute(expanded)) return `file:${path}`;
  return `file:${relative(projectDir, path).split(sep).join('/')}`;
}
