// The observation page's image viewer in a real browser (Debian's chromium driven by playwright-core)
// against a real server on a generated lake, plus one plain (uncompressed) FITS image with a TAN WCS
// ingested as its own observation: the page reads the science file itself, draws it on a canvas of
// the image's size, redraws when the stretch or colour map changes, and under the pointer shows the
// FITS pixel, its value (as src/fits reads it in Node) and its RA/Dec (as src/fits's WCS gives it).
// Whole-file bzip2 science files get a note instead. It zooms (wheel, buttons, keys) and pans with
// the readout still true, and a box drawn on it (or typed) downloads from the SODA service as exactly
// those pixels, read back with src/fits. Screenshots: docs/screenshots/viewer.png, observation-cutout.png.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
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

type Rect = { x: number; y: number; width: number; height: number };

async function rectOf(page: Page, selector: string): Promise<Rect> {
  const r = await page.locator(selector).boundingBox();
  assert.ok(r, `${selector} is shown`);
  return r;
}

/** The screen point at the centre of FITS pixel (x, y), from the canvas's on-screen (zoomed) box. */
function screenOf(c: Rect, x: number, y: number): [number, number] {
  return [c.x + ((x - 0.5) * c.width) / W, c.y + ((H - y + 0.5) * c.height) / H];
}

const inside = (r: Rect, [px, py]: [number, number]) =>
  px > r.x && px < r.x + r.width && py > r.y && py < r.y + r.height;

const readoutOf = (page: Page) =>
  page.$eval('.readout', (el) => ({ ...(el as HTMLElement).dataset }) as Record<string, string | undefined>);

/** A cutout's FITS bytes read back with src/fits: its shape, pixels and reference pixel. */
async function readCutout(bytes: Uint8Array) {
  const src = new BufferSource(bytes);
  const file = await openFits(src);
  assert.equal(file.hdus.length, 1, 'one image HDU');
  const hdu = file.hdus[0];
  const img = await readImage(src, hdu);
  return {
    naxes: hdu.naxes,
    data: img.data as Float32Array,
    crpix: [hdu.header.number('CRPIX1'), hdu.header.number('CRPIX2')],
  };
}

/** Asserts a cutout holds exactly pixels x1…x2 × y1…y2 of the original, with CRPIX moved to match. */
async function assertCutout(bytes: Uint8Array, [x1, x2, y1, y2]: number[]) {
  const cut = await readCutout(bytes);
  const w = x2 - x1 + 1;
  const hgt = y2 - y1 + 1;
  assert.deepEqual(cut.naxes, [w, hgt]);
  for (let j = 0; j < hgt; j++)
    for (let i = 0; i < w; i++)
      assert.equal(
        cut.data[j * w + i],
        ref.data[(y1 - 1 + j) * W + (x1 - 1 + i)],
        `cutout pixel (${i + 1}, ${j + 1}) is original (${x1 + i}, ${y1 + j})`,
      );
  assert.deepEqual(cut.crpix, [40.5 - (x1 - 1), 24.5 - (y1 - 1)]);
}

