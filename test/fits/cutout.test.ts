// The pure cutout core: cutouts of corpus and generated images checked pixel for pixel against a full
// read, their WCS against the original's (the same pixel maps to the same sky position), checksums,
// byte accounting, tile-compressed images, cubes by BAND, and forward-only (bzip2) sources.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BufferSource } from '../../src/fits/byte-source.ts';
import { verifyChecksums } from '../../src/fits/checksum.ts';
import { readCompressedImage } from '../../src/fits/compression/tiles.ts';
import {
  CutoutError,
  cutoutFits,
  encodeCutoutHdu,
  parsePixelRanges,
  planCutout,
  readCutout,
  readHduAt,
  walkHdus,
} from '../../src/fits/cutout.ts';
import { openFits } from '../../src/fits/fits-file.ts';
import type { Hdu } from '../../src/fits/hdu.ts';
import { type AxisRange, type ImageData, readImage, readSection } from '../../src/fits/image.ts';
import { spectralAxis } from '../../src/fits/spectral.ts';
import { separation, wcsFromHeader } from '../../src/fits/wcs/wcs.ts';
import { type CardSpec, encodeImageHdu } from '../../src/fits/write.ts';
import { decompressFile } from '../../src/io/compressed.ts';
import { corpusBytes, corpusPath } from '../util/corpus.ts';

async function open(bytes: Uint8Array, name = 'mem') {
  const src = new BufferSource(bytes, name);
  return { src, fits: await openFits(src) };
}

/** The image of a section of the original, decoded as astropy would (compressed or not). */
async function sectionOf(src: BufferSource, hdu: Hdu, ranges: AxisRange[]): Promise<ImageData> {
  return hdu.kind === 'compressed-image'
    ? readCompressedImage(src, hdu, ranges)
    : readSection(src, hdu, ranges);
}

function sameValues(a: ImageData, b: ImageData, what: string) {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  assert.equal(a.dtype, b.dtype, `${what}: dtype`);
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i];
    const y = b.data[i];
    if (typeof x === 'number' && Number.isNaN(x)) assert.ok(Number.isNaN(y as number), `${what}: pixel ${i}`);
    else assert.equal(x, y, `${what}: pixel ${i}`);
  }
}

/** Cuts, re-opens the cutout, and checks values, checksums and the WCS against the original. */
async function checkCutout(
  bytes: Uint8Array,
  hduIndex: number,
  req: Parameters<typeof planCutout>[1],
  what: string,
) {
  const { src, fits } = await open(bytes, what);
  const hdu = fits.hdus[hduIndex];
  const res = await cutoutFits(src, hdu, req);
  const out = await open(res.bytes, `${what} cutout`);
  assert.equal(out.fits.warnings.length, 0, `${what}: ${JSON.stringify(out.fits.warnings)}`);
  const cut = out.fits.hdus[0];
  const sums = await verifyChecksums(out.src, cut);
  assert.equal(sums.checksum, 'ok', `${what}: CHECKSUM`);
  assert.equal(sums.datasum, 'ok', `${what}: DATASUM`);
  const plan = res.plans[0];
  sameValues(await readImage(out.src, cut), await sectionOf(src, hdu, plan.ranges), what);
  const h0 = hdu.imageHeader ?? hdu.header;
  const w0 = wcsFromHeader(h0);
  const w1 = wcsFromHeader(cut.header);
  assert.equal(!!w0, !!w1, `${what}: WCS kept`);
  if (w0 && w1) {
    const n = cut.naxes;
    for (const f of [
      [0, 0],
      [1, 1],
      [0.5, 0.5],
      [0.25, 0.8],
    ]) {
      const p1 = n.map((len, i) => 1 + (len - 1) * (f[i] ?? 0.5));
      const p0 = p1.map((v, i) => v + plan.ranges[i].start);
      const a = w0.pixToWorld(p0)!;
      const b = w1.pixToWorld(p1)!;
      assert.ok(separation(a[0], a[1], b[0], b[1]) < 1e-9, `${what}: pixel ${p1} → ${b} vs ${a}`);
    }
  }
  return { plan, cut, out, hdu, src, res };
}

