import { gzipSync } from 'fflate';
import type { Card } from './card.ts';
import { formatCard } from './card-format.ts';
import { encodeChecksum, onesAdd, onesSum } from './checksum.ts';
import { riceEncode } from './compression/rice-encode.ts';
import { FitsError } from './errors.ts';
import type { Header } from './header.ts';
import type { CardSpec, ImageArray } from './write.ts';

/**
 * Writes tile-compressed images (FITS Standard §10, the convention fpack and cfitsio use): the image
 * is cut into tiles (one row each by default, as fpack does), each tile compressed on its own and
 * stored in the heap of a BINTABLE whose COMPRESSED_DATA column points at it, so a reader fetches
 * only the tiles a section touches. Lossless only: RICE_1 for 8/16/32-bit integers (BSCALE/BZERO/
 * BLANK stay in the header and the stored integers are compressed, as cfitsio does), GZIP_2
 * (byte-shuffled gzip) for floats and 64-bit integers. No NOCOMPRESS: cfitsio keeps uncompressed
 * tiles in an UNCOMPRESSED_DATA column and funpack refuses them in COMPRESSED_DATA — an image not
 * worth compressing is best left a plain image HDU, which is range-readable as it is. Pure: no Node imports; the
 * gzip implementation may be injected (Node's zlib is about twice as fast as fflate).
 *
 * Streaming use: `new TileWriter(...)`, then `encodeTile` for every tile in order (raw big-endian
 * bytes of that tile), keeping the outputs (a file, a heap buffer), then `finish(lengths, heapSum)`
 * for the header and the descriptor table that go before the heap.
 */
export type TileMethod = 'RICE_1' | 'GZIP_2';

export interface CompressOptions {
  /** auto (default): RICE_1 for 8/16/32-bit integers, GZIP_2 for floats and 64-bit integers. */
  method?: TileMethod | 'auto';
  /** ZTILEn, NAXIS1 first (default: one row, [NAXIS1, 1, 1, …]). */
  tileShape?: readonly number[];
  /** Rice block size (BLOCKSIZE, default 32). */
  blockSize?: number;
  /** gzip (RFC 1952) of a tile's shuffled bytes: default fflate at level 6 with mtime 0. */
  gzip?: (raw: Uint8Array) => Uint8Array;
  /** Write CHECKSUM/DATASUM (default true). */
  checksum?: boolean;
}

export interface ImageSpec {
  bitpix: number;
  /** NAXIS1 first. */
  shape: readonly number[];
  /** The image was the primary HDU (ZSIMPLE) rather than an IMAGE extension (ZTENSION). */
  primary: boolean;
  /**
   * The image header's other cards, copied as read (`raw` card images): structural and checksum
   * keywords are left out (DATASUM becomes ZDATASUM, still valid for the same pixels).
   */
  cards?: readonly (Card | CardSpec)[];
}

const BLOCK = 2880;
const ascii = new TextEncoder();

/** Keywords a compressed HDU writes itself, never copied from the image header. */
const STRUCTURAL =
  /^(SIMPLE|XTENSION|BITPIX|NAXIS\d*|EXTEND|PCOUNT|GCOUNT|GROUPS|TFIELDS|THEAP|T(TYPE|FORM|UNIT|DIM|NULL|SCAL|ZERO|DISP)\d+|CHECKSUM|DATASUM|END|Z(IMAGE|TENSION|BITPIX|NAXIS\d*|PCOUNT|GCOUNT|TILE\d+|CMPTYPE|NAME\d+|VAL\d+|QUANTIZ|DITHER0|MASKCMP|SIMPLE|EXTEND|BLOCKED|HECKSUM|DATASUM|BLANK|SCALE|ZERO))$/;

export function defaultGzip(raw: Uint8Array): Uint8Array {
  const out = gzipSync(raw, { level: 6 });
  out[4] = out[5] = out[6] = out[7] = 0; // no mtime: the same pixels give the same bytes
  return out;
}

/** The method `auto` picks for a BITPIX. */
export function autoMethod(bitpix: number): TileMethod {
  return bitpix === 8 || bitpix === 16 || bitpix === 32 ? 'RICE_1' : 'GZIP_2';
}

