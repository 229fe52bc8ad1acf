import { PassThrough } from 'node:stream';
import type { Visibility } from '../../catalog/access.ts';
import type { Catalog } from '../../catalog/catalog.ts';
import type { EventFeed, FeedBatch } from './feed.ts';
import { type LakeEvent, resolveSubjects, type Subject, subjectVisible, toEvent } from './visibility.ts';

/** One Server-Sent Events message; `id:` is the event row id, so Last-Event-ID resumes from it. */
export function sseFrame(e: LakeEvent): string {
  // JSON.stringify never emits a raw newline; the kind is ours, but a newline in it would end the field.
  const kind = e.kind.replace(/[\r\n]/g, ' ');
  return `id: ${e.id}\nevent: ${kind}\ndata: ${JSON.stringify({ id: e.id, kind: e.kind, time: e.time, payload: e.payload })}\n\n`;
}

export interface StreamOptions {
  feed: EventFeed;
  catalog: Catalog;
  defaultCollection: string;
  visibility: Visibility;
  /** Replay events after this id from the table before going live. */
  since?: number | undefined;
  kinds?: ReadonlySet<string> | undefined;
  collection?: string | undefined;
  /** The caller judged again (token revoked, roles changed, embargo ended); null ends the stream. */
  refresh: () => Promise<Visibility | null>;
  heartbeatMs: number;
  refreshMs: number;
  /** A client this far behind is dropped (it reconnects with Last-Event-ID and catches up from the table). */
  maxBufferedBytes: number;
  onError: (err: Error, what: string) => void;
}

const REPLAY_PAGE = 500;

/**
 * One client's event stream: replays what it missed from the table, then relays the shared feed,
 * each event only if the caller may see it. Timers and the feed subscription live exactly as long
 * as the connection: close() (client gone, server closing, caller revoked) releases all of them.
 */
export class EventStream {
  readonly body = new PassThrough();
  private visibility: Visibility;
  private closed = false;
  private replaying = true;
  private readonly buffered: FeedBatch[] = [];
  /** Ids below the feed's mark that were still pending at subscription, and replayed since. */
  private replayedLate = new Set<number>();
  private pendingAtStart: ReadonlySet<number> = new Set();
  private upTo = 0;
  private unsubscribe: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private refresher: NodeJS.Timeout | undefined;
  private readonly onClose: (() => void)[] = [];

  constructor(private readonly opts: StreamOptions) {
    this.visibility = opts.visibility;
    this.body.on('error', () => this.close());
    this.body.on('close', () => this.close());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  whenClosed(fn: () => void): void {
    if (this.closed) fn();
    else this.onClose.push(fn);
  }

  /** Starts sending; resolves once caught up (replay done) or closed. */
  async start(): Promise<void> {
    const o = this.opts;
    // The first bytes flush the headers: the client's `open` fires at once. `retry` sets its reconnect delay.
    this.write('retry: 3000\n: connected\n\n');
    const sub = o.feed.subscribe((batch) => {
      if (this.replaying) this.buffered.push(batch);
      else this.deliver(batch);
    });
    this.unsubscribe = sub.unsubscribe;
    this.heartbeat = setInterval(() => this.write(': keep-alive\n\n'), o.heartbeatMs);
    this.refresher = setInterval(() => void this.refresh(), o.refreshMs);
    try {
      const mark = await sub.ready;
      this.upTo = mark.last;
      this.pendingAtStart = mark.pending;
      if (o.since !== undefined) await this.replay(o.since);
    } catch (err) {
      o.onError(err as Error, 'event stream start');
      this.close();
      return;
    }
    this.replaying = false;
    for (const batch of this.buffered.splice(0)) this.deliver(batch);
    this.replayedLate.clear();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    clearInterval(this.refresher);
    this.unsubscribe?.();
    this.buffered.length = 0;
    this.body.end();
    for (const fn of this.onClose.splice(0)) fn();
  }

  /** Events after `since` up to the feed's mark, from the table, in pages, with backpressure. */
  private async replay(since: number): Promise<void> {
    const o = this.opts;
    let after = since;
    while (!this.closed && after < this.upTo) {
      const rows = await o.catalog.db
        .selectFrom('events')
        .select(['id', 'kind', 'payload', 'created_at'])
        .where('id', '>', after)
        .where('id', '<=', this.upTo)
        .orderBy('id')
        .limit(REPLAY_PAGE)
        .execute();
      if (!rows.length) return;
      const events = rows.map(toEvent);
      const subjects = await resolveSubjects(o.catalog, events, o.defaultCollection);
      for (const e of events) {
        if (this.pendingAtStart.has(e.id)) this.replayedLate.add(e.id);
        if (this.wanted(e, subjects.get(e.id)) && !this.write(sseFrame(e))) await this.drained();
      }
      after = events[events.length - 1].id;
    }
  }

  private deliver(batch: FeedBatch): void {
    for (const e of batch.events) {
      // A late commit (an id that was still missing when we subscribed) that the replay already sent.
      if (this.replayedLate.has(e.id)) continue;
      if (this.wanted(e, batch.subjects.get(e.id))) this.write(sseFrame(e));
    }
  }

  private wanted(e: LakeEvent, s: Subject | undefined): boolean {
    const { kinds, collection } = this.opts;
    if (kinds && !kinds.has(e.kind)) return false;
    if (collection !== undefined && s?.collection !== collection) return false;
    return subjectVisible(this.visibility, s);
  }

  /** Writes unless closed; false when the client is behind (the caller may wait for drain). */
  private write(text: string): boolean {
    if (this.closed) return true;
    const ok = this.body.write(text);
    if (this.body.writableLength + this.body.readableLength > this.opts.maxBufferedBytes) {
      this.opts.onError(
        new Error('client too slow; dropped (it resumes with Last-Event-ID)'),
        'event stream',
      );
      this.close();
    }
    return ok;
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.body.off('drain', done);
        resolve();
      };
      this.body.on('drain', done);
      this.whenClosed(done);
    });
  }

  private async refresh(): Promise<void> {
    try {
      const v = await this.opts.refresh();
      if (v === null) this.close();
      else this.visibility = v;
    } catch (err) {
      // Keep the last known rule; the next refresh tries again.
      this.opts.onError(err as Error, 'event stream refresh');
    }
  }
}
