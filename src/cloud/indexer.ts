// Node-only: builds a cloud index of FITS files where they lie (a folder, an S3 prefix, a list of
// URLs), re-using the previous index for unchanged files, and writes it atomically.
import { randomBytes } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { constants as zconst, deflateRawSync } from 'node:zlib';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { ByteRange, ByteSource } from '../fits/byte-source.ts';
import { GzipIndexer } from '../fits/compression/inflate-index.ts';
import { openFits } from '../fits/fits-file.ts';
import { detectContainer } from '../io/compressed.ts';
import { FileSource } from '../io/file-source.ts';
import { HttpSource } from '../io/http-source.ts';
import { openSource } from '../io/open.ts';
import { S3Source } from '../io/s3-source.ts';
import { parseIndexBytes } from './client.ts';
import {
  type CloudIndexDoc,
  describeHdu,
  encodeGzi,
  FORMAT,
  type IndexedCheckpoints,
  type IndexedFile,
  PARQUET_COLUMNS,
  PARQUET_META_KEY,
  toParquetRows,
  VERSION,
} from './format.ts';

export interface S3Options {
  endpoint?: string;
  region?: string;
  /** true: never sign (public buckets); false: always sign; undefined: sign only when credentials are configured. */
  anonymous?: boolean;
  /** Send x-amz-request-payer: requester (requester-pays buckets; needs credentials). */
  requestPayer?: boolean;
}

export interface IndexOptions {
  /** Where the index goes: a local path or s3://bucket/key. */
  out: string;
  /** Maps indexed paths to the URLs clients fetch: url = prefix + path. */
  dataUrlPrefix?: string;
  /** Default: parquet when out ends in .parquet, else json. */
  format?: 'json' | 'parquet';
  /** Which names to index (default: .fits .fit .fts .fz, optionally .gz/.bz2). */
  include?: RegExp;
  s3?: S3Options;
  /** Files opened at once (default 8). */
  concurrency?: number;
  /** Progress and per-file errors. */
  log?: (line: string) => void;
  /**
   * Decompression checkpoints for whole-file gzip FITS (a sidecar per file, docs/cloud-index.md),
   * so clients read sections of the original .gz by range. They cost one more pass over the
   * compressed bytes (pure-JS inflate, ~50–100 MB/s of output). 'auto' (default): local files
   * always (a local read costs no transfer), remote (URL-list) files up to
   * `AUTO_CHECKPOINT_MAX_BYTES` compressed (the pass downloads the file a second time); true: every
   * gzip file; false: none.
   */
  gzipCheckpoints?: boolean | 'auto';
  /** Uncompressed distance between checkpoints (default 1 MiB): bytes per read vs sidecar size. */
  checkpointSpan?: number;
}

/** Largest remote .gz that gets checkpoints under 'auto' (2 GiB). */
export const AUTO_CHECKPOINT_MAX_BYTES = 2 ** 31;

export interface IndexStats {
  files: number;
  /** Files read this run (new or changed). */
  indexed: number;
  /** Unchanged files whose entries were copied from the previous index without reading them. */
  reused: number;
  /** Entries of the previous index whose file is gone. */
  removed: number;
  failed: number;
  /** Bytes read from data files this run, and read calls. */
  bytesRead: number;
  reads: number;
  /** gzip files given checkpoints this run, compressed bytes read for them, sidecar bytes written. */
  checkpointed: number;
  checkpointBytesRead: number;
  checkpointBytesWritten: number;
}

export const DEFAULT_INCLUDE = /\.(fits?|fts|fz)(\.(gz|bz2))?$/i;

/** A file found in the source, with what tells whether it changed. */
interface Listed {
  path: string;
  size: number;
  etag?: string;
  mtime?: string;
  url: string;
  open: () => Promise<ByteSource>;
  /** The raw (still compressed) bytes as a stream, for the checkpoint pass; `local` when on disk. */
  raw?: () => AsyncIterable<Uint8Array>;
  local?: boolean;
}

