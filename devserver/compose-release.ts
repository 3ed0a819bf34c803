/**
 * The Temporal release the compose stack runs, read from docker-compose.yml, so the
 * natively built server never drifts from the image a deployment uses.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const COMPOSE_FILE = join(__dirname, '..', 'docker-compose.yml');

/** `temporalio/auto-setup:1.29.1` → `v1.29.1` (the Go module version of go.temporal.io/server). */
export function temporalReleaseFromCompose(composeText: string, file = 'docker-compose.yml'): string {
  const found = [...composeText.matchAll(/^\s*image:\s*["']?temporalio\/(?:auto-setup|server):([^\s"']+)/gm)].map((m) => m[1]!);
  if (found.length === 0) {
    throw new Error(`${file} names no temporalio/auto-setup (or temporalio/server) image: cannot tell which Temporal release to build`);
  }
  const versions = [...new Set(found)];
  if (versions.length > 1) throw new Error(`${file} names several Temporal releases (${versions.join(', ')}); keep one`);
  const tag = versions[0]!;
  if (!/^\d+\.\d+\.\d+$/.test(tag)) {
    throw new Error(`${file} names temporalio image tag "${tag}", which is not a release number like 1.29.1`);
  }
  return `v${tag}`;
}

export function composeTemporalRelease(file = COMPOSE_FILE): string {
  return temporalReleaseFromCompose(readFileSync(file, 'utf8'), file);
}