export class TileWriter {
  readonly method: TileMethod;
  readonly bitpix: number;
  readonly shape: readonly number[];
  readonly tileShape: number[];
  readonly tileCount: number;
  /** Bytes per pixel as stored in the original image. */
  readonly size: number;
  /** 64-bit descriptors (1QB) when the heap may pass 2^31 bytes. */
  readonly q: boolean;
  private readonly counts: number[];
  private readonly spec: ImageSpec;
  private readonly blockSize: number;
  private readonly gzip: (raw: Uint8Array) => Uint8Array;
  private readonly sums: boolean;
  private maxLength = 0;

  constructor(spec: ImageSpec, opts: CompressOptions = {}) {
    const { bitpix, shape } = spec;
    if (![8, 16, 32, 64, -32, -64].includes(bitpix))
      throw new FitsError('bad-keyword', `BITPIX ${bitpix} cannot be tile-compressed`);
    if (!shape.length || shape.some((n) => !Number.isInteger(n) || n < 1))
      throw new FitsError(
        'bad-size',
        `cannot tile-compress an image of shape ${shape.join('x') || '(none)'}`,
      );
    this.spec = spec;
    this.bitpix = bitpix;
    this.shape = shape;
    this.size = Math.abs(bitpix) / 8;
    const method = !opts.method || opts.method === 'auto' ? autoMethod(bitpix) : opts.method;
    if (method === 'RICE_1' && !(bitpix === 8 || bitpix === 16 || bitpix === 32))
      throw new FitsError(
        'unsupported',
        `RICE_1 compresses 8, 16 and 32-bit integers losslessly, not BITPIX ${bitpix}`,
      );
    this.method = method;
    this.tileShape = shape.map((n, i) => Math.min(n, Math.max(1, opts.tileShape?.[i] ?? (i === 0 ? n : 1))));
    this.counts = shape.map((n, i) => Math.ceil(n / this.tileShape[i]));
    this.tileCount = this.counts.reduce((a, b) => a * b, 1);
    this.blockSize = opts.blockSize ?? 32;
    this.gzip = opts.gzip ?? defaultGzip;
    this.sums = opts.checksum ?? true;
    const rawBytes = shape.reduce((a, b) => a * b, 1) * this.size;
    // Compressed tiles can exceed raw ones slightly (Rice block codes, gzip headers).
    this.q = rawBytes * 1.05 + this.tileCount * 64 >= 2 ** 31;
  }

  /** 0-based start and size (clipped at the edges) of tile k on each axis, NAXIS1 first. */
  tile(k: number): { start: number[]; size: number[]; pixels: number } {
    const start: number[] = [];
    const size: number[] = [];
    let rest = k;
    let pixels = 1;
    for (let a = 0; a < this.shape.length; a++) {
      const i = rest % this.counts[a];
      rest = Math.floor(rest / this.counts[a]);
      start.push(i * this.tileShape[a]);
      size.push(Math.min(this.tileShape[a], this.shape[a] - i * this.tileShape[a]));
      pixels *= size[a];
    }
    return { start, size, pixels };
  }

  /** True when every tile is whole rows (tile k's pixels follow tile k-1's in the image's byte order). */
  get contiguous(): boolean {
    return this.tileShape[0] === this.shape[0] && this.tileShape.slice(2).every((t) => t === 1);
  }

  /** Compresses one tile given its pixels as stored: big-endian, FITS order within the tile. */
  encodeTile(raw: Uint8Array): Uint8Array {
    if (raw.length % this.size) throw new RangeError(`tile of ${raw.length} bytes is not whole pixels`);
    let out: Uint8Array;
    if (this.method === 'GZIP_2') out = this.gzip(shuffle(raw, this.size));
    else {
      const n = raw.length / this.size;
      const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const values = new Int32Array(n);
      if (this.size === 1) values.set(raw);
      else if (this.size === 2) for (let i = 0; i < n; i++) values[i] = dv.getInt16(2 * i);
      else for (let i = 0; i < n; i++) values[i] = dv.getInt32(4 * i);
      out = riceEncode(values, this.size as 1 | 2 | 4, this.blockSize);
    }
    if (out.length > this.maxLength) this.maxLength = out.length;
    return out;
  }

