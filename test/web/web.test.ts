// The web interface in a real browser: Debian's chromium driven by playwright-core against a real
// server (every service plugin, the web app last) on a generated lake. Explore lists what the catalog
// holds for the visitor, searches narrow it and live in the URL, an observation shows its header with a
// working keyword filter, an embargoed observation appears only once its owner signs in. Screenshots
// of each page, light and dark, go to docs/screenshots/; the first-load JavaScript is measured.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { servicePlugins } from '../../src/services/index.ts';
import { webRoutesFrom } from '../../src/services/web/routes.ts';
import { populatedLake } from '../services/rest/fixture.ts';
import { startServer, tempLake } from '../util/server.ts';
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

const open = (o: { dark?: boolean } = {}) => openPage(browser, o);

/** The obs_ids of the results table, once it has settled. */
async function listed(page: Page): Promise<string[]> {
  await page.waitForSelector('.results .status:not(:text("Searching"))');
  return page.$$eval('table.results-table tbody tr td:nth-child(2) a', (as) =>
    as.map((a) => a.textContent ?? ''),
  );
}

/** Observations an anonymous visitor may see, from the catalog: the public collection, public now. */
async function anonymousVisible(): Promise<
  { id: number; obs_id: string; target_name: string | null; s_ra: number | null; s_dec: number | null }[]
> {
  const now = new Date().toISOString();
  const rows = await db
    .selectFrom('observations')
    .select(['id', 'obs_id', 'target_name', 's_ra', 's_dec', 'public_date'])
    .where('obs_collection', '=', 'night')
    .execute();
  return rows
    .filter((r) => r.public_date === null || r.public_date <= now)
    .map((r) => ({
      ...r,
      id: Number(r.id),
      s_ra: r.s_ra === null ? null : Number(r.s_ra),
      s_dec: r.s_dec === null ? null : Number(r.s_dec),
    }));
}

const sorted = (xs: string[]) => [...xs].sort();

