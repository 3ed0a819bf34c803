/**
 * Debian's Chromium driven by playwright-core, for the dashboard tests and the
 * screenshot script. Playwright's own browser downloads are not used: the machine
 * (and CI) install Chromium from Debian's packages.
 */
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env.SCOPETRAIL_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_INSTALL = 'apt-get install chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const VIEWPORT = { width: 1280, height: 800 };

export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** CI sets CI (GitHub, GitLab, .ci/run's hosts); "false" or "0" is someone turning it off. */
export function underCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.CI) && env.CI !== 'false' && env.CI !== '0';
}

/**
 * Why the browser tests cannot run on this machine, or undefined when they run. A
 * machine without Chromium skips them with the reason and the install command, so
 * the README's test command passes on a fresh clone; under CI, where .ci/run installs
 * Chromium, they always run, and a missing Chromium fails them loudly.
 */
export function browserSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = env.SCOPETRAIL_CHROMIUM || '/usr/bin/chromium';
  if (executable(path) || underCi(env)) return undefined;
  return `no Chromium at ${path}: install it (${CHROMIUM_INSTALL}) or set SCOPETRAIL_CHROMIUM to a Chromium binary; under CI these tests are required`;
}

/** A dashboard test: skipped, with the reason and the install command, where no Chromium is found (never under CI). */
export function browserTest(name: string, fn: () => Promise<void>): void {
  test(name, { skip: browserSkipReason() }, fn);
}

/** A fresh Chromium with a profile of its own, removed again on close. */
export async function launchChromium(): Promise<Chromium> {
  if (!executable(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}: the dashboard tests drive Debian's Chromium ` +
        `(${CHROMIUM_INSTALL}), or set SCOPETRAIL_CHROMIUM to another Chromium binary.`,
    );
  }
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'scopetrail-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: VIEWPORT,
    // Pinned so that times render the same on every machine.
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
