// Browser-safe: fetch only, no Node imports.
import type { ByteRange, ByteSource } from '../fits/byte-source.ts';
import { FitsError } from '../fits/errors.ts';
import { RangeRequester, type RangeRequestOptions } from '../io/range-requests.ts';

export interface RangeSourceOptions extends RangeRequestOptions {
  /**
   * Two wanted runs are fetched by one request when the bytes between them are at most this many
   * (default 1 KiB: about what a request costs in headers, so merging never costs more bytes than
   * a separate request would). Raise it on high-latency links to trade bytes for requests.
   */
  coalesceGap?: number;
  /** A merged request never grows beyond this many bytes (default 16 MiB). */
  maxRequestBytes?: number;
}

/**
 * An HTTP(S) object of KNOWN size (from the cloud index) read by exact Range requests.
 *
 * Unlike io/HttpSource it spends no request discovering the size and never rounds reads out to
 * cache blocks, so a section costs the bytes its layout needs and nothing more: wanted runs are
 * sorted, merged when the gap between them is small, fetched in parallel under a limit and retried
 * on transient failures. A server answering with a different total size than the index recorded
 * means the file changed since it was indexed: that is an error, never silently wrong pixels.
 */
export class RangeSource implements ByteSource {
  readonly name: string;
  readonly url: string;
  private readonly length: number;
  private readonly o: Required<Pick<RangeSourceOptions, 'coalesceGap' | 'maxRequestBytes'>>;
  private readonly http: RangeRequester;

  constructor(url: string, size: number, opts: RangeSourceOptions = {}) {
    this.url = url;
    this.name = url;
    this.length = size;
    this.o = {
      coalesceGap: opts.coalesceGap ?? 1024,
      maxRequestBytes: opts.maxRequestBytes ?? 16 << 20,
    };
    this.http = new RangeRequester(url, opts);
  }

  /** Requests sent (retries included), body bytes received, the most requests in flight at once. */
  get requests(): number {
    return this.http.requests;
  }
  get bytesFetched(): number {
    return this.http.bytesFetched;
  }
  get maxActive(): number {
    return this.http.maxActive;
  }

  async size(): Promise<number> {
    return this.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const [out] = await this.readMany([{ offset, length }]);
    return out;
  }

  async readMany(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    const wanted = ranges
      .map((r, i) => ({ i, start: Math.max(0, r.offset), end: Math.min(this.length, r.offset + r.length) }))
      .filter((r) => r.end > r.start)
      .sort((a, b) => a.start - b.start || a.end - b.end);
    // Merge sorted runs into requests: overlapping or within coalesceGap, up to maxRequestBytes.
    const requests: { start: number; end: number; members: typeof wanted }[] = [];
    for (const w of wanted) {
      const last = requests[requests.length - 1];
      if (
        last &&
        w.start - last.end <= this.o.coalesceGap &&
        Math.max(last.end, w.end) - last.start <= this.o.maxRequestBytes
      ) {
        last.end = Math.max(last.end, w.end);
        last.members.push(w);
      } else requests.push({ start: w.start, end: w.end, members: [w] });
    }
    const out: Uint8Array[] = ranges.map(() => new Uint8Array(0));
    await Promise.all(
      requests.map(async (q) => {
        const body = await this.fetchRange(q.start, q.end - q.start);
        for (const m of q.members) out[m.i] = body.subarray(m.start - q.start, m.end - q.start);
      }),
    );
    return out;
  }

  private async fetchRange(offset: number, length: number): Promise<Uint8Array> {
    const range = `bytes=${offset}-${offset + length - 1}`;
    const where = { file: this.url, offset };
    const res = await this.http.get(offset, length);
    if (res.status === 416)
      throw new FitsError('io', `HTTP 416 for ${range}: the file is shorter than when indexed`, where);
    const cr = /^bytes (\d+)-(\d+)\/(\d+|\*)\s*$/.exec(res.contentRange);
    if (cr && cr[3] !== '*' && Number(cr[3]) !== this.length)
      throw new FitsError(
        'io',
        `the file is ${cr[3]} bytes but was ${this.length} when indexed: it changed, re-run fitslake index`,
        where,
      );
    if (cr && Number(cr[1]) !== offset) throw new FitsError('io', `HTTP ${range} answered ${cr[0]}`, where);
    if (res.body.length !== length)
      throw new FitsError('io', `HTTP ${range} returned ${res.body.length} bytes`, where);
    return res.body;
  }
}