  /** Bytes of one descriptor-table row. */
  get rowBytes(): number {
    return this.q ? 16 : 8;
  }

  /**
   * The header and descriptor table that precede the heap, given each tile's compressed length
   * (in order) and the ones'-complement sum of the heap bytes (`HeapSum` computes it as they are
   * written). The heap follows the table directly; `padding` zero bytes end the HDU.
   */
  finish(
    lengths: readonly number[],
    heapSum: number,
  ): { header: Uint8Array; table: Uint8Array; padding: number } {
    if (lengths.length !== this.tileCount)
      throw new RangeError(`${lengths.length} tile lengths for ${this.tileCount} tiles`);
    const table = new Uint8Array(this.tileCount * this.rowBytes);
    const dv = new DataView(table.buffer);
    let offset = 0;
    for (const [k, len] of lengths.entries()) {
      if (this.q) {
        dv.setBigInt64(16 * k, BigInt(len));
        dv.setBigInt64(16 * k + 8, BigInt(offset));
      } else {
        dv.setInt32(8 * k, len);
        dv.setInt32(8 * k + 4, offset);
      }
      offset += len;
    }
    const heap = offset;
    if (!this.q && heap >= 2 ** 31)
      throw new FitsError('limit', 'heap beyond 2^31 bytes with 32-bit descriptors');
    const dataSize = table.length + heap;
    const padding = Math.ceil(dataSize / BLOCK) * BLOCK - dataSize;
    const datasum = onesAdd(onesSum(table), heapSum);
    const header = this.header(heap, datasum);
    return { header, table, padding };
  }

  private header(heap: number, datasum: number): Uint8Array {
    const { spec, method } = this;
    const lines: string[] = [];
    const put = (k: string, v: CardSpec[1], c = '') => lines.push(formatCard(k, v, c));
    put('XTENSION', 'BINTABLE', 'binary table extension');
    put('BITPIX', 8, '8-bit bytes');
    put('NAXIS', 2, '2-dimensional binary table');
    put('NAXIS1', this.rowBytes, 'width of table in bytes');
    put('NAXIS2', this.tileCount, 'number of rows in table');
    put('PCOUNT', heap, 'size of special data area');
    put('GCOUNT', 1, 'one data group (required keyword)');
    put('TFIELDS', 1, 'number of fields in each row');
    put('TTYPE1', 'COMPRESSED_DATA', 'label for field   1');
    put(
      'TFORM1',
      `1${this.q ? 'Q' : 'P'}B(${this.maxLength})`,
      'data format of field: variable length array',
    );
    put('ZIMAGE', true, 'extension contains compressed image');
    put('ZTILE1', this.tileShape[0], 'size of tiles to be compressed');
    for (let i = 1; i < this.tileShape.length; i++)
      put(`ZTILE${i + 1}`, this.tileShape[i], 'size of tiles to be compressed');
    put('ZCMPTYPE', method, 'compression algorithm');
    if (method === 'RICE_1') {
      put('ZNAME1', 'BLOCKSIZE', 'compression block size');
      put('ZVAL1', this.blockSize, 'pixels per block');
      put('ZNAME2', 'BYTEPIX', 'bytes per pixel (1, 2, 4, or 8)');
      put('ZVAL2', this.size, 'bytes per pixel (1, 2, 4, or 8)');
    }
    if (this.bitpix < 0) put('ZQUANTIZ', 'NONE', 'Lossless compression without quantization');
    if (spec.primary) put('ZSIMPLE', true, 'file does conform to FITS standard');
    else put('ZTENSION', 'IMAGE', 'Image extension');
    put('ZBITPIX', this.bitpix, 'data type of original image');
    put('ZNAXIS', this.shape.length, 'dimension of original image');
    for (const [i, n] of this.shape.entries()) put(`ZNAXIS${i + 1}`, n, 'length of original image axis');
    if (spec.primary) put('ZEXTEND', true, 'FITS dataset may contain extensions');
    else {
      put('ZPCOUNT', 0, 'number of parameters');
      put('ZGCOUNT', 1, 'number of groups');
    }
    let named = false;
    for (const c of spec.cards ?? []) {
      const key = Array.isArray(c) ? c[0] : (c as Card).keyword;
      if (key === 'EXTNAME') named = true;
      if (key === 'DATASUM' && !Array.isArray(c)) {
        put('ZDATASUM', String((c as Card).value ?? ''), 'data checksum of the original image');
        continue;
      }
      if (STRUCTURAL.test(key)) continue;
      if (Array.isArray(c)) {
        if ((c[0] === 'COMMENT' || c[0] === 'HISTORY') && c.length === 2)
          lines.push(`${c[0].padEnd(8)}${c[1]}`.slice(0, 80).padEnd(80));
        else lines.push(formatCard(c[0], c[1], (c as [string, CardSpec[1], string?])[2] ?? ''));
      } else {
        const raw = (c as Card).raw;
        // A card as read (several images for a CONTINUE'd long string), each 80 columns.
        for (let p = 0; p < raw.length; p += 80) lines.push(raw.slice(p, p + 80).padEnd(80));
      }
    }
    if (!named) put('EXTNAME', 'COMPRESSED_IMAGE', 'name of this binary table extension');
    let checksumAt = -1;
    if (this.sums) {
      checksumAt = lines.length;
      put('CHECKSUM', '0000000000000000', 'HDU checksum');
      put('DATASUM', String(datasum), 'data unit checksum');
    }
    return headerBytes(lines, checksumAt, datasum);
  }
}

