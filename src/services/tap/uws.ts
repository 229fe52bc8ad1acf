// TAP's asynchronous jobs (UWS 1.1), persisted in the catalog (table tap_jobs) so they survive a
// restart; results are files in the lake's derived zone under tap/jobs/<id>/. Jobs run in this
// process, a few at a time (a queue in front of a concurrency limit).
//
// After a restart: a QUEUED job is queued again (its query is read-only, so running it is safe);
// a job that was EXECUTING becomes ERROR ("interrupted by a server restart") rather than re-run —
// a query that brought the server down would otherwise bring it down again at every start.
import { randomBytes } from 'node:crypto';
import type { Updateable } from 'kysely';
import { EventEmitter } from 'node:events';
import { type Caller, type CollectionLister, visibilityFor } from '../../catalog/access.ts';
import { getUser } from '../../catalog/accounts.ts';
import type { Catalog } from '../../catalog/catalog.ts';
import type { TapJobTable } from '../../catalog/schema.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { checkParams, runQuery, TapError, type TapLimits, type TapParams } from './query.ts';

export type Phase = 'PENDING' | 'QUEUED' | 'EXECUTING' | 'COMPLETED' | 'ERROR' | 'ABORTED';
export const PHASES: readonly Phase[] = ['PENDING', 'QUEUED', 'EXECUTING', 'COMPLETED', 'ERROR', 'ABORTED'];
export const ACTIVE: readonly Phase[] = ['PENDING', 'QUEUED', 'EXECUTING'];

export interface Job {
  id: string;
  owner: string | null;
  caller: Caller;
  runId: string | null;
  phase: Phase;
  parameters: TapParams;
  baseUrl: string;
  /** Seconds (0: the service's hard limit). */
  executionDuration: number;
  destruction: string;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  error: string | null;
  resultKey: string | null;
  resultType: string | null;
  resultSize: number | null;
  resultRows: number | null;
  overflow: boolean;
}

export interface UwsLimits extends TapLimits {
  /** Seconds a job may run by default, and at most. */
  defaultDuration: number;
  maxDuration: number;
  /** Seconds from creation to destruction by default, and at most. */
  defaultRetention: number;
  maxRetention: number;
  /** Jobs executing at once. */
  concurrency: number;
  /** Longest ?WAIT= in seconds. */
  maxWait: number;
}

function toJob(r: TapJobTable & { overflow: number }): Job {
  return {
    id: r.id,
    owner: r.owner,
    caller: JSON.parse(r.caller) as Caller,
    runId: r.run_id,
    phase: r.phase as Phase,
    parameters: JSON.parse(r.parameters) as TapParams,
    baseUrl: r.base_url,
    executionDuration: Number(r.execution_duration),
    destruction: r.destruction,
    createdAt: r.created_at,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    error: r.error,
    resultKey: r.result_key,
    resultType: r.result_type,
    resultSize: r.result_size === null ? null : Number(r.result_size),
    resultRows: r.result_rows === null ? null : Number(r.result_rows),
    overflow: Number(r.overflow) === 1,
  };
}

const now = () => new Date().toISOString();

