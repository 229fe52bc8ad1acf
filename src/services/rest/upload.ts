import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type Caller, collectionAllowed, fileFilter, requireRole } from '../../catalog/access.ts';
import { queueIngest } from '../../ingest/sources.ts';
import type { Lake } from '../../lake/lake.ts';
import { validateKey } from '../../storage/keys.ts';
import type { ObjectMeta, PutOptions } from '../../storage/object-store.ts';
import { HttpError, toHttp } from '../http/errors.ts';
import { errorSchema, type ServerContext } from '../http/server.ts';
import { keyParams, keyFromPath } from './keys.ts';

/**
 * Uploads: `PUT /api/files/{key}` (the raw body is the object) and `POST /api/upload` (multipart
 * form, several files). Bodies stream from the socket into the raw zone's store — never into memory
 * — counted against `server.maxUploadBytes` on the way; the store writes to a temporary object that
 * becomes visible only when the body was complete, so an oversize or aborted upload leaves nothing.
 * Each stored object gets an ingest job.
 */

export const storedSchema = z.object({
  key: z.string(),
  size: z.number().int(),
  sha256: z.string(),
  job: z.number().int().describe('id of the ingest job queued for it'),
});

type Stored = z.infer<typeof storedSchema>;

/** Bytes passed through, failing with 413 as soon as they exceed `max` (0: no limit). */
async function* counted(
  body: AsyncIterable<Uint8Array>,
  max: number,
  what: string,
): AsyncIterable<Uint8Array> {
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    if (max > 0 && bytes > max) throw tooLarge(what, max);
    yield chunk;
  }
}

/** How much of a body is gathered before each write to the store. */
const WRITE_SIZE = 1 << 20;

/**
 * Sockets deliver 16–64 KiB at a time; gathering them into 1 MiB writes cuts the store's write calls
 * (each a trip through libuv's thread pool) by ~30x, for 1 MiB of memory per upload.
 */
async function* coalesced(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  let parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of body) {
    parts.push(chunk);
    n += chunk.length;
    if (n >= WRITE_SIZE) {
      yield parts.length === 1 ? parts[0] : Buffer.concat(parts, n);
      parts = [];
      n = 0;
    }
  }
  if (n) yield parts.length === 1 ? parts[0] : Buffer.concat(parts, n);
}

/**
 * Stores a streamed body. The store reports any failure of the body as its own I/O error (503);
 * a failure the body itself raised (too large: 413, incomplete: 400) is the one the client must see.
 */
async function store(
  lake: Lake,
  key: string,
  body: AsyncIterable<Uint8Array>,
  opts: PutOptions,
): Promise<ObjectMeta> {
  let failure: unknown;
  async function* watched(): AsyncIterable<Uint8Array> {
    try {
      yield* body;
    } catch (err) {
      failure = err;
      throw err;
    }
  }
  try {
    return await lake.zones.raw.put(key, watched(), opts);
  } catch (err) {
    throw failure instanceof HttpError ? failure : err;
  }
}

/** 413 for an upload over server.maxUploadBytes. */
export const tooLarge = (what: string, max: number) =>
  new HttpError(
    413,
    'too-large',
    `${what} is larger than the server's limit of ${max} bytes (server.maxUploadBytes)`,
  );

/** The collection of a raw-zone key, which must have one (`<collection>/<path…>`). */
function collectionOf(key: string): string {
  const slash = key.indexOf('/');
  if (slash <= 0)
    throw new HttpError(
      400,
      'invalid-key',
      `key ${JSON.stringify(key)} has no collection: use <collection>/<path>`,
    );
  return key.slice(0, slash);
}

/**
 * The target must be writable by the caller (checked before any byte is read): its collection
 * visible, and no current file at the key that the caller may not see — an uploader must not replace
 * an embargoed file it cannot read. (That answer tells the caller a key it chose is taken, never
 * anything about the hidden file.)
 */
