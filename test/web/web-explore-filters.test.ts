// Explore's exposure range and header keyword conditions in a real browser (Debian's chromium driven
// by playwright-core) against a real server on the generated lake of web.test.ts: each search lists
// exactly what /api/observations returns for the same parameters, lives in the page URL (kw repeated)
// and comes back from it, form and all, in a fresh browser; keyword rows are added and removed; a
// cone typed in h/m/s and d/m/s finds what the API finds in degrees.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { servicePlugins } from '../../src/services/index.ts';
import { populatedLake } from '../services/rest/fixture.ts';
import { ensureBuilt, launchBrowser, openPage } from './browser.ts';

ensureBuilt();

const f = await populatedLake([...servicePlugins]);
let browser: Browser;

before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await f.close();
});

const open = () => openPage(browser, { height: 1000 });

interface Row {
  obs_id: string;
  obs_type: string | null;
  filter: string | null;
  t_exptime: number | null;
}

/** What /api/observations returns to an anonymous visitor for these parameters (every row). */
async function rest(params: [string, string][]): Promise<Row[]> {
  const q = new URLSearchParams(params);
  q.set('limit', '500');
  const { status, body } = await f.get<{ rows: Row[]; next?: string }>(`/api/observations?${q}`);
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.next, undefined, 'one page holds them all');
  return body.rows;
}

/** The obs_ids of the results table, once it has settled. */
async function listed(page: Page): Promise<string[]> {
  await page.waitForSelector('.results .status:not(:text("Searching"))');
  return page.$$eval('table.results-table tbody tr td:nth-child(2) a', (as) =>
    as.map((a) => a.textContent ?? ''),
  );
}

const ids = (rows: Row[]) => rows.map((r) => r.obs_id).sort();
const sorted = (xs: string[]) => [...xs].sort();

