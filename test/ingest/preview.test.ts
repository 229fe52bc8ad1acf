import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { BufferSource, type ByteSource } from '../../src/fits/byte-source.ts';
import { readCompressedImage } from '../../src/fits/compression/tiles.ts';
import { openFits } from '../../src/fits/fits-file.ts';
import type { Hdu } from '../../src/fits/hdu.ts';
import { readImage } from '../../src/fits/image.ts';
import {
  percentileLimits,
  renderPreview,
  stretch,
  thumbnailFromImage,
  zscale,
} from '../../src/ingest/preview.ts';
import { FileSource } from '../../src/io/file-source.ts';
import { corpusPath } from '../util/corpus.ts';

/** A FITS file written card by card: SIMPLE, BITPIX 16, NAXISn, END, big-endian int16 data. */
function int16Fits(axes: number[], pixels: ArrayLike<number>): Uint8Array {
  const card = (key: string, value: string) => `${key.padEnd(8)}= ${value.padStart(20)}`.padEnd(80);
  const cards = [
    card('SIMPLE', 'T'),
    card('BITPIX', '16'),
    card('NAXIS', String(axes.length)),
    ...axes.map((n, i) => card(`NAXIS${i + 1}`, String(n))),
    'END'.padEnd(80),
  ];
  const block = (n: number) => Math.ceil(n / 2880) * 2880;
  const header = cards.join('').padEnd(block(cards.length * 80));
  const out = new Uint8Array(header.length + block(pixels.length * 2));
  out.set(Buffer.from(header, 'latin1'));
  const dv = new DataView(out.buffer, header.length);
  for (let i = 0; i < pixels.length; i++) dv.setInt16(i * 2, pixels[i]);
  return out;
}

async function hduOf(source: ByteSource, index = 0): Promise<Hdu> {
  return (await openFits(source)).hdus[index];
}

/** Decoded pixels of a PNG/JPEG as one grey channel (the first), rows top to bottom. */
async function greyRows(bytes: Uint8Array): Promise<number[][]> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  return Array.from({ length: info.height }, (_, y) =>
    Array.from({ length: info.width }, (_, x) => data[(y * info.width + x) * info.channels]),
  );
}

/** Deterministic N(mean, sigma) samples (mulberry32 + Box–Muller). */
function gaussian(n: number, mean: number, sigma: number, seed = 42): Float64Array {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return Float64Array.from({ length: n }, () => {
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    return mean + sigma * r * Math.cos(2 * Math.PI * uniform());
  });
}

test('zscale of gaussian noise spans a few sigma around the mean, ignoring NaN and rare outliers', () => {
  const values = gaussian(100_000, 100, 10);
  const { lo, hi } = zscale(values);
  assert.ok(lo < 100 && 100 < hi, `${lo} .. ${hi}`);
  assert.ok(lo > 100 - 6 * 10 && lo < 100 - 10, `lo ${lo}`);
  assert.ok(hi < 100 + 6 * 10 && hi > 100 + 10, `hi ${hi}`);

  const dirty = Float64Array.from(values);
  for (let i = 0; i < dirty.length; i += 97) dirty[i] = i % 2 ? Number.NaN : 1e6;
  const d = zscale(dirty);
  // astropy gives 68.3 .. 161.8 for this array: the 1e6 outliers widen the range only a little.
  assert.ok(d.lo < 100 && 100 < d.hi && d.hi < 100 + 8 * 10 && d.lo > 100 - 8 * 10, `${d.lo} .. ${d.hi}`);

  assert.deepEqual(zscale([Number.NaN, Number.POSITIVE_INFINITY]), { lo: 0, hi: 0 });
  assert.deepEqual(zscale([3, 1, 2]), { lo: 1, hi: 3 }, 'too few samples to fit: min and max');
});

