import { Readable } from 'node:stream';
import type { ByteSource } from '../fits/byte-source.ts';
import { HttpSource } from '../io/http-source.ts';
import { StorageError } from './errors.ts';
import type { ListOptions, ListResult, ObjectMeta, ObjectStore } from './object-store.ts';

/** One object of a UrlStore: where its bytes are, and what the index said about them. */
export interface UrlEntry {
  url: string;
  size: number;
  /** The index's validator (ETag, or size + mtime): a changed value is a new version. */
  etag: string;
  lastModified?: Date;
}

/**
 * A read-only store over files that live elsewhere (a mounted cloud index): keys map to data URLs,
 * which are read by HTTP range requests. Nothing is ever written, copied or deleted there.
 */
export class UrlStore implements ObjectStore {
  private readonly entries: Map<string, UrlEntry>;

  constructor(entries: Map<string, UrlEntry>) {
    this.entries = entries;
  }

  private entry(key: string): UrlEntry {
    const e = this.entries.get(key);
    if (!e) throw new StorageError('not-found', 'no such object in the mounted index', key);
    return e;
  }

  async head(key: string): Promise<ObjectMeta | undefined> {
    const e = this.entries.get(key);
    return e ? meta(key, e) : undefined;
  }

  async source(key: string): Promise<ByteSource> {
    return new HttpSource(this.entry(key).url);
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<AsyncIterable<Uint8Array>> {
    const e = this.entry(key);
    const headers: Record<string, string> = range
      ? { range: `bytes=${range.start}-${range.end !== undefined ? range.end - 1 : ''}` }
      : {};
    let res: Response;
    try {
      res = await fetch(e.url, { headers });
    } catch (err) {
      throw new StorageError('io', `fetching ${e.url}: ${(err as Error).message}`, key);
    }
    if (res.status === 404) throw new StorageError('not-found', `${e.url} answered 404`, key);
    if (!res.ok || !res.body || (range && res.status !== 206 && range.start > 0))
      throw new StorageError('io', `${e.url} answered HTTP ${res.status}`, key);
    return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  }

  async list(opts: ListOptions = {}): Promise<ListResult> {
    const prefix = opts.prefix ?? '';
    const max = opts.maxKeys ?? 1000;
    const keys = [...this.entries.keys()].filter((k) => k.startsWith(prefix)).sort();
    const from = opts.continuationToken ? keys.findIndex((k) => k > (opts.continuationToken as string)) : 0;
    const page = from < 0 ? [] : keys.slice(from, from + max);
    const last = page.at(-1);
    return {
      objects: page.map((k) => meta(k, this.entries.get(k) as UrlEntry)),
      prefixes: [],
      ...(last !== undefined && keys.at(-1) !== last ? { nextToken: last } : {}),
    };
  }

  /** The data URL itself: downloads of a mounted file are redirected to where it lives. */
  async presign(key: string): Promise<string> {
    return this.entry(key).url;
  }

  put(key: string): Promise<ObjectMeta> {
    return Promise.reject(readOnly(key));
  }
  copy(from: string): Promise<ObjectMeta> {
    return Promise.reject(readOnly(from));
  }
  delete(key: string): Promise<boolean> {
    return Promise.reject(readOnly(key));
  }
}

const readOnly = (key: string) =>
  new StorageError(
    'invalid-key',
    'a mounted collection is read-only: its files live at their data URLs',
    key,
  );

function meta(key: string, e: UrlEntry): ObjectMeta {
  return { key, size: e.size, etag: e.etag, lastModified: e.lastModified ?? new Date(0), metadata: {} };
}
