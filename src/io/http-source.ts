import type { ByteRange, ByteSource } from '../fits/byte-source.ts';
import { FitsError } from '../fits/errors.ts';
import { RangeRequester, type RangeRequestOptions } from './range-requests.ts';

export interface HttpSourceOptions extends RangeRequestOptions {
  /** Cache block size: reads are rounded out to whole blocks (one request serves nearby reads). */
  blockSize?: number;
  /** Most bytes the block cache keeps (least recently used blocks go first). */
  cacheBytes?: number;
  /** Ranges closer than this are fetched by one request. */
  coalesceGap?: number;
}

/**
 * An HTTP(S) object read by Range requests. Node's fetch (undici) keeps connections alive; on top
 * we keep a bounded LRU block cache, merge nearby ranges into one request, cap parallel requests
 * and retry transient failures. A server that ignores Range is refused at once (its body is not
 * downloaded), since silently fetching a 44 GB file to read one header is the failure we exist to avoid.
 */
export class HttpSource implements ByteSource {
  readonly name: string;
  private readonly url: string;
  private readonly o: Required<Pick<HttpSourceOptions, 'blockSize' | 'cacheBytes' | 'coalesceGap'>>;
  private readonly http: RangeRequester;
  private length: number | undefined;
  private readonly cache = new Map<number, Uint8Array>(); // block index → bytes, in LRU order
  private cached = 0;

  constructor(url: string, opts: HttpSourceOptions = {}) {
    this.url = url;
    this.name = url;
    this.o = {
      blockSize: opts.blockSize ?? 64 << 10,
      cacheBytes: opts.cacheBytes ?? 32 << 20,
      coalesceGap: opts.coalesceGap ?? 256 << 10,
    };
    this.http = new RangeRequester(url, opts);
  }

  /** Requests sent and bytes received: tests and benchmarks read these. */
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
    if (this.length === undefined) {
      // The first block's answer carries the total size (Content-Range) and proves Range works;
      // it is kept, since the first thing any reader wants is the primary header.
      this.remember(0, await this.fetchRange(0, this.o.blockSize));
    }
    return this.length!;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const [out] = await this.readMany([{ offset, length }]);
    return out;
  }

  async readMany(ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
    const size = await this.size();
    const bs = this.o.blockSize;
    // Blocks needed and not cached, merged into runs of consecutive (or nearly) blocks.
    const need = new Set<number>();
    for (const r of ranges) {
      const end = Math.min(size, r.offset + r.length);
      for (let b = Math.floor(r.offset / bs); b * bs < end; b++) if (!this.cache.has(b)) need.add(b);
    }
    const blocks = [...need].sort((a, b) => a - b);
    const runs: [number, number][] = [];
    const gapBlocks = Math.floor(this.o.coalesceGap / bs);
    for (const b of blocks) {
      const last = runs[runs.length - 1];
      if (last && b - last[1] <= gapBlocks + 1) last[1] = b;
      else runs.push([b, b]);
    }
    const fetched = new Map<number, Uint8Array>();
    await Promise.all(
      runs.map(async ([first, last]) => {
        const start = first * bs;
        const end = Math.min(size, (last + 1) * bs);
        const bytes = await this.fetchRange(start, end - start);
        for (let b = first; b <= last; b++) {
          const blk = bytes.subarray(b * bs - start, Math.min(bytes.length, (b + 1) * bs - start));
          fetched.set(b, blk);
          this.remember(b, blk);
        }
      }),
    );
    return ranges.map((r) => {
      const end = Math.min(size, r.offset + r.length);
      if (end <= r.offset) return new Uint8Array(0);
      const out = new Uint8Array(end - r.offset);
      for (let b = Math.floor(r.offset / bs); b * bs < end; b++) {
        const blk = fetched.get(b) ?? this.recall(b)!;
        const a = Math.max(r.offset, b * bs);
        const z = Math.min(end, b * bs + blk.length);
        out.set(blk.subarray(a - b * bs, z - b * bs), a - r.offset);
      }
      return out;
    });
  }

  async *stream(start = 0, end?: number): AsyncIterable<Uint8Array> {
    const stop = end ?? (await this.size());
    const step = 4 << 20;
    for (let p = start; p < stop; p += step) yield await this.fetchRange(p, Math.min(step, stop - p));
  }

  private remember(b: number, blk: Uint8Array): void {
    this.cache.set(b, blk);
    this.cached += blk.length;
    for (const [k, v] of this.cache) {
      if (this.cached <= this.o.cacheBytes) break;
      this.cache.delete(k);
      this.cached -= v.length;
    }
  }

  private recall(b: number): Uint8Array | undefined {
    const v = this.cache.get(b);
    if (v) {
      this.cache.delete(b);
      this.cache.set(b, v);
    }
    return v;
  }

  private async fetchRange(offset: number, length: number): Promise<Uint8Array> {
    const where = { file: this.url, offset };
    const range = `bytes=${offset}-${offset + length - 1}`;
    const res = await this.http.get(offset, length);
    if (res.status === 416) {
      this.length ??= Number(/\/(\d+)/.exec(res.contentRange)?.[1] ?? 0);
      return new Uint8Array(0);
    }
    const total = /\/(\d+)\s*$/.exec(res.contentRange);
    if (!total) throw new FitsError('io', `HTTP ${range}: 206 without a total size in Content-Range`, where);
    this.length = Number(total[1]);
    if (res.body.length !== Math.min(length, this.length - offset))
      throw new FitsError('io', `HTTP ${range} returned ${res.body.length} bytes`, where);
    return res.body;
  }
}
