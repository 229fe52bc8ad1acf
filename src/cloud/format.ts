// The cloud index format (docs/cloud-index.md): types, building one HDU's entry, and the
// conversions between the JSON and Parquet forms. Browser-safe: no Node imports.
import type { ByteSource } from '../fits/byte-source.ts';
import { tileLayout } from '../fits/compression/tiles.ts';
import { type Hdu, type HduKind, logicalHeader, logicalShape } from '../fits/hdu.ts';
import { outputType, scalingOf } from '../fits/image.ts';
import { tableLayout } from '../fits/table.ts';
import { describeWcs, type WcsSummary } from '../fits/wcs/summary.ts';

export const FORMAT = 'fitslake-cloud-index';
export const VERSION = 1;

export interface CloudIndexDoc {
  format: typeof FORMAT;
  version: number;
  /** ISO time the index was written. */
  created: string;
  generator: string;
  /** What was indexed: a folder, s3://bucket/prefix, or the URL-list file. */
  source?: string;
  /** The prefix --data-url-prefix mapped paths onto, if any. */
  dataUrlPrefix?: string;
  files: IndexedFile[];
}

export interface IndexedFile {
  /** Path relative to the indexed source (folder-relative, key below the S3 prefix, URL path). */
  path: string;
  /** Where clients fetch the bytes; a relative URL resolves against the index's own URL. */
  url: string;
  size: number;
  etag?: string;
  /** ISO time, millisecond precision. */
  mtime?: string;
  /** 'gzip' | 'bzip2' for whole-file compression: offsets then refer to the decompressed stream. */
  container?: 'gzip' | 'bzip2';
  /**
   * For a whole-file gzip: its decompression checkpoints (a sidecar object written by
   * `fitslake index --gzip-checkpoints`), which make the decompressed stream range-readable.
   */
  checkpoints?: IndexedCheckpoints;
  /** A header dump (.hdr): cards only, no data. */
  headerOnly?: boolean;
  /** Why the file could not be indexed (kept so unchanged failures are not retried). */
  error?: string;
  hdus: IndexedHdu[];
}

export interface IndexedCheckpoints {
  /** The sidecar (layout `FLGZIT01`, below); a relative URL resolves against the index's own URL. */
  url: string;
  /** Requested uncompressed distance between checkpoints (bytes). */
  span: number;
  /** Number of checkpoints: the sidecar's table is `GZI_HEADER + count · GZI_ENTRY` bytes. */
  count: number;
  /** Sidecar size in bytes. */
  size: number;
}

export interface IndexedHdu {
  index: number;
  kind: HduKind;
  extname?: string;
  extver?: number;
  headerOffset: number;
  /** Bytes of header blocks: dataOffset - headerOffset. */
  headerSize: number;
  dataOffset: number;
  /** Data bytes without padding (heap included). */
  dataSize: number;
  /** dataSize padded to 2880. */
  dataSpan: number;
  /** BITPIX, NAXISn, PCOUNT, GCOUNT as stored (for a compressed image: the table's). */
  bitpix: number;
  naxes: number[];
  pcount: number;
  gcount: number;
  /**
   * Every card image in order, END excluded, trailing blanks removed (pad each back to a multiple
   * of 80 columns, at least 80); a CONTINUE long string is one entry of 80·n columns.
   */
  cards: string[];
  image?: IndexedImage;
  table?: IndexedTable;
  tiles?: IndexedTiles;
  wcs?: WcsSummary;
}

/** The pixels as a reader sees them (the logical image for a compressed one). */
export interface IndexedImage {
  bitpix: number;
  /** NAXIS1…n, fastest first. */
  shape: number[];
  bscale: number;
  bzero: number;
  /** BLANK (a string when beyond 2^53). */
  blank?: number | string;
  /** numpy's name of the element type a reader returns (float32 for scaled 16-bit…). */
  dtype: string;
}

export interface IndexedColumn {
  name: string;
  tform: string;
  /** Element type code (binary: L X B I J K A E D C M P Q; ASCII: A I F E D). */
  type: string;
  repeat: number;
  /** Bytes the column takes in a row. */
  width: number;
  /** Byte offset of the column inside a row. */
  offset: number;
  unit?: string;
  tscal: number;
  tzero: number;
  tnull?: number | string;
  tdim?: number[];
  /** For P/Q columns: element type and declared maximum length. */
  vla?: { type: string; max?: number };
}

