// The SQL console's Parquet download in a real browser (Debian's chromium driven by playwright-core)
// against a real server on the generated lake of web.test.ts: a SQL query run in the page, then
// downloaded as Parquet (with the signed-in user's bearer token, as the other downloads), read back
// here with hyparquet and compared with the rows the page showed and the rows the same SQL returns
// over HTTP to that user. ADQL has no Parquet (the TAP service offers VOTable and CSV): the button
// waits for the SQL language.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { parquetReadObjects } from 'hyparquet';
import type { Browser } from 'playwright-core';
import { servicePlugins } from '../../src/services/index.ts';
import { populatedLake } from '../services/rest/fixture.ts';
import { ensureBuilt, launchBrowser } from './browser.ts';

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

const QUERY = 'SELECT obs_id, obs_collection, t_exptime, s_ra, meta_rank FROM observations ORDER BY obs_id';

async function sqlRows(token?: string): Promise<Record<string, unknown>[]> {
  const r = await fetch(`${f.srv.url}/api/sql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ sql: QUERY, format: 'json' }),
  });
  assert.equal(r.status, 200);
  return ((await r.json()) as { rows: Record<string, unknown>[] }).rows;
}

/** A cell as the page's table shows it. */
const shown = (v: unknown) => (v === null || v === undefined ? '' : String(v));

test('the console downloads a SQL query as Parquet, as the signed-in user, with the rows it shows', async () => {
  const anonymous = await sqlRows();
  const expected = await sqlRows(f.tokens.ada);
  assert.ok(expected.length > anonymous.length, 'ada sees rows an anonymous visitor does not');

  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await ctx.addInitScript((t) => localStorage.setItem('fitslake.token', t), f.tokens.ada);
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  await page.goto(`${f.srv.url}/sql`);
  await page.waitForSelector('h1:text("SQL / ADQL console")');

  // ADQL (the default): no Parquet.
  const button = page.getByRole('button', { name: 'Download Parquet' });
  assert.ok(await button.isDisabled());
  assert.match((await page.textContent('#parquet-help')) ?? '', /SQL \(catalog\) queries only/);

  await page.getByLabel('SQL (catalog)').check();
  assert.ok(await button.isEnabled());
  assert.equal((await page.textContent('#parquet-help')) ?? '', '');
  await page.getByLabel('Query', { exact: true }).fill(QUERY);
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.waitForSelector(`.results .status:text-matches("^${expected.length} rows ")`);
  const table = await page.$$eval('table.query-results tbody tr', (trs) =>
    trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? '')),
  );

  const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
  assert.equal(download.suggestedFilename(), 'query.parquet');
  await page.waitForSelector('.results .status:text("Downloaded query.parquet.")');
  const bytes = readFileSync((await download.path()) as string);
  assert.equal(bytes.subarray(0, 4).toString('latin1'), 'PAR1', 'a Parquet file');
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const rows = (await parquetReadObjects({ file })) as Record<string, unknown>[];
  const columns = ['obs_id', 'obs_collection', 't_exptime', 's_ra', 'meta_rank'];
  // Integers come back as BigInt; the values are the server's.
  const plain = rows.map((r) =>
    Object.fromEntries(columns.map((c) => [c, typeof r[c] === 'bigint' ? Number(r[c]) : r[c]])),
  );
  assert.deepEqual(plain, expected);
  assert.ok(
    plain.some((r) => r.obs_collection === 'vault'),
    'the download ran as ada (her private collection is in it)',
  );
  // The file holds the rows the page showed.
  assert.deepEqual(
    plain.map((r) => columns.map((c) => shown(r[c]))),
    table,
  );
  assert.deepEqual(problems, []);
  await ctx.close();
});