test('zoom and pan keep the readout true; a box drawn on the image downloads as a SODA cutout', async () => {
  const id = await observationOf(KEY);
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1100 }, acceptDownloads: true });
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  await page.goto(`${f.srv.url}/obs/${id}`);
  await page.waitForSelector('canvas.viewer-canvas');

  // The page links to the observation's DataLink document and its ObsCore row (SIA 2.0, a VOTable).
  const obs = await db
    .selectFrom('observations')
    .select(['obs_publisher_did'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  const did = obs.obs_publisher_did;
  assert.ok(did);
  const datalink = await page.getByRole('link', { name: 'DataLink (VOTable)' }).getAttribute('href');
  assert.equal(datalink, `/datalink?ID=${encodeURIComponent(did)}`);
  const obscore = await page.getByRole('link', { name: 'ObsCore row (VOTable)' }).getAttribute('href');
  assert.ok(obscore);
  const row = await fetch(new URL(obscore, f.srv.url));
  assert.equal(row.status, 200);
  const votable = await row.text();
  assert.match(votable, /<VOTABLE/);
  assert.equal(votable.match(/<TR>/g)?.length, 1, 'one ObsCore row');
  assert.ok(votable.includes(did), 'the row is this observation');

  // Wheel zoom about the pointer: the pixel under it stays under it, and the canvas grows.
  const view = await rectOf(page, '.viewer-view');
  const fit = await rectOf(page, 'canvas.viewer-canvas');
  const at = screenOf(fit, 20, 30);
  await page.mouse.move(...at);
  assert.equal((await readoutOf(page)).x, '20');
  await page.mouse.wheel(0, -300);
  await page.waitForFunction(
    () => (document.querySelector('.viewer-view') as HTMLElement).dataset.zoom === '2',
  );
  await page.mouse.move(at[0] + 0.5, at[1]); // a move reads the pixel under the pointer again
  const still = await readoutOf(page);
  assert.deepEqual([still.x, still.y], ['20', '30'], 'zooming keeps the pixel under the pointer');
  const zoomed = await rectOf(page, 'canvas.viewer-canvas');
  assert.ok(Math.abs(zoomed.width - 2 * fit.width) < 1, `canvas ${zoomed.width} vs ${fit.width}`);
  assert.equal(await page.textContent('.zoom-level'), '2×');

  // Zoomed, each pixel's readout is the file's pixel there.
  for (const [x, y] of [
    [20, 30],
    [14, 36],
    [33, 21],
    [27, 18],
  ] as const) {
    const p = screenOf(zoomed, x, y);
    assert.ok(inside(view, p), `${x}, ${y} is in view`);
    await page.mouse.move(...p);
    const r = await readoutOf(page);
    assert.deepEqual([r.x, r.y], [String(x), String(y)]);
    assert.equal(Number(r.value), ref.data[(y - 1) * W + (x - 1)], `value at ${x}, ${y} zoomed`);
  }

  // The + button zooms about the view's centre: the pixel there stays there.
  const mid: [number, number] = [view.x + view.width / 2, view.y + view.height / 2];
  await page.mouse.move(...mid);
  const before = await readoutOf(page);
  await page.getByRole('button', { name: 'Zoom in' }).click();
  await page.mouse.move(...mid);
  const after4 = await readoutOf(page);
  assert.equal((await page.$eval('.viewer-view', (e) => (e as HTMLElement).dataset.zoom)) ?? '', '4');
  assert.deepEqual([after4.x, after4.y], [before.x, before.y]);
  await page.getByRole('button', { name: 'Zoom out' }).click();

  // Pan mode: dragging moves the image with the pointer, so the grabbed pixel stays under it.
  await page.getByLabel('Pan').check();
  const start: [number, number] = [view.x + view.width * 0.6, view.y + view.height * 0.5];
  await page.mouse.move(...start);
  const grabbed = await readoutOf(page);
  const c0 = await rectOf(page, 'canvas.viewer-canvas');
  await page.mouse.down();
  await page.mouse.move(start[0] - 50, start[1] + 10, { steps: 3 });
  await page.mouse.move(start[0] - 100, start[1] + 20, { steps: 3 });
  await page.mouse.up();
  const c1 = await rectOf(page, 'canvas.viewer-canvas');
  assert.ok(Math.abs(c1.x - (c0.x - 100)) < 1 && Math.abs(c1.y - (c0.y + 20)) < 1, 'the image moved');
  const dropped = await readoutOf(page);
  assert.deepEqual(
    [dropped.x, dropped.y],
    [grabbed.x, grabbed.y],
    'the grabbed pixel stays under the pointer',
  );
  assert.equal(await page.locator('.viewer-box').isVisible(), false, 'panning draws no box');

  // Select box: a drag from FITS (20, 20) to (45, 35) on the zoomed, panned image.
  await page.getByLabel('Select box').check();
  const [x1, x2, y1, y2] = [20, 45, 20, 35];
  const c2 = await rectOf(page, 'canvas.viewer-canvas'); // (as the page may have scrolled)
  const a = screenOf(c2, x1, y1);
  const b = screenOf(c2, x2, y2);
  assert.ok(inside(await rectOf(page, '.viewer-view'), a) && inside(await rectOf(page, '.viewer-view'), b));
  await page.mouse.move(...a);
  await page.mouse.down();
  await page.mouse.move((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, { steps: 4 });
  await page.mouse.move(...b, { steps: 4 });
  await page.mouse.up();
  for (const [k, want] of Object.entries({ x1, x2, y1, y2 }))
    assert.equal(await page.getByLabel(k, { exact: true }).inputValue(), String(want), k);
  // Drawn over exactly those pixels, labelled with its size; its centre's RA/Dec told.
  const drawn = await rectOf(page, '.viewer-box');
  const px = c2.width / W;
  assert.ok(Math.abs(drawn.x - (c2.x + (x1 - 1) * px)) < 1.5, `box left ${drawn.x}`);
  assert.ok(Math.abs(drawn.y - (c2.y + (H - y2) * px)) < 1.5, `box top ${drawn.y}`);
  assert.ok(Math.abs(drawn.width - (x2 - x1 + 1) * px) < 1.5, `box width ${drawn.width}`);
  assert.ok(Math.abs(drawn.height - (y2 - y1 + 1) * px) < 1.5, `box height ${drawn.height}`);
  assert.equal(await page.textContent('.viewer-box-label'), '26 × 16');
  const info = await page.$eval(
    '.cutout-info',
    (e) =>
      ({ ...(e as HTMLElement).dataset, text: e.textContent ?? '' }) as Record<string, string | undefined>,
  );
  assert.deepEqual([info.width, info.height], ['26', '16']);
  const [ra, dec] = ref.wcs.pixToWorld([(x1 + x2) / 2, (y1 + y2) / 2]) ?? [Number.NaN, Number.NaN];
  assert.ok(
    Math.abs(Number(info.ra) - ra) < 1e-9 && Math.abs(Number(info.dec) - dec) < 1e-9,
    'centre RA/Dec',
  );
  assert.ok(info.text?.startsWith('Box x 20–45, y 20–35: 26 × 16 pixels · centre RA '), info.text);
  assert.ok(info.text?.includes(`${ra.toFixed(7)}°`), info.text);
  // The readout is still right with the box drawn (the box lets the pointer through).
  await page.mouse.move(...screenOf(c2, 30, 30));
  const through = await readoutOf(page);
  assert.deepEqual([through.x, through.y], ['30', '30']);
  assert.equal(Number(through.value), ref.data[29 * W + 29]);

  // The link is the SODA sync service for this file, PIXEL_1/PIXEL_2 as drawn; the download is that box.
  const link = page.getByRole('link', { name: 'Download cutout' });
  const href = (await link.getAttribute('href')) ?? '';
  const q = new URL(href, f.srv.url);
  assert.equal(q.pathname, '/soda');
  assert.equal(q.searchParams.get('ID'), KEY);
  assert.equal(q.searchParams.get('PIXEL_1'), '20 45');
  assert.equal(q.searchParams.get('PIXEL_2'), '20 35');
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.equal(download.suggestedFilename(), 'viewer-test-0001-cutout.fits');
  const saved = await download.path();
  assert.ok(saved);
  await assertCutout(new Uint8Array(await readFile(saved)), [x1, x2, y1, y2]);

  // Screenshot: zoomed, the box drawn, the pointer on a star inside it.
  await page.getByLabel('Stretch').selectOption('asinh');
  await page.getByLabel('Colour map').selectOption('viridis');
  await page.mouse.move(...screenOf(await rectOf(page, 'canvas.viewer-canvas'), 20, 30));
  assert.equal((await readoutOf(page)).y, '30');
  await page.locator('section.viewer').screenshot({ path: join(SHOTS, 'observation-cutout.png') });

  // The keyboard alternative: typed corners make the same kind of cutout.
  await page.getByRole('button', { name: 'Fit the image' }).click();
  const type = async (k: string, v: string) => {
    await page.getByLabel(k, { exact: true }).fill(v);
    await page.getByLabel(k, { exact: true }).press('Tab');
  };
  // A reversed pair (y1 40 above the drawn y2 35, for a moment) is flagged, not swapped; the link goes.
  await type('x1', '5');
  await type('x2', '12');
  await type('y1', '40');
  assert.equal(await page.getAttribute('#v-y1', 'aria-invalid'), 'true');
  assert.equal(await page.getAttribute('#v-y2', 'aria-invalid'), 'true');
  assert.equal(await link.isVisible(), false);
  assert.match((await page.textContent('.cutout-info')) ?? '', /^Give whole pixel numbers, x1 ≤ x2/);
  await type('y2', '48');
  assert.equal(await page.getAttribute('#v-y1', 'aria-invalid'), null);
  assert.equal(await page.getByLabel('y1', { exact: true }).inputValue(), '40');
  assert.equal(await page.textContent('.viewer-box-label'), '8 × 9');
  const fitted = await rectOf(page, 'canvas.viewer-canvas');
  const typed = await rectOf(page, '.viewer-box');
  assert.ok(Math.abs(typed.x - (fitted.x + (4 * fitted.width) / W)) < 1.5, 'typed box left');
  assert.ok(Math.abs(typed.y - fitted.y) < 1.5, 'typed box reaches the top row (FITS y 48)');
  const typedHref = (await link.getAttribute('href')) ?? '';
  const answer = await fetch(new URL(typedHref, f.srv.url));
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.get('content-type'), 'application/fits');
  await assertCutout(new Uint8Array(await answer.arrayBuffer()), [5, 12, 40, 48]);
  // A blank corner is refused, not guessed; Clear takes the box away.
  await type('y2', '');
  assert.equal(await page.getAttribute('#v-y2', 'aria-invalid'), 'true');
  assert.equal(await link.isVisible(), false);
  await page.getByRole('button', { name: 'Clear the box' }).click();
  assert.equal(await link.isVisible(), false);
  assert.equal(await page.locator('.viewer-box').isVisible(), false);

  // Keys zoom too, and the arrow keys pan the zoomed view to keep the cursor shown.
  await page.locator('canvas.viewer-canvas').focus();
  await page.keyboard.press('+');
  await page.keyboard.press('+');
  assert.equal(await page.$eval('.viewer-view', (e) => (e as HTMLElement).dataset.zoom), '4');
  for (let i = 0; i < 4; i++) await page.keyboard.press('Shift+ArrowLeft');
  const keyed = await readoutOf(page);
  const shown = await rectOf(page, 'canvas.viewer-canvas');
  const cursor = screenOf(shown, Number(keyed.x), Number(keyed.y));
  assert.ok(inside(await rectOf(page, '.viewer-view'), cursor), 'the keyboard cursor stays in view');
  await page.keyboard.press('0');
  assert.equal(await page.$eval('.viewer-view', (e) => (e as HTMLElement).dataset.zoom), '1');
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('signed in, the cutout link carries the token and SODA honours it', async () => {
  const id = await observationOf(KEY);
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${f.srv.url}/`);
  await page.evaluate((t) => localStorage.setItem('fitslake.token', t), f.tokens.ada);
  await page.goto(`${f.srv.url}/obs/${id}`);
  await page.waitForSelector('canvas.viewer-canvas');
  for (const [k, v] of Object.entries({ x1: 1, x2: 4, y1: 1, y2: 4 })) {
    await page.getByLabel(k, { exact: true }).fill(String(v));
    await page.getByLabel(k, { exact: true }).press('Tab');
  }
  const href = (await page.getByRole('link', { name: 'Download cutout' }).getAttribute('href')) ?? '';
  const url = new URL(href, f.srv.url);
  assert.equal(url.searchParams.get('access_token'), f.tokens.ada);
  const ok = await fetch(url);
  assert.equal(ok.status, 200);
  await assertCutout(new Uint8Array(await ok.arrayBuffer()), [1, 4, 1, 4]);
  // The token is checked, not ignored: a wrong one is refused.
  url.searchParams.set('access_token', 'not-a-token');
  assert.equal((await fetch(url)).status, 401);
  await ctx.close();
});
