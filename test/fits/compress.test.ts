import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BufferSource } from '../../src/fits/byte-source.ts';
import { verifyChecksums } from '../../src/fits/checksum.ts';
import { emptyPrimaryHdu, encodeCompressedImageHdu, HeapSum } from '../../src/fits/compress.ts';
import { riceDecode } from '../../src/fits/compression/rice.ts';
import { riceEncode } from '../../src/fits/compression/rice-encode.ts';
import { openFits } from '../../src/fits/fits-file.ts';
import { readCompressedImage } from '../../src/fits/compression/tiles.ts';
import { onesSum } from '../../src/fits/checksum.ts';
import type { ImageArray } from '../../src/fits/write.ts';

const dir = mkdtempSync(join(tmpdir(), 'fitslake-compress-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

const W = 301;
const H = 77;
const n = W * H;
// Smooth signal + noise + extremes, so every Rice block code (zero, split, raw) occurs.
const i16 = new Int16Array(n).map((_, i) => Math.round(800 * Math.sin(i / 40)) + ((i * 7919) % 13));
i16.fill(-5, 1000, 1200);
i16[5] = 32767;
i16[6] = -32768;
i16[7] = 32767;
const u8 = new Uint8Array(n).map((_, i) => (i % 301 < 50 ? 7 : (i * 31) % 256));
const i32 = new Int32Array(n).map((_, i) => (i * 2654435761) | 0);
i32.fill(12345, 500, 900);
i32[10] = 2147483647;
i32[11] = -2147483648;
const f32 = new Float32Array(n).map((_, i) => Math.sin(i) * 1e3);
f32[3] = Number.NaN;
f32[4] = Number.POSITIVE_INFINITY;
f32[8] = -0;
const f64 = new Float64Array(n).map((_, i) => Math.cos(i) / 7);

interface Case {
  name: string;
  data: ImageArray;
  shape: number[];
  cards?: [string, string | number | boolean][];
  tileShape?: number[];
  physical?: (v: number) => number;
}
const cases: Case[] = [
  { name: 'I16', data: i16, shape: [W, H] },
  {
    name: 'U16',
    data: i16,
    shape: [W, H],
    cards: [
      ['BZERO', 32768],
      ['BSCALE', 1],
    ],
    physical: (v) => v + 32768,
  },
  { name: 'U8', data: u8, shape: [W, H] },
  { name: 'I32TILE', data: i32, shape: [W, H], tileShape: [100, 10] },
  { name: 'F32', data: f32, shape: [W, H] },
  { name: 'F64', data: f64, shape: [W, H] },
  { name: 'CUBE16', data: i16.subarray(0, 30 * 20 * 7), shape: [30, 20, 7], tileShape: [30, 20, 1] },
];

function fileOf(): Uint8Array {
  const parts = [emptyPrimaryHdu()];
  for (const c of cases)
    parts.push(
      encodeCompressedImageHdu(c.data, c.shape, [['EXTNAME', c.name], ...(c.cards ?? [])], {
        ...(c.tileShape ? { tileShape: c.tileShape } : {}),
      }),
    );
  return Buffer.concat(parts);
}

const same = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));

test('riceEncode round-trips through riceDecode for every pixel width, wrapping like cfitsio', () => {
  for (const bytepix of [1, 2, 4] as const) {
    const bits = 8 * bytepix;
    const lo = -(2 ** (bits - 1));
    const hi = 2 ** (bits - 1) - 1;
    const values = Int32Array.from({ length: 1000 }, (_, i) =>
      i % 97 === 0 ? hi : i % 89 === 0 ? lo : Math.round(Math.sin(i / 9) * 100),
    );
    values.fill(3, 200, 300);
    const mask = bits === 32 ? (v: number) => v | 0 : (v: number) => (v << (32 - bits)) >> (32 - bits);
    for (const size of [1, 31, 32, 33, 1000]) {
      const v = values.subarray(0, size);
      const back = riceDecode(riceEncode(v, bytepix), size, bytepix);
      for (let i = 0; i < size; i++)
        assert.equal(mask(back[i]), mask(v[i]), `bytepix ${bytepix} n ${size} i ${i}`);
    }
  }
});

test('HeapSum over ragged pieces equals the sum of the whole', () => {
  const bytes = Uint8Array.from({ length: 1001 }, (_, i) => (i * 37) & 255);
  const s = new HeapSum();
  for (const cut of [
    [0, 3],
    [3, 4],
    [4, 10],
    [10, 500],
    [500, 1001],
  ])
    s.add(bytes.subarray(cut[0], cut[1]));
  const padded = new Uint8Array(1004);
  padded.set(bytes);
  assert.equal(s.value(), onesSum(padded));
});

