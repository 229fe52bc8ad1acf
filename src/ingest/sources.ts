import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { watch } from 'chokidar';
import { enqueueMany } from '../catalog/jobs.ts';
import type { Lake } from '../lake/lake.ts';
import { validateKey } from '../storage/keys.ts';
import type { IngestPayload } from './worker.ts';

/**
 * Where new objects come from: a local file or folder, an http(s) URL, an S3 bucket (listed once,
 * or periodically), S3 event notifications, or a watched folder. Each source copies the bytes into
 * the raw zone under `<collection>/<path>` and queues one durable ingest job per object; a crash
 * between copy and queueing is repaired by `reconcile`.
 */
export interface Arrival {
  key: string;
  /** Where it came from (for messages). */
  from: string;
  size: number;
}

export class SourceError extends Error {
  override name = 'SourceError';
}

export const toKey = (collection: string, rel: string) =>
  validateKey(`${collection}/${rel.split(sep).join('/')}`);

/** Files under a path: the file itself, a folder's files, and with `recursive` its subfolders'. */
export async function* localFiles(
  path: string,
  recursive: boolean,
): AsyncIterable<{ path: string; rel: string }> {
  const s = await stat(path).catch(() => undefined);
  if (!s) throw new SourceError(`${path}: no such file or folder`);
  if (s.isFile()) {
    yield { path, rel: basename(path) };
    return;
  }
  const walk = async function* (dir: string): AsyncIterable<{ path: string; rel: string }> {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = join(dir, e.name);
      if (e.isFile()) yield { path: full, rel: relative(path, full) };
      else if (e.isDirectory() && recursive) yield* walk(full);
    }
  };
  yield* walk(path);
}

/** Runs `fn` over items with at most `limit` in flight, yielding results as they finish. */
async function* pool<T, R>(
  items: AsyncIterable<T>,
  limit: number,
  fn: (t: T) => Promise<R>,
): AsyncIterable<R> {
  const running = new Map<number, Promise<[number, R]>>();
  let n = 0;
  for await (const item of items) {
    const id = n++;
    running.set(
      id,
      fn(item).then((r) => [id, r]),
    );
    if (running.size >= limit) {
      const [done, r] = await Promise.race(running.values());
      running.delete(done);
      yield r;
    }
  }
  while (running.size) {
    const [done, r] = await Promise.race(running.values());
    running.delete(done);
    yield r;
  }
}

/** Copies local files into the raw zone (16 at a time, streamed; fsync latency overlaps). */
export function copyLocal(
  lake: Lake,
  path: string,
  collection: string,
  recursive: boolean,
): AsyncIterable<Arrival> {
  return pool(localFiles(path, recursive), 16, async (f) => {
    const key = toKey(collection, f.rel);
    const meta = await lake.zones.raw.put(key, createReadStream(f.path, { highWaterMark: 1 << 20 }));
    return { key, from: f.path, size: meta.size };
  });
}

/** Downloads an http(s) URL into the raw zone, streaming. */
export async function copyUrl(lake: Lake, url: string, collection: string): Promise<Arrival> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new SourceError(`${url}: HTTP ${res.status} ${res.statusText}`);
  const name = decodeURIComponent(new URL(url).pathname.split('/').pop() || 'download');
  const key = toKey(collection, name);
  const contentType = res.headers.get('content-type');
  const meta = await lake.zones.raw.put(
    key,
    Readable.fromWeb(res.body as never),
    contentType ? { contentType, metadata: { 'source-url': url } } : { metadata: { 'source-url': url } },
  );
  return { key, from: url, size: meta.size };
}

export interface S3Location {
  bucket: string;
  prefix: string;
}

export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) throw new SourceError(`${url}: not an s3://bucket/prefix URL`);
  return { bucket: m[1], prefix: m[2] };
}

/** An S3 client for a source bucket, with the lake's endpoint settings and credentials. */
export function sourceClient(lake: Lake, endpoint?: string): S3Client {
  const s3 = lake.loaded.config.storage.s3;
  const { s3AccessKeyId, s3SecretAccessKey } = lake.loaded.secrets;
  const ep = endpoint ?? s3.endpoint;
  return new S3Client({
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(ep ? { endpoint: ep } : {}),
    ...(s3AccessKeyId && s3SecretAccessKey
      ? { credentials: { accessKeyId: s3AccessKeyId, secretAccessKey: s3SecretAccessKey } }
      : {}),
  });
}

