// The sky map and the dashboard in a real browser (Debian's chromium driven by playwright-core)
// against a real server on the generated lake of web.test.ts. The sky map draws one footprint per
// observation the visitor may see that has a position (none for the embargoed one until its owner
// signs in), cuts a footprint across RA 0/360 into two paths with no segment across the map, names
// a footprint on hover and opens its observation on click. The dashboard's charts match the catalog
// and the curator-only job queue is shown as unavailable to others. Screenshots: sky.png, dashboard.png.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { servicePlugins } from '../../src/services/index.ts';
import { populatedLake } from '../services/rest/fixture.ts';
import { ensureBuilt, launchBrowser, SHOTS, openPage } from './browser.ts';

/** The sky map's viewBox width (src/web/sky.ts WIDTH). */
const MAP_WIDTH = 960;

ensureBuilt();

const f = await populatedLake([...servicePlugins]);
const db = f.lake.catalog.db;
let browser: Browser;

// One visible observation moved onto RA 0/360: its footprint spans RA 359.7 … 0.3.
const wrapped = await db
  .selectFrom('observations')
  .select(['id', 'obs_id'])
  .where('obs_collection', '=', 'night')
  .where('id', '!=', f.embargoed)
  .orderBy('id')
  .executeTakeFirstOrThrow();
await db
  .updateTable('observations')
  .set({
    s_ra: 359.9,
    s_dec: 10,
    s_region: 'POLYGON ICRS 359.7 9.8 0.3 9.8 0.3 10.2 359.7 10.2',
  })
  .where('id', '=', wrapped.id)
  .execute();

before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await f.close();
});

const open = (o: { dark?: boolean; token?: string } = {}) => openPage(browser, o);

interface Row {
  id: number;
  obs_id: string;
  instrument_name: string | null;
  s_ra: number | null;
  s_region: string | null;
}

/** Observations an anonymous visitor may see: the public collection, public now. */
async function anonymousVisible(): Promise<Row[]> {
  const now = new Date().toISOString();
  const rows = await db
    .selectFrom('observations')
    .select(['id', 'obs_id', 'instrument_name', 's_ra', 's_region', 'public_date'])
    .where('obs_collection', '=', 'night')
    .execute();
  return rows
    .filter((r) => r.public_date === null || r.public_date <= now)
    .map((r) => ({ ...r, id: Number(r.id), s_ra: r.s_ra === null ? null : Number(r.s_ra) }));
}

/** The footprint groups' observation ids, once the map has loaded. */
async function footprints(page: Page): Promise<number[]> {
  await page.waitForSelector('.status:text("have a position")');
  return page.$$eval('svg.sky-map g.footprint', (gs) => gs.map((g) => Number(g.getAttribute('data-id'))));
}

test('the sky map draws one footprint per visible observation with a position, none for the embargoed one', async () => {
  const visible = await anonymousVisible();
  const placed = visible.filter((r) => r.s_ra !== null || r.s_region !== null);
  assert.ok(placed.length >= 3, `the fixture has positions: ${placed.length}`);
  const { ctx, page, problems } = await open();
  await page.goto(`${f.srv.url}/sky`);
  const ids = await footprints(page);
  assert.deepEqual(
    [...ids].sort((a, b) => a - b),
    placed.map((r) => r.id).sort((a, b) => a - b),
  );
  assert.ok(!ids.includes(f.embargoed), 'the embargoed observation is not drawn');
  // Every footprint with an s_region is drawn as paths carrying data-part.
  const withRegion = placed.filter((r) => r.s_region?.startsWith('POLYGON'));
  const pathed = await page.$$eval('svg.sky-map g.footprint', (gs) =>
    gs.filter((g) => g.querySelector('path[data-part]')).map((g) => Number(g.getAttribute('data-id'))),
  );
  assert.deepEqual(
    [...pathed].sort((a, b) => a - b),
    withRegion.map((r) => r.id).sort((a, b) => a - b),
  );

  // The footprint across RA 0/360 is cut into two paths, and no path has a segment across the map.
  const parts = await page.$$eval(`g.footprint[data-id="${wrapped.id}"] path[data-part]`, (ps) =>
    ps.map((p) => p.getAttribute('d') ?? ''),
  );
  assert.equal(parts.length, 2, `two pieces: ${parts.join(' | ')}`);
  const all = await page.$$eval('svg.sky-map g.footprint path', (ps) =>
    ps.map((p) => p.getAttribute('d') ?? ''),
  );
  for (const d of all) {
    const xs = [...d.matchAll(/[ML](-?[\d.]+) (-?[\d.]+)/g)].map((m) => Number(m[1]));
    for (let i = 0; i < xs.length; i++) {
      const span = Math.abs(xs[(i + 1) % xs.length] - xs[i]);
      assert.ok(span < MAP_WIDTH / 2, `a segment of ${span} spans more than half the map: ${d}`);
    }
  }
  // The two pieces sit at opposite edges: one near the left (RA 360), one near the right (RA 0).
  const centres = parts.map((d) => {
    const xs = [...d.matchAll(/[ML](-?[\d.]+) /g)].map((m) => Number(m[1]));
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  });
  assert.ok(Math.min(...centres) < MAP_WIDTH * 0.1 && Math.max(...centres) > MAP_WIDTH * 0.9, `${centres}`);

  // Hover names it; a click opens its observation page.
  const marker = page.locator(`g.footprint[data-id="${wrapped.id}"] circle`);
  await marker.hover();
  await page.waitForSelector(`.sky-hover:has-text("${wrapped.obs_id}")`);
  await page.screenshot({ path: join(SHOTS, 'sky.png'), fullPage: true });
  await marker.click();
  await page.waitForURL(new RegExp(`/obs/${wrapped.id}$`));
  await page.waitForSelector(`h1:text("${wrapped.obs_id}")`);

  // From the keyboard: focus a footprint, Enter opens it.
  await page.goto(`${f.srv.url}/sky`);
  await footprints(page);
  const other = placed.find((r) => r.id !== wrapped.id) as Row;
  await page.focus(`g.footprint[data-id="${other.id}"]`);
  await page.keyboard.press('Enter');
  await page.waitForURL(new RegExp(`/obs/${other.id}$`));
  assert.deepEqual(problems, []);
  await ctx.close();

  // Its owner, signed in, sees the embargoed one on the map.
  const owner = await open({ token: f.tokens.ada });
  await owner.page.goto(`${f.srv.url}/sky`);
  assert.ok((await footprints(owner.page)).includes(f.embargoed));
  await owner.ctx.close();
});

