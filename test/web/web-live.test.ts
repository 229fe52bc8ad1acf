// The second slice of the web interface in a real browser (Debian's chromium driven by
// playwright-core) against a real server on a generated lake, with an in-process ingest worker as
// `fitslake serve` runs it: the SQL / ADQL console (results equal to the catalog's, an ADQL error
// naming its position, the SQL toggle, CSV download, saved queries surviving a reload), the recent
// uploads panel with the fixture's failure and its reason, and an upload through the page followed
// live until ingested, with the new observation announced on an open Explore page without reload.
// Screenshots: docs/screenshots/sql.png, upload.png, explore-live.png.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { writeSampleNight } from '../../src/demo/sample-night.ts';
import { Worker } from '../../src/ingest/worker.ts';
import { servicePlugins } from '../../src/services/index.ts';
import { populatedLake } from '../services/rest/fixture.ts';
import { ensureBuilt, launchBrowser, SHOTS, openPage } from './browser.ts';

ensureBuilt();

const f = await populatedLake([...servicePlugins]);
const db = f.lake.catalog.db;
// The in-process worker of `fitslake serve` (workers.mode in-process): uploads get ingested.
const stopWorker = new AbortController();
const worker = new Worker(f.lake).run({ signal: stopWorker.signal, concurrency: 1, pollMs: 100 });
let browser: Browser;

before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  stopWorker.abort();
  await worker.catch(() => {});
  await f.close();
});

const open = (o: { dark?: boolean; token?: string } = {}) => openPage(browser, o);

/** Observations an anonymous visitor may see: the public collection, public now. */
async function anonymousObsIds(): Promise<string[]> {
  const now = new Date().toISOString();
  const rows = await db
    .selectFrom('observations')
    .select(['obs_id', 'public_date'])
    .where('obs_collection', '=', 'night')
    .execute();
  return rows.filter((r) => r.public_date === null || r.public_date <= now).map((r) => r.obs_id);
}

async function resultColumn(page: Page, n: number): Promise<string[]> {
  return page.$$eval(`table.query-results tbody tr td:nth-child(${n})`, (tds) =>
    tds.map((t) => t.textContent ?? ''),
  );
}