const SCALE = 1 / 3600;
function wcsCards(size: number, ra: number, dec: number, rot = 0.2): CardSpec[] {
  return [
    ['CTYPE1', 'RA---TAN'],
    ['CTYPE2', 'DEC--TAN'],
    ['CRPIX1', size / 2 + 0.5],
    ['CRPIX2', size / 2 + 0.5],
    ['CRVAL1', ra],
    ['CRVAL2', dec],
    ['CD1_1', -SCALE * Math.cos(rot)],
    ['CD1_2', SCALE * Math.sin(rot)],
    ['CD2_1', SCALE * Math.sin(rot)],
    ['CD2_2', SCALE * Math.cos(rot)],
    ['RADESYS', 'ICRS'],
  ];
}

function generated(size: number, extra: CardSpec[] = []): Uint8Array {
  const data = new Int16Array(size * size);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 65536) - 32768;
  return encodeImageHdu(
    data,
    [size, size],
    [
      ['BSCALE', 1],
      ['BZERO', 32768, 'unsigned 16-bit'],
      ['OBJECT', 'test field'],
      ...wcsCards(size, 150.1, 2.2),
      ['A_ORDER', 2],
      ...extra,
    ],
  );
}

test('pixel cutouts of a generated uint16 image: exact stored values, BZERO kept, WCS shifted', async () => {
  const bytes = generated(200);
  const { plan, cut } = await checkCutout(
    bytes,
    0,
    {
      pixels: [
        [11, 60],
        [21, 30],
      ],
    },
    'gen',
  );
  assert.equal(plan.section, '[11:60,21:30]');
  assert.deepEqual(cut.naxes, [50, 10]);
  assert.equal(cut.bitpix, 16, 'same BITPIX: the stored integers are copied');
  assert.equal(cut.header.number('BZERO'), 32768);
  assert.equal(cut.header.number('CRPIX1'), 100.5 - 10);
  assert.equal(cut.header.number('CRPIX2'), 100.5 - 20);
  // CONTINUE long strings and HIERARCH cards are copied as they were written.
  const ch = corpusBytes('synthetic/continue_hierarch.fits');
  const { cut: c2, hdu: h2 } = await checkCutout(ch, 0, { pixels: [[2, 2]] }, 'continue_hierarch');
  for (const k of ['LONGSTR', 'LONGSQ', 'ESO DET CHIP1 NAME', 'ESO OBS ID', 'UNDEF'])
    assert.deepEqual(c2.header.card(k)?.raw, h2.header.card(k)?.raw, k);
  assert.ok(cut.header.commentary('HISTORY').join('').includes('[11:60,21:30]'));
  // Pixel ranges past the edge are clipped; fully outside is a typed error.
  const { plan: clipped } = await checkCutout(bytes, 0, { pixels: [[190, 500]] }, 'gen clipped');
  assert.equal(clipped.section, '[190:200,1:200]');
  const { fits } = await open(bytes);
  assert.throws(
    () => planCutout(fits.hdus[0], { pixels: [[201, 300]] }),
    (e: unknown) => e instanceof CutoutError && e.code === 'no-overlap',
  );
  assert.throws(
    () => planCutout(fits.hdus[0], { pixels: [[5, 2]] }),
    (e: unknown) => e instanceof CutoutError && e.code === 'invalid',
  );
  assert.deepEqual(parsePixelRanges('[1:10,*,3:4]'), [[1, 10], undefined, [3, 4]]);
});