export async function checkTarget(lake: Lake, request: FastifyRequest, key: string): Promise<void> {
  const collection = collectionOf(key);
  const v = await request.visibility();
  if (!collectionAllowed(v, collection))
    throw new HttpError(
      403,
      'forbidden',
      `collection ${JSON.stringify(collection)} does not exist or is not visible to ${request.caller.user ?? 'anonymous callers'}`,
    );
  if ((await lake.collection(collection)).mount)
    throw new HttpError(
      409,
      'read-only',
      `collection ${JSON.stringify(collection)} is a mounted index: its files live at their data URLs and cannot be uploaded to`,
    );
  if (v.all) return;
  const hidden = await lake.catalog.db
    .selectFrom('files')
    .select('id')
    .where('zone', '=', 'raw')
    .where('key', '=', key)
    .where('current', '=', 1)
    .where((eb) => eb.not(fileFilter(v, 'files')))
    .executeTakeFirst();
  if (hidden)
    throw new HttpError(
      403,
      'forbidden',
      `key ${JSON.stringify(key)} holds a file ${request.caller.user} may not replace`,
    );
}

/** A content type worth keeping (clients send application/octet-stream when they know nothing). */
export function contentTypeOf(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const t = header.split(';')[0].trim().toLowerCase();
  if (!/^[a-z0-9.+-]+\/[a-z0-9.+-]+$/.test(t) || t === 'application/octet-stream') return undefined;
  return t;
}

function putOptions(caller: Caller, contentType: string | undefined): PutOptions {
  // The uploader owns what it uploads: ingest makes it the owner of observations the file creates,
  // so an embargoed upload stays visible to the one who sent it.
  const opts: PutOptions = { metadata: { owner: caller.user ?? '' } };
  if (contentType) opts.contentType = contentType;
  return opts;
}

/** Once the reply is sent before the body was read, the connection cannot be reused: close it. */
function closeIfUnread(request: FastifyRequest, reply: FastifyReply): void {
  if (!request.raw.complete) reply.header('connection', 'close');
}

