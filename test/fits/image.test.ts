import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferSource } from '../../src/fits/byte-source.ts';
import { openFits } from '../../src/fits/fits-file.ts';
import { readImage, readSection } from '../../src/fits/image.ts';
import { corpusHdus } from '../util/corpus-hdus.ts';
import { decompressed } from '../util/decompress.ts';
import { compareStats } from '../util/stats.ts';

test('every uncompressed corpus image decodes as astropy decodes it (dtype, values, sums, NaNs)', async () => {
  let checked = 0;
  const dtypes = new Set<string>();
  for await (const { rel, index: i, th, hdu: h, fits, bytes } of corpusHdus()) {
    if (!th.data_stats || (h.kind !== 'primary' && h.kind !== 'image') || th.hdrLoc === undefined) continue;
    if (fits.trailingBytes < 0 && i === fits.hdus.length - 1) continue; // truncated data
    const img = await readImage(new BufferSource(bytes, rel), h);
    assert.deepEqual([...img.shape].reverse(), th.data_stats.shape, `${rel} HDU ${i} shape`);
    compareStats(`${rel} HDU ${i}`, img.data, img.dtype, th.data_stats);
    dtypes.add(img.dtype);
    checked++;
  }
  assert.ok(checked >= 60, `only ${checked} images`);
  for (const d of [
    'uint8',
    'int8',
    'int16',
    'uint16',
    'int32',
    'uint32',
    'int64',
    'uint64',
    'float32',
    'float64',
  ]) {
    assert.ok(dtypes.has(d), `no ${d} image in the corpus check`);
  }
});

test('sections with steps equal the same pixels of the full image, reading only their rows', async () => {
  const rel = 'synthetic/cube_spectral.fits';
  const bytes = decompressed(rel);
  const fits = await openFits(new BufferSource(bytes));
  const h = fits.hdus[0];
  const full = await readImage(new BufferSource(bytes), h);
  const [n1, n2, n3] = full.shape;
  const ranges = [
    { start: 3, stop: n1 - 2, step: 2 },
    { start: 1, stop: n2 - 1, step: 3 },
    { start: 2, stop: n3, step: 1 },
  ];
  const src = new BufferSource(bytes);
  const sec = await readSection(src, h, ranges);
  let k = 0;
  for (let z = ranges[2].start; z < ranges[2].stop; z += ranges[2].step)
    for (let y = ranges[1].start; y < ranges[1].stop; y += ranges[1].step)
      for (let x = ranges[0].start; x < ranges[0].stop; x += ranges[0].step) {
        assert.equal(sec.data[k++], full.data[x + n1 * (y + n2 * z)], `pixel ${x},${y},${z}`);
      }
  assert.equal(k, sec.data.length);
  // One run per (y, z) row covering x 3..n1-3, nothing else.
  const bpp = Math.abs(h.bitpix) / 8;
  const rows = sec.shape[1] * sec.shape[2];
  assert.equal(src.bytesRead, rows * ((sec.shape[0] - 1) * 2 + 1) * bpp);
});

test('a full-width section is one merged read', async () => {
  const bytes = decompressed('fits/arange.fits');
  const fits = await openFits(new BufferSource(bytes));
  const h = fits.hdus[0];
  const src = new BufferSource(bytes);
  const [n1, n2, n3] = h.naxes;
  const sec = await readSection(src, h, [
    { start: 0, stop: n1 },
    { start: 0, stop: n2 },
    { start: 1, stop: n3 },
  ]);
  assert.equal(src.reads, 1);
  assert.equal(src.bytesRead, n1 * n2 * (n3 - 1) * 4);
  assert.equal(sec.data[0], n1 * n2);
});

test('bad sections and absurd images fail with a typed error', async () => {
  const bytes = decompressed('fits/arange.fits');
  const fits = await openFits(new BufferSource(bytes));
  const h = fits.hdus[0];
  await assert.rejects(readSection(new BufferSource(bytes), h, [{ start: 0, stop: 1 }]), /FitsError|axes/);
  await assert.rejects(
    readSection(new BufferSource(bytes), h, [
      { start: 0, stop: 99 },
      { start: 0, stop: 1 },
      { start: 0, stop: 1 },
    ]),
    (e: Error) => e.name === 'FitsError' && /outside/.test(e.message),
  );
  await assert.rejects(readImage(new BufferSource(bytes), h, { maxBytes: 100 }), /exceeds the limit/);
});
