import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { collectionAllowed, fileFilter, requireRole, type Visibility } from '../../catalog/access.ts';
import type { Catalog } from '../../catalog/catalog.ts';
import { queuePrefix } from '../../ingest/requeue.ts';
import { queueIngest } from '../../ingest/sources.ts';
import { splitKey } from '../../ingest/worker.ts';
import { validateKey, validatePrefix } from '../../storage/keys.ts';
import { HttpError } from '../http/errors.ts';
import { errorSchema, type ServerContext } from '../http/server.ts';

/**
 * Operating the lake over HTTP (curators and admins): the job queue, failed files, and requests to
 * ingest or re-extract objects already in the raw zone. A curator who is not an admin sees and
 * touches only the collections the access rule lets them see; failed files also pass the file rule.
 */

const JOB_STATUSES = ['queued', 'running', 'done', 'failed'] as const;
/** Jobs per request beyond which the response lists no ids (the count says how many). */
const MAX_LISTED_IDS = 1000;

const cursorOf = (id: number) => Buffer.from(String(id)).toString('base64url');
function idOfCursor(cursor: string): number {
  const id = Number(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!Number.isSafeInteger(id) || id < 1) throw new HttpError(400, 'invalid-request', 'invalid cursor');
  return id;
}

const paging = {
  cursor: z.string().max(64).optional().describe('the `next` of the previous page'),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('rows per page'),
};