export interface IndexedTable {
  ascii: boolean;
  /** NAXIS1: bytes per row. */
  rowBytes: number;
  /** NAXIS2. */
  nrows: number;
  /** Absolute byte offset of the heap (THEAP from the data start, default right after the rows). */
  heapOffset: number;
  /** Heap bytes: dataOffset + dataSize - heapOffset. */
  heapSize: number;
  columns: IndexedColumn[];
}

/** The tile-compression layout: every tile's compressed bytes, so a section fetches only its tiles. */
export interface IndexedTiles {
  zcmptype: string;
  zbitpix: number;
  znaxes: number[];
  ztile: number[];
  quantize?: string;
  zdither0: number;
  /** ZNAMEn/ZVALn pairs (BLOCKSIZE, BYTEPIX, SMOOTH…). */
  params: Record<string, number>;
  /** Tiles in row order (tile k is row k of the table); absolute byte offsets into the file. */
  offset: number[];
  length: number[];
  /** Present when some tile was stored gzipped raw (GZIP_COMPRESSED_DATA); 0 length = none. */
  gzipOffset?: number[];
  gzipLength?: number[];
  /** Per-tile quantization (ZSCALE, ZZERO, ZBLANK columns) when the table has them. */
  zscale?: number[];
  zzero?: number[];
  zblank?: number[];
}

const num = (v: number | bigint): number | string =>
  typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v;

/**
 * One HDU's index entry: offsets and cards from the walk, plus the image, table and tile layout
 * and the WCS summary. Only a compressed image reads anything more: its tile table (rows only).
 */
export async function describeHdu(source: ByteSource, hdu: Hdu): Promise<IndexedHdu> {
  const out: IndexedHdu = {
    index: hdu.index,
    kind: hdu.kind,
    headerOffset: hdu.headerOffset,
    headerSize: hdu.dataOffset - hdu.headerOffset,
    dataOffset: hdu.dataOffset,
    dataSize: hdu.dataSize,
    dataSpan: hdu.dataSpan,
    bitpix: hdu.bitpix,
    naxes: hdu.naxes,
    pcount: hdu.pcount,
    gcount: hdu.gcount,
    cards: hdu.header.cards.map((c) => c.raw.replace(/ +$/, '')),
  };
  if (hdu.extname !== undefined) out.extname = hdu.extname;
  if (hdu.extver !== undefined) out.extver = hdu.extver;
  if (hdu.kind === 'primary' || hdu.kind === 'image' || hdu.kind === 'compressed-image') {
    const h = logicalHeader(hdu);
    const s = scalingOf(h);
    const shape = logicalShape(hdu);
    const image: IndexedImage = {
      bitpix: s.bitpix,
      shape,
      bscale: s.bscale,
      bzero: s.bzero,
      dtype: outputType(s),
    };
    if (s.blank !== undefined) image.blank = num(s.blank);
    if (shape.length > 0) out.image = image;
    try {
      const wcs = shape.length >= 2 ? describeWcs(h, shape) : null;
      if (wcs && [...wcs.center, ...wcs.footprint.flat()].every(Number.isFinite)) out.wcs = wcs;
    } catch {
      // A WCS the summary cannot evaluate leaves the entry without one; the cards still have it.
    }
  }
  if (hdu.kind === 'bintable' || hdu.kind === 'table' || hdu.kind === 'compressed-image') {
    const t = tableLayout(hdu);
    out.table = {
      ascii: t.ascii,
      rowBytes: t.rowBytes,
      nrows: t.nrows,
      heapOffset: t.heapOffset,
      heapSize: hdu.dataOffset + hdu.dataSize - t.heapOffset,
      columns: t.columns.map((c) => {
        const col: IndexedColumn = {
          name: c.name,
          tform: c.tform,
          type: c.binary?.code ?? c.ascii!.code,
          repeat: c.binary?.repeat ?? 1,
          width: c.binary?.width ?? c.ascii!.width,
          offset: c.offset,
          tscal: c.tscal,
          tzero: c.tzero,
        };
        if (c.unit) col.unit = c.unit;
        if (c.tnull !== undefined) col.tnull = num(c.tnull as number | bigint) as number | string;
        if (c.dims) col.tdim = c.dims;
        if (c.binary?.vla) {
          col.vla = { type: c.binary.vla.code };
          if (c.binary.vla.max !== undefined) col.vla.max = c.binary.vla.max;
        }
        return col;
      }),
    };
  }
  if (hdu.kind === 'compressed-image') {
    const g = await tileLayout(source, hdu);
    const tiles: IndexedTiles = {
      zcmptype: g.method,
      zbitpix: g.zbitpix,
      znaxes: g.shape,
      ztile: g.tileShape,
      zdither0: g.zdither0,
      params: g.params,
      offset: g.tiles.map((t) => t.offset),
      length: g.tiles.map((t) => t.length),
    };
    if (g.quantize) tiles.quantize = g.quantize;
    if (g.tiles.some((t) => t.gzipLength)) {
      tiles.gzipOffset = g.tiles.map((t) => t.gzipOffset ?? 0);
      tiles.gzipLength = g.tiles.map((t) => t.gzipLength ?? 0);
    }
    if (g.tiles.some((t) => t.zscale !== undefined)) tiles.zscale = g.tiles.map((t) => t.zscale ?? 1);
    if (g.tiles.some((t) => t.zzero !== undefined)) tiles.zzero = g.tiles.map((t) => t.zzero ?? 0);
    if (g.tiles.some((t) => t.zblank !== undefined)) tiles.zblank = g.tiles.map((t) => t.zblank ?? 0);
    out.tiles = tiles;
  }
  return out;
}

