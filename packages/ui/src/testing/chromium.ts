import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/** Debian's `chromium` package (`.ci/run` installs it); Playwright's browser downloads are not used. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** The flags the browser tests run with: headless, no sandbox or GPU, and nothing that calls home. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface HeadlessChromium {
  /** A browser context on a fresh profile; pages share its session storage per origin. */
  readonly context: BrowserContext;
  /** Closes the browser and deletes its profile. */
  close(): Promise<void>;
}

/**
 * Starts headless Chromium with a fresh `--user-data-dir` (Playwright passes the directory as that flag),
 * at a 1280x800 viewport unless told otherwise.
 */
export async function launchChromium(
  options: { executablePath?: string; viewport?: { width: number; height: number } } = {},
): Promise<HeadlessChromium> {
  const profile = await mkdtemp(path.join(tmpdir(), 'flowtrace-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: options.executablePath ?? CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: options.viewport ?? { width: 1280, height: 800 },
      deviceScaleFactor: 1,
      timeout: 60_000,
    });
    return {
      context,
      async close() {
        await context.close().catch(() => {});
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}