test('the sky map follows the Explore search of the URL, and Explore links to it', async () => {
  const visible = await anonymousVisible();
  const instrument = visible.find(
    (r) => r.instrument_name && (r.s_ra !== null || r.s_region),
  )?.instrument_name;
  assert.ok(instrument);
  const { ctx, page } = await open();
  await page.goto(`${f.srv.url}/?instrument=${encodeURIComponent(instrument)}`);
  await page.getByRole('link', { name: 'Sky map of these results' }).click();
  await page.waitForURL(/\/sky\?instrument=/);
  const ids = await footprints(page);
  const expected = visible
    .filter((r) => r.instrument_name === instrument && (r.s_ra !== null || r.s_region !== null))
    .map((r) => r.id);
  assert.deepEqual(
    [...ids].sort((a, b) => a - b),
    expected.sort((a, b) => a - b),
  );
  await ctx.close();
});

test('the dashboard charts what the catalog holds; the job queue is for curators', async () => {
  const visible = await anonymousVisible();
  const perInstrument = new Map<string, number>();
  for (const r of visible) {
    const k = r.instrument_name ?? '(none)';
    perInstrument.set(k, (perInstrument.get(k) ?? 0) + 1);
  }
  const { ctx, page, problems } = await open();
  await page.goto(`${f.srv.url}/dashboard`);
  await page.waitForSelector('[data-panel="per-instrument"] .chart-bar');
  const bars = await page.$$eval('[data-panel="per-instrument"] .chart-bar', (bs) =>
    bs.map((b) => [b.getAttribute('data-label') ?? '', Number(b.getAttribute('data-value'))] as const),
  );
  assert.deepEqual(new Map(bars), perInstrument);
  // Every chart has a title, axis labels and a table of its data.
  for (const id of ['per-night', 'per-instrument', 'per-filter', 'exptime', 'airmass', 'storage', 'ingest']) {
    const panel = page.locator(`[data-panel="${id}"]`);
    await panel.locator('figure figcaption').waitFor();
    assert.ok((await panel.locator('svg[role=img] .chart-axis-label').count()) === 2, `${id} axis labels`);
    assert.ok((await panel.locator('details table.chart-table tbody tr').count()) > 0, `${id} has data`);
  }
  await page.waitForSelector('[data-panel="jobs"] .unavailable:has-text("curator")');
  // Sky coverage: one shaded cell per one-degree (RA, Dec) cell holding visible observations, with
  // their count — the cells computed here from the catalog (SQL ROUND: halves away from zero).
  const half = (v: number) => Math.sign(v) * Math.round(Math.abs(v));
  const cells = new Map<string, number>();
  const ids = new Set(visible.map((r) => r.id));
  for (const r of await db.selectFrom('observations').select(['id', 's_ra', 's_dec']).execute()) {
    if (!ids.has(Number(r.id)) || r.s_ra === null || r.s_dec === null) continue;
    const k = `${half(Number(r.s_ra))},${half(Number(r.s_dec))}`;
    cells.set(k, (cells.get(k) ?? 0) + 1);
  }
  assert.ok(cells.size > 0);
  await page.waitForSelector('[data-panel="coverage"] svg.coverage .coverage-cell', { state: 'attached' });
  const drawn = await page.$$eval('[data-panel="coverage"] .coverage-cell', (ps) =>
    ps.map(
      (p) =>
        [
          `${p.getAttribute('data-ra')},${p.getAttribute('data-dec')}`,
          Number(p.getAttribute('data-n')),
        ] as const,
    ),
  );
  assert.deepEqual(new Map(drawn), cells);
  assert.match(
    (await page.getAttribute('[data-panel="coverage"] svg.coverage', 'aria-label')) ?? '',
    new RegExp(
      `: ${[...cells.values()].reduce((a, b) => a + b, 0)} observations in ${cells.size} one-degree cells`,
    ),
  );
  assert.deepEqual(problems, []);
  await ctx.close();

  const cur = await open({ token: f.tokens.cur });
  await cur.page.goto(`${f.srv.url}/dashboard`);
  await cur.page.waitForSelector('[data-panel="jobs"] .chart-bar', { state: 'attached' });
  const done = await cur.page.getAttribute('[data-panel="jobs"] .chart-bar[data-label="done"]', 'data-value');
  // The chart counts the jobs the API lists to the curator (jobs of collections it may see).
  const listed = (await (
    await fetch(`${f.srv.url}/api/jobs?limit=1000`, { headers: { authorization: `Bearer ${f.tokens.cur}` } })
  ).json()) as { rows: { status: string }[] };
  assert.equal(Number(done), listed.rows.filter((j) => j.status === 'done').length);
  assert.ok(Number(done) > 0);
  await cur.page.waitForSelector('[data-panel="per-night"] .chart-dot');
  await cur.page.screenshot({ path: join(SHOTS, 'dashboard.png'), fullPage: true });
  await cur.ctx.close();
});
