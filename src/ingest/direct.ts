import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { CollectionSettings } from '../config/config.ts';
import type { Lake } from '../lake/lake.ts';
import { LocalStore } from '../storage/local-store.ts';
import type { ObjectMeta } from '../storage/object-store.ts';
import { crawl } from './crawler.ts';
import extractInThread, { type ExtractResult, type ExtractTask } from './extract-thread.ts';
import { commitPrepared, type IngestOutcome, type PreparedIngest, preparedWrite } from './ingest-object.ts';
import { localFiles, toKey } from './sources.ts';
import { queueCrawl, queueFollowUps, splitKey } from './worker.ts';

/** Files up to this size are read once into memory and catalogued in the same pass. */
export const DIRECT_LIMIT = 4 << 20;
/** Files in flight when this thread reads them (a raw zone elsewhere): memory stays under 16 × DIRECT_LIMIT. */
const IN_FLIGHT_READ = 16;
/**
 * Files in flight when the extraction threads read and store them (a local raw zone). Each holds
 * only its extracted rows here, and the threads need queues deep enough to keep working while this
 * thread commits a batch: with 16, they waited for work a quarter of the time.
 */
const IN_FLIGHT_THREADS = 128;
/** The schema crawl runs every this many files, while the threads go on, rather than all at the end. */
const CRAWL_EVERY = 2000;
/** Files per catalog transaction (a commit per file would cost more than reading it). */
const BATCH = 64;
/** Below this many files an extraction thread's start-up does not pay: extract in this thread. */
const THREAD_THRESHOLD = 128;

export interface DirectProgress {
  /** Files stored in the lake. */
  stored: number;
  /** Files catalogued (ingested, unchanged or failed), or handed to the job queue. */
  settled: number;
}

export interface DirectResult {
  keys: string[];
  /** Keys handed to the durable job queue instead: larger files, and any whose one-pass ingest failed. */
  queued: string[];
}

/**
 * Ingests local files in one pass: each small file is read once, stored (temp file, fsync,
 * rename), extracted from the same bytes in extraction threads, and catalogued with its batch in
 * one transaction — no job round trip, no second read from the store. Larger files, and any file
 * whose one-pass ingest fails, go to the durable job queue as before. A crash between storing and
 * cataloguing leaves a stored object the catalog lacks; running the ingest again (or reconcile)
 * catalogues it, since every write is keyed by key + SHA-256.
 */
export async function ingestLocal(
  lake: Lake,
  path: string,
  collection: string,
  recursive: boolean,
  progress: (p: DirectProgress) => void = () => {},
): Promise<DirectResult> {
  const keys: string[] = [];
  const queued: string[] = [];
  const count: DirectProgress = { stored: 0, settled: 0 };
  const settings = new Map<string, Promise<CollectionSettings>>();
  const settingsOf = (c: string) => {
    let p = settings.get(c);
    if (!p) settings.set(c, (p = lake.collection(c)));
    return p;
  };
  const crawls = new Set<string>();
  let pool: Piscina | undefined;
  let ready: {
    prepared: PreparedIngest;
    target: { key: string; collection: string; settings: CollectionSettings };
  }[] = [];
  let writing: Promise<void> = Promise.resolve();

  const settle = (n: number) => {
    count.settled += n;
    progress(count);
  };
  // With the raw zone on local disk, threads also read and store the files (their fsyncs overlap);
  // otherwise this thread stores them and threads only extract.
  const raw = lake.zones.raw;
  const root = raw instanceof LocalStore ? raw.root : undefined;
  const inFlight = root ? IN_FLIGHT_THREADS : IN_FLIGHT_READ;
  let crawledAt = 0;
  const extract = (task: ExtractTask): Promise<ExtractResult> => {
    if (!pool && keys.length >= THREAD_THRESHOLD) {
      const threads = lake.loaded.config.ingest.threads ?? availableParallelism() + 1;
      const ts = import.meta.url.endsWith('.ts');
      pool = new Piscina({
        filename: new URL(`./extract-thread.${ts ? 'ts' : 'js'}`, import.meta.url).href,
        minThreads: threads,
        maxThreads: threads,
        // Tasks run one after another in a thread (blocking file calls); the queue keeps it busy.
        concurrentTasksPerWorker: Math.ceil(inFlight / threads),
      });
    }
    return pool ? pool.run(task) : extractInThread(task);
  };
  // Batches are written one after the other (one writer), while reading and extraction go on.
  const write = (batch: typeof ready) => {
    writing = writing.then(async () => {
      const results = await commitPrepared(
        lake.catalog,
        batch.map((b) => b.prepared),
      );
      const failed = batch.filter((_, i) => results[i] instanceof Error).map((b) => b.target.key);
      queued.push(...failed);
      for (const c of await queueFollowUps(
        lake,
        batch.map((b) => b.target),
        results as (IngestOutcome | Error)[],
      ))
        crawls.add(c);
      settle(batch.length - failed.length);
      if (count.settled - crawledAt >= CRAWL_EVERY) {
        crawledAt = count.settled;
        for (const c of crawls) await crawl(lake.catalog, c);
      }
    });
    return writing;
  };

  const one = async (file: { path: string; rel: string }) => {
    const key = toKey(collection, file.rel);
    keys.push(key);
    const where = splitKey(key, collection);
    const target = {
      catalog: lake.catalog,
      zone: 'raw',
      key,
      collection: where.collection,
      settings: await settingsOf(where.collection),
    };
    const task: ExtractTask = { key, relKey: where.relKey, settings: target.settings };
    let meta: ObjectMeta | undefined;
    if (root) task.file = { path: file.path, root, limit: DIRECT_LIMIT };
    else {
      const { size } = await stat(file.path);
      if (size <= DIRECT_LIMIT) {
        task.bytes = await readFile(file.path);
        meta = await raw.put(key, task.bytes);
      }
    }
    // A file that cannot be read or stored throws here, which ends the command as a copy would.
    const r = task.file || task.bytes ? await extract(task) : undefined;
    if (r && 'retry' in r) {
      // Stored, but reading it failed for a reason worth a retry with backoff: the job queue does that.
      count.stored++;
      queued.push(key);
      return;
    }
    if (!r || 'tooBig' in r) {
      await raw.put(key, createReadStream(file.path, { highWaterMark: 1 << 20 }));
      count.stored++;
      queued.push(key);
      return;
    }
    count.stored++;
    meta ??= r.meta as ObjectMeta;
    ready.push({ prepared: preparedWrite(target, meta, r.extracted), target });
    if (ready.length >= BATCH) {
      const batch = ready;
      ready = [];
      await write(batch);
    }
  };

  // The first error (a file that cannot be read or stored) ends the command, as a copy would, once
  // the files in flight have settled.
  let failure: unknown;
  try {
    const running = new Set<Promise<void>>();
    for await (const file of localFiles(path, recursive)) {
      const p = one(file)
        .catch((err) => {
          failure ??= err;
        })
        .finally(() => running.delete(p));
      running.add(p);
      if (running.size >= inFlight) await Promise.race(running);
      if (failure) break;
    }
    await Promise.all(running);
    if (ready.length) await write(ready);
    await writing;
  } finally {
    await pool?.destroy();
  }
  if (failure) throw failure;
  for (const c of crawls) await queueCrawl(lake, c);
  progress(count);
  return { keys, queued };
}
