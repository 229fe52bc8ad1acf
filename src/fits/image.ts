import { type ByteRange, type ByteSource, readRanges } from './byte-source.ts';
import { FitsError, located } from './errors.ts';
import { type Hdu, logicalHeader } from './hdu.ts';
import type { Header } from './header.ts';

export type Pixels =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

export interface ImageData {
  /** NAXIS1…NAXISn (fastest axis first); data is in FITS order, so index = i1 + N1·(i2 + N2·…). */
  shape: number[];
  bitpix: number;
  /** numpy's name for the element type astropy would give: int16, uint16, float32… */
  dtype: string;
  data: Pixels;
}

export interface Scaling {
  bitpix: number;
  bscale: number;
  bzero: number;
  blank?: number | bigint;
}

export function scalingOf(header: Header): Scaling {
  const bitpix = header.int('ZBITPIX') ?? header.int('BITPIX') ?? 8;
  const s: Scaling = { bitpix, bscale: header.number('BSCALE') ?? 1, bzero: header.number('BZERO') ?? 0 };
  const blank = header.get('BLANK');
  if (typeof blank === 'number' || typeof blank === 'bigint') s.blank = blank;
  return s;
}

/**
 * The element type astropy gives a scaled image: the unsigned conventions (BZERO 2^(n-1) with
 * BSCALE 1) and signed bytes (BZERO -128) stay integers; other scaling gives float32 for 8/16-bit
 * data and float64 beyond; an integer image with BLANK becomes floats with NaN for blank pixels.
 */
export function outputType(s: Scaling): string {
  const { bitpix, bscale, bzero } = s;
  if (bitpix < 0) return bitpix === -32 ? 'float32' : 'float64';
  // BLANK pixels can only be shown as NaN, so astropy scales such an image to floats.
  if (s.blank !== undefined) return bitpix <= 16 ? 'float32' : 'float64';
  if (bscale === 1 && bzero === 0) return { 8: 'uint8', 16: 'int16', 32: 'int32', 64: 'int64' }[bitpix]!;
  if (bscale === 1) {
    if (bitpix === 8 && bzero === -128) return 'int8';
    if (bitpix === 16 && bzero === 32768) return 'uint16';
    if (bitpix === 32 && bzero === 2147483648) return 'uint32';
    if (bitpix === 64 && bzero === 2 ** 63) return 'uint64';
  }
  return bitpix <= 16 ? 'float32' : 'float64';
}

const ARRAYS = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;

export function allocate(dtype: string, n: number): Pixels {
  return new ARRAYS[dtype as keyof typeof ARRAYS](n);
}

/**
 * Decodes `count` big-endian pixels from `bytes` into `out` at `at`, applying BSCALE/BZERO/BLANK
 * as astropy does. Pure: shared by whole images, sections and tile-compressed images.
 */
export function decodePixels(
  bytes: Uint8Array,
  s: Scaling,
  out: Pixels,
  at = 0,
  count?: number,
  stride = 1,
): void {
  const bpp = Math.abs(s.bitpix) / 8;
  const n = count ?? Math.floor(bytes.length / bpp / stride);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const step = bpp * stride;
  const { bitpix, bscale, bzero } = s;
  const dtype = outputType(s);
  const float = dtype.startsWith('float');
  const blank = s.blank === undefined ? undefined : Number(s.blank);
  if (bitpix === 64) {
    const o = out as BigInt64Array | BigUint64Array | Float64Array;
    for (let i = 0, p = 0; i < n; i++, p += step) {
      const v = dv.getBigInt64(p);
      if (dtype === 'int64') (o as BigInt64Array)[at + i] = v;
      else if (dtype === 'uint64') (o as BigUint64Array)[at + i] = BigInt.asUintN(64, v ^ (1n << 63n));
      else
        (o as Float64Array)[at + i] =
          s.blank !== undefined && v === BigInt(s.blank) ? Number.NaN : Number(v) * bscale + bzero;
    }
    return;
  }
  const get =
    bitpix === 8
      ? (p: number) => dv.getUint8(p)
      : bitpix === 16
        ? (p: number) => dv.getInt16(p)
        : bitpix === 32
          ? (p: number) => dv.getInt32(p)
          : bitpix === -32
            ? (p: number) => dv.getFloat32(p)
            : (p: number) => dv.getFloat64(p);
  if (!float || (bitpix < 0 && bscale === 1 && bzero === 0)) {
    const o = out as Exclude<Pixels, BigInt64Array | BigUint64Array>;
    if (bscale === 1 && bzero === 0) for (let i = 0, p = 0; i < n; i++, p += step) o[at + i] = get(p);
    else for (let i = 0, p = 0; i < n; i++, p += step) o[at + i] = get(p) + bzero;
    return;
  }
  const o = out as Float32Array | Float64Array;
  if (dtype === 'float32') {
    // astropy scales in place in float32 (numpy casts the scalars), so round each step like it.
    const bs = Math.fround(bscale);
    const bz = Math.fround(bzero);
    for (let i = 0, p = 0; i < n; i++, p += step) {
      const v = get(p);
      o[at + i] = bitpix > 0 && v === blank ? Number.NaN : Math.fround(Math.fround(v * bs) + bz);
    }
    return;
  }
  for (let i = 0, p = 0; i < n; i++, p += step) {
    const v = get(p);
    o[at + i] = bitpix > 0 && v === blank ? Number.NaN : v * bscale + bzero;
  }
}

export interface ReadOptions {
  /** Refuse images whose pixels need more memory than this (a header can claim 10^15 pixels). */
  maxBytes?: number;
}

const DEFAULT_MAX = 2 ** 31;

