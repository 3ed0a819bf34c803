/**
 * `scopetrail init <dir>`: writes a starter project (agents, tools, worker, client,
 * package.json, tsconfig) that runs with `npm install && npm start`.
 */
import { accessSync, constants, existsSync, mkdirSync, readdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { CliUsageError, type CommandContext } from './cli-context';
import { starterFiles } from './starter-files';
import { ownPackage } from './own-package';
import { scopetrailDependency } from './scopetrail-spec';

const PackageName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,213}$/, 'a package name: lower-case letters, digits, . _ -');

/**
 * Why the folder `dir` cannot be made (or written in), or undefined when it can; checked before
 * anything is written. Node's recursive mkdir loops for ever under /proc, and elsewhere fails
 * with a bare errno (ENOTDIR, EACCES) that does not say which part of the path is wrong.
 */
function whyNotCreatable(dir: string): string | undefined {
  let existing = dir;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  // Through its real path: a link such as /dev/fd leads into /proc.
  const real = join(realpathSync(existing), relative(existing, dir));
  const kernel = ['/proc', '/sys'].find((root) => real === root || real.startsWith(`${root}${sep}`));
  if (kernel) return `it is under ${kernel}, which the kernel provides and where no files can be created`;
  if (!statSync(existing).isDirectory()) return `${existing} is not a folder`;
  try {
    accessSync(existing, constants.W_OK);
  } catch {
    return `${existing === dir ? 'it' : existing} is not writable`;
  }
  return undefined;
}

export function initProject(ctx: CommandContext): number {
  const [target, ...rest] = ctx.args;
  if (!target) throw new CliUsageError('missing argument <dir> (where to write the new project)');
  if (rest.length) throw new CliUsageError(`unexpected argument "${rest[0]}"`);
  // The rule every positional argument follows (a path with a space is more often a quoting slip).
  if (/\s/.test(target) || target.length > 1000) {
    throw new CliUsageError(`invalid <dir> "${target}": ${target.length > 1000 ? 'too long' : 'must not contain whitespace'}`);
  }
  const dir = resolve(process.cwd(), target);
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new CliUsageError(`invalid <dir> "${target}": it is a file; give a new or empty folder`);
  }
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new CliUsageError(`invalid <dir> "${target}": it exists and is not empty; give a new or empty folder`);
  }
  const unusable = whyNotCreatable(dir);
  if (unusable) throw new CliUsageError(`invalid <dir> "${target}": ${unusable}; give a new or empty folder where you can write`);
  const name = PackageName.safeParse(basename(dir).toLowerCase());
  if (!name.success) throw new CliUsageError(`invalid <dir> "${target}": its name must be ${name.error.issues[0]?.message}`);
  const own = ownPackage();
  const spec = ctx.flags['scopetrail-spec'];
  if (spec !== undefined && (typeof spec !== 'string' || !spec.trim())) {
    throw new CliUsageError('invalid --scopetrail-spec: give what package.json should depend on (a version range, a tarball path, a git URL)');
  }
  const temporalVersion = (own.peerDependencies?.['@temporalio/worker'] ?? '^1.24.0').replace(/^\^/, '');
  const scopetrailSpec = spec === undefined ? `^${own.version}` : scopetrailDependency(spec as string, process.cwd(), dir);
  const files = starterFiles({ name: name.data, scopetrailSpec, temporalVersion });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text, { flag: 'wx' });
  }
  if (ctx.flags.json) {
    ctx.out.log(JSON.stringify({ dir, files: Object.keys(files) }));
  } else {
    ctx.out.log(`Wrote a scopetrail project to ${dir}:`);
    for (const path of Object.keys(files)) ctx.out.log(`  ${path}`);
    ctx.out.log(`\nNext:\n  cd ${target}\n  npm install && npm start`);
    if (spec === undefined) {
      // The default spec resolves only where this version is on the registry npm uses.
      ctx.out.log(
        `\npackage.json depends on scopetrail ^${own.version} from the npm registry; for a tarball or a checkout instead, ` +
          `write the project again with --scopetrail-spec <path or URL> (or edit its package.json)`,
      );
    }
  }
  return 0;
}
