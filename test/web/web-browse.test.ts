// Browse in a real browser: Debian's chromium driven by playwright-core against a real server (every
// service plugin, the web app last) on a generated lake. A signed-out visitor opens /browse, enters
// folders by click and by keyboard, sees exactly the files the catalog lets anyone download (the
// embargoed observation's files absent from rows and from the folder counts), downloads one and gets
// the stored bytes; back/forward walk the folders; "Load more" pages through a folder; the owner,
// signed in, sees and downloads the embargoed files with the token. Screenshot: docs/screenshots/browse.png.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { servicePlugins } from '../../src/services/index.ts';
import { populatedLake } from '../services/rest/fixture.ts';
import { ensureBuilt, launchBrowser, SHOTS, openPage } from './browser.ts';

ensureBuilt();

const f = await populatedLake([...servicePlugins]);
const db = f.lake.catalog.db;
let browser: Browser;

before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await f.close();
});

// The oracle: current raw files, and those of the embargoed observation (hidden from anonymous callers).
const raw = (
  await db
    .selectFrom('files')
    .select(['id', 'key', 'size', 'collection'])
    .where('zone', '=', 'raw')
    .where('current', '=', 1)
    .execute()
).map((r) => ({ ...r, id: Number(r.id), size: Number(r.size) }));
const embargoed = new Set(
  (
    await db.selectFrom('artifacts').select('file_id').where('observation_id', '=', f.embargoed).execute()
  ).map((a) => Number(a.file_id)),
);
const hiddenRaw = raw.filter((r) => embargoed.has(r.id));
assert.ok(hiddenRaw.length >= 5);
/** The folder of the embargoed observation's files (it holds public files too). */
const FOLDER = hiddenRaw[0].key.slice(0, hiddenRaw[0].key.lastIndexOf('/') + 1);
const inFolder = raw.filter((r) => r.key.startsWith(FOLDER) && !r.key.slice(FOLDER.length).includes('/'));
const publicInFolder = inFolder.filter((r) => !embargoed.has(r.id));
assert.ok(publicInFolder.length >= 5 && publicInFolder.length < inFolder.length);
const nameOf = (key: string) => key.slice(key.lastIndexOf('/') + 1);
const sorted = (xs: string[]) => [...xs].sort();

async function stored(key: string): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of await f.lake.zones.raw.get(key)) parts.push(p);
  return Buffer.concat(parts);
}

const open = (o: { token?: string; width?: number } = {}) =>
  openPage(browser, { ...o, height: 860, context: { acceptDownloads: true } });

/** The table once loaded: folder names and file names, in the order shown. */
async function table(page: Page): Promise<{ folders: string[]; files: string[]; status: string }> {
  await page.waitForSelector('.browse .status:not(:text("Loading"))');
  const folders = await page.$$eval('table.browse-table tr.folder td:first-child a', (as) =>
    as.map((a) => a.textContent ?? ''),
  );
  const files = await page.$$eval('table.browse-table tr.file td:first-child .entry', (es) =>
    es.map((e) => e.textContent ?? ''),
  );
  return { folders, files, status: (await page.textContent('.browse .status')) ?? '' };
}

/** A folder row's cells, by its name. */
async function folderRow(page: Page, name: string): Promise<string[]> {
  return page
    .locator('table.browse-table tr.folder', { has: page.getByRole('link', { name, exact: true }) })
    .locator('td')
    .allTextContents();
}