export async function uploadRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { lake } = ctx;
  const max = lake.loaded.config.server.maxUploadBytes;

  // Raw PUT: every content type (JSON and text included) stays an unread stream in this scope.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    scope.addHook('onError', async (request, reply) => closeIfUnread(request, reply));
    scope.withTypeProvider<ZodTypeProvider>().put(
      '/api/files/*',
      {
        schema: {
          summary: 'Upload one file to a raw-zone key (the request body is the file)',
          description:
            'The key is the path after /api/files/: `<collection>/<path…>`, each segment URL-encoded. ' +
            'The body streams to storage (any size up to server.maxUploadBytes; any content type, kept ' +
            'as the object’s type unless application/octet-stream). On success the file is queued for ' +
            'ingestion. Needs role uploader and a collection the caller can see.',
          params: keyParams,
          response: {
            201: storedSchema,
            400: errorSchema,
            401: errorSchema,
            403: errorSchema,
            411: errorSchema,
            413: errorSchema,
          },
        },
      },
      async (request, reply) => {
        requireRole(request.caller, 'uploader', 'uploading');
        const key = keyFromPath(request, request.params['*']);
        await checkTarget(lake, request, key);
        const declared = request.headers['content-length'];
        const length = declared === undefined ? undefined : Number(declared);
        if (max > 0 && length !== undefined && length > max)
          throw tooLarge(`the body (${length} bytes)`, max);
        const meta = await store(
          lake,
          key,
          coalesced(completeBody(request, counted(request.raw, max, 'the body'), length)),
          putOptions(request.caller, contentTypeOf(request.headers['content-type'])),
        );
        const [job] = await queueIngest(lake, [meta.key]);
        return reply
          .status(201)
          .send({ key: meta.key, size: meta.size, sha256: meta.sha256 ?? meta.etag, job });
      },
    );
  });

  // Multipart: @fastify/multipart (busboy) hands file parts over as streams, in order.
  await app.register(async (scope) => {
    await scope.register(multipart, {
      // busboy truncates a file at fileSize and ends its stream quietly; one byte more lets `counted`
      // see the excess and fail the part loudly instead.
      limits: {
        fileSize: max > 0 ? max + 1 : Number.POSITIVE_INFINITY,
        fields: 20,
        fieldSize: 4096,
        files: 1000,
      },
    });
    scope.addHook('onError', async (request, reply) => closeIfUnread(request, reply));
    scope.withTypeProvider<ZodTypeProvider>().post(
      '/api/upload',
      {
        schema: {
          summary: 'Upload files with a multipart form',
          description:
            'multipart/form-data with the field `collection` (required) and optionally `path` (a ' +
            'folder prefix) BEFORE the file parts; each file part is stored at ' +
            '`<collection>/<path>/<filename>` and queued for ingestion. Several files per request. ' +
            'If a part fails, the files stored before it are kept and queued, and the error says which.',
          consumes: ['multipart/form-data'],
          response: {
            201: z.object({ files: z.array(storedSchema) }),
            400: errorSchema,
            401: errorSchema,
            403: errorSchema,
            413: errorSchema,
          },
        },
      },
      async (request, reply) => {
        requireRole(request.caller, 'uploader', 'uploading');
        if (!request.isMultipart())
          throw new HttpError(
            415,
            'unsupported-media-type',
            'POST /api/upload needs a multipart/form-data body',
          );
        const stored: Stored[] = [];
        let collection: string | undefined;
        let prefix = '';
        try {
          for await (const part of request.parts()) {
            if (part.type === 'field') {
              const value = String(part.value);
              if (part.fieldname === 'collection') collection = value;
              else if (part.fieldname === 'path') prefix = value.replace(/^\/+|\/+$/g, '');
              else
                throw new HttpError(
                  400,
                  'invalid-request',
                  `unknown form field ${JSON.stringify(part.fieldname)}`,
                );
              continue;
            }
            if (collection === undefined)
              throw new HttpError(
                400,
                'invalid-request',
                'the form field "collection" must come before the files',
              );
            if (!part.filename)
              throw new HttpError(400, 'invalid-request', `file part ${part.fieldname} has no filename`);
            const key = validateKey([collection, prefix, part.filename].filter((s) => s !== '').join('/'));
            await checkTarget(lake, request, key);
            const what = `file ${JSON.stringify(part.filename)}`;
            const meta = await store(
              lake,
              key,
              coalesced(untruncated(counted(part.file, max, what), part.file, what, max)),
              putOptions(request.caller, contentTypeOf(part.mimetype)),
            );
            stored.push({ key: meta.key, size: meta.size, sha256: meta.sha256 ?? meta.etag, job: 0 });
          }
        } catch (err) {
          // Whole files stored before the failure are real uploads: keep them and ingest them.
          if (stored.length) {
            await queue(lake, stored);
            const { status, body } = toHttp(err);
            if (status < 500)
              throw new HttpError(
                status,
                body.error.code,
                `${body.error.message} (stored and queued before it: ${stored.map((s) => s.key).join(', ')})`,
              );
          }
          throw err;
        }
        if (!stored.length) throw new HttpError(400, 'invalid-request', 'the form has no file parts');
        await queue(lake, stored);
        return reply.status(201).send({ files: stored });
      },
    );
  });
}

async function queue(lake: Lake, stored: Stored[]): Promise<void> {
  const jobs = await queueIngest(
    lake,
    stored.map((s) => s.key),
  );
  stored.forEach((s, i) => {
    s.job = jobs[i];
  });
}

/**
 * The request body, failing unless it arrived whole: a client that disconnects mid-upload makes
 * Node end or error the stream, and a short body (fewer bytes than Content-Length) must not be
 * stored as if complete.
 */
async function* completeBody(
  request: FastifyRequest,
  body: AsyncIterable<Uint8Array>,
  length: number | undefined,
): AsyncIterable<Uint8Array> {
  let n = 0;
  for await (const chunk of body) {
    n += chunk.length;
    yield chunk;
  }
  if (!request.raw.complete || (length !== undefined && n !== length))
    throw new HttpError(400, 'incomplete-body', `the upload ended after ${n} of ${length ?? '?'} bytes`);
}

/** A multipart file part, failing if busboy cut it at its size limit. */
async function* untruncated(
  body: AsyncIterable<Uint8Array>,
  file: { truncated: boolean },
  what: string,
  max: number,
): AsyncIterable<Uint8Array> {
  yield* body;
  if (file.truncated) throw tooLarge(what, max);
}
