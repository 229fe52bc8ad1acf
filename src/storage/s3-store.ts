import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ByteSource } from '../fits/byte-source.ts';
import { S3Source } from '../io/s3-source.ts';
import { StorageError } from './errors.ts';
import { validateKey, validatePrefix } from './keys.ts';
import type {
  Body,
  ListOptions,
  ListResult,
  ObjectMeta,
  ObjectStore,
  PresignResponse,
  PutOptions,
} from './object-store.ts';

export interface S3StoreOptions {
  bucket: string;
  /** Keys live under this prefix of the bucket (a zone such as "raw/"), or at its root. */
  prefix?: string;
  endpoint?: string;
  region?: string;
  /** Path-style addressing (http://host/bucket/key), needed by most S3-compatible servers. */
  forcePathStyle?: boolean;
  /** Explicit credentials; otherwise the standard AWS credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Multipart part size for large uploads (S3's minimum is 5 MiB). */
  partSize?: number;
  client?: S3Client;
}

/** fitslake's own area inside a store (temporary uploads). */
const INTERNAL = '.fitslake/';

/** Where the SHA-256 fitslake computes while uploading is kept (S3 ETags are not content hashes). */
const SHA_META = 'fitslake-sha256';

/**
 * Any S3-compatible bucket. Uploads stream through lib-storage (multipart above one part), hashing
 * the bytes on the way; reads are ranged GETs. Checksum calculation is left to when S3 requires it,
 * since aws-chunked streaming uploads are not understood by every S3-compatible server.
 */
export class S3Store implements ObjectStore {
  readonly client: S3Client;
  readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;