/** Indexes `source` and writes the index to `opts.out`; returns the document and what it cost. */
export async function buildIndex(
  source: string,
  opts: IndexOptions,
): Promise<{ doc: CloudIndexDoc; stats: IndexStats }> {
  const log = opts.log ?? (() => {});
  const previous = await readPrevious(opts.out, opts.s3);
  const prevByPath = new Map((previous?.files ?? []).map((f) => [f.path, f]));
  const listed = await list(source, opts);
  const stats: IndexStats = {
    files: listed.length,
    indexed: 0,
    reused: 0,
    removed: 0,
    failed: 0,
    bytesRead: 0,
    reads: 0,
    checkpointed: 0,
    checkpointBytesRead: 0,
    checkpointBytesWritten: 0,
  };
  const mode = opts.gzipCheckpoints ?? 'auto';
  const wantCheckpoints = (l: Listed) =>
    l.raw !== undefined &&
    (mode === true || (mode === 'auto' && (l.local || l.size <= AUTO_CHECKPOINT_MAX_BYTES)));
  const files: IndexedFile[] = new Array(listed.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < listed.length; i = next++) {
      const l = listed[i];
      const prev = prevByPath.get(l.path);
      // An unchanged gzip file indexed without checkpoints is read again when they are now wanted.
      const lacks = prev?.container === 'gzip' && !prev.error && !prev.checkpoints && wantCheckpoints(l);
      if (prev && unchanged(prev, l) && !lacks) {
        files[i] = { ...prev, url: l.url };
        stats.reused++;
        continue;
      }
      const entry = await indexFile(l, stats, log);
      if (entry.container === 'gzip' && !entry.error && wantCheckpoints(l)) {
        try {
          entry.checkpoints = await writeCheckpoints(l, opts, stats);
          stats.checkpointed++;
        } catch (err) {
          log(`${l.path}: no gzip checkpoints: ${(err as Error).message}`);
        }
      }
      files[i] = entry;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 8) }, worker));
  const seen = new Set(listed.map((l) => l.path));
  for (const p of prevByPath.keys()) if (!seen.has(p)) stats.removed++;
  const doc: CloudIndexDoc = {
    format: FORMAT,
    version: VERSION,
    created: new Date().toISOString(),
    generator: 'fitslake 0.1.0',
    source: /^(s3|https?):\/\//i.test(source) ? source : resolve(source),
    ...(opts.dataUrlPrefix ? { dataUrlPrefix: opts.dataUrlPrefix } : {}),
    files,
  };
  await writeIndex(doc, opts.out, opts.format ?? formatOf(opts.out), opts.s3);
  return { doc, stats };
}

export function formatOf(out: string): 'json' | 'parquet' {
  return /\.parquet$/i.test(out) ? 'parquet' : 'json';
}

function unchanged(prev: IndexedFile, l: Listed): boolean {
  if (prev.size !== l.size) return false;
  if (prev.etag !== undefined && l.etag !== undefined) return prev.etag === l.etag;
  if (prev.mtime !== undefined && l.mtime !== undefined) return prev.mtime === l.mtime;
  return false;
}

async function indexFile(l: Listed, stats: IndexStats, log: (line: string) => void): Promise<IndexedFile> {
  const entry: IndexedFile = { path: l.path, url: l.url, size: l.size, hdus: [] };
  if (l.etag !== undefined) entry.etag = l.etag;
  if (l.mtime !== undefined) entry.mtime = l.mtime;
  let source: ByteSource | undefined;
  try {
    source = await l.open();
    const counted = new CountingSource(source);
    const fits = await openFits(counted);
    const container = (source as { container?: 'gzip' | 'bzip2' }).container;
    if (container) entry.container = container;
    if (fits.headerOnly) entry.headerOnly = true;
    for (const h of fits.hdus) entry.hdus.push(await describeHdu(counted, h));
    stats.bytesRead += counted.bytesRead;
    stats.reads += counted.reads;
    stats.indexed++;
  } catch (err) {
    entry.hdus = [];
    entry.error = (err as Error).message;
    stats.failed++;
    log(`${l.path}: ${entry.error}`);
  } finally {
    await source?.close?.();
  }
  return entry;
}