async function* listBucket(
  client: S3Client,
  loc: S3Location,
): AsyncIterable<{ key: string; etag: string; size: number }> {
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: loc.prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? [])
      if (o.Key && !o.Key.endsWith('/'))
        yield { key: o.Key, etag: (o.ETag ?? '').replace(/"/g, ''), size: o.Size ?? 0 };
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/** Copies one S3 object into the raw zone, remembering its source ETag (so a re-listing skips it). */
async function copyS3Object(
  lake: Lake,
  client: S3Client,
  bucket: string,
  srcKey: string,
  rel: string,
  collection: string,
  etag?: string,
): Promise<Arrival | null> {
  const key = toKey(collection, rel);
  if (etag) {
    const have = await lake.zones.raw.head(key);
    if (have?.metadata['source-etag'] === etag) return null;
  }
  const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: srcKey }));
  const body = got.Body as Readable | undefined;
  if (!body) throw new SourceError(`s3://${bucket}/${srcKey}: empty response`);
  const meta = await lake.zones.raw.put(key, body, {
    metadata: {
      'source-url': `s3://${bucket}/${srcKey}`,
      'source-etag': (got.ETag ?? etag ?? '').replace(/"/g, ''),
    },
  });
  return { key, from: `s3://${bucket}/${srcKey}`, size: meta.size };
}

/** Lists an S3 prefix and copies every object not copied before (by its ETag). */
export async function* copyS3(
  lake: Lake,
  url: string,
  collection: string,
  client: S3Client = sourceClient(lake),
): AsyncIterable<Arrival> {
  const loc = parseS3Url(url);
  // The whole source key is kept (as for event notifications), so listing and events name an object
  // the same way and never copy it twice.
  for await (const r of pool(listBucket(client, loc), 8, (o) =>
    copyS3Object(lake, client, loc.bucket, o.key, o.key, collection, o.etag),
  ))
    if (r) yield r;
}

/**
 * The objects an S3 event notification (as S3 sends to SQS, SNS, Lambda or a webhook) reports as
 * created. Keys arrive URL-encoded with '+' for spaces.
 */
export function createdObjects(event: unknown): { bucket: string; key: string; etag?: string }[] {
  const records = (event as { Records?: unknown[] })?.Records;
  if (!Array.isArray(records)) throw new SourceError('not an S3 event notification: no Records array');
  const out: { bucket: string; key: string; etag?: string }[] = [];
  for (const r of records as {
    eventName?: string;
    s3?: { bucket?: { name?: string }; object?: { key?: string; eTag?: string } };
  }[]) {
    if (!r.eventName?.startsWith('ObjectCreated:')) continue;
    const bucket = r.s3?.bucket?.name;
    const raw = r.s3?.object?.key;
    if (!bucket || !raw)
      throw new SourceError(`S3 event record without bucket or key: ${JSON.stringify(r).slice(0, 200)}`);
    const o: { bucket: string; key: string; etag?: string } = {
      bucket,
      key: decodeURIComponent(raw.replace(/\+/g, ' ')),
    };
    if (r.s3?.object?.eTag) o.etag = r.s3.object.eTag;
    out.push(o);
  }
  return out;
}

/** Copies the objects an S3 event reports into the raw zone. */
export async function* copyS3Event(
  lake: Lake,
  event: unknown,
  collection: string,
  client: S3Client = sourceClient(lake),
): AsyncIterable<Arrival> {
  for (const o of createdObjects(event)) {
    const r = await copyS3Object(lake, client, o.bucket, o.key, o.key, collection, o.etag);
    if (r) yield r;
  }
}

/** Queues ingest jobs for arrivals, in batches. Returns the job ids. */
export async function queueIngest(lake: Lake, keys: string[], force = false): Promise<number[]> {
  const payloads: IngestPayload[] = keys.map((key) => ({ zone: 'raw', key, ...(force ? { force } : {}) }));
  return enqueueMany(lake.catalog, 'ingest', payloads, {
    maxAttempts: lake.loaded.config.ingest.maxAttempts,
  });
}

