import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BufferSource } from '../../../src/fits/byte-source.ts';
import { readCompressedImage, tileLayout } from '../../../src/fits/compression/tiles.ts';
import { openFits } from '../../../src/fits/fits-file.ts';
import { readImage } from '../../../src/fits/image.ts';
import { corpusFiles, corpusPath, truth } from '../../util/corpus.ts';
import { decompressed } from '../../util/decompress.ts';
import { compareStats } from '../../util/stats.ts';

test('every tile-compressed corpus image decodes as astropy (cfitsio) decodes it', async () => {
  const methods = new Set<string>();
  for (const rel of corpusFiles()) {
    const t = truth(rel);
    for (const [i, th] of (t.hdus ?? []).entries()) {
      if (th.type !== 'CompImageHDU') continue;
      const bytes = decompressed(rel);
      const fits = await openFits(new BufferSource(bytes, rel));
      const h = fits.hdus[i];
      const method = th.compression.ZCMPTYPE as string;
      if (method === 'HCOMPRESS_1') {
        await assert.rejects(
          readCompressedImage(new BufferSource(bytes), h),
          /HCOMPRESS_1 tiles are not decoded/,
        );
        continue;
      }
      const img = await readCompressedImage(new BufferSource(bytes), h);
      assert.deepEqual([...img.shape].reverse(), th.data_stats.shape, `${rel} HDU ${i} shape`);
      compareStats(
        `${rel} HDU ${i} ${method} ${th.compression.ZQUANTIZ ?? ''}`,
        img.data,
        img.dtype,
        th.data_stats,
      );
      methods.add(`${method} ${th.compression.ZQUANTIZ ?? ''}`.trim());
    }
  }
  for (const m of [
    'RICE_1',
    'GZIP_1',
    'GZIP_2',
    'PLIO_1',
    'RICE_1 SUBTRACTIVE_DITHER_1',
    'GZIP_1 NO_DITHER',
    'GZIP_2 NO_DITHER',
  ]) {
    assert.ok(methods.has(m), `no ${m} image checked (have ${[...methods]})`);
  }
});

test('a section decodes only the tiles it touches and equals the same pixels of the whole image', async () => {
  const bytes = decompressed('synthetic/compressed_all.fits');
  const fits = await openFits(new BufferSource(bytes));
  const h = fits.hdus.find((x) => x.extname === 'GZIP2_16')!;
  const whole = await readCompressedImage(new BufferSource(bytes), h);
  const grid = await tileLayout(new BufferSource(bytes), h);
  const src = new BufferSource(bytes);
  const ranges = [
    { start: 5, stop: 20 },
    { start: 50, stop: 60, step: 3 },
  ];
  const sec = await readCompressedImage(src, h, ranges);
  let k = 0;
  for (let y = 50; y < 60; y += 3)
    for (let x = 5; x < 20; x++) assert.equal(sec.data[k++], whole.data[x + 80 * y]);
  // Tiles are 32x40: the section lies in tile (0, 1) only.
  const rowsBytes = h.naxes[0] * h.naxes[1];
  const tileBytes = grid.tiles.find((t) => t.start[0] === 0 && t.start[1] === 40)!.length;
  assert.equal(src.bytesRead, rowsBytes + tileBytes);
});

test('fpack (cfitsio) round trip: RICE, GZIP_1, GZIP_2 and PLIO decode to the original pixels', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-fpack-'));
  try {
    const original = join(dir, 'img.fits');
    copyFileSync(corpusPath('synthetic/wcs_zea.fits'), original);
    const orig = decompressed('synthetic/wcs_zea.fits');
    const ofits = await openFits(new BufferSource(orig));
    const expected = await readImage(new BufferSource(orig), ofits.hdus[0]);
    for (const flag of ['-r', '-g1', '-g2', '-p']) {
      const out = join(dir, `img${flag}.fits.fz`);
      execFileSync('fpack', [flag, '-O', out, original]);
      const bytes = new Uint8Array(readFileSync(out));
      const fits = await openFits(new BufferSource(bytes));
      const h = fits.hdus.find((x) => x.kind === 'compressed-image')!;
      const img = await readCompressedImage(new BufferSource(bytes), h);
      assert.equal(img.dtype, expected.dtype, flag);
      assert.deepEqual([...img.data], [...expected.data], `fpack ${flag}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('corrupt tiles fail with a typed error naming the tile', async () => {
  const bytes = decompressed('synthetic/rice_single.fits.fz').slice();
  const fits = await openFits(new BufferSource(bytes));
  const h = fits.hdus[1];
  const grid = await tileLayout(new BufferSource(bytes), h);
  const t = grid.tiles[3];
  bytes.fill(0xff, t.offset + 2, t.offset + t.length);
  await assert.rejects(
    readCompressedImage(new BufferSource(bytes), h),
    (e: Error) => e.name === 'FitsError' && /tile 3/.test(e.message),
  );
});
