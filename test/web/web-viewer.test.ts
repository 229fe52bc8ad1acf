// The observation page's image viewer in a real browser (Debian's chromium driven by playwright-core)
// against a real server on a generated lake, plus one plain (uncompressed) FITS image with a TAN WCS
// ingested as its own observation: the page reads the science file itself, draws it on a canvas of
// the image's size, redraws when the stretch or colour map changes, and under the pointer shows the
// FITS pixel, its value (as src/fits reads it in Node) and its RA/Dec (as src/fits's WCS gives it).
// Whole-file bzip2 science files get a note instead. Screenshot: docs/screenshots/viewer.png.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { BufferSource } from '../../src/fits/byte-source.ts';
import { openFits } from '../../src/fits/fits-file.ts';
import { readImage } from '../../src/fits/image.ts';
import { wcsFromHeader } from '../../src/fits/wcs/wcs.ts';
import { encodeImageHdu } from '../../src/fits/write.ts';
import { queueIngest } from '../../src/ingest/sources.ts';
import { Worker } from '../../src/ingest/worker.ts';
import { servicePlugins } from '../../src/services/index.ts';
import { populatedLake } from '../services/rest/fixture.ts';
import { ensureBuilt, launchBrowser, SHOTS } from './browser.ts';

ensureBuilt();

const f = await populatedLake([...servicePlugins]);
const db = f.lake.catalog.db;

// A plain 80 × 48 float32 image (not square, so a flip or transpose shows): a sky gradient, a few
// stars, and a bright corner marker at FITS (1..4, 1..4), the bottom left.
const W = 80;
const H = 48;
const pixels = new Float32Array(W * H);
const stars: [number, number, number][] = [
  [20, 30, 5000],
  [55, 12, 12000],
  [64, 40, 2500],
  [35, 8, 800],
];
for (let j = 0; j < H; j++)
  for (let i = 0; i < W; i++) {
    let v = 100 + 0.5 * i + 0.25 * j + ((i * 7919 + j * 104729) % 13) * 0.7;
    for (const [x, y, a] of stars) v += a * Math.exp(-((i + 1 - x) ** 2 + (j + 1 - y) ** 2) / 4);
    if (i < 4 && j < 4) v = 30000;
    pixels[j * W + i] = v;
  }
const fitsBytes = encodeImageHdu(
  pixels,
  [W, H],
  [
    ['OBJECT', 'VIEWER-TEST', 'target'],
    ['TELESCOP', 'test', 'telescope'],
    ['INSTRUME', 'viewcam', 'instrument'],
    ['FILTER', 'r', 'filter'],
    ['DATE-OBS', '2022-06-30T02:00:00.000', '[UTC] start of exposure'],
    ['EXPTIME', 60, '[s] exposure time'],
    ['OBSTYPE', 'EXPOSE', 'frame type'],
    ['CTYPE1', 'RA---TAN', ''],
    ['CTYPE2', 'DEC--TAN', ''],
    ['CRPIX1', 40.5, ''],
    ['CRPIX2', 24.5, ''],
    ['CRVAL1', 202.4696, ''],
    ['CRVAL2', 47.1953, ''],
    ['CD1_1', -0.000277, ''],
    ['CD1_2', 0.00001, ''],
    ['CD2_1', 0.00001, ''],
    ['CD2_2', 0.000277, ''],
  ],
);
const KEY = 'night/viewcam/viewer-test-0001.fits';
await f.lake.zones.raw.put(KEY, fitsBytes);
await queueIngest(f.lake, [KEY]);
await new Worker(f.lake).run({ untilIdle: true, concurrency: 1 });

// The same file read in Node with src/fits: the reference pixels and WCS.
const ref = await (async () => {
  const src = new BufferSource(fitsBytes);
  const file = await openFits(src);
  const img = await readImage(src, file.hdus[0]);
  const wcs = wcsFromHeader(file.hdus[0].header);
  assert.ok(wcs);
  return { data: img.data as Float32Array, wcs };
})();

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await f.close();
});

async function observationOf(key: string): Promise<number> {
  const rows = await db.selectFrom('observations').select(['id', 'products']).execute();
  const row = rows.find((r) => (JSON.parse(r.products) as Record<string, string>).science === key);
  assert.ok(row, `an observation has ${key} as its science file`);
  return Number(row.id);
}

