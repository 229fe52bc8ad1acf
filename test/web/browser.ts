// What every browser test shares: the built app (built here when a lone test file runs without it),
// where screenshots go, and Debian's Chromium launched as this machine allows.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from 'playwright-core';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The built app: FITSLAKE_WEB_DIR when set (as the server reads it), else dist/webapp. */
export const WEB = process.env.FITSLAKE_WEB_DIR ?? join(ROOT, 'dist', 'webapp');
export const SHOTS = join(ROOT, 'docs', 'screenshots');

// Without the background-networking flags Chromium's connections are refused by the closed network.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** scripts/test.sh builds the app before the tests; a lone run of a test file builds it when missing. */
export function ensureBuilt(): void {
  if (!existsSync(join(WEB, 'index.html')))
    execFileSync('npm', ['run', 'build:web', '--', '--outDir', WEB, '--emptyOutDir'], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
}

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS, headless: true });
}

export interface PageOptions {
  dark?: boolean;
  /** Signed in with this API token, as the sign-in page stores it (kept if the page changes it). */
  token?: string;
  width?: number;
  height?: number;
  /** Anything else for the context: downloads, clipboard permissions… */
  context?: BrowserContextOptions;
}

/**
 * A fresh browser context (its own localStorage) and page, collecting page errors and Content
 * Security Policy refusals in `problems`, which every test expects to end empty.
 */
export async function openPage(
  browser: Browser,
  o: PageOptions = {},
): Promise<{ ctx: BrowserContext; page: Page; problems: string[] }> {
  const ctx = await browser.newContext({
    viewport: { width: o.width ?? 1400, height: o.height ?? 900 },
    colorScheme: o.dark ? 'dark' : 'light',
    ...o.context,
  });
  if (o.token)
    await ctx.addInitScript((t) => {
      if (!localStorage.getItem('fitslake.token')) localStorage.setItem('fitslake.token', t);
    }, o.token);
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  return { ctx, page, problems };
}