test('the ADQL console: tables listed, a query gives the catalog rows, errors name their position', async () => {
  const { ctx, page, problems } = await open();
  await page.goto(`${f.srv.url}/sql`);
  await page.waitForSelector('h1:text("SQL / ADQL console")');
  // The tables beside the editor come from /tap/tables: ObsCore and the collection's header view.
  await page.waitForSelector('.tables-list details');
  const tables = await page.$$eval('.tables-list details', (ds) =>
    ds.map((d) => (d as HTMLElement).dataset.table),
  );
  assert.ok(tables.includes('ivoa.obscore'), `tables: ${tables}`);
  assert.ok(
    tables.some((t) => t?.startsWith('lake.hdr_')),
    `a header view is listed: ${tables}`,
  );
  assert.ok((await page.locator('.tables-list details[data-table="ivoa.obscore"] li').count()) > 20);

  // A query, run with Ctrl+Enter: the rows are the catalog's (what an anonymous visitor may see).
  await page
    .getByLabel('Query', { exact: true })
    .fill('SELECT obs_id, target_name FROM ivoa.obscore ORDER BY obs_id');
  await page.getByLabel('Query', { exact: true }).press('Control+Enter');
  await page.waitForSelector('.results .status:text-matches("^\\\\d+ rows? ")');
  const expected = (await anonymousObsIds()).sort();
  assert.deepEqual(await resultColumn(page, 1), expected);
  assert.deepEqual(
    await page.$$eval('table.query-results thead th', (ths) => ths.map((t) => t.textContent)),
    ['obs_id', 'target_name'],
  );
  assert.match((await page.textContent('.results .status')) ?? '', new RegExp(`^${expected.length} rows`));

  // A column clicked in the table list is inserted in the editor at the cursor.
  await page.getByLabel('Query', { exact: true }).fill('SELECT  FROM ivoa.obscore');
  await page
    .getByLabel('Query', { exact: true })
    .evaluate((t) => (t as HTMLTextAreaElement).setSelectionRange(7, 7));
  await page.locator('.tables-list details[data-table="ivoa.obscore"] button:text-is("s_ra")').click();
  assert.equal(await page.inputValue('#query'), 'SELECT s_ra FROM ivoa.obscore');

  // An ADQL error: the message names line and column, and a caret points there.
  await page.getByLabel('Query', { exact: true }).fill('SELECT obs_id\nFRM ivoa.obscore');
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  const alert = page.locator('.query-error [role=alert]');
  await alert.waitFor();
  assert.match((await alert.textContent()) ?? '', /line 2, column 1: expected FROM, found 'FRM'/);
  assert.equal(await page.textContent('pre.caret'), 'FRM ivoa.obscore\n^');
  assert.equal(
    await page.locator('#query').evaluate((t) => (t as HTMLTextAreaElement).selectionStart),
    'SELECT obs_id\n'.length,
    'the editor cursor is put on the error',
  );
  assert.equal(await page.locator('table.query-results').count(), 0);

  // The same query as CSV: a download, with the rows of the catalog.
  await page.getByLabel('Query', { exact: true }).fill('SELECT obs_id FROM ivoa.obscore ORDER BY obs_id');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download CSV' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'query.csv');
  const csv = readFileSync((await download.path()) as string, 'utf8')
    .trim()
    .split(/\r?\n/);
  assert.deepEqual(csv, ['obs_id', ...expected]);
  const [vot] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download VOTable' }).click(),
  ]);
  assert.equal(vot.suggestedFilename(), 'query.vot');
  assert.match(readFileSync((await vot.path()) as string, 'utf8'), /<VOTABLE[\s\S]*<TABLEDATA>/);

  // SQL over the catalog, through the toggle.
  await page.getByLabel('SQL (catalog)').check();
  await page
    .getByLabel('Query', { exact: true })
    .fill("SELECT obs_id FROM observations WHERE obs_collection = 'night' ORDER BY obs_id");
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.waitForSelector('.results .status:text-matches("^\\\\d+ rows? ")');
  assert.deepEqual(await resultColumn(page, 1), expected);
  await page.getByLabel('Query', { exact: true }).fill('SELECT nope FROM observations');
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.waitForSelector('.query-error [role=alert]:text("no such column: nope")');
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('saved queries are kept in the browser: save, survive a reload, load, delete', async () => {
  const { ctx, page, problems } = await open();
  await page.goto(`${f.srv.url}/sql`);
  await page.waitForSelector('.saved-list li:text("No saved query yet")');
  const text = "SELECT TOP 5 obs_id, t_exptime\nFROM ivoa.obscore\nWHERE obs_type = 'EXPOSE'\nORDER BY t_min";
  await page.getByLabel('Query', { exact: true }).fill(text);
  await page.getByLabel('Name').fill('Science frames');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByLabel('SQL (catalog)').check();
  await page.getByLabel('Query', { exact: true }).fill('SELECT count(*) AS n FROM files');
  await page.getByLabel('Name').fill('File count');
  await page.getByLabel('Name').press('Enter');
  await page.waitForSelector('.saved-list li:has-text("File count")');

  await page.reload();
  await page.waitForSelector('.saved-list li button.link');
  assert.deepEqual(await page.$$eval('.saved-list li button.link', (bs) => bs.map((b) => b.textContent)), [
    'File count',
    'Science frames',
  ]);
  // Loading one puts its text and language back; running it works.
  await page.getByRole('button', { name: 'Science frames', exact: true }).click();
  assert.equal(await page.inputValue('#query'), text);
  assert.ok(await page.isChecked('#lang-adql'));
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.waitForSelector('.results .status:text-matches("^\\\\d+ rows? ")');
  assert.equal(await page.locator('table.query-results tbody tr').count(), 5, 'TOP 5');
  await page.getByRole('button', { name: 'File count', exact: true }).click();
  assert.ok(await page.isChecked('#lang-sql'));
  await page.getByRole('button', { name: 'Science frames', exact: true }).click();
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.waitForSelector('.results .status:text-matches("^5 rows ")');
  await page.locator('#query').blur();
  await page.screenshot({ path: join(SHOTS, 'sql.png'), fullPage: true });

  await page.getByRole('button', { name: 'Delete File count' }).click();
  await page.reload();
  await page.waitForSelector('.saved-list li button.link');
  assert.deepEqual(await page.$$eval('.saved-list li button.link', (bs) => bs.map((b) => b.textContent)), [
    'Science frames',
  ]);
  // Every input has a label.
  const unlabelled = await page.$$eval('input, select, textarea', (els) =>
    els
      .filter((e) => e.id && !document.querySelector(`label[for="${e.id}"]`) && !e.getAttribute('aria-label'))
      .map((e) => e.id || e.outerHTML),
  );
  assert.deepEqual(unlabelled, []);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('the recent uploads panel on Explore lists the failed file with its reason', async () => {
  const { ctx, page, problems } = await open();
  await page.goto(`${f.srv.url}/`);
  const failed = page.locator('.recent .failed-list li[data-key="night/zz-broken.fits"]');
  await failed.waitFor();
  const row = await db
    .selectFrom('files')
    .select('error')
    .where('key', '=', 'night/zz-broken.fits')
    .executeTakeFirstOrThrow();
  assert.ok(row.error);
  assert.equal(await failed.locator('.reason').textContent(), row.error);
  assert.ok((await page.locator('.recent .latest-list li').count()) >= 1);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('an upload through the page is followed until ingested and appears live on Explore', async () => {
  // A small new FITS frame: a science exposure of another night.
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-web-up-'));
  const files = await writeSampleNight(dir, { exposures: 1, size: 32, seed: 77, night: '2022-08-01' });
  const science = files.find((x) => x.role === 'science');
  assert.ok(science);
  const name = science.path.split('/').pop() as string;
  const key = `night/web/${name}`;
  const before = await db
    .selectFrom('observations')
    .select(db.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();

  const { ctx, page, problems } = await open({ token: f.tokens.cur });
  // Explore, open in another tab of the same browser, is subscribed before the upload.
  const explore = await ctx.newPage();
  explore.on('pageerror', (err) => problems.push(`explore page error: ${err.message}`));
  await explore.goto(`${f.srv.url}/`);
  await explore.waitForSelector('.results .status:not(:text("Searching"))');
  const listedBefore = await explore.locator('table.results-table tbody tr').count();

  await page.goto(`${f.srv.url}/upload`);
  await page.waitForSelector('h1:text("Upload")');
  assert.equal(await page.locator('.notice').count(), 0, 'signed in: no sign-in notice');
  await page.waitForFunction(() => document.getElementById('main')?.dataset.live === 'open');
  await page.getByLabel('Collection', { exact: true }).fill('night');
  await page.getByLabel('Folder in the collection (optional)').fill('web');
  await page.setInputFiles('#up-files', join(dir, science.path));

  const row = page.locator(`table.uploads tr[data-key="${key}"]`);
  await row.waitFor();
  await page.waitForSelector(`table.uploads tr[data-key="${key}"][data-state="ingested"]`, {
    timeout: 30_000,
  });
  assert.equal(
    await row.locator('progress').evaluate((p) => (p as HTMLProgressElement).value),
    readFileSync(join(dir, science.path)).length,
    'the progress bar reached the file size',
  );
  const file = await db
    .selectFrom('files')
    .select(['status'])
    .where('key', '=', key)
    .where('current', '=', 1)
    .executeTakeFirstOrThrow();
  assert.equal(file.status, 'ingested');
  const obs = await db
    .selectFrom('observations')
    .select(['id', 'obs_id'])
    .orderBy('id', 'desc')
    .executeTakeFirstOrThrow();
  const after = await db
    .selectFrom('observations')
    .select(db.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  assert.equal(Number(after.n), Number(before.n) + 1, 'one new observation');
  assert.equal(await row.locator('a').getAttribute('href'), `/obs/${obs.id}`);
  assert.match(
    (await page.textContent('.upload [role=status]')) ?? '',
    /1 file: 0 to upload, 0 waiting for ingest, 1 ingested, 0 failed/,
  );

  // A file that is not FITS is stored, then reported failed with the reason.
  await page.setInputFiles('#up-files', {
    name: 'notes-broken.fits',
    mimeType: 'application/fits',
    buffer: Buffer.from('SIMPLE  = this is not FITS'),
  });
  const bad = page.locator('table.uploads tr[data-key="night/web/notes-broken.fits"]');
  await page.waitForSelector(
    'table.uploads tr[data-key="night/web/notes-broken.fits"][data-state="failed"]',
    {
      timeout: 30_000,
    },
  );
  assert.match((await bad.locator('td.state').textContent()) ?? '', /^Ingest failed: .{5,}/);
  await page.screenshot({ path: join(SHOTS, 'upload.png'), fullPage: true });

  // Explore was not reloaded: it announces the new observation, and "show" lists it.
  const banner = explore.locator('.live-banner:not([hidden])');
  await banner.waitFor();
  assert.match((await banner.textContent()) ?? '', /^1 new observation since this page was loaded — show$/);
  await explore.locator('.recent .failed-list li[data-key="night/web/notes-broken.fits"]').waitFor();
  await explore.screenshot({ path: join(SHOTS, 'explore-live.png'), fullPage: true });
  await explore.getByRole('button', { name: 'show', exact: true }).click();
  await explore.waitForSelector(`table.results-table tbody tr[data-id="${obs.id}"]`);
  assert.equal(await explore.locator('table.results-table tbody tr').count(), listedBefore + 1);
  assert.ok(await explore.locator('.live-banner').isHidden());
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('without a token the upload page says to sign in; an upload is refused with the reason', async () => {
  const { ctx, page, problems } = await open({ dark: true });
  await page.goto(`${f.srv.url}/upload`);
  await page.waitForSelector('.notice:has-text("sign in")');
  await page.getByLabel('Collection', { exact: true }).fill('night');
  await page.setInputFiles('#up-files', {
    name: 'x.fits',
    mimeType: 'application/fits',
    buffer: Buffer.from('x'),
  });
  await page.waitForSelector('table.uploads tr[data-key="night/x.fits"][data-state="failed"]');
  assert.match(
    (await page.textContent('table.uploads tr[data-key="night/x.fits"] td.state')) ?? '',
    /^Upload failed: .+/,
  );
  assert.equal(
    await db.selectFrom('files').select('id').where('key', '=', 'night/x.fits').executeTakeFirst(),
    undefined,
  );
  // A drop on the drop zone (a synthetic DataTransfer) queues its files the same way.
  await page.locator('#dropzone').evaluate((zone) => {
    const dt = new DataTransfer();
    dt.items.add(new File(['SIMPLE  ='], 'dropped.fits', { type: 'application/fits' }));
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.waitForSelector('table.uploads tr[data-key="night/dropped.fits"][data-state="failed"]');
  await page.screenshot({ path: join(SHOTS, 'upload-dark.png') });
  assert.deepEqual(problems, []);
  await ctx.close();
});