test("zscale matches astropy's ZScaleInterval on real images (one with NaNs, one int16)", async () => {
  const fixtures: [string, number][] = [
    ['fits/gmos.fits', 1],
    ['fits/1904-66_AZP.fits', 0],
    ['fits/efz20040301.010016_s.fits', 0],
    ['fits/astroquery__astroquery_cadc__query_images.fits', 0],
    ['fits/SFD_dust_4096_ngp.fits', 0],
  ];
  const script = [
    'import json, sys, warnings',
    "warnings.simplefilter('ignore')",
    'from astropy.io import fits',
    'from astropy.visualization import ZScaleInterval',
    'out = [[float(v) for v in ZScaleInterval().get_limits(fits.getdata(p, int(i)))]',
    '       for p, i in zip(sys.argv[1::2], sys.argv[2::2])]',
    'print(json.dumps(out))',
  ].join('\n');
  const args = fixtures.flatMap(([rel, i]) => [corpusPath(rel), String(i)]);
  const expected = JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', script, ...args], { encoding: 'utf8' }),
  );
  for (const [k, [rel, index]] of fixtures.entries()) {
    const source = await FileSource.open(corpusPath(rel));
    try {
      const image = await readImage(source, await hduOf(source, index));
      const { lo, hi } = zscale(image.data as ArrayLike<number>);
      const [alo, ahi] = expected[k];
      const tol = 0.02 * (ahi - alo);
      assert.ok(lo < hi, `${rel}: ${lo} .. ${hi}`);
      assert.ok(Math.abs(lo - alo) <= tol, `${rel}: lo ${lo}, astropy ${alo}`);
      assert.ok(Math.abs(hi - ahi) <= tol, `${rel}: hi ${hi}, astropy ${ahi}`);
    } finally {
      await source.close();
    }
  }
});

test('percentileLimits interpolates like numpy and ignores NaN', () => {
  const values = [...Array.from({ length: 101 }, (_, i) => 100 - i), Number.NaN];
  assert.deepEqual(percentileLimits(values), { lo: 0.5, hi: 99.5 });
  assert.deepEqual(percentileLimits(values, 10, 90), { lo: 10, hi: 90 });
  assert.deepEqual(percentileLimits([Number.NaN]), { lo: 0, hi: 0 });
});

test('stretch maps lo..hi to 0..255 through the curve, clips, and gives NaN and constant images 0', () => {
  assert.deepEqual([...stretch([-5, 0, 5, 10, 20, Number.NaN], 0, 10, 'linear')], [0, 0, 128, 255, 255, 0]);
  const half = stretch([0.5], 0, 1, 'asinh')[0];
  assert.equal(half, Math.round((Math.asinh(5) / Math.asinh(10)) * 255));
  assert.ok(half > 128, 'asinh lifts the faint end above linear');
  const log = [...stretch([0, 0.01, 0.1, 0.5, 1], 0, 1, 'log')];
  assert.equal(log[0], 0);
  assert.equal(log[4], 255);
  for (let i = 1; i < log.length; i++) assert.ok(log[i] > log[i - 1], `log is increasing: ${log}`);
  assert.deepEqual([...stretch([7, 7, 7], 7, 7, 'linear')], [0, 0, 0]);
});

test('renderPreview of a real image is a decodable JPEG no larger than maxSize, never enlarged', async () => {
  const source = await FileSource.open(corpusPath('fits/gmos.fits'));
  try {
    const hdu = await hduOf(source, 1); // 200 × 150
    const small = await renderPreview(source, hdu, { maxSize: 64, format: 'jpeg' });
    const meta = await sharp(small.bytes).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.deepEqual([meta.width, meta.height], [64, 48]);
    assert.deepEqual([small.width, small.height], [64, 48]);
    const rows = await greyRows(small.bytes);
    const flat = rows.flat();
    assert.ok(Math.max(...flat) - Math.min(...flat) > 100, 'the picture is not flat');

    const full = await renderPreview(source, hdu, {
      maxSize: 1000,
      format: 'jpeg',
      scale: 'percentile',
      stretch: 'linear',
    });
    const m = await sharp(full.bytes).metadata();
    assert.deepEqual([m.format, m.width, m.height], ['jpeg', 200, 150]);
  } finally {
    await source.close();
  }
});

test('renderPreview decimates a large image while reading: fewer bytes read, exact aspect kept', async () => {
  const [w, h] = [400, 300];
  const pixels = Array.from({ length: w * h }, (_, i) => (i % w) + Math.floor(i / w));
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-preview-'));
  const path = join(dir, 'big.fits');
  writeFileSync(path, int16Fits([w, h], pixels));
  const source = await FileSource.open(path);
  try {
    const hdu = await hduOf(source);
    const before = source.bytesRead;
    const p = await renderPreview(source, hdu, { maxSize: 50, format: 'png' });
    assert.deepEqual([p.width, p.height], [50, 38]);
    const meta = await sharp(p.bytes).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 50, 38]);
    assert.ok(source.bytesRead - before < (w * h * 2) / 4, `read ${source.bytesRead - before} bytes`);
  } finally {
    await source.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FITS row 1 is the bottom of the picture: a bright first row is the last row of the PNG', async () => {
  const [w, h] = [5, 4];
  const pixels = Array.from({ length: w * h }, (_, i) => (i < w ? 1000 : 0));
  const source = new BufferSource(int16Fits([w, h], pixels), 'flip.fits');
  const p = await renderPreview(source, await hduOf(source), {
    maxSize: 100,
    format: 'png',
    scale: 'percentile',
    stretch: 'linear',
  });
  const rows = await greyRows(p.bytes);
  assert.equal(rows.length, h);
  assert.deepEqual(rows[h - 1], [255, 255, 255, 255, 255]);
  for (const row of rows.slice(0, h - 1)) assert.deepEqual(row, [0, 0, 0, 0, 0]);
});

