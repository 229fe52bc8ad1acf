import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { FileStore } from '@tus/file-store';
import { Metadata, Server as TusServer, type Upload } from '@tus/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireRole } from '../../catalog/access.ts';
import { queueIngest } from '../../ingest/sources.ts';
import { validateKey } from '../../storage/keys.ts';
import type { PutOptions } from '../../storage/object-store.ts';
import { HttpError, toHttp } from '../http/errors.ts';
import { errorSchema, type ServerContext } from '../http/server.ts';
import { checkTarget, contentTypeOf, storedSchema, tooLarge } from './upload.ts';

/**
 * Resumable uploads: the tus 1.0 protocol (core, creation, creation-with-upload, termination,
 * expiration) under `/api/uploads/`, for files too large to send in one request over an unreliable
 * link. `POST /api/uploads` creates an upload (Upload-Length, Upload-Metadata naming the target
 * key), `HEAD /api/uploads/{id}` tells how many bytes the server holds, `PATCH /api/uploads/{id}`
 * appends bytes at that offset, `DELETE /api/uploads/{id}` abandons it.
 *
 * The protocol is `@tus/server` with `@tus/file-store` — the tus project's own Node server (2.x:
 * ESM, Node ≥ 20.19, runs here on Node 20), mounted on Fastify routes that hand it the raw Node
 * request and response (`reply.hijack()`): its offset/lock/expiry handling is well tested, and
 * nothing of it had to be rewritten. What Fastify does first, on EVERY request of the protocol:
 * the caller is authenticated (the server's onRequest hook: a bad token is 401), must have role
 * uploader, and for an existing upload must be the one who created it (stored with the upload; any
 * other caller — admins too — gets the 404 an unknown id gets). Creating checks the target as
 * `PUT /api/files/{key}` does (a visible collection, not a mounted index, no hidden file at the key)
 * and `server.maxUploadBytes` against Upload-Length (413).
 *
 * Partial data lives on the server's disk (never in memory) in `<lake>/.fitslake/uploads/`: one
 * file per upload plus its JSON info (length, metadata, creator, creation time). When the last byte
 * arrives, the file takes the path of a raw PUT — the raw zone's `put` (SHA-256 while streaming,
 * the uploader as owner) and an ingest job, so ingestion and events follow exactly as for other
 * uploads — and the partial is deleted; the final PATCH answers 200 with `{key, size, sha256, job}`.
 * If that hand-off failed (the target became forbidden, storage was down), the complete partial
 * stays and a retry of the final PATCH, or a HEAD, tries again. Unfinished uploads expire 24 hours
 * after creation: swept at start-up and every hour.
 */

/** How long an unfinished upload is kept after its creation. */
export const UPLOAD_EXPIRY_MS = 24 * 3600_000;
/** How often expired partial uploads are swept. */
const SWEEP_MS = 3600_000;
/** Upload ids are @tus/server's own: 32 random hex digits. */
const ID = /^[0-9a-f]{32}$/;
/** The metadata entry holding the creator (any value a client sends under this name is replaced). */
const OWNER = 'fitslake-owner';

export interface ResumableOptions {
  /** Unfinished uploads older than this are deleted (default 24 h). */
  expiryMs?: number;
  /** How often they are swept (default 1 h). */
  sweepMs?: number;
}

const uploadParams = z.object({ id: z.string().describe('the upload id from the Location of its creation') });

const tusHeaders = {
  'tus-resumable': z.string().describe('1.0.0'),
};

/** `{key}` or `{collection, filename[, path]}` of Upload-Metadata, as a raw-zone key. */
function targetKey(meta: Record<string, string | null>): string {
  if (meta.key) return validateKey(meta.key);
  const { collection, filename } = meta;
  if (!collection || !filename)
    throw new HttpError(
      400,
      'invalid-request',
      'Upload-Metadata must name the target: `key` (<collection>/<path>), or `collection` and `filename` (and optionally `path`)',
    );
  const prefix = (meta.path ?? '').replace(/^\/+|\/+$/g, '');
  return validateKey([collection, prefix, filename].filter((s) => s !== '').join('/'));
}

