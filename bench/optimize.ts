// (f) Range reads of compressed originals: one small cutout from a whole-file .gz/.bz2 FITS
// (a) through the optimized tile-compressed copy, (b) through decompression checkpoints of the
// original (bzip2 blocks; deflate checkpoints as zran keeps them, src/fits/compression/inflate-index.ts),
// (c) by decompressing from the start — bytes read, CPU time, and what each costs in storage.
//   npx tsx bench/optimize.ts            (MOSAIC=4096 CUBE=256x256x200 by default)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, deflateRawSync, gzipSync, inflateRawSync } from 'node:zlib';
import { BufferSource } from '../src/fits/byte-source.ts';
import {
  buildGzipIndex,
  encodeGzipIndex,
  type GzipIndex,
  inflateFromCheckpoint,
  planGzipRead,
  zlibStreamAt,
} from '../src/fits/compression/inflate-index.ts';
import { readCompressedImage } from '../src/fits/compression/tiles.ts';
import { openFits } from '../src/fits/fits-file.ts';
import { encodeHeader } from '../src/fits/write.ts';
import { writeOptimized } from '../src/ingest/optimize.ts';
import { decompressFile } from '../src/io/compressed.ts';
import { FileSource } from '../src/io/file-source.ts';

const dir = mkdtempSync(join(tmpdir(), 'fitslake-bench-opt-'));
const M = Number(process.env.MOSAIC ?? 4096);
const [CX, CY, CZ] = (process.env.CUBE ?? '256x256x200').split('x').map(Number);
const CUT = 100;
const SPAN = Number(process.env.SPAN ?? 1 << 20); // deflate checkpoint spacing (uncompressed bytes)

function image(bitpix: 16 | -32, shape: number[]): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const size = Math.abs(bitpix) / 8;
  const header = encodeHeader([
    ['SIMPLE', true],
    ['BITPIX', bitpix],
    ['NAXIS', shape.length],
    ...shape.map((s, i): [string, number] => [`NAXIS${i + 1}`, s]),
    ...(bitpix === 16 ? [['BZERO', 32768] as [string, number]] : []),
  ]);
  const data = new Uint8Array(Math.ceil((n * size) / 2880) * 2880);
  const dv = new DataView(data.buffer);
  // Sky-like: smooth background + sources + Gaussian-ish noise (about 4 noisy low bits).
  let s = 12345;
  const rnd = () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 2 ** 32;
  };
  for (let i = 0; i < n; i++) {
    const x = i % shape[0];
    const y = Math.floor(i / shape[0]) % shape[1];
    const noise = (rnd() + rnd() + rnd() - 1.5) * 8;
    const v =
      1000 + 200 * Math.sin(x / 300) * Math.cos(y / 250) + (x % 500 < 3 && y % 400 < 3 ? 5000 : 0) + noise;
    if (bitpix === 16) dv.setInt16(2 * i, Math.round(v) - 32768);
    else dv.setFloat32(4 * i, v / 1000);
  }
  return Buffer.concat([header, data]);
}

const ms = (t: bigint) => Number(t) / 1e6;
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** (c): decompress the stream until the cutout's last byte; compressed bytes consumed. */
async function fromStart(path: string, container: 'gzip' | 'bzip2', first: number, last: number) {
  const t0 = process.hrtime.bigint();
  const c0 = cpu();
  const src = decompressFile(path, container);
  await src.read(first, 1);
  const tail = await src.read(last - 1, 1);
  if (tail.length !== 1) throw new Error('short');
  await src.close();
  // bytesRead of the read stream is not exposed: the compressed bytes before `last` ≈ proportional.
  const total = statSync(path).size;
  const plain = Number(process.env.__plain ?? 0);
  return {
    wallMs: ms(process.hrtime.bigint() - t0),
    cpuMs: cpu() - c0,
    bytes: Math.round((total * last) / plain),
  };
}

