// The cloud-index client: open an index, pick files and HDUs, read sections and table rows from
// the data URLs with Range requests. Browser-safe (fetch only, no Node imports): the layout comes
// from the index, so no header is ever fetched again.
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import type { ByteRange, ByteSource } from '../fits/byte-source.ts';
import type { CardValue } from '../fits/card.ts';
import { imageHeaderFromCompressed } from '../fits/compressed-header.ts';
import {
  checkpointBefore,
  type GzipIndex,
  inflateFromCheckpoint,
  inflateRaw,
  planGzipRead,
} from '../fits/compression/inflate-index.ts';
import { readCompressedImage } from '../fits/compression/tiles.ts';
import { FitsError } from '../fits/errors.ts';
import type { Hdu, HduKind } from '../fits/hdu.ts';
import type { Header } from '../fits/header.ts';
import { parseHeaderText } from '../fits/header-parser.ts';
import { type AxisRange, type ImageData, readSection } from '../fits/image.ts';
import { type Row, readRows, tableLayout } from '../fits/table.ts';
import type { WcsSummary } from '../fits/wcs/summary.ts';
import {
  type CloudIndexDoc,
  cardText,
  checkDoc,
  decodeGziTable,
  fromParquetRows,
  GZI_ENTRY,
  GZI_HEADER,
  type GziTable,
  type IndexedFile,
  type IndexedHdu,
  type IndexedTable,
  PARQUET_META_KEY,
} from './format.ts';
import { RangeSource, type RangeSourceOptions } from './range-source.ts';

export interface OpenIndexOptions extends RangeSourceOptions {
  /** Base for relative data URLs when the index is given as an object (default: the index URL). */
  baseUrl?: string;
  /**
   * Makes the byte source of a data file (default: a RangeSource on its URL). Pass one to read
   * through something else: an S3 client, a cache, a test double.
   */
  source?: (url: string, file: IndexedFile) => ByteSource;
}

/** Counters over every data file read through an index: what a question cost. */
export interface TransferStats {
  requests: number;
  bytes: number;
}

/**
 * Opens a cloud index: a URL (JSON or Parquet, told apart by content), its bytes, or an already
 * parsed document. Relative data URLs resolve against the index URL (or `baseUrl`).
 */