test('a cube written by hand (NAXIS=3) renders its first plane only', async () => {
  const [w, h, d] = [8, 6, 2];
  // Plane 1: left half bright; plane 2: right half bright.
  const pixels = Array.from({ length: w * h * d }, (_, i) => {
    const left = i % w < w / 2;
    const first = i < w * h;
    return left === first ? 1000 : 0;
  });
  const source = new BufferSource(int16Fits([w, h, d], pixels), 'cube.fits');
  const p = await renderPreview(source, await hduOf(source), {
    maxSize: 100,
    format: 'png',
    scale: 'percentile',
    stretch: 'linear',
  });
  assert.deepEqual([p.width, p.height], [w, h]);
  for (const row of await greyRows(p.bytes)) assert.deepEqual(row, [255, 255, 255, 255, 0, 0, 0, 0]);
});

test('a tile-compressed cube renders its first plane, flipped, exactly as stretched', async () => {
  const source = await FileSource.open(corpusPath('synthetic/compressed_all.fits'));
  try {
    const hdu = await hduOf(source, 9); // RICE int16, 10 × 8 × 6
    assert.equal(hdu.kind, 'compressed-image');
    const p = await renderPreview(source, hdu, { maxSize: 100, format: 'png', stretch: 'linear' });
    assert.deepEqual([p.width, p.height], [10, 8]);
    const all = await readCompressedImage(source, hdu);
    const plane = Array.from(all.data as ArrayLike<number>).slice(0, 10 * 8);
    const { lo, hi } = zscale(plane);
    const grey = stretch(plane, lo, hi, 'linear');
    const expected = Array.from({ length: 8 }, (_, r) => [...grey.subarray((7 - r) * 10, (8 - r) * 10)]);
    assert.deepEqual(await greyRows(p.bytes), expected);

    const flat = await renderPreview(source, await hduOf(source, 1), { maxSize: 40, format: 'jpeg' });
    const meta = await sharp(flat.bytes).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 40, 32]);
  } finally {
    await source.close();
  }
});

test('renderPreview reads 64-bit integer images and refuses a table', async () => {
  const source = await FileSource.open(corpusPath('synthetic/bitpix_mef.fits'));
  try {
    const fits = await openFits(source);
    const p = await renderPreview(source, fits.hdus[3], { maxSize: 100, format: 'png' }); // BITPIX 64, 12 × 5
    assert.deepEqual([p.width, p.height], [12, 5]);
  } finally {
    await source.close();
  }
  const table = await FileSource.open(corpusPath('fits/btable.fits'));
  try {
    const fits = await openFits(table);
    const hdu = fits.hdus.find((x) => x.kind === 'bintable')!;
    await assert.rejects(renderPreview(table, hdu, { maxSize: 100, format: 'png' }));
  } finally {
    await table.close();
  }
});

test('thumbnailFromImage makes a JPEG of a PNG, and turns a JPEG upright by its EXIF orientation', async () => {
  const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#3366cc' } })
    .png()
    .toBuffer();
  const t = await thumbnailFromImage(png, 100);
  const meta = await sharp(t.bytes).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 100, 67]);
  assert.deepEqual([t.width, t.height], [100, 67]);

  const tiny = await thumbnailFromImage(png, 1000);
  assert.deepEqual([tiny.width, tiny.height], [300, 200], 'never enlarged');

  // Stored landscape, EXIF orientation 6: shown rotated 90° clockwise, i.e. portrait.
  const rotated = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#cc6633' } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer();
  assert.equal((await sharp(rotated).metadata()).orientation, 6);
  const upright = await thumbnailFromImage(rotated, 100);
  const um = await sharp(upright.bytes).metadata();
  assert.deepEqual([um.format, um.width, um.height], ['jpeg', 67, 100]);
});
