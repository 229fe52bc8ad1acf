import { Readable } from 'node:stream';
import type { ByteSource } from '../fits/byte-source.ts';
import { decompressFile, decompressStream, detectContainer } from './compressed.ts';
import { FileSource } from './file-source.ts';
import { HttpSource, type HttpSourceOptions } from './http-source.ts';
import type { StreamLimits } from './stream-source.ts';

export interface OpenSourceOptions {
  http?: HttpSourceOptions;
  limits?: StreamLimits;
}

/**
 * The right ByteSource for a local path or an http(s) URL; gzip and bzip2 files (found by magic
 * bytes) come back as forward-only decompressed streams.
 */
export async function openSource(pathOrUrl: string, opts: OpenSourceOptions = {}): Promise<ByteSource> {
  if (/^https?:\/\//i.test(pathOrUrl)) {
    const http = new HttpSource(pathOrUrl, opts.http);
    const head = await http.read(0, 3);
    const container = detectContainer(head);
    if (container === 'none') return http;
    // Compressed over HTTP: one forward pass of 4 MiB range requests through the decompressor.
    return decompressStream(
      pathOrUrl,
      Readable.from(http.stream()),
      () => http.bytesFetched,
      container,
      opts.limits,
    );
  }
  const file = await FileSource.open(pathOrUrl);
  const container = detectContainer(await file.read(0, 3));
  if (container === 'none') return file;
  await file.close();
  return decompressFile(pathOrUrl, container, opts.limits);
}