/** The header text of indexed cards: each padded back to whole 80-column images. */
export function cardText(cards: readonly string[]): string {
  return cards.map((c) => c.padEnd(Math.max(80, Math.ceil(c.length / 80) * 80))).join('');
}

/** Checks the envelope of a parsed index document (a newer major version is refused clearly). */
export function checkDoc(doc: unknown, where = 'index'): CloudIndexDoc {
  const d = doc as Partial<CloudIndexDoc> | null;
  if (!d || typeof d !== 'object' || d.format !== FORMAT) {
    throw new Error(`${where} is not a ${FORMAT} (format = ${JSON.stringify(d?.format)})`);
  }
  if (d.version !== VERSION) {
    throw new Error(`${where} has version ${d.version}; this reader knows version ${VERSION}`);
  }
  if (!Array.isArray(d.files)) throw new Error(`${where} has no files array`);
  return d as CloudIndexDoc;
}

// ---- Parquet form: one row per HDU (a file that has none, or failed, gets one row with hdu NULL).

/** Column names and types of the Parquet form, in order (docs/cloud-index.md lists their meaning). */
export const PARQUET_COLUMNS = [
  ['path', 'STRING'],
  ['url', 'STRING'],
  ['file_size', 'INT64'],
  ['etag', 'STRING'],
  ['mtime', 'TIMESTAMP'],
  ['container', 'STRING'],
  ['header_only', 'BOOLEAN'],
  ['error', 'STRING'],
  ['hdu', 'INT32'],
  ['kind', 'STRING'],
  ['extname', 'STRING'],
  ['extver', 'INT32'],
  ['header_offset', 'INT64'],
  ['header_size', 'INT64'],
  ['data_offset', 'INT64'],
  ['data_size', 'INT64'],
  ['data_span', 'INT64'],
  ['bitpix', 'INT32'],
  ['naxes', 'JSON'],
  ['pcount', 'INT64'],
  ['gcount', 'INT64'],
  ['ra', 'DOUBLE'],
  ['dec', 'DOUBLE'],
  ['cards', 'JSON'],
  ['image', 'JSON'],
  ['table_layout', 'JSON'],
  ['tiles', 'JSON'],
  ['wcs', 'JSON'],
  ['checkpoints', 'JSON'],
] as const;

export type ParquetRow = Record<(typeof PARQUET_COLUMNS)[number][0], unknown>;