/** Lines + END padded to blocks; with checksumAt, the CHECKSUM card's value filled in (§J). */
function headerBytes(lines: string[], checksumAt: number, datasum: number): Uint8Array {
  let text = lines.join('') + 'END'.padEnd(80);
  text = text.padEnd(Math.ceil(text.length / BLOCK) * BLOCK, ' ');
  const bytes = ascii.encode(text);
  if (checksumAt >= 0) {
    const sum = onesAdd(onesSum(bytes), datasum);
    const value = ascii.encode(encodeChecksum(sum));
    bytes.set(value, checksumAt * 80 + 11);
  }
  return bytes;
}

function shuffle(raw: Uint8Array, size: number): Uint8Array {
  if (size === 1) return raw;
  const n = raw.length / size;
  const out = new Uint8Array(raw.length);
  for (let b = 0; b < size; b++) {
    const base = b * n;
    for (let i = 0; i < n; i++) out[base + i] = raw[i * size + b];
  }
  return out;
}

/**
 * The ones'-complement sum of a byte stream fed in pieces of any length (the heap's tiles are not
 * whole 32-bit words): bytes count at their position modulo 4 from the first byte.
 */
export class HeapSum {
  sum = 0;
  private carry = new Uint8Array(4);
  private pending = 0;

  add(bytes: Uint8Array): void {
    let p = 0;
    if (this.pending) {
      while (this.pending < 4 && p < bytes.length) this.carry[this.pending++] = bytes[p++];
      if (this.pending < 4) return;
      this.sum = onesSum(this.carry, this.sum);
      this.pending = 0;
    }
    const whole = (bytes.length - p) & ~3;
    if (whole) this.sum = onesSum(bytes.subarray(p, p + whole), this.sum);
    p += whole;
    while (p < bytes.length) this.carry[this.pending++] = bytes[p++];
  }

  /** The sum with the last partial word zero-padded (as the HDU's padding makes it). */
  value(): number {
    if (!this.pending) return this.sum;
    const t = new Uint8Array(4);
    t.set(this.carry.subarray(0, this.pending));
    return onesSum(t, this.sum);
  }
}

/** Image data in FITS byte order (unpadded): what a tile's raw bytes are cut from. */
export function imageBytes(data: ImageArray): Uint8Array {
  const size = data.BYTES_PER_ELEMENT;
  const out = new Uint8Array(data.length * size);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (data instanceof Uint8Array) out[i] = v;
    else if (data instanceof Int16Array) dv.setInt16(2 * i, v);
    else if (data instanceof Int32Array) dv.setInt32(4 * i, v);
    else if (data instanceof Float32Array) dv.setFloat32(4 * i, v);
    else dv.setFloat64(8 * i, v);
  }
  return out;
}