export async function openIndex(
  input: string | URL | CloudIndexDoc | Uint8Array | ArrayBuffer,
  opts: OpenIndexOptions = {},
): Promise<CloudIndex> {
  let base = opts.baseUrl;
  let doc: CloudIndexDoc;
  if (typeof input === 'string' || input instanceof URL) {
    const url = new URL(String(input), globalThis.location?.href).href;
    base ??= url;
    const fetchFn = opts.fetch ?? ((i: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(i, init));
    const res = await fetchFn(url, { headers: opts.headers ?? {} });
    if (!res.ok) throw new FitsError('io', `HTTP ${res.status} fetching the index`, { file: url });
    doc = await parseIndexBytes(new Uint8Array(await res.arrayBuffer()), url);
  } else if (input instanceof Uint8Array || input instanceof ArrayBuffer) {
    doc = await parseIndexBytes(input instanceof Uint8Array ? input : new Uint8Array(input), 'index');
  } else doc = checkDoc(input);
  return new CloudIndex(doc, base, opts);
}

/** The index document from its bytes: Parquet (PAR1 magic) or JSON. */
export async function parseIndexBytes(bytes: Uint8Array, where = 'index'): Promise<CloudIndexDoc> {
  const par1 = bytes.length >= 8 && new TextDecoder().decode(bytes.subarray(0, 4)) === 'PAR1';
  if (!par1) return checkDoc(JSON.parse(new TextDecoder().decode(bytes)), where);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const metadata = parquetMetadata(buffer);
  const kv = metadata.key_value_metadata?.find((e) => e.key === PARQUET_META_KEY)?.value;
  if (!kv) throw new Error(`${where} is Parquet without the ${PARQUET_META_KEY} metadata entry`);
  const { files: _, ...envelope } = checkDoc({ ...JSON.parse(kv), files: [] }, where);
  const rows = (await parquetReadObjects({ file: buffer, metadata })) as Record<string, unknown>[];
  return fromParquetRows(envelope, rows);
}

export class CloudIndex {
  readonly doc: CloudIndexDoc;
  readonly files: CloudFile[];
  private readonly byPath: Map<string, CloudFile>;

  constructor(doc: CloudIndexDoc, baseUrl: string | undefined, opts: OpenIndexOptions = {}) {
    this.doc = doc;
    this.files = doc.files.map((f) => new CloudFile(f, baseUrl, opts));
    this.byPath = new Map(this.files.map((f) => [f.path, f]));
  }

  get version(): number {
    return this.doc.version;
  }

  /** The file at this indexed path. */
  file(path: string): CloudFile {
    const f = this.byPath.get(path);
    if (!f) throw new FitsError('range', `no file ${JSON.stringify(path)} in the index`);
    return f;
  }

  /**
   * Files whose path matches (a substring or a RegExp) and that have an HDU matching `kind` and
   * every keyword value in `where` (strings compared trimmed, case-sensitive).
   */
  select(q: { path?: string | RegExp; kind?: HduKind; where?: Record<string, CardValue> } = {}): CloudFile[] {
    return this.files.filter((f) => {
      if (
        q.path !== undefined &&
        !(typeof q.path === 'string' ? f.path.includes(q.path) : q.path.test(f.path))
      )
        return false;
      if (q.kind === undefined && q.where === undefined) return true;
      return f.hdus.some(
        (h) =>
          (q.kind === undefined || h.kind === q.kind) &&
          Object.entries(q.where ?? {}).every(([k, v]) => {
            const got = h.header.get(k);
            return typeof got === 'string' && typeof v === 'string' ? got.trim() === v.trim() : got === v;
          }),
      );
    });
  }

  /** Requests and bytes of data fetched so far through every file of this index. */
  stats(): TransferStats {
    let requests = 0;
    let bytes = 0;
    for (const f of this.files) {
      const s = f.stats();
      requests += s.requests;
      bytes += s.bytes;
    }
    return { requests, bytes };
  }
}

export class CloudFile {
  readonly entry: IndexedFile;
  readonly path: string;
  /** The absolute URL the data is fetched from. */
  readonly url: string;
  readonly size: number;
  readonly etag?: string;
  readonly mtime?: string;
  readonly hdus: CloudHdu[];
  private readonly opts: OpenIndexOptions;
  private readonly baseUrl: string | undefined;
  private src: ByteSource | undefined;

  constructor(entry: IndexedFile, baseUrl: string | undefined, opts: OpenIndexOptions) {
    this.entry = entry;
    this.path = entry.path;
    this.url = resolveUrl(entry.url, baseUrl);
    this.size = entry.size;
    if (entry.etag !== undefined) this.etag = entry.etag;
    if (entry.mtime !== undefined) this.mtime = entry.mtime;
    this.opts = opts;
    this.baseUrl = baseUrl;
    this.hdus = entry.hdus.map((h) => new CloudHdu(h, this));
  }

  /** The HDU by index, or by EXTNAME (and EXTVER). */
  hdu(which: number | string, extver?: number): CloudHdu {
    const h =
      typeof which === 'number'
        ? this.hdus[which]
        : this.hdus.find(
            (x) =>
              x.extname?.toUpperCase() === which.toUpperCase() &&
              (extver === undefined || x.entry.extver === extver),
          );
    if (!h) throw new FitsError('range', `${this.path} has no HDU ${JSON.stringify(which)}`);
    return h;
  }

  /**
   * The byte source of the data (one per file, so its counters add up). For a whole-file gzip
   * with checkpoints: the decompressed stream, read through them (GzipCheckpointSource).
   */
  get source(): ByteSource {
    const cps = this.entry.checkpoints;
    if (this.entry.container === 'gzip' && cps && !this.entry.error) {
      if (!this.src) {
        const sidecarUrl = resolveUrl(cps.url, this.baseUrl);
        const data =
          this.opts.source?.(this.url, this.entry) ?? new RangeSource(this.url, this.size, this.opts);
        const sidecar =
          this.opts.source?.(sidecarUrl, this.entry) ?? new RangeSource(sidecarUrl, cps.size, this.opts);
        this.src = new GzipCheckpointSource(data, sidecar, cps.count, this.path);
      }
      return this.src;
    }
    if (this.entry.container) {
      throw new FitsError(
        'unsupported',
        `${this.path} is a whole-file ${this.entry.container} stream: it cannot be read by range`,
        { file: this.url },
      );
    }
    if (this.entry.error) throw new FitsError('io', `${this.path} was not indexed: ${this.entry.error}`);
    this.src ??= this.opts.source?.(this.url, this.entry) ?? new RangeSource(this.url, this.size, this.opts);
    return this.src;
  }

  stats(): TransferStats {
    const s = this.src as { requests?: number; bytesFetched?: number } | undefined;
    return { requests: s?.requests ?? 0, bytes: s?.bytesFetched ?? 0 };
  }
}

export class CloudHdu {
  readonly entry: IndexedHdu;
  readonly file: CloudFile;
  private parsed: Hdu | undefined;

  constructor(entry: IndexedHdu, file: CloudFile) {
    this.entry = entry;
    this.file = file;
  }

  get index(): number {
    return this.entry.index;
  }
  get kind(): HduKind {
    return this.entry.kind;
  }
  get extname(): string | undefined {
    return this.entry.extname;
  }
  /** Logical image shape (NAXIS1…n, fastest first), empty for tables. */
  get shape(): number[] {
    return this.entry.image?.shape ?? [];
  }
  get wcs(): WcsSummary | undefined {
    return this.entry.wcs;
  }
  get table(): IndexedTable | undefined {
    return this.entry.table;
  }

  /** The header as stored, parsed from the indexed cards (no request). */
  get header(): Header {
    return this.hdu().header;
  }

  /** For a tile-compressed image: the logical image header; otherwise the header. */
  get imageHeader(): Header {
    const h = this.hdu();
    return h.imageHeader ?? h.header;
  }

  /** The FITS library's Hdu, rebuilt from the index. */
  hdu(): Hdu {
    if (!this.parsed) {
      const e = this.entry;
      const header = parseHeaderText(cardText(e.cards), { hdu: e.index });
      const hdu: Hdu = {
        index: e.index,
        kind: e.kind,
        header,
        headerOffset: e.headerOffset,
        dataOffset: e.dataOffset,
        dataSize: e.dataSize,
        dataSpan: e.dataSpan,
        bitpix: e.bitpix,
        naxes: e.naxes,
        pcount: e.pcount,
        gcount: e.gcount,
      };
      if (e.extname !== undefined) hdu.extname = e.extname;
      if (e.extver !== undefined) hdu.extver = e.extver;
      if (e.kind === 'compressed-image') hdu.imageHeader = imageHeaderFromCompressed(header);
      this.parsed = hdu;
    }
    return this.parsed;
  }

  /**
   * A sub-array of the image: one AxisRange per axis in FITS order (NAXIS1 first), 0-based,
   * stop exclusive, optional step. A light curve is [{x, x+1}, {y, y+1}, {0, NAXIS3}].
   * Reads only the byte runs (or, for a tile-compressed image, only the tiles) it covers.
   */
  async section(ranges: readonly AxisRange[], opts: { maxBytes?: number } = {}): Promise<ImageData> {
    const hdu = this.hdu();
    if (hdu.kind === 'compressed-image') {
      return readCompressedImage(this.tileSource(), hdu, ranges, opts);
    }
    return readSection(this.file.source, hdu, ranges, opts);
  }

  /** The whole image. */
  image(opts: { maxBytes?: number } = {}): Promise<ImageData> {
    return this.section(
      this.shape.map((n) => ({ start: 0, stop: n })),
      opts,
    );
  }

  /**
   * Rows [from, to) of a table as objects, only the named columns (default all). Fetches only the
   * bytes of those columns in those rows (whole rows when the others are narrow), then the heap
   * bytes of their variable-length arrays, each batch in one coalesced, parallel read.
   */
  async rows(from = 0, to?: number, columns?: string[]): Promise<Row[]> {
    const hdu = this.hdu();
    const t = tableLayout(hdu);
    const stop = Math.min(to ?? t.nrows, t.nrows);
    if (from < 0 || from > stop)
      throw new FitsError('range', `rows [${from}, ${to}) outside 0..${t.nrows}`, { hdu: hdu.index });
    if (columns) {
      const missing = columns.filter((c) => !t.columns.some((x) => x.name === c));
      if (missing.length)
        throw new FitsError('range', `no column ${JSON.stringify(missing[0])}`, { hdu: hdu.index });
    }
    const cols = columns ? t.columns.filter((c) => columns.includes(c.name)) : t.columns;
    const planned = new PlannedSource(this.file.source);
    const start = hdu.dataOffset + from * t.rowBytes;
    const length = (stop - from) * t.rowBytes;
    // Byte spans of the chosen columns inside a row, neighbours merged.
    const spans: [number, number][] = [];
    for (const c of [...cols].sort((a, b) => a.offset - b.offset)) {
      const w = c.binary?.width ?? c.ascii!.width;
      const last = spans[spans.length - 1];
      if (last && c.offset <= last[1]) last[1] = Math.max(last[1], c.offset + w);
      else spans.push([c.offset, c.offset + w]);
    }
    const chosen = spans.reduce((a, [s, e]) => a + e - s, 0);
    let rowBytes: Uint8Array;
    if (length === 0) rowBytes = new Uint8Array(0);
    else if (t.rowBytes - chosen <= 1024) {
      rowBytes = await this.file.source.read(start, length);
    } else {
      const runs: ByteRange[] = [];
      for (let r = 0; r < stop - from; r++)
        for (const [s, e] of spans) runs.push({ offset: start + r * t.rowBytes + s, length: e - s });
      const got = await readMany(this.file.source, runs);
      rowBytes = new Uint8Array(length);
      for (const [i, run] of runs.entries()) rowBytes.set(got[i], run.offset - start);
    }
    if (rowBytes.length < length)
      throw new FitsError('truncated', 'table data ends early', { hdu: hdu.index });
    planned.add(start, rowBytes);
    // Heap bytes of the chosen variable-length columns, all in one read.
    const vla = cols.filter((c) => c.binary?.vla);
    if (vla.length) {
      const dv = new DataView(rowBytes.buffer, rowBytes.byteOffset, rowBytes.byteLength);
      const heap: ByteRange[] = [];
      for (let r = 0; r < stop - from; r++) {
        for (const c of vla) {
          const p = r * t.rowBytes + c.offset;
          const q = c.binary!.code === 'Q';
          const count = q ? Number(dv.getBigInt64(p)) : dv.getInt32(p);
          const off = q ? Number(dv.getBigInt64(p + 8)) : dv.getInt32(p + 4);
          const code = c.binary!.vla!.code;
          const bytes = code === 'X' ? Math.ceil(count / 8) : count * ELEMENT[code];
          if (count > 0 && off >= 0 && t.heapOffset + off + bytes <= hdu.dataOffset + hdu.dataSize)
            heap.push({ offset: t.heapOffset + off, length: bytes });
        }
      }
      const got = await readMany(this.file.source, heap);
      for (const [i, h] of heap.entries()) planned.add(h.offset, got[i]);
    }
    return readRows(planned, hdu, from, stop, columns ? { columns } : {});
  }

  /** A source that answers the tile-table read from the index, so only tile bytes are fetched. */
  private tileSource(): ByteSource {
    const hdu = this.hdu();
    const tiles = this.entry.tiles;
    const planned = new PlannedSource(this.file.source);
    if (!tiles) return planned;
    const t = tableLayout(hdu);
    const rows = new Uint8Array(t.rowBytes * t.nrows);
    const dv = new DataView(rows.buffer);
    const col = (name: string) => t.columns.find((c) => c.name.toUpperCase() === name);
    const put = (c: ReturnType<typeof col>, k: number, bytes: number, at: number) => {
      if (!c?.binary) return;
      const code = c.binary.vla?.code ?? 'B';
      const n = bytes / ELEMENT[code];
      const p = k * t.rowBytes + c.offset;
      if (c.binary.code === 'Q') {
        dv.setBigInt64(p, BigInt(n));
        dv.setBigInt64(p + 8, BigInt(at - t.heapOffset));
      } else {
        dv.setInt32(p, n);
        dv.setInt32(p + 4, at - t.heapOffset);
      }
    };
    const cData = col('COMPRESSED_DATA');
    const cGzip = col('GZIP_COMPRESSED_DATA');
    const cScale = col('ZSCALE');
    const cZero = col('ZZERO');
    const cBlank = col('ZBLANK');
    for (let k = 0; k < t.nrows; k++) {
      put(cData, k, tiles.length[k], tiles.offset[k]);
      if (tiles.gzipLength?.[k]) put(cGzip, k, tiles.gzipLength[k], tiles.gzipOffset![k]);
      else if (cGzip) put(cGzip, k, 0, t.heapOffset);
      if (cScale && tiles.zscale) dv.setFloat64(k * t.rowBytes + cScale.offset, tiles.zscale[k]);
      if (cZero && tiles.zzero) dv.setFloat64(k * t.rowBytes + cZero.offset, tiles.zzero[k]);
      if (cBlank && tiles.zblank) dv.setInt32(k * t.rowBytes + cBlank.offset, tiles.zblank[k]);
    }
    planned.add(hdu.dataOffset, rows);
    return planned;
  }
}

// Bytes per element of a column type (the tile reader's rule: unknown codes count as bytes).
const ELEMENT: Record<string, number> = { L: 1, X: 1, B: 1, A: 1, I: 2, J: 4, K: 8, E: 4, D: 8, C: 8, M: 16 };

function readMany(source: ByteSource, ranges: ByteRange[]): Promise<Uint8Array[]> {
  if (!ranges.length) return Promise.resolve([]);
  return source.readMany
    ? source.readMany(ranges)
    : Promise.all(ranges.map((r) => source.read(r.offset, r.length)));
}

/**
 * Bytes already in hand (planned from the index or fetched in a batch) served by exact
 * offset+length; every other read falls through to the network source. Correctness never depends
 * on the plan: a read the plan did not foresee is simply fetched.
 */
class PlannedSource implements ByteSource {
  readonly name: string;
  private readonly base: ByteSource;
  private readonly known = new Map<number, Uint8Array[]>();

  constructor(base: ByteSource) {
    this.base = base;
    this.name = base.name;
  }

  add(offset: number, bytes: Uint8Array): void {
    const list = this.known.get(offset);
    if (list) list.push(bytes);
    else this.known.set(offset, [bytes]);
  }

  private lookup(offset: number, length: number): Uint8Array | undefined {
    const hit = this.known.get(offset)?.find((b) => b.length >= length);
    return hit?.subarray(0, length);
  }

  size(): Promise<number> {
    return this.base.size();
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    return this.lookup(offset, length) ?? this.base.read(offset, length);
  }

  async readMany(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    const out = ranges.map((r) => this.lookup(r.offset, r.length));
    const missing = ranges.filter((_, i) => !out[i]);
    const got = await readMany(this.base, missing);
    let j = 0;
    return out.map((o) => o ?? got[j++]);
  }
}

type Counted = { requests?: number; bytesFetched?: number };

/**
 * The decompressed stream of a whole-file gzip, read by range through its checkpoint sidecar
 * (docs/cloud-index.md): the sidecar's table is fetched once (lazily, one request of
 * 40 + 32·count bytes), then each read fetches the compressed bytes from the checkpoint at or
 * before it to the first one past it, and that checkpoint's 32 KiB window (deflated, cached),
 * in parallel, and inflates from the checkpoint. Offsets are decompressed offsets.
 */
export class GzipCheckpointSource implements ByteSource {
  readonly name: string;
  private table: Promise<GziTable> | undefined;
  private plan: GzipIndex | undefined;
  private readonly windows = new Map<number, Promise<Uint8Array>>();

  constructor(
    private readonly data: ByteSource,
    private readonly sidecar: ByteSource,
    private readonly count: number,
    name: string,
  ) {
    this.name = name;
  }

  /** Requests and bytes fetched, data and sidecar together. */
  get requests(): number {
    return ((this.data as Counted).requests ?? 0) + ((this.sidecar as Counted).requests ?? 0);
  }
  get bytesFetched(): number {
    return ((this.data as Counted).bytesFetched ?? 0) + ((this.sidecar as Counted).bytesFetched ?? 0);
  }

  private loadTable(): Promise<GziTable> {
    this.table ??= this.sidecar.read(0, GZI_HEADER + GZI_ENTRY * this.count).then((b) => {
      const t = decodeGziTable(b);
      if (t.entries.length !== this.count || !t.entries.length)
        throw new FitsError(
          'io',
          `gzip checkpoint sidecar has ${t.entries.length} checkpoints, not ${this.count}`,
          {
            file: this.name,
          },
        );
      this.plan = {
        compressedSize: t.compressedSize,
        size: t.size,
        span: t.span,
        checkpoints: t.entries.map((e) => ({ bit: e.bit, out: e.out, window: new Uint8Array(0) })),
      };
      return t;
    });
    return this.table;
  }

  private window(t: GziTable, i: number): Promise<Uint8Array> {
    let w = this.windows.get(i);
    if (!w) {
      const e = t.entries[i];
      w = (e.stored ? this.sidecar.read(e.offset, e.stored) : Promise.resolve(new Uint8Array(0))).then(
        (b) => {
          const win = e.method === 1 ? inflateRaw(b, 1 << 15) : b.slice();
          if (win.length !== e.windowLength)
            throw new FitsError(
              'io',
              `gzip checkpoint ${i}: window of ${win.length} bytes, not ${e.windowLength}`,
              {
                file: this.name,
              },
            );
          return win;
        },
      );
      w.catch(() => this.windows.delete(i));
      if (this.windows.size >= 64) this.windows.delete(this.windows.keys().next().value!);
      this.windows.set(i, w);
    }
    return w;
  }

  async size(): Promise<number> {
    return (await this.loadTable()).size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const [out] = await this.readMany([{ offset, length }]);
    return out;
  }

  /**
   * Wanted ranges are sorted and merged into runs that share compressed bytes (a run continues
   * while the next range starts no later than the segment the run already fetches); each run is
   * one compressed range plus one window, fetched together for all runs, then inflated.
   */
  async readMany(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    const t = await this.loadTable();
    const ix = this.plan!;
    const wanted = ranges
      .map((r, i) => ({ i, start: Math.max(0, r.offset), end: Math.min(ix.size, r.offset + r.length) }))
      .filter((r) => r.end > r.start)
      .sort((a, b) => a.start - b.start || a.end - b.end);
    const runs: { start: number; end: number; members: typeof wanted }[] = [];
    for (const w of wanted) {
      const last = runs[runs.length - 1];
      if (last && checkpointBefore(ix, w.start) <= checkpointBefore(ix, last.end - 1) + 1) {
        last.end = Math.max(last.end, w.end);
        last.members.push(w);
      } else runs.push({ start: w.start, end: w.end, members: [w] });
    }
    const plans = runs.map((r) => planGzipRead(ix, r.start, r.end));
    const [compressed, windows] = await Promise.all([
      readMany(
        this.data,
        plans.map((p) => ({ offset: p.from, length: p.to - p.from })),
      ),
      Promise.all(plans.map((p) => this.window(t, p.checkpoint))),
    ]);
    const out: Uint8Array[] = ranges.map(() => new Uint8Array(0));
    runs.forEach((r, k) => {
      const cp = { ...ix.checkpoints[plans[k].checkpoint], window: windows[k] };
      const bytes = inflateFromCheckpoint(cp, compressed[k], plans[k].from, r.start, r.end);
      for (const m of r.members) out[m.i] = bytes.subarray(m.start - r.start, m.end - r.start);
    });
    return out;
  }
}

function resolveUrl(url: string, base: string | undefined): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return url;
  if (!base)
    throw new FitsError('io', `relative data URL ${JSON.stringify(url)} needs the index URL or baseUrl`);
  return new URL(url, base).href;
}