test('a sky circle selects the pixel box of the circle; its centre maps to the requested position', async () => {
  const bytes = generated(300);
  const { fits } = await open(bytes);
  const w = wcsFromHeader(fits.hdus[0].header)!;
  const [ra, dec] = w.pixToWorld([80, 210])!;
  const radius = 10 / 3600; // 10 pixels
  const { plan, cut } = await checkCutout(
    bytes,
    0,
    { region: { shape: 'circle', ra, dec, radius } },
    'circle',
  );
  const [nx, ny] = cut.naxes;
  assert.ok(nx >= 20 && nx <= 22 && ny >= 20 && ny <= 22, `box ${nx}x${ny}`);
  const wc = wcsFromHeader(cut.header)!;
  const centre = wc.worldToPix(ra, dec)!;
  assert.ok(Math.abs(centre[0] - (nx + 1) / 2) <= 1 && Math.abs(centre[1] - (ny + 1) / 2) <= 1, `${centre}`);
  assert.ok(plan.ranges[0].start >= 68 && plan.ranges[0].stop <= 92);
  // A circle at the image's edge is clipped; a circle elsewhere on the sky does not overlap.
  const [ra2, dec2] = w.pixToWorld([1, 150])!;
  const edge = planCutout(fits.hdus[0], { region: { shape: 'circle', ra: ra2, dec: dec2, radius } });
  assert.equal(edge.ranges[0].start, 0);
  assert.ok(edge.ranges[0].stop <= 12);
  assert.throws(
    () => planCutout(fits.hdus[0], { region: { shape: 'circle', ra: ra + 180, dec: -dec, radius } }),
    (e: unknown) => e instanceof CutoutError && e.code === 'no-overlap',
  );
  // A circle larger than the image keeps the whole image; so do a polygon and a range around it.
  const all = planCutout(fits.hdus[0], { region: { shape: 'circle', ra, dec, radius: 1 } });
  assert.equal(all.section, '[1:300,1:300]');
  const poly = planCutout(fits.hdus[0], {
    region: {
      shape: 'polygon',
      vertices: [
        [ra - 0.005, dec - 0.005],
        [ra + 0.005, dec - 0.005],
        [ra, dec + 0.005],
      ],
    },
  });
  assert.ok(poly.ranges[0].stop - poly.ranges[0].start < 60);
  const range = planCutout(fits.hdus[0], {
    region: { shape: 'range', ra: [0, 360], dec: [dec - 0.001, dec + 0.001] },
  });
  // A strip of constant declination across an image rotated by 0.2 rad: ~300·tan(0.2) + 7 rows.
  const rows = range.ranges[1].stop - range.ranges[1].start;
  assert.ok(rows >= 62 && rows <= 72, range.section);
  const noWcs = encodeImageHdu(new Int16Array(100), [10, 10]);
  const plain = await open(noWcs);
  assert.throws(
    () => planCutout(plain.fits.hdus[0], { region: { shape: 'circle', ra, dec, radius } }),
    (e: unknown) => e instanceof CutoutError && e.code === 'no-wcs',
  );
});

test('corpus WCS images (SIP, TPV, ZEA, CAR with an alternate WCS, AIT galactic): values and WCS preserved', async () => {
  for (const rel of [
    'synthetic/wcs_sip.fits',
    'synthetic/wcs_tpv.fits',
    'synthetic/wcs_zea.fits',
    'synthetic/wcs_car_alt.fits',
    'synthetic/wcs_ait_galactic.fits',
  ]) {
    const bytes = corpusBytes(rel);
    const { fits } = await open(bytes, rel);
    const h = fits.hdus[0].header;
    const w = wcsFromHeader(h)!;
    const [lon, lat] = w.pixToWorld([25, 12])!;
    // Regions are ICRS; for the galactic image the circle is given in its own frame (no conversion).
    const { cut, plan } = await checkCutout(
      bytes,
      0,
      {
        region: {
          shape: 'circle',
          ra: lon,
          dec: lat,
          radius: 4 * Math.abs(h.number('CDELT2') ?? h.number('CD2_2') ?? 0.001),
        },
      },
      rel,
    );
    assert.ok(cut.naxes[0] < 40 && cut.naxes[1] < 30, `${rel}: ${plan.section}`);
    for (const c of h.cards) {
      if (/^(A|B|AP|BP)_\d_\d$|^PV\d_\d+$/.test(c.keyword))
        assert.equal(cut.header.get(c.keyword), c.value, `${rel}: ${c.keyword} kept`);
    }
    if (h.has('CRPIX1A'))
      assert.equal(
        cut.header.number('CRPIX1A'),
        h.number('CRPIX1A')! - plan.ranges[0].start,
        'alternate WCS shifted',
      );
    const wa = wcsFromHeader(h, { alt: 'A' });
    if (wa) {
      const wb = wcsFromHeader(cut.header, { alt: 'A' })!;
      const a = wa.pixToWorld([plan.ranges[0].start + 2, plan.ranges[1].start + 3])!;
      const b = wb.pixToWorld([2, 3])!;
      assert.ok(separation(a[0], a[1], b[0], b[1]) < 1e-9, 'alternate WCS maps the same');
    }
  }
});

