/** A file system of its own at a folder, for tests of mount points and full disks (root on Linux only). */
import { mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** Mounts a tmpfs at `dir` (of `size`, e.g. '64k'); returns how to unmount it, or why it could not be mounted. */
export function mountTmpfs(dir: string, size?: string): { unmount: () => { ok: boolean; message: string } } | string {
  mkdirSync(dir, { recursive: true });
  const mounted = spawnSync('mount', ['-t', 'tmpfs', ...(size ? ['-o', `size=${size}`] : []), 'scopetrail-test', dir], { encoding: 'utf8' });
  if (mounted.status !== 0) return `cannot mount a tmpfs here (${(mounted.stderr || mounted.error?.message || '').trim() || `exit ${mounted.status}`}): needs root on Linux`;
  return {
    unmount: () => {
      const r = spawnSync('umount', [dir], { encoding: 'utf8' });
      return { ok: r.status === 0, message: (r.stderr || '').trim() };
    },
  };
}
