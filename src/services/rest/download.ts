import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Selectable } from 'kysely';
import { z } from 'zod';
import { fileFilter, observationFilter, type Visibility } from '../../catalog/access.ts';
import type { FileTable } from '../../catalog/schema.ts';
import { storeFor } from '../../ingest/mounts.ts';
import type { Lake } from '../../lake/lake.ts';
import type { ObjectMeta, ObjectStore } from '../../storage/object-store.ts';
import { HttpError } from '../http/errors.ts';
import { errorSchema, type ServerContext } from '../http/server.ts';
import { keyFromPath, keyParams } from './keys.ts';
import { contentDisposition, ifRangeHolds, notModified, parseRange } from './range.ts';

/**
 * Downloads, headers and file details under `GET /api/files/{key}`.
 *
 * Routing rule (keys contain slashes, so one wildcard route serves all three):
 *   - `GET /api/files/{key}/header` — every HDU's cards as JSON: a trailing `/header` segment is the
 *     header view of the key before it;
 *   - `GET /api/files/{key}?meta=1` — the file's details as JSON;
 *   - `GET /api/files/{key}` — the bytes.
 * An object whose own last segment is `header` is downloaded with `?literal=1` (the whole path is
 * the key).
 *
 * Visibility is the catalog's file rule (`fileFilter`): its collection is visible and none of its
 * observations is embargoed from the caller. Anything else is 404, worded as for a missing file, so
 * a response never reveals that a hidden file exists. An object uploaded but not catalogued yet is
 * served only to admins and to its uploader.
 */

// `mounted`: files of a mounted cloud index, served from (redirected to) their data URLs.
const ZONES = ['raw', 'derived', 'previews', 'mounted'] as const;
type DownloadZone = (typeof ZONES)[number];

const query = z.object({
  zone: z.enum(ZONES).default('raw').describe('the lake zone to read (raw by default)'),
  meta: z.stringbool().default(false).describe('answer with the file details as JSON instead of its bytes'),
  literal: z
    .stringbool()
    .default(false)
    .describe('take the whole path as the key, even when it ends in /header'),
  redirect: z
    .stringbool()
    .default(true)
    .describe('on S3 storage, redirect to a presigned URL (redirect=0 streams through the server)'),
});

const cardSchema = z.object({
  keyword: z.string(),
  value: z.unknown().describe('number, string, boolean, [re, im] for complex, null when undefined'),
  type: z.string().describe('int | float | string | bool | complex | undefined | commentary'),
  comment: z.string(),
});

const headerSchema = z.object({
  key: z.string(),
  hdus: z.array(
    z.object({
      index: z.number().int(),
      kind: z.string(),
      headerOffset: z.number(),
      dataOffset: z.number(),
      dataSpan: z.number(),
      shape: z.array(z.number()),
      checksum: z.string().nullable().describe('ok | bad | absent; null when not verified'),
      cards: z.array(cardSchema),
    }),
  ),
});

const detailSchema = z.object({
  key: z.string(),
  zone: z.string(),
  collection: z.string().nullable(),
  size: z.number(),
  sha256: z.string(),
  contentType: z.string().nullable(),
  kind: z.string().nullable().describe('fits | header | image | plain, by content'),
  status: z.string().describe('pending | ingested | failed'),
  error: z.string().nullable(),
  info: z.unknown(),
  createdAt: z.string(),
  updatedAt: z.string(),
  versions: z
    .array(
      z.object({
        sha256: z.string(),
        size: z.number(),
        status: z.string(),
        current: z.boolean(),
        createdAt: z.string(),
      }),
    )
    .describe('every catalogued version of this key the caller may see, newest first'),
  observations: z.array(
    z.object({
      id: z.number(),
      obsId: z.string(),
      collection: z.string(),
      role: z.string(),
      status: z.string(),
    }),
  ),
});

type FileRow = Selectable<FileTable>;

/** A file of the catalog the caller may see: the current version of zone+key. */
async function visibleFile(
  lake: Lake,
  v: Visibility,
  zone: string,
  key: string,
): Promise<FileRow | undefined> {
  return lake.catalog.db
    .selectFrom('files')
    .selectAll()
    .where('zone', '=', zone)
    .where('key', '=', key)
    .where('current', '=', 1)
    .where(fileFilter(v, 'files'))
    .executeTakeFirst();
}

const notFound = (zone: string, key: string) =>
  new HttpError(404, 'not-found', `no file ${JSON.stringify(key)} in the ${zone} zone`);

interface Target {
  store: ObjectStore;
  meta: ObjectMeta;
  row: FileRow | undefined;
  /** The strong validator: the content's SHA-256. */
  etag: string;
}

