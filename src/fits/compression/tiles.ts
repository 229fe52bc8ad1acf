import { gunzipSync } from 'fflate';
import { type ByteSource, readRanges } from '../byte-source.ts';
import { FitsError, located } from '../errors.ts';
import type { Hdu } from '../hdu.ts';
import type { Header } from '../header.ts';
import { type AxisRange, allocate, type ImageData, outputType, type Pixels, scalingOf } from '../image.ts';
import { tableLayout } from '../table.ts';
import { NULL_VALUE, unquantize } from './dither.ts';
import { plioDecode } from './plio.ts';
import { riceDecode } from './rice.ts';

/** What we decode: every method of the convention except HCOMPRESS_1 (refused with a clear error). */
export const SUPPORTED_METHODS = ['RICE_1', 'RICE_ONE', 'GZIP_1', 'GZIP_2', 'PLIO_1', 'NOCOMPRESS'] as const;

export interface Tile {
  index: number;
  /** 0-based first pixel of the tile on each axis (NAXIS1 first) and its size (clipped at edges). */
  start: number[];
  size: number[];
  /** Absolute byte range of the tile's compressed bytes in the heap (length 0: see gzipData/raw). */
  offset: number;
  length: number;
  /** Tiles that could not be quantized are stored gzipped as raw values (GZIP_COMPRESSED_DATA). */
  gzipOffset?: number;
  gzipLength?: number;
  zscale?: number;
  zzero?: number;
  zblank?: number;
}

export interface TileGrid {
  method: string;
  zbitpix: number;
  shape: number[];
  tileShape: number[];
  quantize?: 'NO_DITHER' | 'SUBTRACTIVE_DITHER_1' | 'SUBTRACTIVE_DITHER_2';
  zdither0: number;
  params: Record<string, number>;
  tiles: Tile[];
}

/**
 * The tiles of a compressed image with the byte range of each in the heap: what the cloud index
 * records so a client fetches exactly the tiles a cutout touches. Reads the table rows only.
 */
export function tileLayout(source: ByteSource, hdu: Hdu): Promise<TileGrid> {
  return located({ file: source.name, hdu: hdu.index }, () => layoutOf(source, hdu));
}

