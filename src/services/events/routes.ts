import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ANONYMOUS, LOCAL_ADMIN, type Visibility, visibilityFor } from '../../catalog/access.ts';
import { accountsExist, authenticate } from '../../catalog/accounts.ts';
import { tokenOf } from '../http/auth.ts';
import { HttpError } from '../http/errors.ts';
import { errorSchema, type ServerContext } from '../http/server.ts';
import { EventFeed } from './feed.ts';
import { pruneEvents } from './prune.ts';
import { EventStream } from './stream.ts';
import { recentUploads } from './uploads.ts';
import { EVENT_KINDS } from './visibility.ts';

export interface EventRouteOptions {
  /** How often the shared poller reads the events table (ms, default 500). */
  pollMs?: number;
  /** Comment lines that keep proxies from closing an idle stream (ms, default 15 s). */
  heartbeatMs?: number;
  /** How often a stream judges its caller again: token revoked, roles changed, embargo ended (ms, default 60 s). */
  refreshMs?: number;
  /** How often events older than `server.eventTtlHours` are pruned (ms, default 5 min; also at start). */
  pruneEveryMs?: number;
  /** Bytes queued for a client before it is dropped as too slow (default 4 MiB). */
  maxBufferedBytes?: number;
  /** How long a hole in the event ids is awaited (see EventFeed; ms, default 30 s). */
  gapWaitMs?: number;
}

export interface EventRoutesStats {
  /** Open SSE connections. */
  streams: number;
  /** Listeners on the shared poller (one per open stream). */
  subscribers: number;
  /** Whether the poller runs (only while someone listens). */
  polling: boolean;
  /** Polls run so far (one per tick, whatever the number of connections). */
  polls: number;
}

export type EventRoutesPlugin = ((app: FastifyInstance, ctx: ServerContext) => Promise<void>) & {
  /** Totals over every server this plugin is registered in (tests and diagnostics). */
  stats(): EventRoutesStats;
};

const KIND = /^[A-Za-z0-9_.-]{1,64}$/;
const ID = /^\d{1,15}$/;

const eventsQuery = z.object({
  since: z
    .string()
    .regex(ID, 'since must be an event id (digits)')
    .optional()
    .describe('Replay the visible events after this id first (the Last-Event-ID header wins over it)'),
  kinds: z
    .string()
    .max(2000)
    .optional()
    .describe(`Comma-separated kinds to receive (documented: ${EVENT_KINDS.join(', ')})`),
  collection: z.string().min(1).max(256).optional().describe('Only events of this collection'),
  access_token: z.string().max(200).optional().describe('A token, for clients that cannot send headers'),
});

const uploadSchema = z.object({
  id: z.number().int(),
  time: z.string(),
  status: z.enum(['ingested', 'failed']),
  zone: z.string(),
  key: z.string(),
  collection: z.string().nullable(),
  fileId: z.number().int().nullable(),
  kind: z.string().nullable(),
  size: z.number().nullable(),
  observationId: z.number().int().nullable(),
  error: z.string().nullable(),
});

