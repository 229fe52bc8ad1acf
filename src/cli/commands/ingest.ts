import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SingleBar } from 'cli-progress';
import { sql } from 'kysely';
import { ConfigError } from '../../config/config.ts';
import { reconcile } from '../../ingest/sources.ts';
import {
  type Arrival,
  copyLocal,
  copyS3,
  copyS3Event,
  copyUrl,
  queueIngest,
  sourceClient,
  watchFolder,
} from '../../ingest/sources.ts';
import { Worker } from '../../ingest/worker.ts';
import { ingestLocal } from '../../ingest/direct.ts';
import { type Lake, openLake } from '../../lake/lake.ts';
import type { Output } from '../output.ts';

export interface IngestOptions {
  lake?: string;
  collection?: string;
  recursive?: boolean;
  wait?: boolean;
  watch?: boolean;
  s3Event?: boolean;
  endpoint?: string;
  progress?: boolean;
}

/** Exit codes of the lake commands (also in the README). */
export const EXIT = { ok: 0, error: 1, someFailed: 2 } as const;

export interface IngestSummary {
  ingested: number;
  unchanged: number;
  failed: { key: string; error: string }[];
}

/** Jobs queued before a command adds worker processes (below this their start-up does not pay). */
const EXTRA_PROCESS_THRESHOLD = 1000;

/**
 * Runs the lake's in-process worker while `body` runs (unless workers are external). `grow()`, once
 * the batch is big, adds `fitslake worker` processes on the other CPUs: they share the catalog like
 * workers on other machines, and stop (finishing what they hold) when the command ends.
 */
export async function withWorkers<T>(
  lake: Lake,
  body: (grow: (queued: number) => void) => Promise<T>,
): Promise<T> {
  if (lake.loaded.config.workers.mode === 'external') return body(() => {});
  const stop = new AbortController();
  const worker = new Worker(lake);
  const running = worker.run({ signal: stop.signal, pollMs: 100 });
  const children: ChildProcess[] = [];
  // Reading a file is most of the work and runs in parallel; writing is short (also with SQLite's
  // single writer: 10,000 files took 30.6 s with one extra process, 40.0 s without).
  const wanted = lake.loaded.config.workers.extraProcesses ?? Math.min(3, availableParallelism() - 1);
  const grow = (queued: number) => {
    if (children.length || wanted <= 0 || queued < EXTRA_PROCESS_THRESHOLD) return;
    const ts = import.meta.url.endsWith('.ts');
    const entry = fileURLToPath(new URL(`../run.${ts ? 'ts' : 'js'}`, import.meta.url));
    const args = [
      ...(ts ? ['--import', import.meta.resolve('tsx')] : []),
      entry,
      'worker',
      '--no-reconcile',
      '--parent-pid',
      String(process.pid),
      '--lake',
      lake.dir,
    ];
    for (let i = 0; i < wanted; i++)
      children.push(spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] }));
  };
  try {
    return await body(grow);
  } finally {
    stop.abort();
    const exits = children.map(
      (c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('close', r))),
    );
    for (const c of children) c.kill('SIGTERM');
    await Promise.all([running, ...exits]);
  }
}

/** Waits until every job in [first, last] is done or failed, reporting progress. */
async function waitForJobs(
  lake: Lake,
  first: number,
  last: number,
  tick: (done: number) => void,
): Promise<void> {
  for (;;) {
    const r = await lake.catalog.db
      .selectFrom('jobs')
      .select([
        sql<number>`sum(case when status in ('done', 'failed') then 1 else 0 end)`.as('finished'),
        sql<number>`count(*)`.as('total'),
      ])
      .where('kind', '=', 'ingest')
      .where('id', '>=', first)
      .where('id', '<=', last)
      .executeTakeFirstOrThrow();
    tick(Number(r.finished));
    if (Number(r.finished) >= Number(r.total)) return;
    await new Promise((res) => setTimeout(res, 150));
  }
}

