import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../http/server.ts';
import { downloadRoutes } from './download.ts';
import { uploadRoutes } from './upload.ts';

/**
 * Files over HTTP: `PUT /api/files/{key}` and `POST /api/upload` (streaming uploads that queue
 * ingestion), `GET /api/files/{key}` (downloads with Range, ETag, Content-Disposition and S3
 * redirects), `GET /api/files/{key}/header` (every HDU's cards) and `GET /api/files/{key}?meta=1`
 * (the file's details). See upload.ts and download.ts for the rules.
 */
export async function restFiles(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  await uploadRoutes(app, ctx);
  await downloadRoutes(app, ctx);
}