const jobSchema = z.object({
  id: z.number().int(),
  kind: z.string().describe('ingest | preview | crawl…'),
  status: z.enum(JOB_STATUSES),
  payload: z.unknown(),
  collection: z.string().nullable(),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  error: z.string().nullable(),
  runAfter: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const failureSchema = z.object({
  id: z.number().int(),
  key: z.string(),
  zone: z.string(),
  collection: z.string().nullable(),
  size: z.number(),
  error: z.string().nullable(),
  url: z.string().describe('the file’s details: /api/files/{key}?meta=1'),
  updatedAt: z.string(),
});

const queuedSchema = z.object({
  queued: z.number().int(),
  jobs: z.array(z.number().int()).describe(`the job ids (omitted beyond ${MAX_LISTED_IDS})`),
  missing: z
    .array(z.string())
    .describe('keys not in the raw zone (or in collections the caller may not see)'),
});

/** The collection a job works for: from its key, its collection, or its file. */
async function jobCollections(
  cat: Catalog,
  jobs: { kind: string; payload: Record<string, unknown> }[],
): Promise<(string | null)[]> {
  const fileIds = jobs.map((j) => j.payload.fileId).filter((x): x is number => typeof x === 'number');
  const byFile = new Map<number, string | null>();
  if (fileIds.length)
    for (const f of await cat.db
      .selectFrom('files')
      .select(['id', 'collection'])
      .where('id', 'in', [...new Set(fileIds)])
      .execute())
      byFile.set(Number(f.id), f.collection);
  return jobs.map(({ payload: p }) => {
    if (typeof p.key === 'string') return splitKey(p.key, 'default').collection;
    if (typeof p.collection === 'string') return p.collection;
    if (typeof p.fileId === 'number') return byFile.get(p.fileId) ?? null;
    return null;
  });
}

/** Whether a raw key's collection is one the caller may see. */
const keyAllowed = (v: Visibility) => (key: string) =>
  collectionAllowed(v, splitKey(key, 'default').collection);

/**
 * Catalogued files of visible collections that the file rule hides from the caller (embargoed):
 * their jobs are not listed and their keys are treated as missing, so neither reveals them.
 */
async function hiddenFiles(cat: Catalog, v: Visibility): Promise<{ keys: Set<string>; ids: Set<number> }> {
  if (v.all || !v.collections.length) return { keys: new Set(), ids: new Set() };
  const rows = await cat.db
    .selectFrom('files')
    .select(['id', 'zone', 'key'])
    .where('collection', 'in', v.collections)
    .where((eb) => eb.not(fileFilter(v, 'files')))
    .execute();
  return {
    keys: new Set(rows.filter((r) => r.zone === 'raw').map((r) => r.key)),
    ids: new Set(rows.map((r) => Number(r.id))),
  };
}

export async function restAdmin(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { lake } = ctx;
  const cat = lake.catalog;
  const typed = app.withTypeProvider<ZodTypeProvider>();

  typed.get(
    '/api/jobs',
    {
      schema: {
        summary: 'The job queue, newest first (curator or above)',
        querystring: z.object({
          status: z.enum(JOB_STATUSES).optional(),
          kind: z.string().max(64).optional().describe('ingest | preview | crawl…'),
          ...paging,
        }),
        response: {
          200: z.object({ rows: z.array(jobSchema), next: z.string().optional() }),
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
        },
      },
    },
    async (request) => {
      requireRole(request.caller, 'curator', 'the job list');
      const v = await request.visibility();
      const hidden = await hiddenFiles(cat, v);
      const { status, kind, limit, cursor } = request.query;
      const rows: z.output<typeof jobSchema>[] = [];
      let before = cursor === undefined ? Number.MAX_SAFE_INTEGER : idOfCursor(cursor);
      // Jobs of collections the caller may not see are dropped after SQL's LIMIT (their collection is
      // inside the JSON payload), so read batches until the page is full or the queue ends.
      for (;;) {
        let q = cat.db
          .selectFrom('jobs')
          .selectAll()
          .where('id', '<', before)
          .orderBy('id', 'desc')
          .limit(limit + 1);
        if (status) q = q.where('status', '=', status);
        if (kind) q = q.where('kind', '=', kind);
        const batch = await q.execute();
        const parsed = batch.map((j) => ({
          ...j,
          payload: JSON.parse(j.payload) as Record<string, unknown>,
        }));
        const collections = await jobCollections(cat, parsed);
        for (const [i, j] of parsed.entries()) {
          before = Number(j.id);
          const collection = collections[i];
          if (!v.all && (collection === null || !collectionAllowed(v, collection))) continue;
          const { key, fileId } = j.payload;
          if (
            (typeof key === 'string' && hidden.keys.has(key)) ||
            (typeof fileId === 'number' && hidden.ids.has(fileId))
          )
            continue;
          rows.push({
            id: Number(j.id),
            kind: j.kind,
            status: j.status as (typeof JOB_STATUSES)[number],
            payload: j.payload,
            collection,
            attempts: Number(j.attempts),
            maxAttempts: Number(j.max_attempts),
            error: j.error,
            runAfter: j.run_after,
            createdAt: j.created_at,
            updatedAt: j.updated_at,
          });
          if (rows.length > limit) break;
        }
        if (rows.length > limit || batch.length <= limit) break;
      }
      if (rows.length <= limit) return { rows };
      rows.length = limit;
      return { rows, next: cursorOf(rows[limit - 1].id) };
    },
  );

  typed.get(
    '/api/failures',
    {
      schema: {
        summary: 'Files whose ingestion failed, with the error, newest first (curator or above)',
        querystring: z.object({
          collection: z.string().max(256).optional(),
          ...paging,
        }),
        response: {
          200: z.object({ rows: z.array(failureSchema), next: z.string().optional() }),
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
        },
      },
    },
    async (request) => {
      requireRole(request.caller, 'curator', 'the failure list');
      const v = await request.visibility();
      const { collection, limit, cursor } = request.query;
      let q = cat.db
        .selectFrom('files')
        .select(['id', 'key', 'zone', 'collection', 'size', 'error', 'updated_at'])
        .where('status', '=', 'failed')
        .where('current', '=', 1)
        .where(fileFilter(v, 'files'))
        .orderBy('id', 'desc')
        .limit(limit + 1);
      if (cursor !== undefined) q = q.where('id', '<', idOfCursor(cursor));
      if (collection !== undefined) q = q.where('collection', '=', collection);
      const found = await q.execute();
      const rows = found.slice(0, limit).map((f) => ({
        id: Number(f.id),
        key: f.key,
        zone: f.zone,
        collection: f.collection,
        size: Number(f.size),
        error: f.error,
        url: `/api/files/${f.key.split('/').map(encodeURIComponent).join('/')}?meta=1${f.zone === 'raw' ? '' : `&zone=${f.zone}`}`,
        updatedAt: f.updated_at,
      }));
      return found.length > limit ? { rows, next: cursorOf(rows[limit - 1].id) } : { rows };
    },
  );

  typed.post(
    '/api/ingest',
    {
      schema: {
        summary: 'Queue ingestion of objects already in the raw zone (curator or above)',
        description:
          'Give `keys`, a `prefix`, or both. Objects whose bytes are catalogued already are skipped by ' +
          'the worker unless `force`. Answers 202 with the queued job ids (watch them at /api/jobs).',
        body: z.object({
          keys: z.array(z.string().min(1).max(1024)).max(10_000).optional(),
          prefix: z.string().max(1024).optional().describe('every raw object whose key starts with it'),
          force: z.boolean().default(false).describe('re-extract even when the bytes are already catalogued'),
        }),
        response: { 202: queuedSchema, 400: errorSchema, 401: errorSchema, 403: errorSchema },
      },
    },
    async (request, reply) => {
      requireRole(request.caller, 'curator', 'ingest requests');
      const v = await request.visibility();
      const { keys, prefix, force } = request.body;
      if (keys === undefined && prefix === undefined)
        throw new HttpError(400, 'invalid-request', 'give keys, a prefix, or both');
      const hidden = (await hiddenFiles(cat, v)).keys;
      const allowed = (key: string) => keyAllowed(v)(key) && !hidden.has(key);
      const found: string[] = [];
      const missing: string[] = [];
      for (const key of new Set(keys ?? [])) {
        validateKey(key);
        // A key in a collection the caller may not see is reported like a missing one.
        if (allowed(key) && (await lake.zones.raw.head(key))) found.push(key);
        else missing.push(key);
      }
      const ids = found.length ? await queueIngest(lake, found, force) : [];
      if (prefix !== undefined)
        ids.push(...(await queuePrefix(lake, validatePrefix(prefix), { force, keep: allowed })));
      return reply.status(202).send(queued(ids, missing));
    },
  );

  typed.post(
    '/api/reindex',
    {
      schema: {
        summary: 'Re-extract every raw object under a prefix (curator or above)',
        description:
          'As `fitslake reindex --prefix`: after an upgrade or a change of a collection’s settings. ' +
          'An empty prefix means the whole raw zone.',
        body: z.object({ prefix: z.string().max(1024).describe('e.g. `<collection>/`') }),
        response: { 202: queuedSchema, 400: errorSchema, 401: errorSchema, 403: errorSchema },
      },
    },
    async (request, reply) => {
      requireRole(request.caller, 'curator', 'reindex requests');
      const v = await request.visibility();
      const prefix = validatePrefix(request.body.prefix);
      const hidden = (await hiddenFiles(cat, v)).keys;
      const ids = await queuePrefix(lake, prefix, {
        force: true,
        keep: (key) => keyAllowed(v)(key) && !hidden.has(key),
      });
      return reply.status(202).send(queued(ids, []));
    },
  );
}

function queued(ids: number[], missing: string[]): z.output<typeof queuedSchema> {
  return { queued: ids.length, jobs: ids.length <= MAX_LISTED_IDS ? ids : [], missing };
}