test('every integer and float image type of a MEF cuts losslessly with its BITPIX and scaling', async () => {
  const bytes = corpusBytes('synthetic/bitpix_mef.fits');
  const { fits } = await open(bytes);
  let n = 0;
  for (const hdu of fits.hdus) {
    if (hdu.naxes.length < 2 || hdu.naxes.some((x) => x === 0)) continue;
    const pixels = hdu.naxes.map((len) => (len > 2 ? ([2, len - 1] as const) : ([1, len] as const)));
    const { cut } = await checkCutout(bytes, hdu.index, { pixels }, `bitpix_mef HDU ${hdu.index}`);
    assert.equal(cut.bitpix, hdu.bitpix);
    for (const k of ['BSCALE', 'BZERO', 'BLANK']) assert.equal(cut.header.get(k), hdu.header.get(k), k);
    n++;
  }
  assert.ok(n >= 10, `${n} HDUs`);
});

test('tile-compressed images: only the tiles the box touches are read; integers stay integers', async () => {
  const bytes = corpusBytes('synthetic/compressed_all.fits');
  const { fits } = await open(bytes);
  for (const hdu of fits.hdus) {
    if (hdu.kind !== 'compressed-image' || hdu.extname === 'HCOMP16') continue;
    const shape =
      (hdu.imageHeader!.int('NAXIS') ?? 0) === 3
        ? [
            [2, 5],
            [3, 4],
            [2, 9],
          ]
        : [
            [11, 30],
            [5, 9],
          ];
    const { cut } = await checkCutout(
      bytes,
      hdu.index,
      { pixels: shape as [number, number][] },
      `compressed ${hdu.extname}`,
    );
    const zbitpix = hdu.header.int('ZBITPIX')!;
    assert.equal(cut.bitpix, zbitpix, `${hdu.extname}: BITPIX`);
    for (const k of cut.header.keywords)
      assert.ok(!/^Z(CMPTYPE|BITPIX|NAXIS|TILE|QUANTIZ|DITHER0)/.test(k), `${hdu.extname}: ${k} left`);
    assert.notEqual(cut.header.get('EXTNAME'), 'COMPRESSED_IMAGE');
  }
  // Rows 5..9 of a row-tiled image: five tiles of the table, not the whole heap.
  const rice = corpusBytes('synthetic/rice_single.fits.fz');
  const { fits: rf } = await open(rice);
  const hdu = rf.hdus[1];
  const src = new BufferSource(rice, 'rice');
  const plan = planCutout(hdu, {
    pixels: [
      [1, 80],
      [5, 9],
    ],
  });
  src.bytesRead = 0;
  const data = await readCutout(src, plan);
  const table = hdu.header.int('NAXIS1')! * hdu.header.int('NAXIS2')!;
  assert.ok(src.bytesRead < table + (hdu.dataSize - table) / 4, `read ${src.bytesRead} of ${hdu.dataSize}`);
  assert.equal(data.bytes.length, 80 * 5 * 2);
  encodeCutoutHdu(plan, data);
});