const uploadsQuery = z.object({
  cursor: z.coerce.number().int().positive().optional().describe('The `next` of the previous page'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  collection: z.string().min(1).max(256).optional(),
  access_token: z.string().max(200).optional(),
});

function parseKinds(text: string | undefined): Set<string> | undefined {
  if (text === undefined) return undefined;
  const kinds = text
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const bad = kinds.find((k) => !KIND.test(k));
  if (bad !== undefined || !kinds.length)
    throw new HttpError(
      400,
      'invalid-request',
      `kinds must be a comma-separated list of event kinds such as ${EVENT_KINDS.slice(0, 2).join(',')}${bad !== undefined ? ` (not ${JSON.stringify(bad.slice(0, 64))})` : ''}`,
    );
  return new Set(kinds);
}

function resumeFrom(request: FastifyRequest, since: string | undefined): number | undefined {
  const header = request.headers['last-event-id'];
  const value = Array.isArray(header) ? header[0] : (header ?? since);
  if (value === undefined || value === '') return undefined;
  if (!ID.test(value.trim()))
    throw new HttpError(
      400,
      'invalid-request',
      `Last-Event-ID must be an event id (digits), not ${JSON.stringify(value.slice(0, 40))}`,
    );
  return Number(value.trim());
}

/** The caller judged again, as the server's Authenticator would now; null: its token no longer works. */
async function judgeAgain(request: FastifyRequest, ctx: ServerContext): Promise<Visibility | null> {
  const cat = ctx.lake.catalog;
  const token = tokenOf(request);
  let caller = request.caller;
  if (token !== undefined) {
    const now = await authenticate(cat, token);
    if (!now) return null;
    caller = now;
  } else if (caller === LOCAL_ADMIN && (await accountsExist(cat))) {
    // The first account was created: loopback is no longer an implicit admin.
    caller = ANONYMOUS;
  }
  return visibilityFor(caller, ctx.collections);
}

/**
 * Live events: `GET /api/events` (Server-Sent Events, one shared poller of the events table for
 * every connection, each event filtered by what its caller may see), `GET /api/uploads/recent`
 * (the recent-uploads log), and the TTL pruning of the events table.
 */
export function eventRoutesWith(opts: EventRouteOptions = {}): EventRoutesPlugin {
  const live = new Set<{ feed: EventFeed; streams: Set<EventStream> }>();

  const plugin = async (app: FastifyInstance, ctx: ServerContext) => {
    const { lake } = ctx;
    const cfg = lake.loaded.config;
    const defaultCollection = cfg.ingest.defaultCollection;
    const feed = new EventFeed(lake.catalog, {
      pollMs: opts.pollMs ?? 500,
      gapWaitMs: opts.gapWaitMs ?? 30_000,
      defaultCollection,
      onError: (err) => app.log.warn({ err }, 'event feed poll failed'),
    });
    const streams = new Set<EventStream>();
    const state = { feed, streams };
    live.add(state);

    const prune = () =>
      pruneEvents(lake.catalog, cfg.server.eventTtlHours).then(
        (n) => {
          if (n) app.log.info({ pruned: n, ttlHours: cfg.server.eventTtlHours }, 'pruned old events');
        },
        (err: Error) => app.log.warn({ err }, 'pruning events failed (retried at the next period)'),
      );
    let pruner: NodeJS.Timeout | undefined;
    let pruning: Promise<void> | undefined;
    app.addHook('onReady', async () => {
      pruning = prune();
      pruner = setInterval(
        () => {
          pruning = prune();
        },
        opts.pruneEveryMs ?? 5 * 60_000,
      );
      pruner.unref();
    });
    // Open streams would keep the server from closing (they are never idle): end them first.
    app.addHook('preClose', async () => {
      for (const s of [...streams]) s.close();
    });
    app.addHook('onClose', async () => {
      clearInterval(pruner);
      for (const s of [...streams]) s.close();
      await feed.close();
      await pruning;
      live.delete(state);
    });

    const typed = app.withTypeProvider<ZodTypeProvider>();
    typed.get(
      '/api/events',
      {
        schema: {
          summary: 'Live events (Server-Sent Events)',
          description: `A text/event-stream: each message has \`id\` (the event id), \`event\` (its kind) and \`data\` (JSON: id, kind, time, payload). Kinds: ${EVENT_KINDS.join(', ')}. Only events the caller may see are sent. Resume with the Last-Event-ID header or ?since=; events are kept ${cfg.server.eventTtlHours} h.`,
          querystring: eventsQuery,
          response: { 400: errorSchema, 401: errorSchema },
        },
      },
      async (request, reply) => {
        const kinds = parseKinds(request.query.kinds);
        const since = resumeFrom(request, request.query.since);
        const stream = new EventStream({
          feed,
          catalog: lake.catalog,
          defaultCollection,
          visibility: await request.visibility(),
          since,
          kinds,
          collection: request.query.collection,
          refresh: () => judgeAgain(request, ctx),
          heartbeatMs: opts.heartbeatMs ?? 15_000,
          refreshMs: opts.refreshMs ?? 60_000,
          maxBufferedBytes: opts.maxBufferedBytes ?? 4 << 20,
          onError: (err, what) => request.log.warn({ err }, what),
        });
        streams.add(stream);
        stream.whenClosed(() => {
          streams.delete(stream);
          // The stream is over, and so is the socket (it is never reused): let the last bytes
          // go, then release it, so neither a vanished client nor server close waits on it.
          const socket = request.raw.socket;
          if (reply.raw.writableFinished || reply.raw.destroyed) socket.destroy();
          else {
            reply.raw.once('finish', () => socket.destroy());
            setTimeout(() => socket.destroy(), 1000).unref();
          }
        });
        // The client went away (or the server is closing the socket): release everything at once.
        request.raw.on('close', () => stream.close());
        reply.raw.on('close', () => stream.close());
        void stream.start();
        return (
          reply
            .header('content-type', 'text/event-stream; charset=utf-8')
            .header('cache-control', 'no-cache, no-transform')
            // Proxies (nginx) must pass each message on as it comes.
            .header('x-accel-buffering', 'no')
            // The socket closes with the stream: a kept-alive idle socket would hold up server close
            // (idle sockets are only closed once, when closing starts) until its keep-alive timeout.
            .header('connection', 'close')
            .send(stream.body as never)
        ); // a stream: no response schema applies
      },
    );

    typed.get(
      '/api/uploads/recent',
      {
        schema: {
          summary: 'Recent uploads: files that arrived, ingested or failed (with the reason), newest first',
          description: `Kept ${cfg.server.eventTtlHours} h (server.eventTtlHours). Page with \`cursor\` = the previous page's \`next\`.`,
          querystring: uploadsQuery,
          response: {
            200: z.object({ items: z.array(uploadSchema), next: z.number().int().nullable() }),
            400: errorSchema,
            401: errorSchema,
          },
        },
      },
      async (request) =>
        recentUploads(lake.catalog, await request.visibility(), {
          cursor: request.query.cursor,
          limit: request.query.limit,
          collection: request.query.collection,
          ttlHours: cfg.server.eventTtlHours,
          defaultCollection,
        }),
    );
  };

  return Object.assign(plugin, {
    stats(): EventRoutesStats {
      const out: EventRoutesStats = { streams: 0, subscribers: 0, polling: false, polls: 0 };
      for (const { feed, streams } of live) {
        out.streams += streams.size;
        out.subscribers += feed.stats.subscribers;
        out.polling ||= feed.stats.running;
        out.polls += feed.polls;
      }
      return out;
    },
  });
}

/** The events plugin with default timings. */
export const eventRoutes: EventRoutesPlugin = eventRoutesWith();