test('a signed-out visitor browses folders, sees only public files, downloads one; back and forward work', async () => {
  const { ctx, page, problems } = await open();
  await page.goto(`${f.srv.url}/browse`);
  let t = await table(page);
  assert.deepEqual(t.folders, ['night/'], 'the private collection is not there');
  assert.equal(await page.getAttribute('.zones a[aria-current="page"] .zone-name', 'class'), 'zone-name');
  assert.equal(await page.textContent('.zones a[aria-current="page"] .zone-name'), 'raw');
  // The zone links carry the visitor's counts.
  const anonRaw = raw.filter((r) => r.collection === 'night' && !embargoed.has(r.id));
  await page.waitForFunction(
    (n) => document.querySelector('.zones a[aria-current="page"] .zone-count')?.textContent?.startsWith(n),
    `${anonRaw.length} files`,
  );
  assert.equal(await page.locator('.breadcrumb [aria-current="page"]').textContent(), 'raw');

  // Into night/ by click: the URL names the folder.
  await page.getByRole('link', { name: 'night/', exact: true }).click();
  await page.waitForURL(/\/browse\?prefix=night%2F$/);
  t = await table(page);
  const instruments = sorted([
    ...new Set(
      raw
        .filter((r) => r.key.split('/').length === 3 && r.collection === 'night')
        .map((r) => `${r.key.split('/')[1]}/`),
    ),
  ]);
  assert.deepEqual(sorted(t.folders), instruments);
  assert.deepEqual(t.files, ['zz-broken.fits']);
  assert.equal(t.status, `${instruments.length} folders, 1 file.`);
  // The embargoed observation's folder counts only what the visitor may download.
  const cells = await folderRow(page, FOLDER.split('/')[1] + '/');
  assert.equal(cells[4], `${publicInFolder.length} files`);

  // Into the folder from the keyboard.
  await page.getByRole('link', { name: `${FOLDER.split('/')[1]}/`, exact: true }).focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(`${f.srv.url}/browse?prefix=${encodeURIComponent(FOLDER)}`);
  t = await table(page);
  assert.deepEqual(t.folders, []);
  assert.deepEqual(sorted(t.files), sorted(publicInFolder.map((r) => nameOf(r.key))));
  const html = await page.content();
  for (const h of hiddenRaw) assert.ok(!html.includes(nameOf(h.key)), `${h.key} is not shown`);
  assert.equal(t.status, `${publicInFolder.length} files.`);
  // Breadcrumb: raw / night / <instrument>, the last the current page.
  assert.deepEqual(await page.locator('.breadcrumb li').allTextContents(), [
    'raw',
    'night',
    FOLDER.split('/')[1],
  ]);

  // A file row links its observation and downloads its bytes.
  const small = publicInFolder.find((r) => r.key.endsWith('-small.fits'));
  assert.ok(small);
  const row = page.locator('table.browse-table tr.file', { hasText: nameOf(small.key) });
  assert.equal(await row.getByRole('link', { name: `Observation of ${nameOf(small.key)}` }).count(), 1);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    row
      .getByRole('link', { name: new RegExp(`^Download ${nameOf(small.key).replace(/[.]/g, '\\.')}`) })
      .click(),
  ]);
  assert.equal(download.suggestedFilename(), nameOf(small.key));
  const got = readFileSync((await download.path()) as string);
  assert.ok(got.equals(await stored(small.key)), 'the downloaded bytes are the stored file');
  assert.equal(got.length, small.size);
  await page.screenshot({ path: join(SHOTS, 'browse.png'), fullPage: true });

  // Back and forward walk the folders.
  await page.goBack();
  await page.waitForURL(/\/browse\?prefix=night%2F$/);
  assert.deepEqual(sorted((await table(page)).folders), instruments);
  await page.goBack();
  await page.waitForURL(/\/browse$/);
  assert.deepEqual((await table(page)).folders, ['night/']);
  await page.goForward();
  await page.waitForURL(/\/browse\?prefix=night%2F$/);
  assert.deepEqual(sorted((await table(page)).folders), instruments);

  // The path box jumps to a folder (the missing slash added); a parent row goes up.
  await page.getByLabel('Folder path').fill('night/ep003ms');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/browse\?prefix=night%2Fep003ms%2F$/);
  assert.ok((await table(page)).files.length > 0);
  await page.getByRole('link', { name: '↑ Parent folder' }).click();
  await page.waitForURL(/\/browse\?prefix=night%2F$/);

  // Another zone: previews, its own URL.
  await page.locator('.zones a', { hasText: 'previews' }).click();
  await page.waitForURL(/\/browse\?zone=previews$/);
  assert.deepEqual((await table(page)).folders, ['night/']);

  // A folder that does not exist (or holds nothing visible): said so.
  await page.goto(`${f.srv.url}/browse?prefix=vault%2F`);
  t = await table(page);
  assert.deepEqual([t.folders, t.files], [[], []]);
  assert.match(t.status, /Nothing here/);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('"Load more" pages through a folder with no duplicate and no miss', async () => {
  const { ctx, page, problems } = await open({ width: 600 });
  await page.goto(`${f.srv.url}/browse?prefix=${encodeURIComponent(FOLDER)}&limit=4`);
  let t = await table(page);
  assert.equal(t.files.length, 4);
  let clicks = 0;
  const more = page.getByRole('button', { name: 'Load more' });
  while (await more.isVisible()) {
    const before = t.files.length;
    await more.click();
    await page.waitForFunction(
      (n) => document.querySelectorAll('table.browse-table tr.file').length > n,
      before,
    );
    t = await table(page);
    clicks++;
    assert.ok(clicks < 20);
  }
  assert.equal(clicks, Math.ceil(publicInFolder.length / 4) - 1);
  assert.equal(new Set(t.files).size, t.files.length, 'no file twice');
  assert.deepEqual(sorted(t.files), sorted(publicInFolder.map((r) => nameOf(r.key))));
  // Narrow screens keep name, size, status and download; the rest is hidden.
  assert.equal(await page.locator('table.browse-table th.opt').first().isVisible(), false);
  assert.equal(
    await page
      .getByRole('link', { name: /^Download / })
      .first()
      .isVisible(),
    true,
  );
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('the owner, signed in, sees the embargoed files and downloads them with the token', async () => {
  const { ctx, page, problems } = await open({ token: f.tokens.ada });
  await page.goto(`${f.srv.url}/browse`);
  assert.deepEqual((await table(page)).folders, ['night/', 'vault/']);
  await page.goto(`${f.srv.url}/browse?prefix=${encodeURIComponent(FOLDER)}`);
  const t = await table(page);
  assert.deepEqual(sorted(t.files), sorted(inFolder.map((r) => nameOf(r.key))));
  const secret = hiddenRaw.find((r) => r.key.startsWith(FOLDER) && r.key.endsWith('.fits.bz2'));
  assert.ok(secret);
  const link = page
    .locator('table.browse-table tr.file', { hasText: nameOf(secret.key) })
    .getByRole('link', { name: new RegExp(`^Download ${nameOf(secret.key).replace(/[.]/g, '\\.')}`) });
  assert.match((await link.getAttribute('href')) ?? '', /[?&]access_token=/);
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.ok(readFileSync((await download.path()) as string).equals(await stored(secret.key)));
  // Without the token the same link is a 404, like a missing file.
  const bare = ((await link.getAttribute('href')) ?? '').replace(/[?&]access_token=[^&]*/, '');
  assert.equal((await fetch(`${f.srv.url}${bare}`)).status, 404);
  assert.deepEqual(problems, []);
  await ctx.close();
});