// ---- bzip2 block checkpoints ------------------------------------------------------------------
interface Block {
  bit: number; // bit offset of the block magic
  end: number; // bit offset of the next magic (block or end of stream)
  crc: number;
  start: number; // uncompressed offset
  size: number;
}

/** Bit offsets of every block magic (0x314159265359) and of the end-of-stream magic (0x177245385090). */
function scanBlocks(b: Uint8Array): { blocks: number[]; eos: number } {
  const blocks: number[] = [];
  let hi = 0;
  let lo = 0;
  let eos = -1;
  for (let i = 4; i < b.length; i++) {
    const byte = b[i];
    for (let k = 7; k >= 0; k--) {
      hi = ((hi << 1) | (lo >>> 31)) & 0xffff;
      lo = ((lo << 1) | ((byte >> k) & 1)) >>> 0;
      if (hi === 0x3141 && lo === 0x59265359) blocks.push(i * 8 + (7 - k) - 47);
      else if (hi === 0x1772 && lo === 0x45385090) eos = i * 8 + (7 - k) - 47;
    }
  }
  return { blocks, eos };
}

function bitsAt(b: Uint8Array, bit: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 2 + ((b[(bit + i) >> 3] >> (7 - ((bit + i) & 7))) & 1);
  return v;
}

/** A standalone single-block .bz2: header, the block's bits, end-of-stream magic + CRC (= block CRC). */
function standalone(
  b: Uint8Array,
  blk: { bit: number; end: number; crc: number },
  level: number,
): Uint8Array {
  const nbits = blk.end - blk.bit;
  const out = new Uint8Array(4 + Math.ceil((nbits + 80) / 8) + 1);
  out.set([0x42, 0x5a, 0x68, 0x30 + level]);
  let o = 32;
  const put = (v: number) => {
    if (v) out[o >> 3] |= 0x80 >> (o & 7);
    o++;
  };
  for (let i = 0; i < nbits; i++) put((b[(blk.bit + i) >> 3] >> (7 - ((blk.bit + i) & 7))) & 1);
  for (const [v, n] of [
    [0x1772, 16],
    [0x45385090, 32],
    [blk.crc, 32],
  ])
    for (let i = n - 1; i >= 0; i--) put(Math.floor(v / 2 ** i) % 2);
  return out.subarray(0, Math.ceil(o / 8));
}