async function waitForFollowUps(lake: Lake): Promise<void> {
  for (;;) {
    const r = await lake.catalog.db
      .selectFrom('jobs')
      .select(sql<number>`count(*)`.as('n'))
      .where('kind', 'in', ['preview', 'crawl'])
      .where('status', 'in', ['queued', 'running'])
      .where('run_after', '<=', new Date().toISOString())
      .executeTakeFirstOrThrow();
    if (Number(r.n) === 0) return;
    await new Promise((res) => setTimeout(res, 150));
  }
}

/** What happened to the keys queued from `first` to `last` since `since`. */
export async function summarize(
  lake: Lake,
  keys: string[],
  since: string,
  first: number,
  last: number,
): Promise<IngestSummary> {
  const s: IngestSummary = { ingested: 0, unchanged: 0, failed: [] };
  const seen = new Set<string>();
  for (let i = 0; i < keys.length; i += 500) {
    const rows = await lake.catalog.db
      .selectFrom('files')
      .select(['key', 'status', 'error', 'created_at', 'updated_at'])
      .where('zone', '=', 'raw')
      .where('current', '=', 1)
      .where('key', 'in', keys.slice(i, i + 500))
      .execute();
    for (const r of rows) {
      seen.add(r.key);
      if (r.status === 'failed') s.failed.push({ key: r.key, error: r.error ?? 'failed' });
      else if (r.created_at < since) s.unchanged++;
      else s.ingested++;
    }
  }
  // Jobs given up on before a file row existed (storage unreachable…).
  const parked = await lake.catalog.db
    .selectFrom('jobs')
    .select(['payload', 'error'])
    .where('kind', '=', 'ingest')
    .where('status', '=', 'failed')
    .where('id', '>=', first)
    .where('id', '<=', last)
    .execute();
  for (const j of parked) {
    const key = (JSON.parse(j.payload) as { key: string }).key;
    if (!seen.has(key)) {
      seen.add(key);
      s.failed.push({ key, error: j.error ?? 'failed' });
    }
  }
  return s;
}

