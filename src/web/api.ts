// The API client: every call carries `Authorization: Bearer <token>` once the user signed in (the
// token lives in localStorage); without one the calls are anonymous.

const KEY = 'fitslake.token';

export function getToken(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  if (token) localStorage.setItem(KEY, token);
  else localStorage.removeItem(KEY);
  for (const url of images.values()) URL.revokeObjectURL(url);
  images.clear();
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function headers(token: string | null): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function failure(r: Response): Promise<ApiError> {
  let code = 'error';
  let message = `${r.status} ${r.statusText}`;
  try {
    const body = (await r.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.message) message = body.error.message;
    if (body.error?.code) code = body.error.code;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(r.status, code, message);
}

/** GET a JSON resource of the API. */
export async function api<T>(
  path: string,
  opts: { token?: string | null; signal?: AbortSignal } = {},
): Promise<T> {
  const token = opts.token === undefined ? getToken() : opts.token;
  const r = await fetch(path, {
    headers: { accept: 'application/json', ...headers(token) },
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (!r.ok) throw await failure(r);
  return (await r.json()) as T;
}

const images = new Map<string, string>();

/**
 * An image of the API as a blob: URL (an <img src> cannot send the Authorization header), cached
 * for the session; null when it cannot be had.
 */
export async function imageUrl(path: string): Promise<string | null> {
  const known = images.get(path);
  if (known) return known;
  try {
    const r = await fetch(path, { headers: headers(getToken()) });
    if (!r.ok) return null;
    const url = URL.createObjectURL(await r.blob());
    images.set(path, url);
    return url;
  } catch {
    return null;
  }
}

/**
 * A link the browser follows itself (a download, the DataLink document): a navigation cannot send
 * headers, so a signed-in user's token rides as `access_token`, which the server accepts for links.
 */
export function linkUrl(path: string): string {
  const token = getToken();
  if (!token) return path;
  return `${path}${path.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}`;
}

/** The Authorization header of the signed-in user (none when anonymous), for fetch and XHR calls. */
export function authHeaders(): Record<string, string> {
  return headers(getToken());
}

/**
 * The message of a failed answer: the API's JSON error, a TAP VOTable error document's QUERY_STATUS
 * INFO, or the status line.
 */
export async function errorMessage(r: Response): Promise<string> {
  const text = await r.text();
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    if (body.error?.message) return body.error.message;
  } catch {
    // not JSON
  }
  if (text.includes('<VOTABLE')) {
    const doc = new DOMParser().parseFromString(text, 'application/xml');
    const info = Array.from(doc.getElementsByTagName('INFO')).find(
      (i) => i.getAttribute('name') === 'QUERY_STATUS',
    );
    if (info?.textContent) return info.textContent.trim();
  }
  return `${r.status} ${r.statusText}`;
}

/** Saves an answer's body as a file (a blob: download, so the request could carry the header). */
export async function saveAs(r: Response, filename: string): Promise<void> {
  const url = URL.createObjectURL(await r.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