test('exposure range and keyword conditions narrow Explore to what the API returns; the URL keeps them', async () => {
  const all = await rest([]);
  const science = all.filter((r) => r.obs_type === 'EXPOSE');
  // An exposure range that keeps some science frames and drops others.
  const times = [...new Set(science.map((r) => r.t_exptime).filter((t): t is number => t !== null))].sort(
    (a, b) => a - b,
  );
  assert.ok(times.length >= 2, `science exposure times: ${times}`);
  const min = times[1];
  const max = times[times.length - 1];
  const params: [string, string][] = [
    ['exptime_min', String(min)],
    ['exptime_max', String(max)],
    ['kw', 'OBSTYPE=EXPOSE'],
  ];
  const expected = await rest(params);
  assert.ok(expected.length >= 2, 'the filters keep some observations');
  assert.ok(expected.length < science.length, 'and drop others');
  assert.ok(
    expected.every(
      (r) => r.obs_type === 'EXPOSE' && (r.t_exptime ?? -1) >= min && (r.t_exptime ?? -1) <= max,
    ),
  );
  assert.ok(expected.length <= 25, 'one page of Explore lists them all');

  const { ctx, page, problems } = await open();
  await page.goto(`${f.srv.url}/`);
  assert.equal((await listed(page)).length, Math.min(25, all.length), 'unfiltered: everything, a page of it');
  await page.getByLabel('Min (s)').fill(String(min));
  await page.getByLabel('Max (s)').fill(String(max));
  await page.getByLabel('Keyword 1', { exact: true }).fill('OBSTYPE=EXPOSE');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.waitForURL(/kw=OBSTYPE%3DEXPOSE/);
  assert.deepEqual(sorted(await listed(page)), ids(expected));
  assert.match(
    (await page.textContent('.results .status')) ?? '',
    new RegExp(`^${expected.length} observations match`),
  );
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('exptime_min'), String(min));
  assert.equal(url.searchParams.get('exptime_max'), String(max));
  assert.deepEqual(url.searchParams.getAll('kw'), ['OBSTYPE=EXPOSE']);

  // A second condition (repeatable kw): the filter of one of those frames.
  const filter = expected.find((r) => r.filter)?.filter as string;
  assert.ok(filter);
  const narrower = await rest([...params, ['kw', `FILTER=${filter}`]]);
  assert.ok(narrower.length >= 1 && narrower.length < expected.length, `FILTER=${filter} narrows`);
  await page.getByRole('button', { name: 'Add keyword' }).click();
  assert.equal(
    await page.evaluate(() => document.activeElement?.id),
    await page.getByLabel('Keyword 2', { exact: true }).getAttribute('id'),
    'the new row has the focus',
  );
  await page.getByLabel('Keyword 2', { exact: true }).fill(`FILTER=${filter}`);
  await page.getByLabel('Keyword 2', { exact: true }).press('Enter');
  await page.waitForURL(/kw=FILTER/);
  assert.deepEqual(sorted(await listed(page)), ids(narrower));
  assert.deepEqual(new URL(page.url()).searchParams.getAll('kw'), ['OBSTYPE=EXPOSE', `FILTER=${filter}`]);

  // The URL in a fresh browser: the same results, the form filled in from it.
  const other = await open();
  await other.page.goto(page.url());
  assert.deepEqual(sorted(await listed(other.page)), ids(narrower));
  assert.equal(await other.page.inputValue('#f-exptime_min'), String(min));
  assert.equal(await other.page.inputValue('#f-exptime_max'), String(max));
  assert.deepEqual(
    await other.page.$$eval('.kw-row input', (is) => is.map((i) => (i as HTMLInputElement).value)),
    ['OBSTYPE=EXPOSE', `FILTER=${filter}`],
  );
  assert.deepEqual(other.problems, []);
  await other.ctx.close();

  // Removing the first condition leaves the second.
  await page.getByRole('button', { name: 'Remove keyword 1' }).click();
  assert.equal(await page.locator('.kw-row').count(), 1);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.waitForURL((u) => u.searchParams.getAll('kw').length === 1);
  const onlyFilter = await rest([
    ['exptime_min', String(min)],
    ['exptime_max', String(max)],
    ['kw', `FILTER=${filter}`],
  ]);
  assert.deepEqual(sorted(await listed(page)), ids(onlyFilter));

  // A range upside down is refused in the page.
  await page.getByLabel('Min (s)').fill(String(max + 1));
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.waitForSelector('[role=alert]:text("minimum is above the maximum")');
  // A condition that is not KEYWORD=value too.
  await page.getByLabel('Min (s)').fill('');
  await page.getByLabel('Keyword 1', { exact: true }).fill('EXPOSE');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.waitForSelector('[role=alert]:text("is not KEYWORD=value")');

  // Every input has a label.
  const unlabelled = await page.$$eval('input, select', (els) =>
    els
      .filter((e) => e.id && !document.querySelector(`label[for="${e.id}"]`) && !e.getAttribute('aria-label'))
      .map((e) => e.id),
  );
  assert.deepEqual(unlabelled, []);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('a cone typed in h/m/s and d/m/s with an exposure range finds what the API finds in degrees', async () => {
  const ra = (13 + 29 / 60 + 53 / 3600) * 15;
  const dec = 47 + 11 / 60 + 43 / 3600;
  const cone: [string, string][] = [
    ['ra', String(ra)],
    ['dec', String(dec)],
    ['radius', String(10 / 60)],
  ];
  const inCone = await rest(cone);
  const exposures = inCone.map((r) => r.t_exptime).filter((t): t is number => t !== null);
  assert.ok(inCone.length >= 1, 'the cone holds observations');
  const min = Math.min(...exposures);
  const expected = await rest([...cone, ['exptime_min', String(min)]]);
  assert.ok(expected.length >= 1);

  const { ctx, page, problems } = await open();
  await page.goto(`${f.srv.url}/`);
  await listed(page);
  await page.getByLabel('RA', { exact: true }).fill('13h29m53s');
  await page.getByLabel('Dec', { exact: true }).fill('+47d11m43s');
  await page.getByLabel('Radius').fill(`10'`);
  await page.getByLabel('Min (s)').fill(String(min));
  await page.getByLabel('Min (s)').press('Enter');
  await page.waitForURL(/ra=13h29m53s/);
  assert.deepEqual(sorted(await listed(page)), ids(expected));
  assert.deepEqual(problems, []);
  await ctx.close();
});