/** The index as Parquet rows (JSON columns as values: the writer serialises them once). */
export function toParquetRows(doc: CloudIndexDoc): ParquetRow[] {
  const rows: ParquetRow[] = [];
  const json = (v: unknown) => (v === undefined ? null : v);
  for (const f of doc.files) {
    const file = {
      path: f.path,
      url: f.url,
      file_size: BigInt(f.size),
      etag: f.etag ?? null,
      mtime: f.mtime ? new Date(f.mtime) : null,
      container: f.container ?? null,
      header_only: f.headerOnly ?? null,
      error: f.error ?? null,
      checkpoints: f.checkpoints ?? null,
    };
    const hdus: (IndexedHdu | undefined)[] = f.hdus.length ? f.hdus : [undefined];
    for (const h of hdus) {
      rows.push({
        ...file,
        hdu: h?.index ?? null,
        kind: h?.kind ?? null,
        extname: h?.extname ?? null,
        extver: h?.extver ?? null,
        header_offset: h ? BigInt(h.headerOffset) : null,
        header_size: h ? BigInt(h.headerSize) : null,
        data_offset: h ? BigInt(h.dataOffset) : null,
        data_size: h ? BigInt(h.dataSize) : null,
        data_span: h ? BigInt(h.dataSpan) : null,
        bitpix: h?.bitpix ?? null,
        naxes: json(h?.naxes),
        pcount: h ? BigInt(h.pcount) : null,
        gcount: h ? BigInt(h.gcount) : null,
        ra: h?.wcs?.center[0] ?? null,
        dec: h?.wcs?.center[1] ?? null,
        cards: json(h?.cards),
        image: json(h?.image),
        table_layout: json(h?.table),
        tiles: json(h?.tiles),
        wcs: json(h?.wcs),
      });
    }
  }
  return rows;
}

/** The Parquet key-value metadata entry holding the envelope (format, version, created, …). */
export const PARQUET_META_KEY = FORMAT;

/** Rebuilds the index document from Parquet rows (as hyparquet returns them) and the envelope. */
export function fromParquetRows(
  envelope: Omit<CloudIndexDoc, 'files'>,
  rows: Record<string, unknown>[],
): CloudIndexDoc {
  const n = (v: unknown) => (typeof v === 'bigint' ? Number(v) : (v as number));
  const parse = (v: unknown) =>
    v === null || v === undefined ? undefined : typeof v === 'string' ? JSON.parse(v) : v;
  const files: IndexedFile[] = [];
  let last: IndexedFile | undefined;
  for (const r of rows) {
    if (!last || last.path !== r.path) {
      last = { path: r.path as string, url: r.url as string, size: n(r.file_size), hdus: [] };
      if (r.etag != null) last.etag = r.etag as string;
      if (r.mtime != null)
        last.mtime = (r.mtime instanceof Date ? r.mtime : new Date(n(r.mtime))).toISOString();
      if (r.container != null) last.container = r.container as 'gzip' | 'bzip2';
      const cps = parse(r.checkpoints);
      if (cps) last.checkpoints = cps;
      if (r.header_only != null) last.headerOnly = r.header_only as boolean;
      if (r.error != null) last.error = r.error as string;
      files.push(last);
    }
    if (r.hdu === null || r.hdu === undefined) continue;
    const h: IndexedHdu = {
      index: n(r.hdu),
      kind: r.kind as HduKind,
      headerOffset: n(r.header_offset),
      headerSize: n(r.header_size),
      dataOffset: n(r.data_offset),
      dataSize: n(r.data_size),
      dataSpan: n(r.data_span),
      bitpix: n(r.bitpix),
      naxes: parse(r.naxes),
      pcount: n(r.pcount),
      gcount: n(r.gcount),
      cards: parse(r.cards),
    };
    if (r.extname != null) h.extname = r.extname as string;
    if (r.extver != null) h.extver = n(r.extver);
    const image = parse(r.image);
    if (image) h.image = image;
    const table = parse(r.table_layout);
    if (table) h.table = table;
    const tiles = parse(r.tiles);
    if (tiles) h.tiles = tiles;
    const wcs = parse(r.wcs);
    if (wcs) h.wcs = wcs;
    // Key order as describeHdu writes it, so both forms compare equal field for field.
    last.hdus.push(reorder(h));
  }
  return { ...envelope, files } as CloudIndexDoc;
}

