import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { claim, complete, enqueue, fail, type Job, releaseDeadLeases } from '../catalog/jobs.ts';
import type { Lake } from '../lake/lake.ts';
import { StorageError } from '../storage/errors.ts';
import { crawl } from './crawler.ts';
import { type IngestOutcome, ingestObject, RetryableError } from './ingest-object.ts';
import { makePreviews } from './previews.ts';

/** Job kinds the lake's workers run. */
export const JOB_KINDS = ['ingest', 'preview', 'crawl'] as const;

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
    const queue: Job[] = [];
    let idleRounds = 0;
    while (!opts.signal?.aborted) {
      if (queue.length === 0) {
        // Claim a few jobs per round trip: one UPDATE … RETURNING serves many files.
        const room = concurrency * 8 - running.size;
        if (room > 0) queue.push(...(await claim(cat, this.owner, [...JOB_KINDS], room, 5 * 60_000)));
      }
      if (queue.length === 0 && running.size === 0) {
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
      while (queue.length && running.size < concurrency) {
        const job = queue.shift()!;
        const p = this.runOne(job, opts).finally(() => running.delete(p));
        running.add(p);
      }
      if (running.size >= concurrency || queue.length === 0) await Promise.race(running);
    }
    await Promise.all(running);
    // Jobs claimed but not started go back to the queue for another worker.
    for (const job of queue)
      await fail(cat, { ...job, attempts: 0 }, this.owner, 'worker stopped', { backoffMs: 0 });
    await this.flushCrawls();
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
    const cat = this.lake.catalog;
    const cfg = this.lake.loaded.config.ingest;
    let result: unknown;
    try {
      result = await this.execute(job);
      await complete(cat, job, this.owner);
    } catch (err) {
      const permanent = err instanceof StorageError && err.code !== 'io';
      const message = (err as Error).message;
      result = await fail(cat, job, this.owner, message, { retry: !permanent, backoffMs: cfg.backoffMs });
      if (result === 'failed') await this.recordParked(job, message);
      if (!(err instanceof RetryableError) && !(err instanceof StorageError))
        result = { status: 'error', error: message };
    }
    opts.onResult?.(job, result);
  }

  private async execute(job: Job): Promise<unknown> {
    const lake = this.lake;
    if (job.kind === 'ingest') {
      const p = job.payload as IngestPayload;
      const { collection, relKey } = splitKey(p.key, lake.loaded.config.ingest.defaultCollection);
      const outcome = await ingestObject({
        store: lake.zones.raw,
        catalog: lake.catalog,
        zone: 'raw',
        key: p.key,
        collection,
        relKey,
        settings: await lake.collection(collection),
        ...(p.force ? { force: true } : {}),
      });
      if (outcome.status === 'ingested') {
        this.crawlPending.add(collection);
        if (lake.loaded.config.ingest.previews && (outcome.kind === 'fits' || outcome.kind === 'image'))
          await enqueue(lake.catalog, 'preview', { fileId: outcome.fileId }, { maxAttempts: 3 });
      }
      return outcome;
    }
    if (job.kind === 'preview') return makePreviews(lake, (job.payload as { fileId: number }).fileId);
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
    const cat = this.lake.catalog;
    for (const collection of this.crawlPending) {
      const payload = JSON.stringify({ collection });
      const queued = await cat.db
        .selectFrom('jobs')
        .select('id')
        .where('kind', '=', 'crawl')
        .where('status', '=', 'queued')
        .where('payload', '=', payload)
        .executeTakeFirst();
      if (!queued) await enqueue(cat, 'crawl', { collection }, { maxAttempts: 3 });
    }
    this.crawlPending.clear();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