test('our reader decodes our tile-compressed HDUs to the identical pixels, sections too; checksums ok', async () => {
  const bytes = fileOf();
  const src = new BufferSource(bytes);
  const fits = await openFits(src, { mode: 'strict' });
  assert.equal(fits.hdus.length, cases.length + 1);
  for (const [i, c] of cases.entries()) {
    const hdu = fits.hdus[i + 1];
    assert.equal(hdu.kind, 'compressed-image');
    const sums = await verifyChecksums(src, hdu);
    assert.deepEqual([sums.checksum, sums.datasum], ['ok', 'ok'], c.name);
    const img = await readCompressedImage(src, hdu);
    assert.deepEqual(img.shape, c.shape);
    const phys = c.physical ?? ((v: number) => v);
    for (let p = 0; p < c.data.length; p++)
      assert.ok(
        same(Number(img.data[p]), phys(c.data[p])),
        `${c.name} pixel ${p}: ${img.data[p]} vs ${c.data[p]}`,
      );
    // A section: only the tiles it touches are read.
    const ranges = c.shape.map((s) => ({
      start: Math.floor(s / 3),
      stop: Math.floor(s / 3) + Math.max(1, Math.floor(s / 4)),
    }));
    const before = src.bytesRead;
    const sec = await readCompressedImage(src, hdu, ranges);
    assert.ok(src.bytesRead - before < hdu.dataSize / 2, `${c.name}: a section reads less than half the HDU`);
    const at = (x: number[]) =>
      x.reduce((o, v, a) => o + v * c.shape.slice(0, a).reduce((m, s) => m * s, 1), 0);
    const idx = ranges.map((r) => r.start);
    assert.ok(same(Number(sec.data[0]), phys(c.data[at(idx)])), `${c.name} section origin`);
    const last = ranges.map((r) => r.stop - 1);
    assert.ok(same(Number(sec.data[sec.data.length - 1]), phys(c.data[at(last)])), `${c.name} section end`);
  }
});

test('funpack decodes our files to the same pixels as astropy reads; fitsverify finds no problem', () => {
  // The tools come with the test run (scripts/ensure-debian-packages.sh): missing is a failure.
  for (const tool of ['funpack', 'fitsverify', '/usr/bin/python3'])
    assert.ok(has(tool), `${tool} is installed`);
  const fz = join(dir, 'ours.fits.fz');
  const plain = join(dir, 'ours.fits');
  writeFileSync(fz, fileOf());
  const full = spawnSync('fitsverify', [fz], { encoding: 'utf8' }).stdout;
  assert.match(full, /found 0 warning\(s\) and 0 error\(s\)/, full);
  const f = spawnSync('funpack', ['-O', plain, fz], { encoding: 'utf8' });
  assert.equal(f.status, 0, f.stderr);
  // astropy decodes the compressed file (its own decoder) and reads funpack's output: both must
  // equal the pixels we wrote (dumped as raw little-endian arrays).
  const expected = join(dir, 'expected');
  for (const [i, c] of cases.entries())
    writeFileSync(`${expected}${i}.bin`, Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength));
  const py = `
import sys, numpy as np
from astropy.io import fits
a = fits.open(sys.argv[1], disable_image_compression=False)
b = fits.open(sys.argv[2], do_not_scale_image_data=True)
c = fits.open(sys.argv[1], do_not_scale_image_data=True)
for i in range(1, len(b)):
    raw = b[i].data
    exp = np.fromfile(sys.argv[3] + str(i - 1) + '.bin', dtype=raw.dtype.newbyteorder('<')).reshape(raw.shape)
    ok_raw = np.array_equal(raw.astype(exp.dtype), exp, equal_nan=raw.dtype.kind == 'f')
    ok_comp = np.array_equal(np.asarray(c[i].data), raw, equal_nan=raw.dtype.kind == 'f')
    print(b[i].name, raw.dtype, ok_raw, ok_comp)
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py, fz, plain, expected], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, cases.length, r.stdout);
  for (const line of lines) assert.match(line, / True True$/, line);
});

test('Rice sums wrap at the pixel width, so scaled 16-bit and unsigned 8-bit pixels decode right', () => {
  // Neighbours 65535 apart: the encoder's difference wraps to -1; the decoder must wrap back.
  const v16 = Int16Array.from([-32768, 32767, -32768, 0, 32767, -1]);
  assert.deepEqual(Array.from(riceDecode(riceEncode(v16, 2), v16.length, 2)), Array.from(v16));
  const v8 = Uint8Array.from([0, 255, 0, 200, 1, 255]);
  assert.deepEqual(Array.from(riceDecode(riceEncode(v8, 1), v8.length, 1)), Array.from(v8));
});
