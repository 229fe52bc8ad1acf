/**
 * HTTP conditional and range requests for downloads (RFC 9110 §13, §14): `Range` with one byte
 * range, `If-Range`, `If-None-Match` and `If-Modified-Since`. Pure functions over header values, so
 * the rules are testable without a server.
 */

/** What a `Range` header asks of an object of `size` bytes. `end` is exclusive. */
export type RangeAnswer =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

const SINGLE = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i;

/**
 * Parses `Range` for one object. A header that is not a single byte range — malformed, another unit,
 * or several ranges — is answered with the whole object (RFC 9110 §14.2 lets a server ignore Range;
 * clients that resume downloads send one range). A single range that starts past the end, or a zero
 * suffix, is unsatisfiable (416).
 */
export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'full' };
  const m = SINGLE.exec(header.trim());
  if (!m) return { kind: 'full' };
  const [, a, b] = m;
  if (a === '' && b === '') return { kind: 'full' };
  // Beyond 2^53 the numbers lose precision: no object is that large, so such a range starts past the end.
  const num = (s: string) => (s.length > 15 ? Number.POSITIVE_INFINITY : Number(s));
  if (a === '') {
    // bytes=-n: the last n bytes.
    const n = num(b);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size };
  }
  const start = num(a);
  if (b !== '' && num(b) < start) return { kind: 'full' }; // invalid (last < first): ignored, §14.1.1
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = b === '' ? size : Math.min(size, num(b) + 1);
  return { kind: 'partial', start, end };
}

/** The entity tags listed in `If-None-Match` / `If-Match` (`*` as itself), weakness dropped. */
function tagsOf(header: string): string[] {
  if (header.trim() === '*') return ['*'];
  const out: string[] = [];
  for (const m of header.matchAll(/(?:W\/)?"([^"]*)"/g)) out.push(m[1]);
  return out;
}

/** Whole seconds, as HTTP dates carry them. */
const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

/**
 * True when a GET may be answered 304 Not Modified: `If-None-Match` matches the ETag (weak
 * comparison, §13.1.2), or, only when there is no `If-None-Match`, the object has not changed since
 * `If-Modified-Since`.
 */
export function notModified(
  headers: { 'if-none-match'?: string | undefined; 'if-modified-since'?: string | undefined },
  etag: string,
  lastModified: Date,
): boolean {
  const inm = headers['if-none-match'];
  if (inm !== undefined) {
    const tags = tagsOf(inm);
    return tags.includes('*') || tags.includes(etag);
  }
  const ims = headers['if-modified-since'];
  if (ims !== undefined) {
    const since = Date.parse(ims);
    return !Number.isNaN(since) && seconds(lastModified) <= Math.floor(since / 1000);
  }
  return false;
}

/**
 * True when a Range request may be honoured under `If-Range` (§13.1.5): absent, or a strong ETag
 * equal to the current one, or an HTTP date equal to Last-Modified. Anything else (a weak tag, a
 * changed object) means the client's partial copy is stale: send the whole object.
 */
export function ifRangeHolds(header: string | undefined, etag: string, lastModified: Date): boolean {
  if (header === undefined) return true;
  const h = header.trim();
  if (h.startsWith('W/')) return false;
  if (h.startsWith('"')) return h === `"${etag}"`;
  const date = Date.parse(h);
  return !Number.isNaN(date) && Math.floor(date / 1000) === seconds(lastModified);
}

/**
 * A `Content-Disposition: attachment` value that no file name can break: a plain-ASCII fallback in a
 * quoted string (quotes, backslashes, control and non-ASCII characters replaced by `_`), plus the
 * exact name RFC 5987/8187-encoded as `filename*` when the two differ. CR and LF never reach the
 * header, so a name cannot inject one.
 */
export function contentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_') || 'download';
  const value = `attachment; filename="${fallback}"`;
  if (fallback === name) return value;
  const encoded = encodeURIComponent(name).replace(
    /['()*!]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${value}; filename*=UTF-8''${encoded}`;
}