/** The raw bytes of tile k cut from the whole image's big-endian bytes. */
export function tileBytes(w: TileWriter, image: Uint8Array, k: number): Uint8Array {
  const { start, size, pixels } = w.tile(k);
  const out = new Uint8Array(pixels * w.size);
  const nd = w.shape.length;
  const idx = new Array<number>(nd).fill(0);
  const rowLen = size[0] * w.size;
  let o = 0;
  // Copy runs along NAXIS1, stepping the other axes as an odometer.
  for (;;) {
    let off = 0;
    let mul = 1;
    for (let a = 0; a < nd; a++) {
      off += (start[a] + idx[a]) * mul;
      mul *= w.shape[a];
    }
    out.set(image.subarray(off * w.size, off * w.size + rowLen), o);
    o += rowLen;
    let a = 1;
    for (; a < nd; a++) {
      if (++idx[a] < size[a]) break;
      idx[a] = 0;
    }
    if (a >= nd) break;
  }
  return out;
}

/**
 * A whole tile-compressed HDU held in memory (tests, small images): the BINTABLE header, the
 * descriptor table, the heap and padding. `cards` are the image's own (WCS, BSCALE/BZERO, …).
 */
export function encodeCompressedImageHdu(
  data: ImageArray,
  shape: readonly number[],
  cards: readonly (Card | CardSpec)[] = [],
  opts: CompressOptions & { primary?: boolean } = {},
): Uint8Array {
  const bitpix = {
    1: data instanceof Uint8Array ? 8 : 0,
    2: 16,
    4: data instanceof Float32Array ? -32 : 32,
    8: -64,
  }[data.BYTES_PER_ELEMENT]!;
  if (shape.reduce((a, b) => a * b, 1) !== data.length)
    throw new RangeError(`shape ${shape.join('x')} does not hold ${data.length} values`);
  return encodeCompressedBytes(
    imageBytes(data),
    { bitpix, shape, primary: opts.primary ?? false, cards },
    opts,
  );
}

/** The same from the image's big-endian bytes. */
export function encodeCompressedBytes(
  image: Uint8Array,
  spec: ImageSpec,
  opts: CompressOptions = {},
): Uint8Array {
  const w = new TileWriter(spec, opts);
  const tiles: Uint8Array[] = [];
  const sum = new HeapSum();
  for (let k = 0; k < w.tileCount; k++) {
    const t = w.encodeTile(tileBytes(w, image, k));
    tiles.push(t);
    sum.add(t);
  }
  const { header, table, padding } = w.finish(
    tiles.map((t) => t.length),
    sum.value(),
  );
  const heap = tiles.reduce((a, t) => a + t.length, 0);
  const out = new Uint8Array(header.length + table.length + heap + padding);
  out.set(header);
  out.set(table, header.length);
  let p = header.length + table.length;
  for (const t of tiles) {
    out.set(t, p);
    p += t.length;
  }
  return out;
}

/** An empty primary HDU (NAXIS = 0, EXTEND = T) with its checksums: what precedes a compressed primary image. */
export function emptyPrimaryHdu(cards: readonly CardSpec[] = []): Uint8Array {
  const lines = [
    formatCard('SIMPLE', true, 'file does conform to FITS standard'),
    formatCard('BITPIX', 8, 'number of bits per data pixel'),
    formatCard('NAXIS', 0, 'number of data axes'),
    formatCard('EXTEND', true, 'FITS dataset may contain extensions'),
    ...cards.map((c) => formatCard(c[0], c[1], (c as [string, CardSpec[1], string?])[2] ?? '')),
    formatCard('CHECKSUM', '0000000000000000', 'HDU checksum'),
    formatCard('DATASUM', '0', 'data unit checksum'),
  ];
  return headerBytes(lines, lines.length - 2, 0);
}

/** The image-header cards worth carrying into a compressed HDU (for callers holding a Header). */
export function carriedCards(header: Header): Card[] {
  return header.cards.filter((c) => !STRUCTURAL.test(c.keyword) || c.keyword === 'DATASUM');
}
