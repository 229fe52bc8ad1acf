import type { Catalog } from '../../catalog/catalog.ts';
import { type LakeEvent, resolveSubjects, type Subject, toEvent } from './visibility.ts';

/** One poll's new events with their subjects, resolved once for every subscriber. */
export interface FeedBatch {
  events: LakeEvent[];
  subjects: Map<number, Subject>;
}

export type FeedListener = (batch: FeedBatch) => void;

export interface FeedOptions {
  /** Pause between polls when nothing new came (ms). */
  pollMs?: number;
  /** Most rows read per poll (a full batch is followed at once by the next). */
  batchSize?: number;
  /**
   * How long a hole in the ids is waited for (ms). PostgreSQL hands out ids when a transaction
   * inserts, not when it commits: a slower transaction's event can appear after a higher id was
   * read. Holes are re-read until filled or this old (then taken to be a rollback).
   */
  gapWaitMs?: number;
  defaultCollection?: string;
  onError?: (err: Error) => void;
}

const MAX_GAPS = 10_000;

/**
 * The one reader of the events table for a server: polls new rows by id while anyone listens (so
 * events written by workers in other processes arrive), resolves their subjects in a few batched
 * queries and hands each batch to every subscriber. Connections add no query per poll.
 */
export class EventFeed {
  private readonly listeners = new Set<FeedListener>();
  private readonly pollMs: number;
  private readonly batchSize: number;
  private readonly gapWaitMs: number;
  private readonly defaultCollection: string;
  private readonly onError: (err: Error) => void;
  /** Highest id read. */
  private last = 0;
  /** Missing ids below `last` → when first missed. */
  private readonly gaps = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private started: Promise<void> | undefined;
  private polling: Promise<void> | undefined;
  private closed = false;
  /** Bumped at every start and stop: a poll of an earlier run neither delivers nor reschedules. */
  private generation = 0;
  /** Polls run (for tests and metrics). */
  polls = 0;

  constructor(
    private readonly catalog: Catalog,
    opts: FeedOptions = {},
  ) {
    this.pollMs = opts.pollMs ?? 500;
    this.batchSize = opts.batchSize ?? 500;
    this.gapWaitMs = opts.gapWaitMs ?? 30_000;
    this.defaultCollection = opts.defaultCollection ?? 'default';
    this.onError = opts.onError ?? (() => {});
  }

  /** Subscribers now, and whether the poller runs (it stops with the last subscriber). */
  get stats(): { subscribers: number; running: boolean } {
    return { subscribers: this.listeners.size, running: this.started !== undefined };
  }

  /**
   * Adds a listener; the poller starts with the first. `ready` resolves with the highest id the
   * feed has read (`last`) and the ids below it still awaited (`pending`): every later event and
   * any pending one that commits reaches the listener; the rest are the caller's to replay.
   */
  subscribe(listener: FeedListener): {
    ready: Promise<{ last: number; pending: ReadonlySet<number> }>;
    unsubscribe: () => void;
  } {
    if (this.closed) throw new Error('the event feed is closed');
    this.listeners.add(listener);
    this.started ??= this.start();
    const started = this.started;
    return {
      ready: started.then(() => ({ last: this.last, pending: new Set(this.gaps.keys()) })),
      unsubscribe: () => {
        if (!this.listeners.delete(listener) || this.listeners.size) return;
        // Nobody listens: stop polling; the next subscriber starts afresh from the newest id.
        this.stop();
      },
    };
  }

  /** Stops polling for good (server close). */
  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.stop();
    await this.polling;
  }

  private async start(): Promise<void> {
    const gen = ++this.generation;
    try {
      const r = await this.catalog.db
        .selectFrom('events')
        .select((eb) => eb.fn.max('id').as('id'))
        .executeTakeFirst();
      if (gen !== this.generation) return;
      this.last = Number(r?.id ?? 0);
      this.gaps.clear();
      this.schedule(this.pollMs, gen);
    } catch (err) {
      // Let the next subscriber try again rather than inherit a failed start.
      if (gen === this.generation) this.started = undefined;
      throw err;
    }
  }

  private stop(): void {
    this.generation++;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.started = undefined;
  }

  private schedule(ms: number, gen: number): void {
    if (this.closed || gen !== this.generation || !this.listeners.size) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.polling = this.poll(gen)
        .then((full) => this.schedule(full ? 0 : this.pollMs, gen))
        .catch((err: Error) => {
          // A busy or unreachable catalog: report, and try again at the next tick.
          this.onError(err);
          this.schedule(this.pollMs, gen);
        })
        .finally(() => {
          this.polling = undefined;
        });
    }, ms);
  }

  /** Reads and delivers one batch; true when the batch was full (more may be waiting). */
  private async poll(gen: number): Promise<boolean> {
    this.polls++;
    const holes = [...this.gaps.keys()];
    const rows = await this.catalog.db
      .selectFrom('events')
      .select(['id', 'kind', 'payload', 'created_at'])
      .where((eb) =>
        holes.length ? eb.or([eb('id', '>', this.last), eb('id', 'in', holes)]) : eb('id', '>', this.last),
      )
      .orderBy('id')
      .limit(this.batchSize)
      .execute();
    if (gen !== this.generation) return false;
    const now = Date.now();
    const fresh: LakeEvent[] = [];
    for (const row of rows) {
      const id = Number(row.id);
      if (this.gaps.delete(id)) fresh.push(toEvent(row));
      else if (id > this.last) {
        for (let g = this.last + 1; g < id && this.gaps.size < MAX_GAPS; g++) this.gaps.set(g, now);
        this.last = id;
        fresh.push(toEvent(row));
      }
    }
    for (const [id, since] of this.gaps) if (now - since > this.gapWaitMs) this.gaps.delete(id);
    if (fresh.length && this.listeners.size) {
      const subjects = await resolveSubjects(this.catalog, fresh, this.defaultCollection);
      if (gen !== this.generation) return false;
      const batch = { events: fresh, subjects };
      for (const listener of [...this.listeners]) {
        try {
          listener(batch);
        } catch (err) {
          this.onError(err as Error);
        }
      }
    }
    return rows.length === this.batchSize;
  }
}