const HDU_KEYS: (keyof IndexedHdu)[] = [
  'index',
  'kind',
  'headerOffset',
  'headerSize',
  'dataOffset',
  'dataSize',
  'dataSpan',
  'bitpix',
  'naxes',
  'pcount',
  'gcount',
  'cards',
  'extname',
  'extver',
  'image',
  'wcs',
  'table',
  'tiles',
];

function reorder(h: IndexedHdu): IndexedHdu {
  const out: Record<string, unknown> = {};
  for (const k of HDU_KEYS) if (h[k] !== undefined) out[k] = h[k];
  return out as unknown as IndexedHdu;
}

// ---- gzip checkpoint sidecar (docs/cloud-index.md): a small table first, windows by range ------

export const GZI_MAGIC = 'FLGZIT01';
/** Header: magic, f64 compressed size, f64 uncompressed size, f64 span, u32 count, u32 zero. */
export const GZI_HEADER = 40;
/** Per checkpoint: f64 bit, f64 out, f64 window offset, u32 stored length, u16 window length, u8 method, u8 zero. */
export const GZI_ENTRY = 32;

export interface GziEntry {
  /** Absolute bit offset in the .gz of a deflate block header. */
  bit: number;
  /** Uncompressed offset of that block's first byte. */
  out: number;
  /** Byte offset of the stored window in the sidecar, its stored length, and its length once inflated. */
  offset: number;
  stored: number;
  windowLength: number;
  /** 0: the window as is; 1: raw deflate. */
  method: number;
}

export interface GziTable {
  compressedSize: number;
  size: number;
  span: number;
  entries: GziEntry[];
}

/** The sidecar's bytes: header, table, then the (possibly raw-deflated) windows in checkpoint order. */
export function encodeGzi(
  t: Omit<GziTable, 'entries'>,
  checkpoints: readonly { bit: number; out: number; window: Uint8Array }[],
  deflateRaw?: (b: Uint8Array) => Uint8Array,
): Uint8Array {
  const wins = checkpoints.map((c) => {
    const z = deflateRaw && c.window.length ? deflateRaw(c.window) : undefined;
    return z && z.length < c.window.length ? { m: 1, b: z } : { m: 0, b: c.window };
  });
  const tableEnd = GZI_HEADER + GZI_ENTRY * checkpoints.length;
  const out = new Uint8Array(tableEnd + wins.reduce((a, w) => a + w.b.length, 0));
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(GZI_MAGIC));
  dv.setFloat64(8, t.compressedSize, true);
  dv.setFloat64(16, t.size, true);
  dv.setFloat64(24, t.span, true);
  dv.setUint32(32, checkpoints.length, true);
  let w = tableEnd;
  checkpoints.forEach((c, i) => {
    const p = GZI_HEADER + GZI_ENTRY * i;
    dv.setFloat64(p, c.bit, true);
    dv.setFloat64(p + 8, c.out, true);
    dv.setFloat64(p + 16, w, true);
    dv.setUint32(p + 24, wins[i].b.length, true);
    dv.setUint16(p + 28, c.window.length, true);
    out[p + 30] = wins[i].m;
    out.set(wins[i].b, w);
    w += wins[i].b.length;
  });
  return out;
}

/** The header and table of a sidecar from its first `GZI_HEADER + count · GZI_ENTRY` bytes (or more). */
export function decodeGziTable(b: Uint8Array): GziTable {
  const bad = (why: string) => new Error(`bad gzip checkpoint sidecar: ${why}`);
  if (b.length < GZI_HEADER || new TextDecoder().decode(b.subarray(0, 8)) !== GZI_MAGIC)
    throw bad('no magic');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = dv.getUint32(32, true);
  if (b.length < GZI_HEADER + GZI_ENTRY * n) throw bad('truncated table');
  const entries: GziEntry[] = [];
  for (let i = 0; i < n; i++) {
    const p = GZI_HEADER + GZI_ENTRY * i;
    entries.push({
      bit: dv.getFloat64(p, true),
      out: dv.getFloat64(p + 8, true),
      offset: dv.getFloat64(p + 16, true),
      stored: dv.getUint32(p + 24, true),
      windowLength: dv.getUint16(p + 28, true),
      method: b[p + 30],
    });
  }
  return {
    compressedSize: dv.getFloat64(8, true),
    size: dv.getFloat64(16, true),
    span: dv.getFloat64(24, true),
    entries,
  };
}