function bunzip(bytes: Uint8Array): Uint8Array {
  const r = spawnSync('bzip2', ['-dc'], { input: bytes, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`bzip2: ${r.stderr}`);
  return r.stdout;
}

function buildIndex(b: Uint8Array): { blocks: Block[]; bytes: number } {
  const { blocks: bits, eos } = scanBlocks(b);
  const level = b[3] - 0x30;
  const blocks: Block[] = [];
  let start = 0;
  for (const [i, bit] of bits.entries()) {
    const blk = { bit, end: bits[i + 1] ?? eos, crc: bitsAt(b, bit + 48, 32), start, size: 0 };
    blk.size = bunzip(standalone(b, blk, level)).length;
    start += blk.size;
    blocks.push(blk);
  }
  // Stored with the cloud index: per block its bit offset and uncompressed start (2 × 8 bytes).
  return { blocks, bytes: blocks.length * 16 };
}

function viaCheckpoints(b: Uint8Array, blocks: Block[], first: number, last: number) {
  const t0 = process.hrtime.bigint();
  const c0 = cpu();
  const level = b[3] - 0x30;
  let bytes = 0;
  let out = 0;
  for (const blk of blocks) {
    if (blk.start + blk.size <= first || blk.start >= last) continue;
    bytes += Math.ceil((blk.end - blk.bit) / 8);
    out += bunzip(standalone(b, blk, level)).length;
  }
  return { wallMs: ms(process.hrtime.bigint() - t0), cpuMs: cpu() - c0, bytes, decompressed: out };
}

// ---- deflate checkpoints (zran) -----------------------------------------------------------------
/** One range request from the nearest checkpoint, inflated by our inflate (browser) or by zlib. */
async function viaDeflateCheckpoints(
  path: string,
  index: GzipIndex,
  first: number,
  last: number,
  engine: 'js' | 'zlib',
  expect: Uint8Array,
) {
  const t0 = process.hrtime.bigint();
  const c0 = cpu();
  const src = await FileSource.open(path);
  const plan = planGzipRead(index, first, last);
  const cp = index.checkpoints[plan.checkpoint];
  const bytes = await src.read(plan.from, plan.to - plan.from);
  let out: Uint8Array;
  if (engine === 'js') out = inflateFromCheckpoint(cp, bytes, plan.from, first, last);
  else {
    const z = inflateRawSync(zlibStreamAt(bytes, plan.from, cp.bit), {
      dictionary: cp.window,
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    out = z.subarray(first - cp.out, last - cp.out);
  }
  const wallMs = ms(process.hrtime.bigint() - t0);
  const cpuMs = cpu() - c0;
  const read = src.bytesRead;
  await src.close();
  if (!Buffer.from(out).equals(Buffer.from(expect)))
    throw new Error(`deflate checkpoint read (${engine}) differs`);
  return { wallMs, cpuMs, bytes: read, decompressed: last - cp.out };
}

// ---- run ----------------------------------------------------------------------------------------
const cases = [
  { name: `int16 mosaic ${M}x${M}`, bitpix: 16 as const, shape: [M, M] },
  { name: `float32 cube ${CX}x${CY}x${CZ}`, bitpix: -32 as const, shape: [CX, CY, CZ] },
];
const rows: string[] = [];
const row = (...c: (string | number)[]) => rows.push(`| ${c.join(' | ')} |`);
row('file', 'container', 'size MB', 'path', 'bytes read', 'wall ms', 'storage extra');
row('---', '---', '---', '---', '---', '---', '---');
for (const c of cases) {
  const plain = image(c.bitpix, c.shape);
  process.env.__plain = String(plain.length);
  const size = Math.abs(c.bitpix) / 8;
  // The cutout: 100×100 at the image centre (of the middle plane for the cube).
  const [nx, ny] = c.shape;
  const plane = c.shape[2] ? Math.floor(c.shape[2] / 2) : 0;
  const x0 = Math.floor((nx - CUT) / 2);
  const y0 = Math.floor((ny - CUT) / 2);
  const hdr = 2880;
  const first = hdr + ((plane * ny + y0) * nx + x0) * size;
  const last = hdr + ((plane * ny + y0 + CUT - 1) * nx + x0 + CUT) * size;
  const section = [
    { start: x0, stop: x0 + CUT },
    { start: y0, stop: y0 + CUT },
    ...(c.shape[2] ? [{ start: plane, stop: plane + 1 }] : []),
  ];
  for (const container of ['gzip', 'bzip2'] as const) {
    const path = join(dir, `f.fits.${container === 'gzip' ? 'gz' : 'bz2'}`);
    let t = process.hrtime.bigint();
    const comp =
      container === 'gzip'
        ? gzipSync(plain, { level: 6 })
        : spawnSync('bzip2', ['-c', '-9'], { input: plain, maxBuffer: 1 << 30 }).stdout;
    writeFileSync(path, comp);
    const compMs = ms(process.hrtime.bigint() - t);
    const mb = (n: number) => (n / 1e6).toFixed(1);
    const label = `${c.name} (${mb(plain.length)} MB)`;
    // (c) from the start
    const c3 = await fromStart(path, container, first, last);
    row(
      label,
      container,
      mb(comp.length),
      '(c) decompress from start',
      `${mb(c3.bytes)} MB`,
      c3.wallMs.toFixed(0),
      '0',
    );
    // (a) optimized copy (one-off cost: write + the verification pass is about the same again)
    const out = join(dir, 'copy.fits.fz');
    t = process.hrtime.bigint();
    await writeOptimized(decompressFile(path, container), out);
    const writeMs = ms(process.hrtime.bigint() - t);
    const copy = await FileSource.open(out);
    const fits = await openFits(copy);
    const hdu = fits.hdus[1];
    const b0 = copy.bytesRead;
    t = process.hrtime.bigint();
    const img = await readCompressedImage(copy, hdu, section);
    const aMs = ms(process.hrtime.bigint() - t);
    const aBytes = copy.bytesRead - b0;
    const aWarm: number[] = [];
    for (let k = 0; k < 4; k++) {
      t = process.hrtime.bigint();
      await readCompressedImage(copy, hdu, section);
      aWarm.push(ms(process.hrtime.bigint() - t));
    }
    const copySize = statSync(out).size;
    await copy.close();
    row(
      label,
      container,
      mb(comp.length),
      `(a) optimized copy (${hdu.header.string('ZCMPTYPE')}, written in ${(writeMs / 1000).toFixed(1)} s)`,
      `${(aBytes / 1e3).toFixed(0)} kB (+ ${(hdu.dataOffset / 1e3).toFixed(0)} kB header/table once)`,
      `${aMs.toFixed(0)} (warm ${aWarm.sort((x, y) => x - y)[1].toFixed(0)})`,
      `${mb(copySize)} MB (${((100 * copySize) / comp.length).toFixed(0)}% of the original)`,
    );
    if (img.data.length !== CUT * CUT) throw new Error('cutout size');
    // (b) checkpoints
    if (container === 'bzip2') {
      t = process.hrtime.bigint();
      const { blocks, bytes } = buildIndex(comp);
      const idxMs = ms(process.hrtime.bigint() - t);
      const b = viaCheckpoints(comp, blocks, first, last);
      row(
        label,
        container,
        mb(comp.length),
        `(b) block checkpoints (${blocks.length} blocks, index built in ${(idxMs / 1000).toFixed(1)} s)`,
        `${mb(b.bytes)} MB → ${mb(b.decompressed)} MB decompressed`,
        b.wallMs.toFixed(0),
        `${bytes} B index`,
      );
    } else {
      t = process.hrtime.bigint();
      const index = buildGzipIndex(comp, SPAN);
      const idxMs = ms(process.hrtime.bigint() - t);
      const packed = encodeGzipIndex(index, (w) => deflateRawSync(w)).length;
      const rawSize = encodeGzipIndex(index).length;
      const expect = plain.subarray(first, last);
      for (const engine of ['js', 'zlib'] as const) {
        const runs = [];
        for (let k = 0; k < 5; k++)
          runs.push(await viaDeflateCheckpoints(path, index, first, last, engine, expect));
        const warm = runs
          .slice(1)
          .map((r) => r.wallMs)
          .sort((a, b) => a - b)[1];
        row(
          label,
          container,
          mb(comp.length),
          `(b) deflate checkpoints, ${engine === 'js' ? 'own inflate (browser-capable)' : 'zlib, window as dictionary'} (${index.checkpoints.length} checkpoints every ${SPAN >> 10} KiB, index built in ${(idxMs / 1000).toFixed(1)} s)`,
          `${mb(runs[0].bytes)} MB → ${mb(runs[0].decompressed)} MB decompressed`,
          `${runs[0].wallMs.toFixed(0)} (warm ${warm.toFixed(0)}, CPU ${runs[0].cpuMs.toFixed(0)})`,
          `${(packed / 1e3).toFixed(0)} kB index, windows deflated (${(rawSize / 1e3).toFixed(0)} kB raw; ${((100 * packed) / comp.length).toFixed(1)}% of the original)`,
        );
      }
    }
    void compMs;
    rmSync(out, { force: true });
  }
}
console.log(rows.join('\n'));
rmSync(dir, { recursive: true, force: true });
void readFileSync;
void BufferSource;