test('a cube: BAND selects the planes whose wavelengths meet the interval; PIXEL_3 too', async () => {
  const rel = 'synthetic/cube_spectral.fits';
  const bytes = corpusBytes(rel);
  const { fits } = await open(bytes);
  const hdu = fits.hdus[0];
  const axis = spectralAxis(hdu.header)!;
  const [wl0, wl1] = axis.wavelength!;
  const per = (wl1 - wl0) / hdu.naxes[axis.axis];
  const band = [wl0 + 5.2 * per, wl0 + 8.7 * per] as const;
  const { cut, plan } = await checkCutout(bytes, 0, { band }, 'cube band');
  const planes = cut.naxes[axis.axis];
  assert.ok(planes >= 3 && planes <= 5, `${planes} planes (${plan.section})`);
  const got = spectralAxis(cut.header)!.wavelength!;
  assert.ok(
    got[0] <= band[0] + per && got[1] >= band[1] - per && got[0] < band[1] && got[1] > band[0],
    `${got}`,
  );
  const { cut: c3 } = await checkCutout(bytes, 0, { pixels: [undefined, undefined, [3, 4]] }, 'cube PIXEL_3');
  assert.equal(c3.naxes[2], 2);
  assert.throws(
    () => planCutout(hdu, { band: [1e3, 2e3] }),
    (e: unknown) => e instanceof CutoutError && e.code === 'no-overlap',
  );
  const flat = await open(generated(20));
  assert.throws(
    () => planCutout(flat.fits.hdus[0], { band: [1e-7, 2e-7] }),
    (e: unknown) => e instanceof CutoutError && e.code === 'no-spectral-axis',
  );
});

test('a small cutout of a large image reads about its own size', async () => {
  const size = 2048;
  const data = new Int16Array(size * size);
  const bytes = encodeImageHdu(data, [size, size], wcsCards(size, 10, 10));
  const src = new BufferSource(bytes, 'big');
  const hdu = await readHduAt(src, 0, 0);
  src.bytesRead = 0;
  src.reads = 0;
  const res = await cutoutFits(src, hdu, {
    pixels: [
      [1001, 1100],
      [1001, 1100],
    ],
  });
  assert.equal(res.pixelBytes, 100 * 100 * 2);
  assert.equal(src.bytesRead, 100 * 100 * 2, 'exactly the rows of the box');
  assert.equal(src.reads, 100);
  // Coalescing nearby rows trades bytes for requests.
  src.bytesRead = 0;
  src.reads = 0;
  await readCutout(
    src,
    planCutout(hdu, {
      pixels: [
        [1001, 1100],
        [1001, 1100],
      ],
    }),
    { coalesceGap: 8192 },
  );
  assert.equal(src.reads, 1);
  assert.equal(src.bytesRead, 99 * size * 2 + 200);
});

test('a forward-only bzip2 stream: walk, cut, stop — same bytes as the plain file', async () => {
  const plain = corpusBytes('synthetic/cube_spectral.fits');
  const { src, fits } = await open(plain);
  const want = (
    await cutoutFits(
      src,
      fits.hdus[0],
      {
        pixels: [
          [2, 9],
          [4, 12],
          [5, 6],
        ],
      },
      { name: 'x' },
    )
  ).bytes;
  const stream = decompressFile(corpusPath('synthetic/cube_spectral.fits.bz2'), 'bzip2');
  try {
    let got: Uint8Array | undefined;
    for await (const hdu of walkHdus(stream)) {
      got = (
        await cutoutFits(
          stream,
          hdu,
          {
            pixels: [
              [2, 9],
              [4, 12],
              [5, 6],
            ],
          },
          { name: 'x' },
        )
      ).bytes;
      break;
    }
    assert.deepEqual(got, want);
  } finally {
    await stream.close();
  }
  assert.ok(readFileSync(corpusPath('synthetic/cube_spectral.fits.bz2')).length > 0);
});