function arrivals(
  lake: Lake,
  source: string,
  collection: string,
  opts: IngestOptions,
): AsyncIterable<Arrival> {
  if (/^https?:\/\//i.test(source))
    return (async function* () {
      yield await copyUrl(lake, source, collection);
    })();
  if (source.startsWith('s3://')) return copyS3(lake, source, collection, sourceClient(lake, opts.endpoint));
  return copyLocal(lake, source, collection, opts.recursive ?? false);
}

export async function ingestCommand(sources: string[], opts: IngestOptions, io: Output): Promise<number> {
  const lake = await openLake(opts.lake);
  try {
    const collection = opts.collection ?? lake.loaded.config.ingest.defaultCollection;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(collection))
      throw new ConfigError(
        `--collection ${JSON.stringify(collection)}: use letters, digits, '.', '_' and '-'`,
      );
    if (opts.watch) return await watchCommand(lake, sources, collection, opts, io);
    const since = new Date().toISOString();
    const keys: string[] = [];
    const ids: number[] = [];
    const bar = opts.progress === false ? undefined : progressBar();
    // Local files, when the command waits, are stored and catalogued in one pass (direct.ts); the
    // rest is copied in, then catalogued by the job queue. Jobs are durable as soon as they are
    // queued, so other workers may start on them meanwhile.
    let batch: string[] = [];
    const flush = async () => {
      if (!batch.length) return;
      ids.push(...(await queueIngest(lake, batch)));
      batch = [];
    };
    let phaseStart = Date.now();
    const rate = (n: number) => ({ rate: Math.round(n / Math.max(0.001, (Date.now() - phaseStart) / 1000)) });
    bar?.start(0, 0, { phase: 'copying', rate: 0 });
    for (const src of sources) {
      const local = !opts.s3Event && !/^https?:\/\//i.test(src) && !src.startsWith('s3://');
      if (local && opts.wait !== false) {
        const before = keys.length;
        const r = await ingestLocal(lake, src, collection, opts.recursive ?? false, (p) => {
          bar?.setTotal(before + p.stored);
          bar?.update(before + p.settled, { phase: 'ingesting', ...rate(before + p.settled) });
        });
        keys.push(...r.keys);
        batch.push(...r.queued);
        await flush();
        continue;
      }
      const stream = opts.s3Event
        ? copyS3Event(
            lake,
            JSON.parse(src === '-' ? readFileSync(0, 'utf8') : readFileSync(src, 'utf8')),
            collection,
            sourceClient(lake, opts.endpoint),
          )
        : arrivals(lake, src, collection, opts);
      for await (const a of stream) {
        keys.push(a.key);
        batch.push(a.key);
        bar?.setTotal(keys.length);
        bar?.update(keys.length, { phase: 'copying', ...rate(keys.length) });
        if (batch.length >= 500) await flush();
      }
    }
    await flush();
    if (keys.length && opts.wait !== false) {
      await withWorkers(lake, async (grow) => {
        // Previews (one job per image) are the rest of the work when they are on.
        grow(lake.loaded.config.ingest.previews ? keys.length : ids.length);
        if (ids.length) {
          phaseStart = Date.now();
          bar?.update(0, { phase: 'ingesting', rate: 0 });
          await waitForJobs(lake, Math.min(...ids), Math.max(...ids), (n) => {
            bar?.update(Math.min(n, keys.length), { phase: 'ingesting', ...rate(n) });
          });
        }
        // In-process workers also finish what ingest started (previews, the schema crawl), since
        // nothing else would run them.
        if (lake.loaded.config.workers.mode !== 'external') await waitForFollowUps(lake);
      });
    }
    bar?.stop();
    if (opts.wait === false) {
      io.out(`queued ${ids.length} file(s); workers will ingest them (fitslake status shows progress)\n`);
      return EXIT.ok;
    }
    if (!keys.length) {
      io.out(opts.recursive ? 'no files found\n' : 'no files found (subfolders are read with --recursive)\n');
      return EXIT.ok;
    }
    const s = ids.length
      ? await summarize(lake, keys, since, Math.min(...ids), Math.max(...ids))
      : await summarize(lake, keys, since, 1, 0);
    io.out(`ingested ${s.ingested}, unchanged ${s.unchanged}, failed ${s.failed.length}\n`);
    for (const f of s.failed) io.out(`  failed ${f.key}: ${f.error}\n`);
    return s.failed.length ? EXIT.someFailed : EXIT.ok;
  } finally {
    await lake.close();
  }
}

function progressBar(): SingleBar | undefined {
  if (!process.stderr.isTTY) return undefined;
  return new SingleBar({
    format: '{phase} [{bar}] {value}/{total} files | {rate} files/s | {percentage}% | ETA {eta_formatted}',
    stream: process.stderr,
    hideCursor: true,
    etaBuffer: 200,
  });
}

/** `--watch`: keep copying in what appears (a folder via file events, a bucket by listing). */
async function watchCommand(
  lake: Lake,
  sources: string[],
  collection: string,
  opts: IngestOptions,
  io: Output,
): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  await reconcile(lake);
  await withWorkers(lake, async () => {
    const tasks = sources.map(async (src) => {
      if (src.startsWith('s3://')) {
        while (!stop.signal.aborted) {
          for await (const a of copyS3(lake, src, collection, sourceClient(lake, opts.endpoint))) {
            await queueIngest(lake, [a.key]);
            io.out(`queued ${a.key}\n`);
          }
          await new Promise((r) => setTimeout(r, lake.loaded.config.ingest.pollSeconds * 1000));
        }
      } else {
        await watchFolder(
          lake,
          src,
          collection,
          (a, id) => io.out(id < 0 ? `cannot copy ${a.from}\n` : `queued ${a.key}\n`),
          stop.signal,
        );
      }
    });
    io.out(`watching ${sources.join(', ')} (Ctrl-C to stop)\n`);
    await Promise.all(tasks);
  });
  return EXIT.ok;
}