async function layoutOf(source: ByteSource, hdu: Hdu): Promise<TileGrid> {
  const h = hdu.header;
  const where = { hdu: hdu.index };
  if (hdu.kind !== 'compressed-image')
    throw new FitsError('unsupported', `HDU ${hdu.index} is not a compressed image`, where);
  const method = (h.string('ZCMPTYPE') ?? '').trim().toUpperCase();
  const zbitpix = h.int('ZBITPIX') ?? 0;
  const znaxis = h.int('ZNAXIS') ?? 0;
  if (![8, 16, 32, 64, -32, -64].includes(zbitpix)) {
    throw new FitsError('bad-keyword', `ZBITPIX must be one of 8, 16, 32, 64, -32, -64`, {
      ...where,
      card: 'ZBITPIX',
    });
  }
  if (znaxis < 0 || znaxis > 999)
    throw new FitsError('bad-keyword', `ZNAXIS = ${znaxis}`, { ...where, card: 'ZNAXIS' });
  const shape = Array.from({ length: znaxis }, (_, i) => h.int(`ZNAXIS${i + 1}`) ?? -1);
  const bad = shape.findIndex((n) => n < 0);
  if (bad >= 0)
    throw new FitsError('bad-keyword', `ZNAXIS${bad + 1} must be a non-negative integer`, {
      ...where,
      card: `ZNAXIS${bad + 1}`,
    });
  const tileShape = shape.map((n, i) => Math.max(1, h.int(`ZTILE${i + 1}`) ?? (i === 0 ? n : 1)));
  const params: Record<string, number> = {};
  for (let i = 1; i <= 20; i++) {
    const name = h.string(`ZNAME${i}`);
    const val = h.number(`ZVAL${i}`);
    if (name && val !== undefined) params[name.trim().toUpperCase()] = val;
  }
  const q = (h.string('ZQUANTIZ') ?? '').trim().toUpperCase();
  const t = tableLayout(hdu);
  const col = (name: string) => t.columns.find((c) => c.name.toUpperCase() === name);
  const cData = col('COMPRESSED_DATA');
  const cGzip = col('GZIP_COMPRESSED_DATA');
  const cScale = col('ZSCALE');
  const cZero = col('ZZERO');
  const cBlank = col('ZBLANK');
  if (!cData) throw new FitsError('bad-keyword', 'compressed image has no COMPRESSED_DATA column', where);
  const tilePixels = tileShape.reduce((a, b) => a * b, 1);
  if (tilePixels > 2 ** 28)
    throw new FitsError('limit', `tiles of ${tilePixels} pixels are beyond the 2^28 limit`, where);
  const counts = shape.map((n, i) => Math.ceil(n / tileShape[i]));
  const ntiles = counts.reduce((a, b) => a * b, 1);
  if (ntiles !== t.nrows) {
    throw new FitsError(
      'bad-keyword',
      `${ntiles} tiles from ZNAXISn/ZTILEn but ${t.nrows} table rows`,
      where,
    );
  }
  const rows = await source.read(hdu.dataOffset, t.rowBytes * t.nrows);
  if (rows.length < t.rowBytes * t.nrows)
    throw new FitsError('truncated', 'compressed image table ends early', where);
  const dv = new DataView(rows.buffer, rows.byteOffset, rows.byteLength);
  const descriptor = (p: number, q64: boolean): [number, number] =>
    q64 ? [Number(dv.getBigInt64(p)), Number(dv.getBigInt64(p + 8))] : [dv.getInt32(p), dv.getInt32(p + 4)];
  const heapEnd = hdu.dataOffset + hdu.dataSize;
  const elem = (c: typeof cData) => {
    const code = c.binary!.vla?.code ?? 'B';
    return code === 'I' ? 2 : code === 'J' ? 4 : code === 'K' || code === 'D' ? 8 : code === 'E' ? 4 : 1;
  };
  const tiles: Tile[] = [];
  for (let k = 0; k < ntiles; k++) {
    const start: number[] = [];
    const size: number[] = [];
    let rest = k;
    for (let a = 0; a < znaxis; a++) {
      const i = rest % counts[a];
      rest = Math.floor(rest / counts[a]);
      start.push(i * tileShape[a]);
      size.push(Math.min(tileShape[a], shape[a] - i * tileShape[a]));
    }
    const base = k * t.rowBytes;
    const [n, off] = descriptor(base + cData.offset, cData.binary!.code === 'Q');
    const tile: Tile = { index: k, start, size, offset: t.heapOffset + off, length: n * elem(cData) };
    if (n < 0 || off < 0 || tile.offset + tile.length > heapEnd) {
      throw new FitsError(
        'compression',
        `tile ${k}: descriptor (${n}, ${off}) points outside the heap`,
        where,
      );
    }
    if (cGzip) {
      const [gn, goff] = descriptor(base + cGzip.offset, cGzip.binary!.code === 'Q');
      if (gn > 0) {
        tile.gzipOffset = t.heapOffset + goff;
        tile.gzipLength = gn;
        if (tile.gzipOffset + gn > heapEnd)
          throw new FitsError('compression', `tile ${k}: gzip data outside the heap`, where);
      }
    }
    if (cScale) tile.zscale = dv.getFloat64(base + cScale.offset);
    if (cZero) tile.zzero = dv.getFloat64(base + cZero.offset);
    if (cBlank) tile.zblank = dv.getInt32(base + cBlank.offset);
    tiles.push(tile);
  }
  const grid: TileGrid = {
    method,
    zbitpix,
    shape,
    tileShape,
    zdither0: h.int('ZDITHER0') ?? 1,
    params,
    tiles,
  };
  if (q === 'SUBTRACTIVE_DITHER_1' || q === 'SUBTRACTIVE_DITHER_2' || q === 'NO_DITHER') grid.quantize = q;
  else if (cScale && zbitpix < 0) grid.quantize = 'NO_DITHER';
  return grid;
}

function inflate(bytes: Uint8Array, expected: number, where: { hdu: number; tile: number }): Uint8Array {
  try {
    // The output buffer is sized to the tile: a stream that inflates beyond it is refused (no bombs).
    const out = gunzipSync(bytes, { out: new Uint8Array(expected) });
    if (out.length < expected) throw new Error(`inflated to ${out.length} of ${expected} bytes`);
    return out;
  } catch (err) {
    throw new FitsError('compression', `tile ${where.tile}: corrupt gzip data (${(err as Error).message})`, {
      hdu: where.hdu,
    });
  }
}

function unshuffle(bytes: Uint8Array, size: number): Uint8Array {
  const n = bytes.length / size;
  const out = new Uint8Array(bytes.length);
  for (let b = 0; b < size; b++) for (let i = 0; i < n; i++) out[i * size + b] = bytes[b * n + i];
  return out;
}

