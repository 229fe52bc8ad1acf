import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AccessError } from '../../catalog/access.ts';
import { AccountError } from '../../catalog/accounts.ts';
import { QueryError } from '../../catalog/readonly.ts';
import { StorageError } from '../../storage/errors.ts';

/** An error with the HTTP status and the stable code clients see in `{"error": {"code", "message"}}`. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ErrorBody {
  error: { code: string; message: string };
}

const STORAGE_STATUS: Record<string, number> = { 'not-found': 404, 'invalid-key': 400, io: 503 };

/** Maps every error the lake throws to a status and a message that says what was wrong. */
export function toHttp(err: unknown): { status: number; body: ErrorBody } {
  const e = err as FastifyError & { validation?: unknown; code?: string };
  const body = (status: number, code: string, message: string) => ({
    status,
    body: { error: { code, message } },
  });
  if (err instanceof HttpError) return body(err.status, err.code, err.message);
  if (err instanceof AccessError)
    return body(err.code === 'unauthenticated' ? 401 : 403, err.code, err.message);
  if (err instanceof AccountError) return body(400, 'invalid-request', err.message);
  if (err instanceof QueryError)
    return body(
      err.code === 'timeout' ? 408 : err.code === 'not-read-only' || err.code === 'not-allowed' ? 403 : 400,
      `sql-${err.code}`,
      err.message,
    );
  if (err instanceof StorageError) return body(STORAGE_STATUS[err.code] ?? 500, err.code, err.message);
  // Plugins that throw a ready error body (the rate limiter).
  const ready = (err as { error?: { code?: unknown; message?: unknown }; statusCode?: number }).error;
  if (ready && typeof ready.code === 'string' && typeof ready.message === 'string')
    return body(e.statusCode ?? 400, ready.code, ready.message);
  // Fastify's own errors may be RangeErrors too (body too large: 413); they carry their status.
  if (err instanceof RangeError && typeof e.statusCode !== 'number')
    return body(400, 'invalid-request', err.message);
  if (e.validation) return body(400, 'invalid-request', e.message);
  // Fastify's own client errors (body too large, bad JSON, unsupported media type, rate limit).
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
    return body(
      e.statusCode,
      (e.code ?? 'bad-request')
        .toLowerCase()
        .replace(/^fst_err_/, '')
        .replace(/_/g, '-'),
      e.message,
    );
  return body(500, 'internal', 'internal error (logged on the server)');
}

export function sendError(reply: FastifyReply, request: FastifyRequest, err: unknown): FastifyReply {
  const { status, body } = toHttp(err);
  if (status >= 500) request.log.error({ err }, 'request failed');
  return reply.status(status).type('application/json').send(body);
}
