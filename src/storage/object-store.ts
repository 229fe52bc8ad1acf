import type { ByteSource } from '../fits/byte-source.ts';

/**
 * One interface over every place fitslake keeps bytes (a local folder, any S3-compatible bucket),
 * in S3's terms: flat keys, prefixes and delimiters, metadata, ranged reads.
 */
export interface ObjectMeta {
  key: string;
  size: number;
  /** Strong validator: the SHA-256 of the content (hex) for LocalStore, the ETag for S3. */
  etag: string;
  /** SHA-256 of the content when the store computed it while writing. */
  sha256?: string;
  lastModified: Date;
  contentType?: string;
  metadata: Record<string, string>;
}

export interface PutOptions {
  contentType?: string;
  /** User metadata (S3 x-amz-meta-*): short ASCII names, string values. */
  metadata?: Record<string, string>;
}

export interface ListOptions {
  prefix?: string;
  /** Group keys by the next delimiter after the prefix, as S3 CommonPrefixes. */
  delimiter?: string;
  /** Page size (default 1000, as S3). */
  maxKeys?: number;
  /** The `nextToken` of the previous page. */
  continuationToken?: string;
}

export interface ListResult {
  objects: ObjectMeta[];
  /** With a delimiter: the "folders" one level below the prefix. */
  prefixes: string[];
  /** Present when more keys follow. */
  nextToken?: string;
}

export type Body = Uint8Array | AsyncIterable<Uint8Array>;

/** Headers a presigned download is answered with, where the backend can override them. */
export interface PresignResponse {
  contentDisposition?: string;
  contentType?: string;
}

export interface ObjectStore {
  /** Stores a whole object atomically: readers see the old object or the new one, never a mix. */
  put(key: string, body: Body, opts?: PutOptions): Promise<ObjectMeta>;
  /** Streams an object (or bytes [start, end) of it). */
  get(key: string, range?: { start: number; end?: number }): Promise<AsyncIterable<Uint8Array>>;
  /** A ByteSource for range reads (the FITS reader reads headers through it). */
  source(key: string): Promise<ByteSource>;
  head(key: string): Promise<ObjectMeta | undefined>;
  list(opts?: ListOptions): Promise<ListResult>;
  copy(from: string, to: string): Promise<ObjectMeta>;
  /** Returns false when there was nothing to delete. */
  delete(key: string): Promise<boolean>;
  /**
   * A time-limited URL for direct access, where the backend has one. For a get, `response` asks the
   * backend to answer with these headers (S3's response-content-* overrides), so a redirected download
   * still saves under the file's name and type.
   */
  presign?(key: string, op: 'get' | 'put', seconds: number, response?: PresignResponse): Promise<string>;
}