export class JobManager {
  /** Phase changes, by job id (for ?WAIT=). */
  readonly changes = new EventEmitter();
  private queue: string[] = [];
  private running = new Set<string>();
  private aborted = new Set<string>();
  /** Cancels the query of a running job (its SQL stops: the query process is killed, or cancelled). */
  private stops = new Map<string, AbortController>();
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly catalog: Catalog,
    private readonly store: ObjectStore,
    private readonly collections: CollectionLister,
    readonly limits: UwsLimits,
  ) {
    this.changes.setMaxListeners(0);
  }

  /** Recovers jobs left by a previous run, and starts the destruction sweeper. */
  async start(sweepMs = 60_000): Promise<void> {
    const ts = now();
    await this.catalog.db
      .updateTable('tap_jobs')
      .set({
        phase: 'ERROR',
        error: 'interrupted by a server restart while executing; run the query again',
        ended_at: ts,
      })
      .where('phase', '=', 'EXECUTING')
      .execute();
    const queued = await this.catalog.db
      .selectFrom('tap_jobs')
      .select('id')
      .where('phase', '=', 'QUEUED')
      .orderBy('created_at')
      .execute();
    for (const q of queued) this.enqueue(q.id);
    await this.sweep();
    this.sweeper = setInterval(() => void this.sweep().catch(() => {}), sweepMs);
    this.sweeper.unref();
  }

  close(): void {
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.queue = [];
    for (const s of this.stops.values()) s.abort();
  }

  /** Deletes jobs past their destruction time, and their results. */
  async sweep(): Promise<number> {
    const expired = await this.catalog.db
      .selectFrom('tap_jobs')
      .select('id')
      .where('destruction', '<=', now())
      .execute();
    for (const e of expired) await this.delete(e.id);
    return expired.length;
  }

  async get(id: string): Promise<Job | undefined> {
    const r = await this.catalog.db
      .selectFrom('tap_jobs')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!r) return undefined;
    const job = toJob(r as TapJobTable & { overflow: number });
    if (job.destruction <= now()) {
      await this.delete(id);
      return undefined;
    }
    return job;
  }

  async list(filter: {
    owner: string | null;
    all: boolean;
    phases?: Phase[];
    after?: string;
    last?: number;
  }) {
    let q = this.catalog.db.selectFrom('tap_jobs').selectAll().where('destruction', '>', now());
    if (!filter.all) {
      // Anonymous jobs are reachable by their id only: an anonymous caller lists nothing.
      if (filter.owner === null) return [];
      q = q.where('owner', '=', filter.owner);
    }
    if (filter.phases?.length) q = q.where('phase', 'in', filter.phases);
    if (filter.after) q = q.where('created_at', '>', filter.after);
    q = q.orderBy('created_at', 'desc').orderBy('id');
    if (filter.last !== undefined) q = q.limit(filter.last);
    const rows = await q.execute();
    const jobs = rows.map((r) => toJob(r as TapJobTable & { overflow: number }));
    // UWS 1.1: LAST picks the most recent jobs; the list is in ascending order of creation.
    return jobs.reverse();
  }

  async create(caller: Caller, params: TapParams, baseUrl: string): Promise<Job> {
    const id = randomBytes(16).toString('base64url');
    const created = now();
    const { RUNID, PHASE: _phase, EXECUTIONDURATION, DESTRUCTION, REQUEST: _request, ...rest } = params;
    const job = {
      id,
      owner: caller.user,
      caller: JSON.stringify({ user: caller.user, roles: caller.roles, groups: caller.groups }),
      run_id: RUNID ?? null,
      phase: 'PENDING',
      parameters: JSON.stringify(rest),
      base_url: baseUrl,
      execution_duration: this.duration(EXECUTIONDURATION),
      destruction: this.destructionTime(DESTRUCTION, created),
      created_at: created,
      started_at: null,
      ended_at: null,
      error: null,
      result_key: null,
      result_type: null,
      result_size: null,
      result_rows: null,
    };
    await this.catalog.db.insertInto('tap_jobs').values(job).execute();
    return (await this.get(id)) as Job;
  }

  /** Seconds a job may run: asked (0 or above the limit → the limit), else the default. */
  duration(value: string | undefined): number {
    if (value === undefined || value === '') return this.limits.defaultDuration;
    if (!/^\s*\d+\s*$/.test(value))
      throw new TapError(`EXECUTIONDURATION must be whole seconds (got ${value})`);
    const n = Number(value);
    return n === 0 ? this.limits.maxDuration : Math.min(n, this.limits.maxDuration);
  }

  destructionTime(value: string | undefined, from: string): string {
    const latest = new Date(Date.parse(from) + this.limits.maxRetention * 1000);
    if (value === undefined || value === '')
      return new Date(Date.parse(from) + this.limits.defaultRetention * 1000).toISOString();
    const t = Date.parse(value);
    if (Number.isNaN(t)) throw new TapError(`DESTRUCTION must be an ISO 8601 time (got ${value})`);
    return new Date(Math.min(t, latest.getTime())).toISOString();
  }

  async update(id: string, set: Updateable<TapJobTable>): Promise<void> {
    await this.catalog.db.updateTable('tap_jobs').set(set).where('id', '=', id).execute();
    if (set.phase) this.changes.emit(id, set.phase);
  }

  /** Parameters set while PENDING (TAP parameters; UWS ones are handled by the caller). */
  async setParameters(job: Job, params: TapParams): Promise<void> {
    if (job.phase !== 'PENDING')
      throw new TapError(`job ${job.id} is ${job.phase}: parameters can change only while PENDING`);
    const set: Updateable<TapJobTable> = {};
    const { RUNID, PHASE: _p, EXECUTIONDURATION, DESTRUCTION, REQUEST: _r, ACTION: _a, ...rest } = params;
    if (RUNID !== undefined) set.run_id = RUNID;
    if (EXECUTIONDURATION !== undefined) set.execution_duration = this.duration(EXECUTIONDURATION);
    if (DESTRUCTION !== undefined) set.destruction = this.destructionTime(DESTRUCTION, job.createdAt);
    if (Object.keys(rest).length) set.parameters = JSON.stringify({ ...job.parameters, ...rest });
    if (Object.keys(set).length) await this.update(job.id, set);
  }

  /** PHASE=RUN: checks the parameters (a bad query fails now, as ERROR) and queues the job. */
  async run(job: Job): Promise<void> {
    if (job.phase !== 'PENDING') {
      if (job.phase === 'QUEUED' || job.phase === 'EXECUTING') return;
      throw new TapError(`job ${job.id} is ${job.phase}: only a PENDING job can be run`);
    }
    try {
      checkParams(job.parameters, this.limits);
    } catch (err) {
      if (!(err instanceof TapError)) throw err;
      await this.update(job.id, { phase: 'ERROR', error: err.message, started_at: now(), ended_at: now() });
      return;
    }
    await this.update(job.id, { phase: 'QUEUED' });
    this.enqueue(job.id);
  }

  async abort(job: Job): Promise<void> {
    if (!ACTIVE.includes(job.phase)) return;
    this.queue = this.queue.filter((q) => q !== job.id);
    if (this.running.has(job.id)) this.stop(job.id);
    await this.update(job.id, { phase: 'ABORTED', ended_at: now() });
  }

  async delete(id: string): Promise<void> {
    const job = await this.catalog.db
      .selectFrom('tap_jobs')
      .select(['result_key', 'phase'])
      .where('id', '=', id)
      .executeTakeFirst();
    this.queue = this.queue.filter((q) => q !== id);
    if (this.running.has(id)) this.stop(id);
    await this.catalog.db.deleteFrom('tap_jobs').where('id', '=', id).execute();
    if (job?.result_key) await this.store.delete(job.result_key).catch(() => false);
    this.changes.emit(id, 'DELETED');
  }

  /** The result file's bytes. */
  async result(job: Job): Promise<AsyncIterable<Uint8Array>> {
    return this.store.get(job.resultKey as string);
  }

  private stop(id: string): void {
    this.aborted.add(id);
    this.stops.get(id)?.abort();
  }

  private enqueue(id: string): void {
    if (this.closed) return;
    this.queue.push(id);
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.limits.concurrency && this.queue.length) {
      const id = this.queue.shift() as string;
      this.running.add(id);
      void this.execute(id)
        .catch(() => {})
        .finally(() => {
          this.running.delete(id);
          this.aborted.delete(id);
          this.stops.delete(id);
          this.pump();
        });
    }
  }

  private async execute(id: string): Promise<void> {
    const job = await this.get(id);
    if (job?.phase !== 'QUEUED') return;
    await this.update(id, { phase: 'EXECUTING', started_at: now() });
    const stop = new AbortController();
    this.stops.set(id, stop);
    try {
      // The creator's current roles and groups (a revoked role no longer applies).
      let caller = job.caller;
      if (caller.user !== null) {
        const u = await getUser(this.catalog, caller.user);
        caller = u
          ? { user: u.name, roles: u.roles, groups: u.groups }
          : { user: caller.user, roles: [], groups: [] };
      }
      const visibility = await visibilityFor(caller, this.collections);
      const q = checkParams(job.parameters, this.limits);
      const result = await runQuery(q, {
        catalog: this.catalog,
        visibility,
        base: job.baseUrl,
        timeoutMs: job.executionDuration * 1000,
        signal: stop.signal,
      });
      if (this.aborted.has(id) || this.closed) return;
      const key = `tap/jobs/${id}/result.${result.format.ext}`;
      await this.store.put(key, result.body, { contentType: result.format.mime });
      // Aborted or deleted while the result was being stored: it goes.
      const still = await this.get(id);
      if (still?.phase !== 'EXECUTING') {
        await this.store.delete(key).catch(() => false);
        return;
      }
      await this.update(id, {
        phase: 'COMPLETED',
        ended_at: now(),
        result_key: key,
        result_type: result.format.mime,
        result_size: result.body.length,
        result_rows: result.rows,
        overflow: result.overflow ? 1 : 0,
      });
    } catch (err) {
      if (this.aborted.has(id) || this.closed) return;
      const message = err instanceof TapError ? err.message : `internal error: ${(err as Error).message}`;
      const still = await this.get(id).catch(() => undefined);
      if (still?.phase === 'EXECUTING')
        await this.update(id, { phase: 'ERROR', error: message, ended_at: now() });
    }
  }

  /** UWS 1.1 blocking: resolves when the job leaves `phase` or after `seconds`. */
  wait(id: string, seconds: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.changes.off(id, done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, seconds) * 1000);
      this.changes.on(id, done);
    });
  }
}