function bigEndianInts(bytes: Uint8Array, size: number, n: number): Int32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] =
      size === 1
        ? dv.getUint8(i)
        : size === 2
          ? dv.getInt16(i * 2)
          : size === 4
            ? dv.getInt32(i * 4)
            : Number(dv.getBigInt64(i * 8));
  }
  return out;
}

function bigEndianFloats(bytes: Uint8Array, size: number, n: number): Float64Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = size === 4 ? dv.getFloat32(i * 4) : dv.getFloat64(i * 8);
  return out;
}

/** Decodes one tile into integer values (or floats for lossless float tiles). */
export function decodeTile(
  grid: TileGrid,
  tile: Tile,
  bytes: Uint8Array,
  gzipBytes: Uint8Array | undefined,
  hdu: number,
): Int32Array | Float64Array {
  const n = tile.size.reduce((a, b) => a * b, 1);
  const where = { hdu, tile: tile.index };
  const floatImage = grid.zbitpix < 0;
  if (gzipBytes) {
    // A tile that could not be quantized: its raw floats, gzipped.
    const size = Math.abs(grid.zbitpix) / 8;
    return bigEndianFloats(inflate(gzipBytes, n * size, where), size, n);
  }
  const quantized = grid.quantize !== undefined && floatImage && tile.zscale !== undefined;
  const intSize = quantized ? 4 : Math.abs(grid.zbitpix) / 8;
  switch (grid.method) {
    case 'RICE_1':
    case 'RICE_ONE': {
      const bytepix = (grid.params.BYTEPIX ?? (quantized ? 4 : Math.min(4, intSize))) as 1 | 2 | 4;
      try {
        return riceDecode(bytes, n, bytepix, grid.params.BLOCKSIZE ?? 32);
      } catch (err) {
        throw new FitsError('compression', `tile ${tile.index}: ${(err as Error).message}`, { hdu });
      }
    }
    case 'GZIP_1':
    case 'GZIP_2': {
      let raw = inflate(bytes, n * intSize, where);
      if (grid.method === 'GZIP_2') raw = unshuffle(raw, intSize);
      return floatImage && !quantized ? bigEndianFloats(raw, intSize, n) : bigEndianInts(raw, intSize, n);
    }
    case 'PLIO_1': {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const words = new Int16Array(bytes.length >> 1);
      for (let i = 0; i < words.length; i++) words[i] = dv.getInt16(i * 2);
      return plioDecode(words, n);
    }
    case 'NOCOMPRESS':
      if (bytes.length < n * intSize)
        throw new FitsError('compression', `tile ${tile.index} is short`, { hdu });
      return floatImage && !quantized ? bigEndianFloats(bytes, intSize, n) : bigEndianInts(bytes, intSize, n);
    case 'HCOMPRESS_1':
      throw new FitsError(
        'unsupported',
        'HCOMPRESS_1 tiles are not decoded yet (RICE_1, GZIP_1/2, PLIO_1 are)',
        { hdu },
      );
    default:
      throw new FitsError('unsupported', `unknown tile compression ${JSON.stringify(grid.method)}`, {
        hdu,
        card: 'ZCMPTYPE',
      });
  }
}

/**
 * A tile-compressed image, whole or a section: only the tiles the section touches are fetched
 * (one readRanges call, so HTTP sources coalesce them) and decoded.
 */
export function readCompressedImage(
  source: ByteSource,
  hdu: Hdu,
  section?: readonly AxisRange[],
  opts: { maxBytes?: number } = {},
): Promise<ImageData> {
  return located({ file: source.name, hdu: hdu.index }, () => compressedOf(source, hdu, section, opts));
}