/** RGBA of a few canvas pixels (column, row from the top). */
function sampleCanvas(page: Page, at: [number, number][]): Promise<number[][]> {
  return page.evaluate((points) => {
    const c = document.querySelector('canvas.viewer-canvas') as HTMLCanvasElement;
    const ctx = c.getContext('2d') as CanvasRenderingContext2D;
    return points.map(([x, y]) => Array.from(ctx.getImageData(x, y, 1, 1).data));
  }, at);
}

/** Moves the mouse over the centre of canvas pixel (cx, cy) and returns the readout. */
async function hover(page: Page, cx: number, cy: number): Promise<Record<string, string | undefined>> {
  const box = await page.locator('canvas.viewer-canvas').boundingBox();
  assert.ok(box);
  await page.mouse.move(box.x + ((cx + 0.5) * box.width) / W, box.y + ((cy + 0.5) * box.height) / H);
  return page.$eval(
    '.readout',
    (el) =>
      ({ ...(el as HTMLElement).dataset, text: el.textContent ?? '' }) as Record<string, string | undefined>,
  );
}

test('the viewer draws the science image, restretches it, and reads pixels and RA/Dec under the pointer', async () => {
  const id = await observationOf(KEY);
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  const scripts: string[] = [];
  page.on('request', (r) => {
    if (r.resourceType() === 'script') scripts.push(new URL(r.url()).pathname);
  });
  await page.goto(`${f.srv.url}/obs/${id}`);
  await page.waitForSelector('canvas.viewer-canvas');
  assert.ok(
    scripts.some((s) => /\/assets\/viewer-[^/]+\.js$/.test(s)),
    `the viewer is its own chunk: ${scripts.join(', ')}`,
  );

  // The canvas has the image's size and is shown with its aspect.
  const size = await page.$eval('canvas.viewer-canvas', (c) => {
    const r = c.getBoundingClientRect();
    return {
      w: (c as HTMLCanvasElement).width,
      h: (c as HTMLCanvasElement).height,
      rw: r.width,
      rh: r.height,
    };
  });
  assert.equal(size.w, W);
  assert.equal(size.h, H);
  assert.ok(Math.abs(size.rw / size.rh - W / H) < 0.02, `shown aspect ${size.rw / size.rh}`);

  // FITS row 1 is the bottom: the bright marker at FITS (1..4, 1..4) is at the canvas's bottom left.
  const points: [number, number][] = [
    [1, H - 2],
    [1, 1],
    [19, H - 30],
    [40, 24],
    [70, 5],
  ];
  const grey = await sampleCanvas(page, points);
  assert.deepEqual(grey[0], [255, 255, 255, 255], 'the marker is white, bottom left');
  assert.ok(grey[1][0] < 255, 'the top left is not the marker');
  for (const p of grey) assert.ok(p[0] === p[1] && p[1] === p[2], `grey pixels: ${p}`);

  await page.getByLabel('Stretch').selectOption('log');
  const logged = await sampleCanvas(page, points);
  assert.notDeepEqual(logged, grey, 'the log stretch changes the pixels');
  assert.ok(logged[3][0] > grey[3][0], 'log brightens the faint sky');

  await page.getByLabel('Limits').selectOption('minmax');
  const minmax = await sampleCanvas(page, points);
  assert.notDeepEqual(minmax, logged, 'other limits change the pixels');

  await page.getByLabel('Colour map').selectOption('viridis');
  const viridis = await sampleCanvas(page, points);
  assert.notDeepEqual(viridis, minmax, 'the colour map changes the pixels');
  assert.ok(
    viridis.some((p) => p[0] !== p[1] || p[1] !== p[2]),
    `viridis is not grey: ${JSON.stringify(viridis)}`,
  );
  await page.getByLabel('Colour map').selectOption('inverted');
  const inverted = await sampleCanvas(page, points);
  assert.deepEqual(inverted[0], [0, 0, 0, 255], 'inverted grey: the marker is black');

  // Under the pointer: the FITS pixel, its value and its RA/Dec.
  for (const [x, y] of [
    [20, 30],
    [55, 12],
    [1, 1],
    [80, 48],
    [33, 7],
  ] as const) {
    const r = await hover(page, x - 1, H - y);
    assert.equal(r.x, String(x));
    assert.equal(r.y, String(y));
    assert.equal(Number(r.value), ref.data[(y - 1) * W + (x - 1)], `value at ${x}, ${y}`);
    const [ra, dec] = ref.wcs.pixToWorld([x, y]) ?? [Number.NaN, Number.NaN];
    assert.ok(Math.abs(Number(r.ra) - ra) < 1e-6, `RA at ${x}, ${y}: ${r.ra} vs ${ra}`);
    assert.ok(Math.abs(Number(r.dec) - dec) < 1e-6, `Dec at ${x}, ${y}: ${r.dec} vs ${dec}`);
    assert.match(r.text ?? '', new RegExp(`^x ${x}, y ${y} · value `));
    assert.match(
      r.text ?? '',
      /RA \d\d:\d\d:\d\d\.\d\d \(\d+\.\d{7}°\), Dec [+-]\d\d:\d\d:\d\d\.\d \([+-]?\d+\.\d{7}°\)/,
    );
    assert.ok(r.text?.includes(`${ra.toFixed(7)}°`) && r.text.includes(`${dec.toFixed(7)}°`), r.text);
  }
  assert.equal(await page.getAttribute('.readout', 'aria-live'), 'polite');

  // The keyboard moves the cursor too.
  await page.locator('canvas.viewer-canvas').focus();
  await page.keyboard.press('ArrowRight');
  const moved = await page.$eval('.readout', (el) => ({ ...(el as HTMLElement).dataset }));
  assert.equal(moved.x, '34');
  assert.equal(moved.y, '7');

  // Back to a readable look for the screenshot, the pointer on the brightest star.
  await page.getByLabel('Stretch').selectOption('asinh');
  await page.getByLabel('Limits').selectOption('zscale');
  await page.getByLabel('Colour map').selectOption('viridis');
  await page.locator('canvas.viewer-canvas').blur();
  await hover(page, 54, H - 12);
  await page.locator('section.viewer').screenshot({ path: join(SHOTS, 'viewer.png') });
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('a bzip2 science file is viewed through its plain small copy; without one, a note', async () => {
  const rows = await db
    .selectFrom('observations')
    .select(['id', 'products', 'obs_collection'])
    .where('obs_collection', '=', 'night')
    .execute();
  const bzs = rows.filter((r) => {
    const p = JSON.parse(r.products) as Record<string, string>;
    // (Public ones: not the embargoed one, nothing of the private collection.)
    return (
      /\.fits\.bz2$/.test(p.science ?? '') && /\.fits$/.test(p.small ?? '') && Number(r.id) !== f.embargoed
    );
  });
  assert.ok(bzs.length >= 2, 'bzip2 science files with small copies');
  const [viewed, bare] = bzs;
  // The small copy's image shape, as the catalog has it: the canvas must have it.
  const small = await db
    .selectFrom('artifacts')
    .innerJoin('hdus', 'hdus.file_id', 'artifacts.file_id')
    .select(['hdus.shape'])
    .where('artifacts.observation_id', '=', viewed.id)
    .where('artifacts.role', '=', 'small')
    .where('hdus.idx', '=', 0)
    .executeTakeFirstOrThrow();
  const [w, hgt] = JSON.parse(small.shape) as number[];
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${f.srv.url}/obs/${viewed.id}`);
  await page.waitForSelector('canvas.viewer-canvas');
  const size = await page.$eval('canvas.viewer-canvas', (c) => [
    (c as HTMLCanvasElement).width,
    (c as HTMLCanvasElement).height,
  ]);
  assert.deepEqual(size, [w, hgt]);
  // Without a small copy the page says why there is no viewer.
  await db
    .deleteFrom('artifacts')
    .where('observation_id', '=', bare.id)
    .where('role', '=', 'small')
    .execute();
  await page.goto(`${f.srv.url}/obs/${bare.id}`);
  await page.waitForSelector('section.viewer .note');
  assert.match((await page.textContent('section.viewer')) ?? '', /compressed as a whole/);
  assert.equal(await page.locator('canvas.viewer-canvas').count(), 0);
  await ctx.close();
});
