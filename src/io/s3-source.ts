import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ByteSource } from '../fits/byte-source.ts';
import { FitsError } from '../fits/errors.ts';

/**
 * An S3 object read by ranged GetObject calls: the FITS reader walks headers of objects in any
 * S3-compatible bucket without downloading their data.
 */
export class S3Source implements ByteSource {
  readonly name: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly key: string;
  private length: number | undefined;
  requests = 0;
  bytesFetched = 0;

  constructor(client: S3Client, bucket: string, key: string, size?: number) {
    this.client = client;
    this.bucket = bucket;
    this.key = key;
    this.name = `s3://${bucket}/${key}`;
    this.length = size;
  }

  async size(): Promise<number> {
    if (this.length === undefined) {
      try {
        const h = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key }));
        this.length = h.ContentLength ?? 0;
      } catch (err) {
        throw new FitsError('io', `HEAD failed: ${(err as Error).message}`, { file: this.name });
      }
    }
    return this.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const size = await this.size();
    const end = Math.min(size, offset + length);
    if (end <= offset) return new Uint8Array(0);
    try {
      this.requests++;
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key, Range: `bytes=${offset}-${end - 1}` }),
      );
      const body = await r.Body!.transformToByteArray();
      this.bytesFetched += body.length;
      if (body.length !== end - offset) {
        throw new Error(`asked for ${end - offset} bytes at ${offset}, got ${body.length} (Range ignored?)`);
      }
      return body;
    } catch (err) {
      throw new FitsError('io', `GET ${offset}+${length} failed: ${(err as Error).message}`, {
        file: this.name,
        offset,
      });
    }
  }

  async *stream(start = 0, end?: number): AsyncIterable<Uint8Array> {
    const stop = end ?? (await this.size());
    const step = 8 << 20;
    for (let p = start; p < stop; p += step) yield await this.read(p, Math.min(step, stop - p));
  }
}