test('the server serves the app: index.html on client routes, hashed assets cached, API routes win', async () => {
  const home = await fetch(`${f.srv.url}/`);
  assert.equal(home.status, 200);
  assert.match(home.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(home.headers.get('cache-control'), 'no-cache');
  assert.match(home.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  const html = await home.text();
  const js = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(js, `index.html loads a hashed bundle: ${html}`);

  const deep = await fetch(`${f.srv.url}/obs/12345`);
  assert.equal(deep.status, 200);
  assert.equal(await deep.text(), html, 'a client-side route answers index.html');

  const asset = await fetch(`${f.srv.url}${js}`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  const etag = asset.headers.get('etag');
  assert.ok(etag);
  const again = await fetch(`${f.srv.url}${js}`, { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);

  const missing = await fetch(`${f.srv.url}/assets/nope.js`);
  assert.equal(missing.status, 404);
  const api = await fetch(`${f.srv.url}/api/nope`);
  assert.equal(api.status, 404);
  assert.match(api.headers.get('content-type') ?? '', /json/, 'unknown API paths keep the JSON 404');

  const doc = (await (await fetch(`${f.srv.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
  for (const p of ['/', '/obs/{id}', '/signin', '/assets/{*}', '/assets/*'])
    assert.ok(!(p in doc.paths), `${p} stays out of the OpenAPI document`);
});

test('an unbuilt app answers 503 saying how to build it', async () => {
  const lake = await tempLake();
  const srv = await startServer(lake, {
    plugins: [webRoutesFrom(mkdtempSync(join(tmpdir(), 'fitslake-noweb-')))],
  });
  try {
    const r = await fetch(`${srv.url}/`);
    assert.equal(r.status, 503);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await r.text(), /npm run build:web/);
  } finally {
    await srv.close();
    await lake.close();
  }
});

test('explore lists what the catalog holds for an anonymous visitor; first-load JS is small', async (t) => {
  const { ctx, page, problems } = await open();
  const js: { url: string; gz: number }[] = [];
  page.on('response', async (r) => {
    if (/\.js$/.test(new URL(r.url()).pathname))
      js.push({ url: r.url(), gz: gzipSync(await r.body(), { level: 9 }).length });
  });
  await page.goto(`${f.srv.url}/`);
  const rows = await listed(page);
  const expected = await anonymousVisible();
  assert.deepEqual(sorted(rows), sorted(expected.map((r) => r.obs_id)));
  const embargoed = await db
    .selectFrom('observations')
    .select('obs_id')
    .where('id', '=', f.embargoed)
    .executeTakeFirstOrThrow();
  assert.ok(!rows.includes(embargoed.obs_id), 'the embargoed observation is not listed');
  assert.match(
    (await page.textContent('.results .status')) ?? '',
    new RegExp(`^${expected.length} observations match`),
  );
  // Facets: the collection facet counts what is listed.
  await page.waitForSelector('.facets .facet');
  assert.match((await page.textContent('.facets')) ?? '', new RegExp(`night\\s*${expected.length}`));
  // Thumbnails arrive (as blob: URLs fetched with the caller's credentials).
  await page.waitForFunction(() => document.querySelectorAll('.thumb img').length >= 5);
  const thumbs = await page.$$eval(
    '.thumb img',
    (imgs) => imgs.filter((i) => (i as HTMLImageElement).naturalWidth > 0).length,
  );
  assert.ok(thumbs >= 5, `thumbnails shown: ${thumbs}`);
  // The collection select is filled from /api/collections.
  assert.deepEqual(
    await page.$$eval('#f-collection option', (o) => o.map((x) => (x as HTMLOptionElement).value)),
    ['', 'night'],
  );
  await page.screenshot({ path: join(SHOTS, 'explore.png'), fullPage: true });

  const total = js.reduce((n, x) => n + x.gz, 0);
  t.diagnostic(
    `first-load JavaScript: ${js.length} file(s), ${(total / 1024).toFixed(1)} KB gzip (${js.map((x) => new URL(x.url).pathname).join(', ')})`,
  );
  assert.ok(js.length >= 1);
  assert.ok(total < 300 * 1024, `first-load JS ${total} B gzip must stay under 300 KB`);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('a search by target narrows the list, lives in the URL, and the URL reproduces it', async () => {
  const { ctx, page, problems } = await open();
  await page.goto(`${f.srv.url}/`);
  await listed(page);
  await page.getByLabel('Target name contains').fill('m 51');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.waitForURL(/\?target=m\+51$/);
  const rows = await listed(page);
  const expected = (await anonymousVisible()).filter((r) =>
    (r.target_name ?? '').toLowerCase().includes('m 51'),
  );
  assert.ok(expected.length >= 2);
  assert.deepEqual(sorted(rows), sorted(expected.map((r) => r.obs_id)));

  // The shared URL, opened in another browser, shows the same search with the form filled in.
  const other = await open();
  await other.page.goto(page.url());
  assert.deepEqual(sorted(await listed(other.page)), sorted(rows));
  assert.equal(await other.page.inputValue('#f-target'), 'm 51');
  await other.ctx.close();

  // A cone in sexagesimal (RA in hours) with an arcminute radius around M 51.
  await page.getByRole('button', { name: 'Clear' }).click();
  await page.waitForURL(`${f.srv.url}/`);
  await listed(page);
  await page.getByLabel('RA', { exact: true }).fill('13:29:53');
  await page.getByLabel('Dec', { exact: true }).fill('+47:11:43');
  await page.getByLabel('Radius').fill(`5'`);
  await page.getByLabel('RA', { exact: true }).press('Enter');
  await page.waitForURL(/ra=13%3A29%3A53/);
  const cone = await listed(page);
  const ra0 = (13 + 29 / 60 + 53 / 3600) * 15;
  const dec0 = 47 + 11 / 60 + 43 / 3600;
  const rad = Math.PI / 180;
  const inCone = (await anonymousVisible()).filter((r) => {
    if (r.s_ra === null || r.s_dec === null) return false;
    const c =
      Math.sin(dec0 * rad) * Math.sin(r.s_dec * rad) +
      Math.cos(dec0 * rad) * Math.cos(r.s_dec * rad) * Math.cos((r.s_ra - ra0) * rad);
    return Math.acos(Math.min(1, c)) / rad <= 5 / 60;
  });
  assert.ok(inCone.length >= 1);
  assert.deepEqual(sorted(cone), sorted(inCone.map((r) => r.obs_id)));

  // A cone missing its radius is refused in the page, before any request.
  await page.getByLabel('Radius').fill('');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.waitForSelector('[role=alert]:text("needs RA, Dec and radius")');
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('an observation shows its files, preview and every HDU header, with a keyword filter that works', async () => {
  const { ctx, page, problems } = await open();
  await page.goto(`${f.srv.url}/?target=M+51`);
  await listed(page);
  const first = page.locator('table.results-table tbody tr td:nth-child(2) a').first();
  const obsId = (await first.textContent()) ?? '';
  await first.click();
  await page.waitForURL(/\/obs\/\d+$/);
  const id = Number(new URL(page.url()).pathname.split('/').pop());
  const row = await db.selectFrom('observations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row.obs_id, obsId);
  await page.waitForSelector('h1:text("' + obsId + '")');

  // Its files, with their roles, and download links.
  await page.waitForSelector('table.files tbody tr');
  const roles = await page.$$eval('table.files tbody tr td:first-child', (tds) =>
    tds.map((t) => t.textContent),
  );
  assert.ok(roles.includes('science') && roles.includes('preview'), `roles: ${roles}`);
  const science = JSON.parse(row.products) as Record<string, string>;
  const href = await page.getAttribute(`table.files a:text-is("${science.science}")`, 'href');
  assert.equal(href, `/api/files/${science.science.split('/').map(encodeURIComponent).join('/')}`);
  const dl = await fetch(`${f.srv.url}${href}`);
  assert.equal(dl.status, 200);

  // DataLink.
  const datalink = await page.getAttribute('a:text("DataLink")', 'href');
  assert.equal(datalink, `/datalink?ID=${encodeURIComponent(row.obs_publisher_did ?? '')}`);

  // The preview image loads.
  await page.waitForFunction(
    () => ((document.querySelector('.preview img') as HTMLImageElement | null)?.naturalWidth ?? 0) > 0,
  );

  // The science file's header: every HDU, every card, as the catalog holds them.
  await page.waitForSelector('section.hdu');
  const file = await db
    .selectFrom('files')
    .select('id')
    .where('key', '=', science.science)
    .where('zone', '=', 'raw')
    .where('current', '=', 1)
    .executeTakeFirstOrThrow();
  const hdus = await db
    .selectFrom('hdus')
    .select(['idx', 'cards'])
    .where('file_id', '=', file.id)
    .orderBy('idx')
    .execute();
  assert.equal(await page.locator('section.hdu').count(), hdus.length);
  const allCards = hdus.flatMap((h) => (JSON.parse(h.cards) as [string][]).map((c) => c[0]));
  const shown = await page.$$eval('section.hdu table.cards tbody th.kw', (ths) =>
    ths.map((t) => t.textContent ?? ''),
  );
  assert.deepEqual(shown, allCards);

  await page.getByLabel('Filter keywords').fill('exptime');
  const visible = await page.$$eval('section.hdu:not([hidden]) tbody tr:not([hidden])', (trs) =>
    trs.map((t) => (t as HTMLElement).dataset.text ?? ''),
  );
  assert.ok(
    visible.length >= 1 && visible.length < allCards.length,
    `filtered: ${visible.length} of ${allCards.length}`,
  );
  assert.ok(visible.every((t) => t.includes('exptime')));
  assert.ok(
    visible.some((t) => t.startsWith('exptime ')),
    'the EXPTIME card is among them',
  );
  assert.match((await page.textContent('section.headers [role=status]')) ?? '', /of \d+ cards match/);
  await page.getByLabel('Filter keywords').fill('date');
  await page.locator('section.headers').screenshot({ path: join(SHOTS, 'observation-header.png') });
  await page.getByLabel('Filter keywords').fill('');
  assert.equal(await page.locator('section.hdu tbody tr:not([hidden])').count(), allCards.length);

  await page.locator('#kw-filter').blur();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, 'observation.png') });
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('an anonymous visitor does not see the embargoed observation; its owner, signed in, does', async () => {
  const embargoed = await db
    .selectFrom('observations')
    .select('obs_id')
    .where('id', '=', f.embargoed)
    .executeTakeFirstOrThrow();
  const { ctx, page, problems } = await open();
  await page.goto(`${f.srv.url}/obs/${f.embargoed}`);
  await page.waitForSelector('h1:text("Observation not found")');
  await page.goto(`${f.srv.url}/?instrument=kb001ms`);
  assert.ok(!(await listed(page)).includes(embargoed.obs_id));

  // A wrong token is refused and not kept.
  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.waitForURL(/\/signin$/);
  await page.getByLabel('Access token').fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('.status:text("not valid")');
  assert.equal(await page.evaluate(() => localStorage.getItem('fitslake.token')), null);

  await page.getByLabel('Access token').fill(f.tokens.ada);
  await page.keyboard.press('Enter');
  await page.waitForSelector('text=You are signed in');
  assert.equal(await page.evaluate(() => localStorage.getItem('fitslake.token')), f.tokens.ada);
  assert.equal(await page.textContent('#signin-link'), 'Signed in');

  await page.goto(`${f.srv.url}/?instrument=kb001ms`);
  assert.ok((await listed(page)).includes(embargoed.obs_id), 'the owner sees the embargoed observation');
  await page.goto(`${f.srv.url}/obs/${f.embargoed}`);
  await page.waitForSelector(`h1:text("${embargoed.obs_id}")`);
  await page.waitForSelector('section.hdu');

  // Signing out makes the visitor anonymous again.
  await page.goto(`${f.srv.url}/signin`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.goto(`${f.srv.url}/obs/${f.embargoed}`);
  await page.waitForSelector('h1:text("Observation not found")');

  // A stored token that no longer works: the page says so and points to Sign in.
  await page.evaluate(() => localStorage.setItem('fitslake.token', 'revoked-token'));
  await page.goto(`${f.srv.url}/`);
  await page.waitForSelector('[role=alert]:text("Search failed")');
  await page.getByRole('link', { name: 'Sign in again or sign out' }).click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.goto(`${f.srv.url}/`);
  assert.equal((await listed(page)).length, (await anonymousVisible()).length);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('dark theme screenshots, and the pages work from the keyboard', async () => {
  const { ctx, page, problems } = await open({ dark: true });
  await page.goto(`${f.srv.url}/`);
  await listed(page);
  await page.waitForFunction(() => document.querySelectorAll('.thumb img').length >= 5);
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(12, 17, 29)', 'prefers-color-scheme: dark gives the dark theme');
  await page.screenshot({ path: join(SHOTS, 'explore-dark.png'), fullPage: true });

  // Keyboard only: skip link, then Tab to the target field, type, Enter.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await page.focus('#f-target');
  await page.keyboard.type('NGC 7331');
  await page.keyboard.press('Enter');
  await page.waitForURL(/target=NGC\+7331/);
  const rows = await listed(page);
  assert.ok(rows.length >= 1);
  // Tab onto the first result link and open it with Enter.
  await page.locator('table.results-table tbody a').first().focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/obs\/\d+$/);
  await page.waitForSelector('section.hdu');
  await page.waitForFunction(
    () => ((document.querySelector('.preview img') as HTMLImageElement | null)?.naturalWidth ?? 0) > 0,
  );
  await page.screenshot({ path: join(SHOTS, 'observation-dark.png'), fullPage: false });

  // Every input has a label.
  for (const path of ['/', '/signin']) {
    await page.goto(`${f.srv.url}${path}`);
    await page.waitForSelector('input');
    const unlabelled = await page.$$eval('input, select', (els) =>
      els
        .filter(
          (e) => e.id && !document.querySelector(`label[for="${e.id}"]`) && !e.getAttribute('aria-label'),
        )
        .map((e) => e.id || e.outerHTML),
    );
    assert.deepEqual(unlabelled, [], `inputs without labels on ${path}`);
  }
  assert.deepEqual(problems, []);
  await ctx.close();
});