function imageShape(hdu: Hdu): number[] {
  const h = logicalHeader(hdu);
  const n = h.int('NAXIS') ?? 0;
  return Array.from({ length: n }, (_, i) => h.int(`NAXIS${i + 1}`) ?? 0);
}

function checkImage(hdu: Hdu, what: string): void {
  if (hdu.kind !== 'primary' && hdu.kind !== 'image') {
    throw new FitsError('unsupported', `${what}: HDU ${hdu.index} is a ${hdu.kind}, not an image`, {
      hdu: hdu.index,
    });
  }
}

/** Every pixel of an uncompressed image HDU, scaled as astropy scales it. */
export async function readImage(source: ByteSource, hdu: Hdu, opts: ReadOptions = {}): Promise<ImageData> {
  checkImage(hdu, 'readImage');
  const shape = imageShape(hdu);
  return readSection(
    source,
    hdu,
    shape.map((n) => ({ start: 0, stop: n })),
    opts,
  );
}

export interface AxisRange {
  /** 0-based first index. */
  start: number;
  /** 0-based, exclusive. */
  stop: number;
  step?: number;
}

/**
 * A sub-rectangle or sub-cube (with steps) of an image, reading only the byte runs it covers:
 * one run per row of the first axis (the whole span when stepping along it), rows merged when
 * they touch, all fetched through readRanges so HTTP sources coalesce and parallelise them.
 */
export function readSection(
  source: ByteSource,
  hdu: Hdu,
  ranges: readonly AxisRange[],
  opts: ReadOptions = {},
): Promise<ImageData> {
  return located({ file: source.name, hdu: hdu.index }, () => sectionOf(source, hdu, ranges, opts));
}

async function sectionOf(
  source: ByteSource,
  hdu: Hdu,
  ranges: readonly AxisRange[],
  opts: ReadOptions,
): Promise<ImageData> {
  checkImage(hdu, 'readSection');
  const shape = imageShape(hdu);
  const s = scalingOf(hdu.header);
  const bpp = Math.abs(s.bitpix) / 8;
  if (ranges.length !== shape.length) {
    throw new FitsError('range', `section has ${ranges.length} axes, the image ${shape.length}`, {
      hdu: hdu.index,
    });
  }
  const counts = ranges.map((r, i) => {
    const step = r.step ?? 1;
    if (!(Number.isInteger(r.start) && Number.isInteger(r.stop) && Number.isInteger(step) && step > 0)) {
      throw new FitsError('range', `axis ${i + 1}: start/stop/step must be integers, step > 0`, {
        hdu: hdu.index,
      });
    }
    if (r.start < 0 || r.stop > shape[i] || r.start > r.stop) {
      throw new FitsError('range', `axis ${i + 1}: [${r.start}, ${r.stop}) is outside 0..${shape[i]}`, {
        hdu: hdu.index,
      });
    }
    return Math.ceil((r.stop - r.start) / step);
  });
  const total = counts.reduce((a, b) => a * b, shape.length ? 1 : 0);
  const dtype = outputType(s);
  const outBytes =
    total * (dtype.endsWith('64') ? 8 : dtype.endsWith('32') ? 4 : dtype.endsWith('16') ? 2 : 1);
  if (outBytes > (opts.maxBytes ?? DEFAULT_MAX)) {
    throw new FitsError('limit', `section of ${total} pixels (${outBytes} bytes) exceeds the limit`, {
      hdu: hdu.index,
    });
  }
  const out = allocate(dtype, total);
  if (total === 0) return { shape: counts, bitpix: s.bitpix, dtype, data: out };

  // Byte runs: one per combination of indices on axes 2..n.
  const r0 = ranges[0];
  const step0 = r0.step ?? 1;
  const rowBytes = ((counts[0] - 1) * step0 + 1) * bpp;
  const strides: number[] = [];
  let acc = 1;
  for (const n of shape) {
    strides.push(acc);
    acc *= n;
  }
  const runs: ByteRange[] = [];
  const idx = ranges.map((r) => r.start);
  const rows = total / counts[0];
  for (let k = 0; k < rows; k++) {
    let pix = 0;
    for (let a = 0; a < shape.length; a++) pix += idx[a] * strides[a];
    runs.push({ offset: hdu.dataOffset + pix * bpp, length: rowBytes });
    for (let a = 1; a < shape.length; a++) {
      idx[a] += ranges[a].step ?? 1;
      if (idx[a] < ranges[a].stop) break;
      idx[a] = ranges[a].start;
    }
  }
  const merged = mergeRuns(runs);
  const chunks = await readRanges(
    source,
    merged.map((m) => m.range),
  );
  let o = 0;
  for (const [j, m] of merged.entries()) {
    const bytes = chunks[j];
    if (bytes.length < m.range.length) {
      throw new FitsError('truncated', `image data ends before byte ${m.range.offset + m.range.length}`, {
        hdu: hdu.index,
        offset: m.range.offset,
      });
    }
    for (const rel of m.rows) {
      decodePixels(bytes.subarray(rel), s, out, o, counts[0], step0);
      o += counts[0];
    }
  }
  return { shape: counts, bitpix: s.bitpix, dtype, data: out };
}

/** Merges touching runs; remembers where each original row starts inside its merged run. */
export function mergeRuns(runs: readonly ByteRange[]): { range: ByteRange; rows: number[] }[] {
  const out: { range: ByteRange; rows: number[] }[] = [];
  for (const r of runs) {
    const last = out[out.length - 1];
    if (last && last.range.offset + last.range.length === r.offset) {
      last.rows.push(last.range.length);
      last.range.length += r.length;
    } else out.push({ range: { ...r }, rows: [0] });
  }
  return out;
}