/** Finds what a download names and checks the caller may have it; 404 for anything hidden or missing. */
async function resolve(
  lake: Lake,
  request: FastifyRequest,
  zone: DownloadZone,
  key: string,
): Promise<Target> {
  const v = await request.visibility();
  const row = await visibleFile(lake, v, zone, key);
  if (!row && zone === 'mounted') throw notFound(zone, key);
  const store = await storeFor(lake, zone, key);
  if (!row) {
    // Not catalogued at all (uploaded, not ingested yet): only its uploader and admins may fetch it;
    // a catalogued file hidden by the rule stays hidden, whoever uploaded its bytes.
    const catalogued = await lake.catalog.db
      .selectFrom('files')
      .select('id')
      .where('zone', '=', zone)
      .where('key', '=', key)
      .where('current', '=', 1)
      .executeTakeFirst();
    if (catalogued) throw notFound(zone, key);
    const meta = await store.head(key);
    const user = request.caller.user;
    if (!meta || !(v.all || (user !== null && meta.metadata.owner === user))) throw notFound(zone, key);
    return { store, meta, row, etag: meta.sha256 ?? meta.etag };
  }
  const meta = await store.head(key);
  if (!meta) throw notFound(zone, key);
  // S3's ETag is not the SHA-256; the catalog's is, as long as it describes the same bytes.
  const etag = meta.sha256 ?? (row.etag === meta.etag ? row.sha256 : meta.etag);
  return { store, meta, row, etag };
}

const SAFE_TYPE = /^[a-z0-9.+-]+\/[a-z0-9.+-]+$/i;
const GENERIC_TYPE = /^(application|binary)\/octet-stream$/i;

function contentTypeOf(t: Target): string {
  const stored = t.row?.content_type ?? t.meta.contentType;
  // A generic type (S3's default for an upload without one) says less than what ingest found.
  if (stored && SAFE_TYPE.test(stored) && !GENERIC_TYPE.test(stored)) return stored;
  const key = t.meta.key;
  if (/\.(fits?|fts)$/i.test(key) || t.row?.kind === 'fits') return 'application/fits';
  if (/\.jpe?g$/i.test(key)) return 'image/jpeg';
  if (/\.png$/i.test(key)) return 'image/png';
  return 'application/octet-stream';
}

async function download(
  request: FastifyRequest,
  reply: FastifyReply,
  t: Target,
  redirect: boolean,
): Promise<FastifyReply> {
  const { meta, etag } = t;
  const size = meta.size;
  // Node joins repeated headers of these kinds into one string.
  const headers = request.headers as Record<string, string | undefined>;
  reply.header('etag', `"${etag}"`);
  reply.header('last-modified', meta.lastModified.toUTCString());
  // Access-controlled content: shared caches must not keep it; browsers revalidate with the ETag.
  reply.header('cache-control', 'private, no-cache');
  reply.header('vary', 'authorization');
  reply.header('accept-ranges', 'bytes');
  if (notModified(headers, etag, meta.lastModified)) return reply.status(304).send();
  const disposition = contentDisposition(meta.key.slice(meta.key.lastIndexOf('/') + 1));
  if (redirect && t.store.presign) {
    // The bytes go straight from the bucket: the server hands out a short-lived URL for this key only,
    // signed to answer with the name and type this route would have sent.
    const url = await t.store.presign(meta.key, 'get', 300, {
      contentDisposition: disposition,
      contentType: contentTypeOf(t),
    });
    return reply.redirect(url, 302);
  }
  const range = ifRangeHolds(headers['if-range'], etag, meta.lastModified)
    ? parseRange(headers.range, size)
    : ({ kind: 'full' } as const);
  if (range.kind === 'unsatisfiable') {
    return reply
      .status(416)
      .header('content-range', `bytes */${size}`)
      .type('application/json')
      .send({
        error: {
          code: 'range-not-satisfiable',
          message: `range ${JSON.stringify(headers.range)} lies outside the file's ${size} bytes`,
        },
      });
  }
  reply.header('content-type', contentTypeOf(t));
  reply.header('content-disposition', disposition);
  if (range.kind === 'partial') {
    reply.status(206);
    reply.header('content-range', `bytes ${range.start}-${range.end - 1}/${size}`);
    reply.header('content-length', range.end - range.start);
    return reply.send(asReadable(await t.store.get(meta.key, { start: range.start, end: range.end })));
  }
  reply.header('content-length', size);
  return reply.send(asReadable(await t.store.get(meta.key)));
}

const asReadable = (body: AsyncIterable<Uint8Array>) =>
  body instanceof Readable ? body : Readable.from(body);