function parseMetadata(header: string | undefined): Record<string, string | null> {
  try {
    return Metadata.parse(header);
  } catch {
    throw new HttpError(400, 'invalid-request', 'Upload-Metadata is not a list of "key base64value" pairs');
  }
}

/** tus errors are `{status_code, body}` with a text body; ours travel in the server's JSON shape. */
function tusErrorBody(err: unknown): { status_code: number; body: string } {
  if (err instanceof Error && !(err instanceof HttpError) && !('status_code' in err)) {
    const { status, body } = toHttp(err);
    return { status_code: status, body: JSON.stringify(body) };
  }
  if (err instanceof HttpError)
    return {
      status_code: err.status,
      body: JSON.stringify({ error: { code: err.code, message: err.message } }),
    };
  const e = err as { status_code?: number; body?: string };
  const status = e.status_code ?? 500;
  const code =
    status === 409
      ? 'offset-conflict'
      : status === 413
        ? 'too-large'
        : status === 404 || status === 410
          ? 'not-found'
          : status >= 500
            ? 'internal'
            : 'invalid-request';
  const message = (e.body ?? 'upload failed').trim();
  return { status_code: status, body: JSON.stringify({ error: { code, message } }) };
}

export function resumableUploads(
  opts: ResumableOptions = {},
): (app: FastifyInstance, ctx: ServerContext) => Promise<void> {
  return async (app, ctx) => {
    const { lake } = ctx;
    const max = lake.loaded.config.server.maxUploadBytes;
    const directory = join(lake.dir, '.fitslake', 'uploads');
    const datastore = new FileStore({
      directory,
      expirationPeriodInMilliseconds: opts.expiryMs ?? UPLOAD_EXPIRY_MS,
    });
    /** The Fastify request behind each raw request tus is handling (its caller, its visibility). */
    const requests = new WeakMap<IncomingMessage, FastifyRequest>();
    const replies = new WeakMap<IncomingMessage, FastifyReply>();
    const fastifyRequestOf = (req: Request): FastifyRequest => {
      const raw = (req as unknown as { runtime?: { node?: { req: IncomingMessage } } }).runtime?.node?.req;
      const request = raw && requests.get(raw);
      if (!request) throw new HttpError(500, 'internal', 'tus request without its Fastify request');
      return request;
    };
    /** Hand-offs in progress, so that a HEAD and a retried PATCH never store one upload twice. */
    const finishing = new Map<string, Promise<z.infer<typeof storedSchema>>>();

    /** The finished partial takes the raw PUT's path: the raw zone's put, an ingest job; then it goes. */
    const finish = (upload: Upload, request: FastifyRequest) => {
      let p = finishing.get(upload.id);
      if (!p) {
        p = (async () => {
          const meta = upload.metadata ?? {};
          const key = targetKey(meta);
          await checkTarget(lake, request, key);
          const put: PutOptions = { metadata: { owner: request.caller.user ?? '' } };
          const type = contentTypeOf(meta.filetype ?? meta.contentType);
          if (type) put.contentType = type;
          const stored = await lake.zones.raw.put(
            key,
            createReadStream(join(directory, upload.id), { highWaterMark: 1 << 20 }),
            put,
          );
          if (upload.size !== undefined && stored.size !== upload.size)
            throw new HttpError(
              500,
              'internal',
              `the stored object has ${stored.size} of ${upload.size} bytes`,
            );
          const [job] = await queueIngest(lake, [stored.key]);
          // Until the partial is gone, the id stays here: a HEAD meanwhile must not store it again.
          const forget = () => finishing.delete(upload.id);
          // A creation that completes the upload (zero bytes, or creation-with-upload) reads the
          // upload once more before answering: its partial goes once the answer is sent.
          if (request.method === 'POST')
            replies.get(request.raw)?.raw.once(
              'close',
              () =>
                void datastore
                  .remove(upload.id)
                  .catch(() => {})
                  .finally(forget),
            );
          else await datastore.remove(upload.id).finally(forget);
          return { key: stored.key, size: stored.size, sha256: stored.sha256 ?? stored.etag, job };
        })().catch((err: unknown) => {
          finishing.delete(upload.id);
          throw err;
        });
        finishing.set(upload.id, p);
      }
      return p;
    };

    const tus = new TusServer({
      path: '/api/uploads',
      datastore,
      relativeLocation: true,
      ...(max > 0 ? { maxSize: max } : {}),
      // Same-origin only (the web app is served by this server): no CORS grants.
      allowedOrigins: [],
      async onUploadCreate(req, upload) {
        const request = fastifyRequestOf(req);
        const metadata = { ...(upload.metadata ?? {}) };
        metadata.key = targetKey(metadata);
        metadata[OWNER] = request.caller.user ?? '';
        return { metadata };
      },
      async onUploadFinish(req, upload) {
        const request = fastifyRequestOf(req);
        const stored = await finish(upload, request);
        return {
          status_code: req.method === 'POST' ? 201 : 200,
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(stored),
        };
      },
      onResponseError(_req, err) {
        const mapped = tusErrorBody(err);
        if (mapped.status_code >= 500) app.log.error({ err }, 'resumable upload failed');
        return mapped;
      },
    });

    /** The caller's own upload, or the 404 an unknown id gets. */
    const ownUpload = async (request: FastifyRequest, id: string): Promise<Upload> => {
      const missing = new HttpError(404, 'not-found', `no upload ${JSON.stringify(id)}`);
      if (!ID.test(id)) throw missing;
      let upload: Upload;
      try {
        upload = await datastore.getUpload(id);
      } catch {
        throw missing;
      }
      if (upload.metadata?.[OWNER] !== (request.caller.user ?? '')) throw missing;
      return upload;
    };

    /** Checks that precede every tus request; then tus answers on the raw response. */
    const handOver = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      if (request.method !== 'OPTIONS' && request.headers['tus-resumable'] !== '1.0.0')
        throw new HttpError(412, 'precondition-failed', 'this server speaks tus: send Tus-Resumable: 1.0.0');
      requests.set(request.raw, request);
      replies.set(request.raw, reply);
      reply.hijack();
      await tus.handle(request.raw, reply.raw);
    };

    const expiry = opts.expiryMs ?? UPLOAD_EXPIRY_MS;
    const sweep = async () => {
      try {
        let n = await datastore.deleteExpired();
        // @tus/file-store keeps complete uploads; ours are complete only while their hand-off
        // failed (or a crash stopped it): those expire too.
        for (const f of await readdir(directory).catch(() => [] as string[])) {
          const id = f.replace(/\.json$/, '');
          if (f === id || !ID.test(id) || finishing.has(id)) continue;
          const u = await datastore.getUpload(id).catch(() => undefined);
          const created = u?.creation_date ? Date.parse(u.creation_date) : Number.NaN;
          if (u && u.offset === u.size && Date.now() - created > expiry) {
            await datastore.remove(id).catch(() => {});
            n++;
          }
        }
        if (n) app.log.info(`deleted ${n} expired partial upload${n === 1 ? '' : 's'}`);
      } catch (err) {
        app.log.warn({ err }, 'sweeping expired uploads failed');
      }
    };
    await sweep();
    const timer = setInterval(sweep, opts.sweepMs ?? SWEEP_MS);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));

    await app.register(async (scope) => {
      // Bodies (application/offset+octet-stream, or anything a client sends) stay unread for tus.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
      scope.addHook('onError', async (request, reply) => {
        if (!request.raw.complete) reply.header('connection', 'close');
      });
      const typed = scope.withTypeProvider<ZodTypeProvider>();

      typed.post(
        '/api/uploads',
        {
          schema: {
            summary: 'Create a resumable upload (tus 1.0)',
            description:
              'The tus 1.0 protocol (core, creation, creation-with-upload, termination, expiration). ' +
              'Headers: `Tus-Resumable: 1.0.0`, `Upload-Length` (bytes, at most server.maxUploadBytes), ' +
              '`Upload-Metadata` with `key` (`<collection>/<path…>`) or `collection` + `filename` ' +
              '(+ optional `path`), and optionally `filetype`; all values base64 as tus says. Answers ' +
              '201 with `Location: /api/uploads/{id}`. Then `HEAD /api/uploads/{id}` gives ' +
              '`Upload-Offset` (bytes held) and `PATCH` appends from there; when the last byte arrives ' +
              'the file is stored at the key and queued for ingestion exactly like ' +
              '`PUT /api/files/{key}`. Needs role uploader and a collection the caller can see; an ' +
              'upload is usable only by its creator. Unfinished uploads expire after 24 hours.',
            headers: z.looseObject({
              ...tusHeaders,
              'upload-length': z.string().describe('total size in bytes'),
              'upload-metadata': z.string().optional().describe('comma-separated `name base64(value)` pairs'),
            }),
            response: {
              201: z.any().describe('created: `Location` names the upload'),
              400: errorSchema,
              401: errorSchema,
              403: errorSchema,
              409: errorSchema,
              412: errorSchema,
              413: errorSchema,
            },
          },
        },
        async (request, reply) => {
          requireRole(request.caller, 'uploader', 'uploading');
          const length = request.headers['upload-length'];
          if (!/^\d+$/.test(length))
            throw new HttpError(400, 'invalid-request', 'Upload-Length must be the size in bytes');
          if (max > 0 && Number(length) > max) throw tooLarge(`Upload-Length ${length}`, max);
          await checkTarget(lake, request, targetKey(parseMetadata(request.headers['upload-metadata'])));
          await handOver(request, reply);
        },
      );

      typed.route({
        method: ['HEAD', 'OPTIONS'],
        url: '/api/uploads/:id',
        // A HEAD answer has no body, so no documented error shape: described under POST /api/uploads.
        schema: { hide: true, params: uploadParams },
        handler: async (request, reply) => {
          if (request.method === 'OPTIONS') return handOver(request, reply);
          requireRole(request.caller, 'uploader', 'uploading');
          const upload = await ownUpload(request, request.params.id);
          if (upload.size !== undefined && upload.offset === upload.size) {
            // Complete, but its hand-off failed or never ran (a crash): do it now, then say so.
            await finish(upload, request);
            return reply
              .status(200)
              .headers({
                'tus-resumable': '1.0.0',
                'upload-offset': String(upload.size),
                'upload-length': String(upload.size),
                'cache-control': 'no-store',
              })
              .send();
          }
          await handOver(request, reply);
        },
      });
      typed.route({
        method: 'OPTIONS',
        url: '/api/uploads',
        schema: { hide: true },
        handler: (request, reply) => handOver(request, reply),
      });

      typed.patch(
        '/api/uploads/:id',
        {
          schema: {
            summary: 'Append bytes to a resumable upload (tus 1.0)',
            description:
              'Headers `Tus-Resumable: 1.0.0`, `Upload-Offset` (must equal the bytes the server holds: ' +
              'else 409), `Content-Type: application/offset+octet-stream`; the body is the next bytes. ' +
              'A connection that drops keeps what arrived: HEAD tells where to go on. Answers 204 with ' +
              'the new `Upload-Offset`, or, for the last bytes, 200 with `{key, size, sha256, job}` once ' +
              'the file is stored and queued for ingestion. Only the upload’s creator may use it.',
            params: uploadParams,
            headers: z.looseObject({
              ...tusHeaders,
              'upload-offset': z.string().describe('the offset these bytes start at'),
            }),
            response: {
              200: storedSchema,
              204: z.any().describe('stored; `Upload-Offset` is the new offset'),
              400: errorSchema,
              401: errorSchema,
              403: errorSchema,
              404: errorSchema,
              409: errorSchema,
              413: errorSchema,
            },
          },
        },
        async (request, reply) => {
          requireRole(request.caller, 'uploader', 'uploading');
          await ownUpload(request, request.params.id);
          await handOver(request, reply);
        },
      );

      typed.delete(
        '/api/uploads/:id',
        {
          schema: {
            summary: 'Abandon a resumable upload (tus termination)',
            description: 'Deletes the partial upload (`Tus-Resumable: 1.0.0`); 204. Only its creator may.',
            params: uploadParams,
            headers: z.looseObject(tusHeaders),
            response: {
              204: z.any().describe('deleted'),
              401: errorSchema,
              403: errorSchema,
              404: errorSchema,
            },
          },
        },
        async (request, reply) => {
          requireRole(request.caller, 'uploader', 'uploading');
          await ownUpload(request, request.params.id);
          await handOver(request, reply);
        },
      );
    });
  };
}

/** The resumable-upload routes with their defaults (24 h expiry, swept hourly). */
export const resumableRoutes = resumableUploads();
