import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { validateKey } from '../../storage/keys.ts';
import { HttpError } from '../http/errors.ts';

/**
 * Object keys in URLs. A key is everything after `/api/files/`, segments URL-encoded; it may hold
 * slashes (`<collection>/<path…>`). The router decodes it (`%2F` becomes `/` too, so an encoded slash
 * cannot hide a segment), then the storage key rule applies: no `..` or `.` segments, no absolute
 * paths, NUL, control characters, backslashes or empty segments, at most 1024 bytes.
 */
export const keyParams = z.object({
  '*': z.string().describe('object key `<collection>/<path…>`, each segment URL-encoded'),
});

/** The validated key of a request path; a StorageError (400 invalid-key) says what was wrong. */
export function keyFromPath(request: FastifyRequest, path: string): string {
  // The router ignores a trailing slash, which would silently name another object than the one asked.
  if (path !== '' && request.url.split('?')[0].endsWith('/'))
    throw new HttpError(400, 'invalid-key', 'key ends with "/" (that is a prefix, not an object)');
  return validateKey(path);
}