async function header(lake: Lake, request: FastifyRequest, zone: DownloadZone, key: string) {
  const row = await visibleFile(lake, await request.visibility(), zone, key);
  if (!row) throw notFound(zone, key);
  const hdus = await lake.catalog.db
    .selectFrom('hdus')
    .selectAll()
    .where('file_id', '=', row.id)
    .orderBy('idx')
    .execute();
  return {
    key,
    hdus: hdus.map((h) => ({
      index: h.idx,
      kind: h.kind,
      headerOffset: Number(h.header_offset),
      dataOffset: Number(h.data_offset),
      dataSpan: Number(h.data_span),
      shape: JSON.parse(h.shape) as number[],
      checksum: h.checksum,
      cards: (JSON.parse(h.cards) as [string, unknown, string, string][]).map(
        ([keyword, value, type, comment]) => ({
          keyword,
          value,
          type,
          comment: comment ?? '',
        }),
      ),
    })),
  };
}

async function detail(lake: Lake, request: FastifyRequest, zone: DownloadZone, key: string) {
  const v = await request.visibility();
  const row = await visibleFile(lake, v, zone, key);
  if (!row) throw notFound(zone, key);
  const db = lake.catalog.db;
  const versions = await db
    .selectFrom('files')
    .select(['sha256', 'size', 'status', 'current', 'created_at'])
    .where('zone', '=', zone)
    .where('key', '=', key)
    .where(fileFilter(v, 'files'))
    .orderBy('id', 'desc')
    .execute();
  const observations = await db
    .selectFrom('artifacts')
    .innerJoin('observations', 'observations.id', 'artifacts.observation_id')
    .select([
      'observations.id',
      'observations.obs_id',
      'observations.obs_collection',
      'observations.status',
      'artifacts.role',
    ])
    .where('artifacts.file_id', '=', row.id)
    .where(observationFilter(v, 'observations'))
    .orderBy('observations.id')
    .execute();
  return {
    key,
    zone,
    collection: row.collection,
    size: Number(row.size),
    sha256: row.sha256,
    contentType: row.content_type,
    kind: row.kind,
    status: row.status,
    error: row.error,
    info: row.info === null ? null : (JSON.parse(row.info) as unknown),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    versions: versions.map((r) => ({
      sha256: r.sha256,
      size: Number(r.size),
      status: r.status,
      current: Number(r.current) === 1,
      createdAt: r.created_at,
    })),
    observations: observations.map((o) => ({
      id: Number(o.id),
      obsId: o.obs_id,
      collection: o.obs_collection,
      role: o.role,
      status: o.status,
    })),
  };
}

export async function downloadRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { lake } = ctx;
  const typed = app.withTypeProvider<ZodTypeProvider>();
  const bytes = z.string().describe('the file’s bytes');
  typed.get(
    '/api/files/*',
    {
      schema: {
        summary: 'Download a file, or its HDU headers (…/header), or its details (?meta=1)',
        description:
          'The key is the path after /api/files/ (`<collection>/<path…>`, segments URL-encoded). ' +
          'A trailing `/header` segment answers every HDU’s cards as JSON (use `literal=1` for an object ' +
          'whose own name is `header`); `meta=1` answers the file’s details (size, SHA-256, kind, ' +
          'status, error, versions, observations). Otherwise the bytes of the current version: ' +
          'Range (one byte range; 206, or 416 when unsatisfiable; several ranges get the whole ' +
          'file), ETag (the SHA-256) with If-None-Match (304) and If-Range, Content-Disposition ' +
          'attachment. On S3 storage the answer is a 302 to a presigned URL unless `redirect=0`. ' +
          'Files the caller may not see are 404, like missing ones.',
        params: keyParams,
        querystring: query,
        response: {
          200: {
            description: 'the bytes; JSON for …/header and ?meta=1',
            content: {
              'application/octet-stream': { schema: bytes },
              'application/json': { schema: z.union([headerSchema, detailSchema]) },
            },
          },
          206: {
            description: 'the requested byte range',
            content: { 'application/octet-stream': { schema: bytes } },
          },
          302: z.null().describe('S3 storage: a presigned URL in Location'),
          304: z.null().describe('not modified (If-None-Match matched the ETag)'),
          400: errorSchema,
          401: errorSchema,
          404: errorSchema,
          416: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const { zone, meta, literal, redirect } = request.query;
      const path = request.params['*'];
      if (!literal && path.endsWith('/header')) {
        const key = keyFromPath(request, path.slice(0, -'/header'.length));
        return reply.type('application/json').send(await header(lake, request, zone, key));
      }
      const key = keyFromPath(request, path);
      if (meta) return reply.type('application/json').send(await detail(lake, request, zone, key));
      return download(request, reply, await resolve(lake, request, zone, key), redirect);
    },
  );
}
