import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  claim,
  complete,
  completeMany,
  enqueue,
  enqueueMany,
  fail,
  type Job,
  releaseDeadLeases,
} from '../catalog/jobs.ts';
import type { Lake } from '../lake/lake.ts';
import { StorageError } from '../storage/errors.ts';
import { crawl } from './crawler.ts';
import { type IngestOutcome, ingestBatch } from './ingest-object.ts';
import { optimizeFile } from './optimize.ts';

/** Jobs per claim: ingests of one claim share a transaction. */
const BATCH = 64;

export interface IngestPayload {
  zone: 'raw';
  key: string;
  force?: boolean;
}

/** The collection of a raw-zone key: its first folder (`<collection>/<path…>`). */
export function splitKey(key: string, fallback: string): { collection: string; relKey: string } {
  const slash = key.indexOf('/');
  return slash > 0
    ? { collection: key.slice(0, slash), relKey: key.slice(slash + 1) }
    : { collection: fallback, relKey: key };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface WorkerOptions {
  concurrency?: number;
  /** Return when no runnable job is left (the CLI's ingest); otherwise poll until stopped. */
  untilIdle?: boolean;
  /** Stops claiming new jobs; running ones finish. */
  signal?: AbortSignal;
  pollMs?: number;
  onResult?: (job: Job, result: IngestOutcome | string[] | 'failed' | 'retry' | unknown) => void;
}

/**
 * A worker: claims jobs with a lease (so any number of workers in any processes sharing the catalog
 * cooperate), runs them with bounded concurrency, retries transient failures with exponential
 * backoff and parks permanent ones with their error.
 */
export class Worker {
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly lake: Lake;
  private readonly crawlPending = new Set<string>();

  constructor(lake: Lake) {
    this.lake = lake;
  }

  async run(opts: WorkerOptions = {}): Promise<void> {
    const cat = this.lake.catalog;
    const concurrency = opts.concurrency ?? this.lake.loaded.config.workers.concurrency;
    await releaseDeadLeases(cat, hostname(), alive);
    const running = new Set<Promise<void>>();
    let idleRounds = 0;
    while (!opts.signal?.aborted) {
      let claimed: Job[] = [];
      if (running.size < concurrency) {
        // One claim serves a batch: ingests are read concurrently and committed together.
        try {
          claimed = await claim(cat, this.owner, ['ingest'], BATCH, 5 * 60_000);
          // Previews and crawls take longer each: claim a few, so other workers share them.
          if (!claimed.length)
            claimed = await claim(cat, this.owner, ['preview', 'crawl', 'optimize'], 4, 5 * 60_000);
        } catch (err) {
          // Another process holds SQLite's write lock for longer than the busy timeout: try again.
          if (!/database is locked|SQLITE_BUSY/i.test((err as Error).message)) throw err;
          await sleep(50 + Math.random() * 100, opts.signal);
          continue;
        }
      }
      if (claimed.length === 0) {
        if (running.size) {
          await Promise.race(running);
          continue;
        }
        await this.flushCrawls();
        if (opts.untilIdle) {
          // Idle twice in a row (crawls just queued may be runnable): done.
          if (++idleRounds >= 2 && !(await this.anyRunnable())) return;
          continue;
        }
        await sleep(opts.pollMs ?? 500, opts.signal);
        continue;
      }
      idleRounds = 0;
      const p = this.runClaimed(claimed, opts).finally(() => running.delete(p));
      running.add(p);
      if (running.size >= concurrency) await Promise.race(running);
    }
    await Promise.all(running);
    await this.flushCrawls();
  }

  /** Runs what one claim returned: the ingests as one batch, the rest one by one. */
  private async runClaimed(jobs: Job[], opts: WorkerOptions): Promise<void> {
    const ingests = jobs.filter((j) => j.kind === 'ingest');
    if (ingests.length) await this.runIngests(ingests, opts);
    for (const job of jobs) if (job.kind !== 'ingest') await this.runOne(job, opts);
  }

  private async runIngests(jobs: Job[], opts: WorkerOptions): Promise<void> {
    const lake = this.lake;
    // One settings lookup per collection per batch, not per file.
    const settings = new Map<string, Promise<Awaited<ReturnType<Lake['collection']>>>>();
    const settingsOf = (c: string) => {
      let p = settings.get(c);
      if (!p) settings.set(c, (p = lake.collection(c)));
      return p;
    };
    const targets = await Promise.all(
      jobs.map(async (job) => {
        const p = job.payload as IngestPayload;
        const { collection, relKey } = splitKey(p.key, lake.loaded.config.ingest.defaultCollection);
        return {
          store: lake.zones.raw,
          catalog: lake.catalog,
          zone: 'raw',
          key: p.key,
          collection,
          relKey,
          settings: await settingsOf(collection),
          ...(p.force ? { force: true } : {}),
        };
      }),
    );
    const results = await ingestBatch(lake.catalog, targets);
    const done: Job[] = [];
    for (const [i, job] of jobs.entries()) {
      const r = results[i];
      if (r instanceof Error) await this.failed(job, r, opts);
      else done.push(job);
    }
    for (const c of await queueFollowUps(lake, targets, results)) this.crawlPending.add(c);
    await completeMany(lake.catalog, done, this.owner);
    for (const [i, job] of jobs.entries())
      if (!(results[i] instanceof Error)) opts.onResult?.(job, results[i]);
  }

  private async failed(job: Job, err: Error, opts: WorkerOptions): Promise<void> {
    const cfg = this.lake.loaded.config.ingest;
    const permanent = err instanceof StorageError && err.code !== 'io';
    const result = await fail(this.lake.catalog, job, this.owner, err.message, {
      retry: !permanent,
      backoffMs: cfg.backoffMs,
    });
    if (result === 'failed') await this.recordParked(job, err.message);
    opts.onResult?.(job, result);
  }

  private async anyRunnable(): Promise<boolean> {
    const row = await this.lake.catalog.db
      .selectFrom('jobs')
      .select('id')
      .where('status', '=', 'queued')
      .where('run_after', '<=', new Date().toISOString())
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  private async runOne(job: Job, opts: WorkerOptions): Promise<void> {
    let result: unknown;
    try {
      result = await this.execute(job);
      await complete(this.lake.catalog, job, this.owner);
    } catch (err) {
      await this.failed(job, err as Error, opts);
      return;
    }
    opts.onResult?.(job, result);
  }

  private async execute(job: Job): Promise<unknown> {
    const lake = this.lake;
    // Ingest jobs never come here: runClaimed batches them through runIngests.
    if (job.kind === 'preview') {
      // Loaded with the first preview job: image encoding is heavy to load and often switched off.
      const { makePreviews } = await import('./previews.ts');
      return makePreviews(lake, (job.payload as { fileId: number }).fileId);
    }
    if (job.kind === 'optimize') return optimizeFile(lake, (job.payload as { fileId: number }).fileId);
    if (job.kind === 'crawl') return crawl(lake.catalog, (job.payload as { collection: string }).collection);
    throw new StorageError('invalid-key', `unknown job kind ${job.kind}`);
  }

  /** A job given up on: its file (when it has none yet) is catalogued as failed with the reason. */
  private async recordParked(job: Job, message: string): Promise<void> {
    const ts = new Date().toISOString();
    await this.lake.catalog.db
      .insertInto('events')
      .values({
        kind: 'job.failed',
        payload: JSON.stringify({ job: job.id, kind: job.kind, payload: job.payload, error: message }),
        created_at: ts,
      })
      .execute();
  }

  /** One crawl job per collection that received files (not one per file). */
  private async flushCrawls(): Promise<void> {
    for (const collection of this.crawlPending) await queueCrawl(this.lake, collection);
    this.crawlPending.clear();
  }
}

/**
 * What ingested files lead to: a preview job per image (when previews are on), an optimize job per
 * whole-file .gz/.bz2 FITS of a collection that asks for it. Returns the collections that received
 * files (each wants a schema crawl).
 */
export async function queueFollowUps(
  lake: Lake,
  targets: { key: string; collection: string; settings?: { optimize?: boolean } }[],
  results: (IngestOutcome | Error)[],
): Promise<Set<string>> {
  const previews: { fileId: number }[] = [];
  const optimize: { fileId: number }[] = [];
  const collections = new Set<string>();
  for (const [i, r] of results.entries()) {
    if (r instanceof Error || r.status !== 'ingested') continue;
    collections.add(targets[i].collection);
    if (lake.loaded.config.ingest.previews && (r.kind === 'fits' || r.kind === 'image'))
      previews.push({ fileId: r.fileId });
    // A range-readable copy, so SODA and remote clients need not decompress from the start.
    if (targets[i].settings?.optimize && r.kind === 'fits' && /\.(gz|bz2)$/i.test(targets[i].key))
      optimize.push({ fileId: r.fileId });
  }
  if (previews.length) await enqueueMany(lake.catalog, 'preview', previews, { maxAttempts: 3 });
  if (optimize.length) await enqueueMany(lake.catalog, 'optimize', optimize, { maxAttempts: 3 });
  return collections;
}

/** Queues a schema crawl of a collection unless one is already waiting. */
export async function queueCrawl(lake: Lake, collection: string): Promise<void> {
  const payload = JSON.stringify({ collection });
  const queued = await lake.catalog.db
    .selectFrom('jobs')
    .select('id')
    .where('kind', '=', 'crawl')
    .where('status', '=', 'queued')
    .where('payload', '=', payload)
    .executeTakeFirst();
  if (!queued) await enqueue(lake.catalog, 'crawl', { collection }, { maxAttempts: 3 });
}

/** Waits, or less when aborted; the abort listener goes with the timer (a server polls for days). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
