// Browser-safe: fetch only, no Node imports (the cloud client uses it too).
import { FitsError } from '../fits/errors.ts';

export interface RangeRequestOptions {
  /** Most requests in flight at once (default 6, a browser's per-host limit). */
  concurrency?: number;
  /** Tries after the first on transient failures: network errors, 408, 429, 5xx (default 4). */
  retries?: number;
  /** First backoff delay in ms, doubling each try; a Retry-After header wins (default 200). */
  backoffMs?: number;
  /** Extra request headers (an Authorization header for a private host). */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

/** A 206 answer (its body and Content-Range), or 416: the range starts past the end. */
export type RangeAnswer =
  | { status: 206; body: Uint8Array; contentRange: string }
  | { status: 416; contentRange: string };

const TRANSIENT = new Set([408, 429, 500, 502, 503, 504]);

/**
 * Range requests to one URL: a bounded number in flight, transient failures retried with backoff,
 * and a server that ignores Range refused at once — its body is never downloaded, since silently
 * fetching a 44 GB file to read one header is the failure a range reader exists to avoid.
 */
export class RangeRequester {
  readonly url: string;
  private readonly o: Required<Omit<RangeRequestOptions, 'headers' | 'fetch'>> & {
    headers?: Record<string, string>;
  };
  private readonly fetchFn: (input: string, init: RequestInit) => Promise<Response>;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** Requests sent (retries included), body bytes received, the most requests in flight at once. */
  requests = 0;
  bytesFetched = 0;
  maxActive = 0;

  constructor(url: string, opts: RangeRequestOptions) {
    this.url = url;
    this.o = {
      concurrency: opts.concurrency ?? 6,
      retries: opts.retries ?? 4,
      backoffMs: opts.backoffMs ?? 200,
      ...(opts.headers ? { headers: opts.headers } : {}),
    };
    // Bound to globalThis: a browser's fetch throws "Illegal invocation" when called as a method.
    const f = opts.fetch;
    this.fetchFn = f ? (input, init) => f(input, init) : (input, init) => globalThis.fetch(input, init);
  }

  private async slot<T>(fn: () => Promise<T>): Promise<T> {
    while (this.active >= this.o.concurrency) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  /** Bytes [offset, offset + length): the caller checks the answer against what it knows of the file. */
  async get(offset: number, length: number): Promise<RangeAnswer> {
    const range = `bytes=${offset}-${offset + length - 1}`;
    const where = { file: this.url, offset };
    for (let attempt = 0; ; attempt++) {
      let res: { status: number; headers: Headers; body?: Uint8Array };
      try {
        res = await this.slot(async () => {
          this.requests++;
          const r = await this.fetchFn(this.url, { headers: { ...this.o.headers, range } });
          if (r.status !== 206) {
            await r.body?.cancel(); // never download a body we did not ask for
            return { status: r.status, headers: r.headers };
          }
          const body = new Uint8Array(await r.arrayBuffer());
          this.bytesFetched += body.length;
          return { status: r.status, headers: r.headers, body };
        });
      } catch (err) {
        if (attempt < this.o.retries) {
          await sleep(this.o.backoffMs * 2 ** attempt);
          continue;
        }
        throw new FitsError(
          'io',
          `HTTP ${range} failed after ${attempt + 1} tries: ${(err as Error).message}`,
          where,
        );
      }
      const contentRange = res.headers.get('content-range') ?? '';
      if (res.status === 206) return { status: 206, body: res.body as Uint8Array, contentRange };
      if (res.status === 416) return { status: 416, contentRange };
      if (res.status === 200)
        throw new FitsError(
          'io',
          `server ignored the Range header (${range} answered 200 with the whole body)`,
          where,
        );
      if (TRANSIENT.has(res.status) && attempt < this.o.retries) {
        const after = Number(res.headers.get('retry-after'));
        await sleep(Number.isFinite(after) && after > 0 ? after * 1000 : this.o.backoffMs * 2 ** attempt);
        continue;
      }
      throw new FitsError('io', `HTTP ${res.status} for ${range}`, where);
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