/**
 * Watches a folder: every file that appears or changes (once its size has been stable, so half-
 * written files are not taken) is copied in and queued. Stops when `signal` aborts.
 */
export async function watchFolder(
  lake: Lake,
  dir: string,
  collection: string,
  onArrival: (a: Arrival, jobId: number) => void,
  signal: AbortSignal,
): Promise<void> {
  const watcher = watch(dir, {
    ignoreInitial: false,
    ignored: (p) => basename(p).startsWith('.') && p !== dir,
    awaitWriteFinish: {
      stabilityThreshold: Math.min(2000, lake.loaded.config.ingest.pollSeconds * 1000),
      pollInterval: 100,
    },
  });
  const handle = async (path: string) => {
    try {
      const key = toKey(collection, relative(dir, path));
      const meta = await lake.zones.raw.put(key, createReadStream(path, { highWaterMark: 1 << 20 }));
      const [id] = await queueIngest(lake, [key]);
      onArrival({ key, from: path, size: meta.size }, id);
    } catch (err) {
      onArrival({ key: '', from: `${path}: ${(err as Error).message}`, size: -1 }, -1);
    }
  };
  watcher.on('add', handle).on('change', handle);
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve());
  });
  await watcher.close();
}

/** How old a stored object must be before reconcile takes it for one whose ingest was lost. */
export const RECONCILE_SETTLE_MS = 60_000;

/**
 * Brings catalog and raw zone into agreement after a crash or an out-of-band change: objects with
 * no current catalogued version get an ingest job; catalogued keys whose object is gone are marked
 * deleted (current = 0) and leave their observations. Objects stored in the last `settleMs` are left
 * to whoever is storing them: an ingest queues its job (or catalogues the file) just after storing
 * it, and a reconcile running in between would queue the same key a second time.
 */
export async function reconcile(
  lake: Lake,
  settleMs = RECONCILE_SETTLE_MS,
): Promise<{ queued: number; removed: number }> {
  const settled = Date.now() - settleMs;
  const cat = lake.catalog;
  // Keys still queued or running will be ingested anyway. Read BEFORE the catalogued files: a worker
  // elsewhere records a file and only then marks its job done, so a job finished after this read
  // shows up below as catalogued, and none falls between the two reads (read the other way round,
  // a job finishing in between looked uncatalogued and not pending, and was queued a second time).
  const pending = new Set(
    (
      await cat.db
        .selectFrom('jobs')
        .select('payload')
        .where('kind', '=', 'ingest')
        .where('status', 'in', ['queued', 'running'])
        .execute()
    ).map((j) => (JSON.parse(j.payload) as IngestPayload).key),
  );
  const known = new Map<string, { id: number; etag: string | null; size: number }>();
  for (const r of await cat.db
    .selectFrom('files')
    .select(['id', 'key', 'etag', 'size'])
    .where('zone', '=', 'raw')
    .where('current', '=', 1)
    .execute())
    known.set(r.key, { id: Number(r.id), etag: r.etag, size: Number(r.size) });
  const missing: string[] = [];
  let token: string | undefined;
  do {
    const page = await lake.zones.raw.list({ ...(token ? { continuationToken: token } : {}) });
    for (const o of page.objects) {
      const k = known.get(o.key);
      known.delete(o.key);
      if (o.lastModified.getTime() > settled) continue;
      if (!k || k.etag !== o.etag || k.size !== o.size) missing.push(o.key);
    }
    token = page.nextToken;
  } while (token);
  const queue = missing.filter((k) => !pending.has(k));
  if (queue.length) await queueIngest(lake, queue);
  const gone = [...known.values()].map((k) => k.id);
  for (let i = 0; i < gone.length; i += 500) {
    const ids = gone.slice(i, i + 500);
    await cat.db.transaction().execute(async (tx) => {
      await tx
        .updateTable('files')
        .set({ current: 0, status: 'deleted', updated_at: new Date().toISOString() })
        .where('id', 'in', ids)
        .execute();
      await tx.deleteFrom('artifacts').where('file_id', 'in', ids).execute();
    });
  }
  return { queued: queue.length, removed: gone.length };
}
