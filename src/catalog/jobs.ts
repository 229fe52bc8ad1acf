import { sql } from 'kysely';
import type { Catalog } from './catalog.ts';

/**
 * The durable job queue every kind of background work uses (ingest, preview, index…). Workers in
 * any process sharing the catalog claim jobs with a lease: a worker that dies simply lets its lease
 * expire and another takes the job over. Failures retry with exponential backoff and are parked
 * as 'failed' with their error after max_attempts.
 */
export interface Job {
  id: number;
  kind: string;
  payload: unknown;
  attempts: number;
  maxAttempts: number;
}

export interface EnqueueOptions {
  maxAttempts?: number;
  /** Earliest start (default now). */
  runAfter?: Date;
}

const iso = (d: Date) => d.toISOString();

export async function enqueue(
  cat: Catalog,
  kind: string,
  payload: unknown,
  opts: EnqueueOptions = {},
): Promise<number> {
  const [id] = await enqueueMany(cat, kind, [payload], opts);
  return id;
}

/** Enqueues many jobs of one kind in one statement per 500 (a bulk ingest queues thousands). */
export async function enqueueMany(
  cat: Catalog,
  kind: string,
  payloads: unknown[],
  opts: EnqueueOptions = {},
): Promise<number[]> {
  const now = iso(new Date());
  const ids: number[] = [];
  for (let i = 0; i < payloads.length; i += 500) {
    const rows = await cat.db
      .insertInto('jobs')
      .values(
        payloads.slice(i, i + 500).map((p) => ({
          kind,
          payload: JSON.stringify(p),
          status: 'queued',
          max_attempts: opts.maxAttempts ?? 5,
          run_after: iso(opts.runAfter ?? new Date()),
          lease_owner: null,
          lease_until: null,
          error: null,
          created_at: now,
          updated_at: now,
        })),
      )
      .returning('id')
      .execute();
    for (const r of rows) ids.push(Number(r.id));
  }
  return ids;
}

/**
 * Returns to the queue the jobs leased by workers of this host that no longer run (a killed
 * process): their work restarts now instead of when the lease runs out. Owners are "host:pid:…".
 */
export async function releaseDeadLeases(
  cat: Catalog,
  host: string,
  alive: (pid: number) => boolean,
): Promise<number> {
  const owners = await cat.db
    .selectFrom('jobs')
    .select('lease_owner')
    .distinct()
    .where('status', '=', 'running')
    .where('lease_owner', 'like', `${host}:%`)
    .execute();
  let released = 0;
  for (const { lease_owner } of owners) {
    const pid = Number(lease_owner?.split(':')[1]);
    if (!lease_owner || !Number.isInteger(pid) || alive(pid)) continue;
    const r = await cat.db
      .updateTable('jobs')
      .set({ status: 'queued', lease_owner: null, lease_until: null, updated_at: iso(new Date()) })
      .where('status', '=', 'running')
      .where('lease_owner', '=', lease_owner)
      .executeTakeFirst();
    released += Number(r.numUpdatedRows);
  }
  return released;
}

/**
 * Claims up to `limit` runnable jobs of the given kinds for `owner` for `leaseMs`: queued jobs whose
 * time has come, and running jobs whose lease has expired.
 */
export async function claim(
  cat: Catalog,
  owner: string,
  kinds: string[],
  limit = 1,
  leaseMs = 60_000,
): Promise<Job[]> {
  const now = new Date();
  const until = iso(new Date(now.getTime() + leaseMs));
  // One UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING: atomic on both engines, so two workers
  // can never take the same job. PostgreSQL additionally skips rows another claimer has locked
  // instead of waiting for them; SQLite serialises writers.
  let pick = cat.db
    .selectFrom('jobs')
    .select('id')
    .where('kind', 'in', kinds)
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'queued'), eb('run_after', '<=', iso(now))]),
        eb.and([eb('status', '=', 'running'), eb('lease_until', '<', iso(now))]),
      ]),
    )
    .orderBy('run_after')
    .orderBy('id')
    .limit(limit);
  if (cat.dialect === 'postgres') pick = pick.forUpdate().skipLocked();
  const rows = await cat.db
    .updateTable('jobs')
    .set({
      status: 'running',
      lease_owner: owner,
      lease_until: until,
      attempts: sql`attempts + 1`,
      updated_at: iso(now),
    })
    .where('id', 'in', pick)
    .returning(['id', 'kind', 'payload', 'attempts', 'max_attempts'])
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    kind: r.kind,
    payload: JSON.parse(r.payload),
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
  }));
}

/** Marks a claimed job done (only if this owner still holds its lease). */
export async function complete(cat: Catalog, job: Job, owner: string): Promise<boolean> {
  const r = await cat.db
    .updateTable('jobs')
    .set({ status: 'done', lease_owner: null, lease_until: null, error: null, updated_at: iso(new Date()) })
    .where('id', '=', job.id)
    .where('lease_owner', '=', owner)
    .where('status', '=', 'running')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Marks many claimed jobs done in one statement (a batch of ingests). */
export async function completeMany(cat: Catalog, jobs: Job[], owner: string): Promise<number> {
  if (!jobs.length) return 0;
  const r = await cat.db
    .updateTable('jobs')
    .set({ status: 'done', lease_owner: null, lease_until: null, error: null, updated_at: iso(new Date()) })
    .where(
      'id',
      'in',
      jobs.map((j) => j.id),
    )
    .where('lease_owner', '=', owner)
    .where('status', '=', 'running')
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * Records a failure: a retryable one goes back to the queue after an exponential backoff
 * (base · 2^(attempt−1)); a permanent one, or the last allowed attempt, parks the job as failed.
 */
export async function fail(
  cat: Catalog,
  job: Job,
  owner: string,
  error: string,
  opts: { retry?: boolean; backoffMs?: number } = {},
): Promise<'retry' | 'failed'> {
  const retry = (opts.retry ?? true) && job.attempts < job.maxAttempts;
  const delay = (opts.backoffMs ?? 1000) * 2 ** (job.attempts - 1);
  await cat.db
    .updateTable('jobs')
    .set({
      status: retry ? 'queued' : 'failed',
      error,
      lease_owner: null,
      lease_until: null,
      run_after: iso(new Date(Date.now() + (retry ? delay : 0))),
      updated_at: iso(new Date()),
    })
    .where('id', '=', job.id)
    .where('lease_owner', '=', owner)
    .execute();
  return retry ? 'retry' : 'failed';
}