async function compressedOf(
  source: ByteSource,
  hdu: Hdu,
  section: readonly AxisRange[] | undefined,
  opts: { maxBytes?: number },
): Promise<ImageData> {
  const grid = await tileLayout(source, hdu);
  const logical: Header = hdu.imageHeader ?? hdu.header;
  const scaling = scalingOf(logical);
  const zblank = hdu.header.int('ZBLANK');
  if (zblank !== undefined && scaling.blank === undefined && grid.zbitpix > 0) scaling.blank = zblank;
  const ranges: readonly AxisRange[] = section ?? grid.shape.map((n) => ({ start: 0, stop: n }));
  if (ranges.length !== grid.shape.length) {
    throw new FitsError('range', `section has ${ranges.length} axes, the image ${grid.shape.length}`, {
      hdu: hdu.index,
    });
  }
  for (const [i, r] of ranges.entries()) {
    if (r.start < 0 || r.stop > grid.shape[i] || r.start > r.stop || (r.step ?? 1) < 1) {
      throw new FitsError('range', `axis ${i + 1}: [${r.start}, ${r.stop}) is outside 0..${grid.shape[i]}`, {
        hdu: hdu.index,
      });
    }
  }
  const counts = ranges.map((r) => Math.ceil((r.stop - r.start) / (r.step ?? 1)));
  const total = counts.reduce((a, b) => a * b, 1);
  const dtype = grid.quantize ? (grid.zbitpix === -32 ? 'float32' : 'float64') : outputType(scaling);
  const outBytes =
    total * (dtype.endsWith('64') ? 8 : dtype.endsWith('32') ? 4 : dtype.endsWith('16') ? 2 : 1);
  if (outBytes > (opts.maxBytes ?? 2 ** 31)) {
    throw new FitsError('limit', `image of ${total} pixels (${outBytes} bytes) exceeds the limit`, {
      hdu: hdu.index,
    });
  }
  const out = allocate(dtype, total);
  const touched = grid.tiles.filter((t) =>
    t.start.every(
      (s, a) => s < ranges[a].stop && s + t.size[a] > ranges[a].start && hitsStep(s, t.size[a], ranges[a]),
    ),
  );
  const wanted = touched.flatMap((t) => [
    { offset: t.offset, length: t.length },
    ...(t.gzipLength ? [{ offset: t.gzipOffset!, length: t.gzipLength }] : []),
  ]);
  const chunks = await readRanges(source, wanted);
  let c = 0;
  for (const t of touched) {
    const bytes = chunks[c++];
    const gz = t.gzipLength ? chunks[c++] : undefined;
    let values: Int32Array | Float64Array = decodeTile(grid, t, bytes, gz, hdu.index);
    if (grid.quantize && values instanceof Int32Array && t.zscale !== undefined) {
      const f = new Float64Array(values.length);
      const blank = t.zblank ?? hdu.header.int('ZBLANK') ?? NULL_VALUE;
      unquantize(values, f, t.zscale, t.zzero ?? 0, grid.quantize, t.index, grid.zdither0, blank);
      values = f;
    }
    place(values, t, ranges, counts, out, scaling, dtype, !!grid.quantize);
  }
  return { shape: counts, bitpix: grid.zbitpix, dtype, data: out };
}

function hitsStep(s: number, size: number, r: AxisRange): boolean {
  const step = r.step ?? 1;
  if (step === 1) return true;
  const first = Math.max(s, r.start);
  const k = Math.ceil((first - r.start) / step);
  return r.start + k * step < Math.min(s + size, r.stop);
}

/** Copies a decoded tile's pixels that fall in the section into the output, scaling as astropy does. */
function place(
  values: Int32Array | Float64Array,
  t: Tile,
  ranges: readonly AxisRange[],
  counts: number[],
  out: Pixels,
  s: ReturnType<typeof scalingOf>,
  dtype: string,
  quantized: boolean,
): void {
  const nd = t.size.length;
  const idx = new Array<number>(nd).fill(0);
  const n = values.length;
  const f32 = dtype === 'float32';
  const intOut = !dtype.startsWith('float');
  const blank = s.blank === undefined ? undefined : Number(s.blank);
  for (let i = 0; i < n; i++) {
    let o = 0;
    let mul = 1;
    let inside = true;
    for (let a = 0; a < nd; a++) {
      const p = t.start[a] + idx[a];
      const r = ranges[a];
      const step = r.step ?? 1;
      if (p < r.start || p >= r.stop || (p - r.start) % step) {
        inside = false;
        break;
      }
      o += ((p - r.start) / step) * mul;
      mul *= counts[a];
    }
    if (inside) {
      const v = values[i];
      if (quantized || values instanceof Float64Array) out[o] = f32 ? Math.fround(v) : v;
      else if (dtype === 'int64' || dtype === 'uint64')
        (out as BigInt64Array)[o] = BigInt(v) + BigInt(s.bzero);
      else if (intOut) (out as Int32Array)[o] = s.bscale === 1 && s.bzero === 0 ? v : v + s.bzero;
      else if (v === blank) out[o] = Number.NaN;
      else
        out[o] = f32
          ? Math.fround(Math.fround(v * Math.fround(s.bscale)) + Math.fround(s.bzero))
          : v * s.bscale + s.bzero;
    }
    for (let a = 0; a < nd; a++) {
      if (++idx[a] < t.size[a]) break;
      idx[a] = 0;
    }
  }
}
