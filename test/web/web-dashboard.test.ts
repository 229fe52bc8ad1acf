// The dashboard's own charts in a real browser (Debian's chromium driven by playwright-core) against a
// real server on the generated lake of web.test.ts: a histogram from a query saved in the SQL console
// and a scatter chart from SQL typed on the dashboard, each drawing exactly what the same SQL returns
// over HTTP (the bins computed here independently); charts reordered and removed; the layout's link
// copied and opened in fresh browser contexts, where each viewer's charts are drawn from what that
// viewer may see. Screenshot: docs/screenshots/dashboard-charts.png.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { servicePlugins } from '../../src/services/index.ts';
import { populatedLake } from '../services/rest/fixture.ts';
import { ensureBuilt, launchBrowser, SHOTS, openPage } from './browser.ts';

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

const open = (o: { token?: string } = {}) =>
  openPage(browser, { ...o, context: { permissions: ['clipboard-read', 'clipboard-write'] } });

/** The rows of a query over HTTP, as a user (anonymous without a token). */
async function sqlRows(sql: string, token?: string): Promise<Record<string, unknown>[]> {
  const r = await fetch(`${f.srv.url}/api/sql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ sql, format: 'json' }),
  });
  assert.equal(r.status, 200);
  const body = (await r.json()) as { rows: Record<string, unknown>[]; truncated: boolean };
  assert.equal(body.truncated, false);
  return body.rows;
}

/** Counts of `bins` equal-width bins over the values, the last bin closed. */
function binCounts(values: number[], bins: number): number[] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) {
    const i = hi === lo ? 0 : Math.floor(((v - lo) / (hi - lo)) * bins);
    counts[Math.min(bins - 1, i)]++;
  }
  return counts;
}

const EXPTIME_SQL = 'SELECT t_exptime FROM observations WHERE t_exptime IS NOT NULL';
const POSITIONS_SQL = 'SELECT s_ra, s_dec FROM observations WHERE s_ra IS NOT NULL ORDER BY id';
const PER_FILTER_SQL =
  'SELECT filter, count(*) AS n FROM observations WHERE filter IS NOT NULL GROUP BY filter ORDER BY filter';
const BINS = 5;

async function chartTitles(page: Page): Promise<string[]> {
  return page.$$eval('.user-chart figcaption', (fs) => fs.map((x) => x.textContent ?? ''));
}

async function bars(page: Page, index: number): Promise<number[]> {
  return page.$$eval(`.user-chart[data-index="${index}"] .chart-bar`, (bs) =>
    bs.map((b) => Number(b.getAttribute('data-value'))),
  );
}

async function points(page: Page, index: number): Promise<string[]> {
  const list = await page.$$eval(`.user-chart[data-index="${index}"] .chart-point`, (ps) =>
    ps.map((p) => `${p.getAttribute('data-x')},${p.getAttribute('data-y')}`),
  );
  return list.sort();
}

function expectedPoints(rows: Record<string, unknown>[]): string[] {
  return rows
    .filter((r) => typeof r.s_ra === 'number' && typeof r.s_dec === 'number')
    .map((r) => `${r.s_ra},${r.s_dec}`)
    .sort();
}

/** The layout a dashboard URL carries. */
function layoutOf(
  url: string,
): { title: string; sql: string; type: string; x: string; y?: string; bins?: number }[] {
  const param = new URL(url).searchParams.get('layout');
  assert.ok(param, `a layout in ${url}`);
  return JSON.parse(Buffer.from(param, 'base64url').toString('utf8'));
}

test('charts from a saved query and from typed SQL, reordered, removed and shared by link', async () => {
  const exptimes = (await sqlRows(EXPTIME_SQL)).map((r) => Number(r.t_exptime));
  const positions = await sqlRows(POSITIONS_SQL);
  assert.ok(exptimes.length > BINS && new Set(exptimes).size > 1, 'exposure times to bin');
  assert.ok(expectedPoints(positions).length >= 3, 'positions to plot');

  const { ctx, page, problems } = await open();
  // A query saved in the SQL console …
  await page.goto(`${f.srv.url}/sql`);
  await page.getByLabel('SQL (catalog)').check();
  await page.getByLabel('Query', { exact: true }).fill(EXPTIME_SQL);
  await page.getByLabel('Name').fill('Exposure times');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.waitForSelector('.saved-list li:has-text("Exposure times")');

  // … is offered on the dashboard; picking it runs it and lists its columns.
  await page.getByRole('link', { name: 'Dashboard' }).click();
  await page.waitForSelector('h2:text("Add a chart")');
  assert.match(
    (await page.textContent('.user-charts')) ?? '',
    /No chart of your own yet/,
    'no layout: no chart of the visitor yet',
  );
  await page.getByLabel('Saved query').selectOption({ label: 'Exposure times (SQL)' });
  await page.waitForSelector(
    `.chart-builder .status:has-text("${exptimes.length} rows; columns: t_exptime.")`,
  );
  assert.equal(await page.inputValue('#chart-sql'), EXPTIME_SQL);
  await page.getByLabel('Chart type').selectOption('histogram');
  assert.ok(await page.locator('#chart-y').isHidden(), 'a histogram has no y column');
  await page.getByLabel('Column', { exact: true }).selectOption('t_exptime');
  await page.getByLabel('Bins').fill(String(BINS));
  assert.equal(await page.inputValue('#chart-title'), 'Exposure times');
  await page.getByRole('button', { name: 'Add chart' }).click();
  await page.waitForSelector('.user-chart[data-index="0"] figure[data-chart="histogram"] .chart-bar', {
    state: 'attached',
  });
  const histogram = await bars(page, 0);
  assert.equal(histogram.length, BINS);
  assert.deepEqual(histogram, binCounts(exptimes, BINS));
  assert.equal(
    histogram.reduce((a, b) => a + b, 0),
    exptimes.length,
  );
  // Accessible: an SVG image named by its title, and its data as a table.
  const svg = page.locator('.user-chart[data-index="0"] svg[role=img]');
  const titleId = await svg.getAttribute('aria-labelledby');
  assert.match((await page.textContent(`[id="${titleId}"]`)) ?? '', /^Exposure times: Rows by t_exptime$/);
  assert.equal(await page.locator('.user-chart[data-index="0"] table.chart-table tbody tr').count(), BINS);

  // A scatter chart from SQL typed here.
  await page.getByLabel('Saved query').selectOption('');
  await page.getByLabel('Query', { exact: true }).fill(POSITIONS_SQL);
  await page.getByRole('button', { name: 'Run query' }).click();
  await page.waitForSelector('.chart-builder .status:has-text("columns: s_ra, s_dec.")');
  await page.getByLabel('Chart type').selectOption('scatter');
  await page.getByLabel('X column').selectOption('s_ra');
  await page.getByLabel('Y column').selectOption('s_dec');
  await page.getByLabel('Title').fill('Positions');
  await page.getByRole('button', { name: 'Add chart' }).click();
  await page.waitForSelector('.user-chart[data-index="1"] .chart-point', { state: 'attached' });
  assert.deepEqual(await points(page, 1), expectedPoints(positions));

  // A third chart, moved up, then removed: the URL's layout follows.
  await page.getByLabel('Query', { exact: true }).fill(PER_FILTER_SQL);
  await page.getByRole('button', { name: 'Run query' }).click();
  await page.waitForSelector('.chart-builder .status:has-text("columns: filter, n.")');
  await page.getByLabel('Chart type').selectOption('bar');
  await page.getByLabel('X column').selectOption('filter');
  await page.getByLabel('Y column').selectOption('n');
  await page.getByLabel('Title').fill('Per filter');
  await page.getByRole('button', { name: 'Add chart' }).click();
  await page.waitForSelector('.user-chart[data-index="2"] .chart-bar', { state: 'attached' });
  const perFilter = await sqlRows(PER_FILTER_SQL);
  assert.deepEqual(
    await page.$$eval('.user-chart[data-index="2"] .chart-bar', (bs) =>
      bs.map((b) => [b.getAttribute('data-label'), Number(b.getAttribute('data-value'))]),
    ),
    perFilter.map((r) => [r.filter, r.n]),
  );
  assert.deepEqual(await chartTitles(page), ['Exposure times', 'Positions', 'Per filter']);
  assert.ok(await page.getByRole('button', { name: 'Move “Per filter” down' }).isDisabled());
  await page.getByRole('button', { name: 'Move “Per filter” up' }).click();
  assert.deepEqual(await chartTitles(page), ['Exposure times', 'Per filter', 'Positions']);
  assert.deepEqual(
    layoutOf(page.url()).map((c) => c.title),
    ['Exposure times', 'Per filter', 'Positions'],
  );
  await page.getByRole('button', { name: 'Move “Exposure times” down' }).click();
  assert.deepEqual(await chartTitles(page), ['Per filter', 'Exposure times', 'Positions']);
  await page.getByRole('button', { name: 'Remove “Per filter”' }).click();
  assert.deepEqual(await chartTitles(page), ['Exposure times', 'Positions']);
  assert.ok(await page.getByRole('button', { name: 'Move “Exposure times” up' }).isDisabled());

  // The layout lives in the URL: its SQL, type and columns.
  assert.deepEqual(layoutOf(page.url()), [
    { title: 'Exposure times', sql: EXPTIME_SQL, type: 'histogram', x: 't_exptime', bins: BINS },
    { title: 'Positions', sql: POSITIONS_SQL, type: 'scatter', x: 's_ra', y: 's_dec' },
  ]);
  await page.getByRole('button', { name: 'Copy link' }).click();
  await page.waitForSelector('.my-charts [role=status]:has-text("copied")');
  const link = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(link, page.url());
  assert.equal(await page.inputValue('#layout-link'), link);
  await page.locator('.user-chart[data-index="1"]').scrollIntoViewIfNeeded();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, 'dashboard-charts.png'), fullPage: true });
  assert.deepEqual(problems, []);

  // The link in a fresh browser (no saved queries, nothing in common): the same charts.
  const other = await open();
  await other.page.goto(link);
  await other.page.waitForSelector('.user-chart[data-index="1"] .chart-point', { state: 'attached' });
  await other.page.waitForSelector('.user-chart[data-index="0"] .chart-bar', { state: 'attached' });
  assert.deepEqual(await chartTitles(other.page), ['Exposure times', 'Positions']);
  assert.deepEqual(await bars(other.page, 0), histogram);
  assert.deepEqual(await points(other.page, 1), expectedPoints(positions));
  assert.equal(await other.page.locator('#chart-saved option').count(), 1, 'no saved query in that browser');
  // The built-in charts are still there.
  await other.page.waitForSelector('[data-panel="per-instrument"] .chart-bar', { state: 'attached' });
  assert.deepEqual(other.problems, []);
  await other.ctx.close();

  // Opened by a signed-in user, each query runs as that user: ada also sees her private collection.
  const ada = await open({ token: f.tokens.ada });
  const adaExptimes = (await sqlRows(EXPTIME_SQL, f.tokens.ada)).map((r) => Number(r.t_exptime));
  const adaPositions = await sqlRows(POSITIONS_SQL, f.tokens.ada);
  assert.ok(adaExptimes.length > exptimes.length, 'ada sees more than an anonymous visitor');
  await ada.page.goto(link);
  await ada.page.waitForSelector('.user-chart[data-index="1"] .chart-point', { state: 'attached' });
  await ada.page.waitForSelector('.user-chart[data-index="0"] .chart-bar', { state: 'attached' });
  assert.deepEqual(await bars(ada.page, 0), binCounts(adaExptimes, BINS));
  assert.deepEqual(await points(ada.page, 1), expectedPoints(adaPositions));
  assert.deepEqual(ada.problems, []);
  await ada.ctx.close();
  await ctx.close();
});

test('a broken layout link says so and still shows the built-in charts', async () => {
  const { ctx, page, problems } = await open();
  await page.goto(`${f.srv.url}/dashboard?layout=not-json`);
  await page.waitForSelector('.my-charts [role=alert]:has-text("could not be read")');
  assert.equal(await page.locator('.user-chart').count(), 0);
  await page.waitForSelector('[data-panel="per-filter"] .chart-bar', { state: 'attached' });
  // A chart whose column is not in its query's result names the problem in its place.
  const layout = Buffer.from(
    JSON.stringify([{ title: 'Wrong', sql: EXPTIME_SQL, type: 'histogram', x: 'nope', bins: 3 }]),
  ).toString('base64url');
  await page.goto(`${f.srv.url}/dashboard?layout=${layout}`);
  await page.waitForSelector('.user-chart [role=alert]:has-text("no column “nope”")');

  // An ADQL query (a saved console query may be ADQL) runs through TAP.
  const adql = 'SELECT s_ra, s_dec FROM ivoa.obscore WHERE s_ra IS NOT NULL';
  const tap = await fetch(`${f.srv.url}/tap/sync`, {
    method: 'POST',
    body: new URLSearchParams({ LANG: 'ADQL', QUERY: adql, FORMAT: 'json' }),
  });
  assert.equal(tap.status, 200);
  const { data } = (await tap.json()) as { data: [number, number][] };
  assert.ok(data.length >= 3);
  const adqlLayout = Buffer.from(
    JSON.stringify([{ title: 'Sky', sql: adql, type: 'scatter', x: 's_ra', y: 's_dec', lang: 'adql' }]),
  ).toString('base64url');
  await page.goto(`${f.srv.url}/dashboard?layout=${adqlLayout}`);
  await page.waitForSelector('.user-chart[data-index="0"] .chart-point', { state: 'attached' });
  assert.deepEqual(await points(page, 0), data.map(([x, y]) => `${x},${y}`).sort());
  assert.equal(await page.textContent('.user-chart[data-index="0"] .chart-sql summary'), 'ADQL');
  assert.deepEqual(problems, []);
  await ctx.close();
});