  constructor(opts: S3StoreOptions) {
    const config: S3ClientConfig = {
      region: opts.region ?? 'us-east-1',
      forcePathStyle: opts.forcePathStyle ?? true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    if (opts.endpoint) config.endpoint = opts.endpoint;
    if (opts.credentials) config.credentials = opts.credentials;
    this.client = opts.client ?? new S3Client(config);
    this.bucket = opts.bucket;
    this.prefix = validatePrefix(opts.prefix ?? '');
    this.partSize = Math.max(5 << 20, opts.partSize ?? 8 << 20);
  }

  private full(key: string): string {
    return this.prefix + this.userKey(key);
  }

  async put(key: string, body: Body, opts: PutOptions = {}): Promise<ObjectMeta> {
    const k = this.userKey(key);
    const hash = createHash('sha256');
    let size = 0;
    async function* hashed(): AsyncIterable<Uint8Array> {
      for await (const c of body instanceof Uint8Array ? [body] : body) {
        hash.update(c);
        size += c.length;
        yield c;
      }
    }
    // The SHA-256 is known only once the bytes have gone up, so they go to a private temporary key
    // first; a server-side copy then publishes them with the hash in one atomic step. Racing writers
    // each publish their own complete copy: the object and its hash always belong together.
    // (A single CopyObject handles up to 5 GB; larger objects will need UploadPartCopy.)
    const tmp = `${this.prefix}${INTERNAL}tmp/${randomUUID()}`;
    try {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: tmp, Body: Readable.from(hashed()) },
        partSize: this.partSize,
        queueSize: 4,
      });
      await upload.done();
      const sha256 = hash.digest('hex');
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + k,
          CopySource: `${this.bucket}/${encodeKey(tmp)}`,
          MetadataDirective: 'REPLACE',
          ...(opts.contentType ? { ContentType: opts.contentType } : {}),
          Metadata: { ...(opts.metadata ?? {}), [SHA_META]: sha256 },
        }),
      );
      const head = await this.head(k);
      if (!head) throw new StorageError('io', 'object vanished right after upload', key);
      return { ...head, size, sha256 };
    } catch (err) {
      throw asStorageError(err, key);
    } finally {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: tmp })).catch(() => {});
    }
  }

  /** A user key: valid, and outside the store's own `.fitslake/` area. */
  private userKey(key: string): string {
    const k = validateKey(key);
    if (k.startsWith(INTERNAL))
      throw new StorageError('invalid-key', `keys under ${INTERNAL} are reserved`, key);
    return k;
  }

  async head(key: string): Promise<ObjectMeta | undefined> {
    const k = this.userKey(key);
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + k }));
      const metadata = { ...(h.Metadata ?? {}) };
      const sha256 = metadata[SHA_META];
      delete metadata[SHA_META];
      const m: ObjectMeta = {
        key: k,
        size: h.ContentLength ?? 0,
        etag: (h.ETag ?? '').replace(/"/g, ''),
        lastModified: h.LastModified ?? new Date(0),
        metadata,
      };
      if (sha256) m.sha256 = sha256;
      if (h.ContentType) m.contentType = h.ContentType;
      return m;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw asStorageError(err, key);
    }
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<AsyncIterable<Uint8Array>> {
    const k = this.full(key);
    try {
      const r = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: k,
          ...(range ? { Range: `bytes=${range.start}-${range.end === undefined ? '' : range.end - 1}` } : {}),
        }),
      );
      return r.Body as unknown as AsyncIterable<Uint8Array>;
    } catch (err) {
      if (isNotFound(err)) throw new StorageError('not-found', 'no such object', key);
      throw asStorageError(err, key);
    }
  }

  async source(key: string): Promise<ByteSource> {
    const meta = await this.head(key);
    if (!meta) throw new StorageError('not-found', 'no such object', key);
    return new S3Source(this.client, this.bucket, this.full(key), meta.size);
  }

  async list(opts: ListOptions = {}): Promise<ListResult> {
    const prefix = validatePrefix(opts.prefix ?? '');
    try {
      const r = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          MaxKeys: Math.max(1, Math.min(opts.maxKeys ?? 1000, 1000)),
          ...(opts.delimiter ? { Delimiter: opts.delimiter } : {}),
          ...(opts.continuationToken ? { ContinuationToken: opts.continuationToken } : {}),
        }),
      );
      const strip = (k: string) => k.slice(this.prefix.length);
      const result: ListResult = {
        objects: (r.Contents ?? [])
          .filter((o) => !strip(o.Key ?? '').startsWith(INTERNAL))
          .map((o) => ({
            key: strip(o.Key ?? ''),
            size: o.Size ?? 0,
            etag: (o.ETag ?? '').replace(/"/g, ''),
            lastModified: o.LastModified ?? new Date(0),
            metadata: {},
          })),
        prefixes: (r.CommonPrefixes ?? []).map((p) => strip(p.Prefix ?? '')).filter((p) => p !== INTERNAL),
      };
      if (r.IsTruncated && r.NextContinuationToken) result.nextToken = r.NextContinuationToken;
      return result;
    } catch (err) {
      throw asStorageError(err);
    }
  }

  async copy(from: string, to: string): Promise<ObjectMeta> {
    const src = this.full(from);
    const dst = this.full(to);
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: dst,
          CopySource: `${this.bucket}/${encodeKey(src)}`,
          MetadataDirective: 'COPY',
        }),
      );
    } catch (err) {
      if (isNotFound(err)) throw new StorageError('not-found', 'no such object', from);
      throw asStorageError(err, from);
    }
    const m = await this.head(to);
    if (!m) throw new StorageError('io', 'copy did not land', to);
    return m;
  }

  async delete(key: string): Promise<boolean> {
    const k = this.full(key);
    if (!(await this.head(key))) return false; // S3 deletes are idempotent and do not say
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: k }));
      return true;
    } catch (err) {
      throw asStorageError(err, key);
    }
  }

  async presign(
    key: string,
    op: 'get' | 'put',
    seconds: number,
    response?: PresignResponse,
  ): Promise<string> {
    const k = this.full(key);
    const cmd =
      op === 'get'
        ? new GetObjectCommand({
            Bucket: this.bucket,
            Key: k,
            ResponseContentDisposition: response?.contentDisposition,
            ResponseContentType: response?.contentType,
          })
        : new PutObjectCommand({ Bucket: this.bucket, Key: k });
    return getSignedUrl(this.client, cmd, { expiresIn: seconds });
  }
}

function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

function asStorageError(err: unknown, key?: string): StorageError {
  if (err instanceof StorageError) return err;
  return new StorageError('io', (err as Error).message, key);
}