/** Counts what the walk reads; keeps a forward-only stream's `sequential` flag visible. */
class CountingSource implements ByteSource {
  readonly name: string;
  bytesRead = 0;
  reads = 0;
  private readonly base: ByteSource;
  constructor(base: ByteSource) {
    this.base = base;
    this.name = base.name;
  }
  get sequential(): boolean | undefined {
    return (this.base as { sequential?: boolean }).sequential;
  }
  size(): Promise<number> {
    return this.base.size();
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    const b = await this.base.read(offset, length);
    this.bytesRead += b.length;
    this.reads++;
    return b;
  }
  async readMany(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    const out = this.base.readMany
      ? await this.base.readMany(ranges)
      : await Promise.all(ranges.map((r) => this.base.read(r.offset, r.length)));
    for (const b of out) this.bytesRead += b.length;
    this.reads += out.length;
    return out;
  }
}

/** Reads in aligned blocks with a small cache: header walks over S3 take one GET per 64 KiB, not per 2880 bytes. */
class BlockSource implements ByteSource {
  readonly name: string;
  private readonly base: ByteSource;
  private readonly block: number;
  private readonly cache = new Map<number, Uint8Array>();
  constructor(base: ByteSource, block = 64 << 10) {
    this.base = base;
    this.name = base.name;
    this.block = block;
  }
  size(): Promise<number> {
    return this.base.size();
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (length > this.block) return this.base.read(offset, length);
    const first = Math.floor(offset / this.block);
    const last = Math.floor((offset + length - 1) / this.block);
    const parts: Uint8Array[] = [];
    for (let b = first; b <= last; b++) {
      let blk = this.cache.get(b);
      if (!blk) {
        blk = await this.base.read(b * this.block, this.block);
        if (this.cache.size >= 16) this.cache.delete(this.cache.keys().next().value!);
        this.cache.set(b, blk);
      }
      parts.push(blk);
    }
    const all = parts.length === 1 ? parts[0] : concat(parts);
    const start = offset - first * this.block;
    return all.subarray(Math.min(start, all.length), Math.min(start + length, all.length));
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A local file (compressed ones decompressed as a stream, with their container noted). */
async function openLocal(path: string): Promise<ByteSource> {
  const f = await FileSource.open(path);
  const container = detectContainer(await f.read(0, 3));
  if (container === 'none') return f;
  await f.close();
  return Object.assign(await openSource(path), { container });
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function mapUrl(prefix: string | undefined, path: string, fallback: string): string {
  if (!prefix) return fallback;
  return (prefix.endsWith('/') ? prefix : `${prefix}/`) + encodePath(path);
}

async function list(source: string, opts: IndexOptions): Promise<Listed[]> {
  const include = opts.include ?? DEFAULT_INCLUDE;
  const prefix = opts.dataUrlPrefix;
  if (/^s3:\/\//i.test(source)) return listS3(source, opts);
  const st = statSync(source);
  if (st.isDirectory()) {
    const root = resolve(source);
    const outDir = /^s3:\/\//i.test(opts.out) ? undefined : dirname(resolve(opts.out));
    const out: Listed[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const abs = join(dir, e.name);
        if (e.isDirectory()) walk(abs);
        else if (e.isFile() && include.test(e.name)) {
          const s = statSync(abs);
          const path = relative(root, abs).split(sep).join('/');
          // Without a prefix: the path from the index to the file, so index and data can be
          // published together on any static host (or committed to git) and still resolve.
          const fallback = outDir
            ? encodePath(relative(outDir, abs).split(sep).join('/'))
            : pathToFileURL(abs).href;
          out.push({
            path,
            size: s.size,
            mtime: new Date(Math.floor(s.mtimeMs)).toISOString(),
            url: mapUrl(prefix, path, fallback),
            open: () => openLocal(abs),
            raw: () => createReadStream(abs, { highWaterMark: 1 << 20 }),
            local: true,
          });
        }
      }
    };
    walk(root);
    return out;
  }
  // A text file listing http(s) URLs, one per line (# comments and blank lines ignored).
  const urls = readFileSync(source, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const out: Listed[] = [];
  for (const url of urls) {
    if (!/^https?:\/\//i.test(url)) throw new Error(`${source}: not an http(s) URL: ${url}`);
    const res = await fetch(url, { method: 'HEAD' });
    if (!res.ok) throw new Error(`HEAD ${url}: HTTP ${res.status}`);
    const path = decodeURIComponent(new URL(url).pathname.replace(/^\/+/, ''));
    const l: Listed = {
      path,
      size: Number(res.headers.get('content-length') ?? 0),
      url: mapUrl(prefix, path, url),
      open: async () => {
        const http = new HttpSource(url);
        const container = detectContainer(await http.read(0, 3));
        if (container === 'none') return http;
        return Object.assign(await openSource(url), { container });
      },
      raw: () => fetchBody(url),
    };
    const etag = res.headers.get('etag');
    if (etag) l.etag = etag.replace(/^W\//, '').replace(/"/g, '');
    const lm = res.headers.get('last-modified');
    if (lm) l.mtime = new Date(lm).toISOString();
    out.push(l);
  }
  return out;
}

function parseS3(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
  if (!m) throw new Error(`not an s3://bucket/prefix URL: ${url}`);
  return { bucket: m[1], key: m[2] };
}

function hasCredentials(): boolean {
  const e = process.env;
  return Boolean(
    e.AWS_ACCESS_KEY_ID ||
      e.AWS_PROFILE ||
      e.AWS_WEB_IDENTITY_TOKEN_FILE ||
      e.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ||
      e.AWS_CONTAINER_CREDENTIALS_FULL_URI ||
      existsSync(join(homedir(), '.aws', 'credentials')),
  );
}

/** An S3 client: anonymous (unsigned) unless credentials are configured or asked for. */
export function s3Client(o: S3Options = {}): S3Client {
  const endpoint = o.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const config: S3ClientConfig = {
    region: o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: Boolean(endpoint),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (endpoint) config.endpoint = endpoint;
  if (o.anonymous ?? !hasCredentials()) {
    // Public buckets: send requests unsigned, as `aws --no-sign-request` does.
    config.credentials = { accessKeyId: '', secretAccessKey: '' };
    config.signer = { sign: async (request) => request };
  }
  const client = new S3Client(config);
  if (o.requestPayer) {
    client.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { headers?: Record<string, string> };
        if (req.headers) req.headers['x-amz-request-payer'] = 'requester';
        return next(args);
      },
      { step: 'build', name: 'fitslakeRequesterPays' },
    );
  }
  return client;
}

/** The public HTTPS URL of an S3 object (path-style on a custom endpoint). */
function s3HttpUrl(client: S3Client, o: S3Options, bucket: string, key: string): string {
  const endpoint = o.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  if (endpoint) return `${endpoint.replace(/\/+$/, '')}/${bucket}/${encodePath(key)}`;
  const region = typeof client.config.region === 'string' ? client.config.region : 'us-east-1';
  const host = region === 'us-east-1' ? `${bucket}.s3.amazonaws.com` : `${bucket}.s3.${region}.amazonaws.com`;
  return `https://${host}/${encodePath(key)}`;
}

async function listS3(source: string, opts: IndexOptions): Promise<Listed[]> {
  const { bucket, key: prefix } = parseS3(source);
  const o = opts.s3 ?? {};
  const client = s3Client(o);
  const include = opts.include ?? DEFAULT_INCLUDE;
  const payer = o.requestPayer ? { RequestPayer: 'requester' as const } : {};
  const out: Listed[] = [];
  let token: string | undefined;
  do {
    const page = await client
      .send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, ...payer }))
      .catch((err: Error & { $metadata?: { httpStatusCode?: number } }) => {
        const status = err.$metadata?.httpStatusCode;
        throw new Error(
          `listing ${source} failed${status ? ` (HTTP ${status})` : ''}: ${err.name}: ${err.message}`,
        );
      });
    for (const obj of page.Contents ?? []) {
      const key = obj.Key!;
      if (key.endsWith('/') || !include.test(key.split('/').pop()!)) continue;
      const path = key.slice(prefix.length).replace(/^\/+/, '');
      const size = obj.Size ?? 0;
      const l: Listed = {
        path,
        size,
        url: mapUrl(opts.dataUrlPrefix, path, s3HttpUrl(client, o, bucket, key)),
        open: async () => {
          const s3 = new BlockSource(new S3Source(client, bucket, key, size));
          const container = detectContainer(await s3.read(0, 3));
          if (container !== 'none') throw new Error(`whole-file ${container} on S3 is not indexed yet`);
          return s3;
        },
      };
      if (obj.ETag) l.etag = obj.ETag.replace(/"/g, '');
      if (obj.LastModified) l.mtime = obj.LastModified.toISOString();
      out.push(l);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** The previous index at `out`, if there is one (a missing or unreadable one means start afresh). */
async function readPrevious(out: string, s3?: S3Options): Promise<CloudIndexDoc | undefined> {
  let bytes: Uint8Array | undefined;
  if (/^s3:\/\//i.test(out)) {
    const { bucket, key } = parseS3(out);
    try {
      const r = await s3Client(s3).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      bytes = await r.Body!.transformToByteArray();
    } catch {
      return undefined;
    }
  } else if (existsSync(out)) bytes = new Uint8Array(readFileSync(out));
  if (!bytes) return undefined;
  try {
    return await parseIndexBytes(bytes, out);
  } catch {
    return undefined;
  }
}

/** The bytes of the index in either form. */
export function encodeIndex(doc: CloudIndexDoc, format: 'json' | 'parquet'): Uint8Array {
  if (format === 'json') return new TextEncoder().encode(`${JSON.stringify(doc)}\n`);
  const rows = toParquetRows(doc);
  const { files: _, ...envelope } = doc;
  const buf = parquetWriteBuffer({
    columnData: PARQUET_COLUMNS.map(([name, type]) => ({
      name,
      type,
      data: rows.map((r) => r[name]) as never,
    })),
    kvMetadata: [{ key: PARQUET_META_KEY, value: JSON.stringify(envelope) }],
    createdBy: 'fitslake 0.1.0',
  });
  return new Uint8Array(buf);
}

/** Writes atomically: a temporary file renamed over the target, or one S3 PutObject. */
export async function writeIndex(
  doc: CloudIndexDoc,
  out: string,
  format: 'json' | 'parquet',
  s3?: S3Options,
): Promise<void> {
  const bytes = encodeIndex(doc, format);
  if (/^s3:\/\//i.test(out)) {
    const { bucket, key } = parseS3(out);
    await s3Client(s3).send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: bytes,
        ContentType: format === 'json' ? 'application/json' : 'application/vnd.apache.parquet',
      }),
    );
    return;
  }
  const tmp = `${out}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, out);
  } catch (err) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw err;
  }
}

/** An HTTP(S) body as a stream of chunks. */
async function* fetchBody(url: string): AsyncIterable<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
    await res.body.cancel().catch(() => {});
  }
}

/** Where a file's checkpoint sidecar goes, beside the index: `<out>.gzi/<path>.gzi`. */
export function sidecarOf(out: string, path: string): { target: string; url: string } {
  const name = /^s3:\/\//i.test(out) ? out.slice(out.lastIndexOf('/') + 1) : basename(out);
  return { target: `${out}.gzi/${path}.gzi`, url: `${encodePath(`${name}.gzi`)}/${encodePath(path)}.gzi` };
}

/**
 * One pass over a gzip file's compressed bytes: its checkpoints (every member's CRC checked),
 * written as a sidecar beside the index; returns the entry's `checkpoints` field.
 */
async function writeCheckpoints(
  l: Listed,
  opts: IndexOptions,
  stats: IndexStats,
): Promise<IndexedCheckpoints> {
  const span = opts.checkpointSpan ?? 1 << 20;
  const ix = new GzipIndexer(span);
  let read = 0;
  try {
    for await (const chunk of l.raw!()) {
      read += chunk.length;
      ix.push(chunk);
    }
  } finally {
    stats.checkpointBytesRead += read;
  }
  const index = ix.finish();
  if (index.compressedSize !== l.size)
    throw new Error(
      `read ${index.compressedSize} compressed bytes, listed size ${l.size}: changed meanwhile?`,
    );
  const bytes = encodeGzi(index, index.checkpoints, (w) =>
    deflateRawSync(w, { level: zconst.Z_BEST_COMPRESSION }),
  );
  const { target, url } = sidecarOf(opts.out, l.path);
  await writeObject(target, bytes, 'application/octet-stream', opts.s3);
  stats.checkpointBytesWritten += bytes.length;
  return { url, span, count: index.checkpoints.length, size: bytes.length };
}

/** Writes bytes atomically to a local path (folders made) or as one S3 PutObject. */
async function writeObject(
  target: string,
  bytes: Uint8Array,
  contentType: string,
  s3?: S3Options,
): Promise<void> {
  if (/^s3:\/\//i.test(target)) {
    const { bucket, key } = parseS3(target);
    await s3Client(s3).send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: contentType }),
    );
    return;
  }
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, target);
  } catch (err) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw err;
  }
}
