import { Readable } from 'node:stream';
import type { ByteRange, ByteSource } from '../../fits/byte-source.ts';
import { type Container, decompressStream, detectContainer } from '../../io/compressed.ts';
import type { ObjectStore } from '../../storage/object-store.ts';

/**
 * A stored object opened for a cutout, with the accounting the service reports (and the tests and
 * the benchmark check):
 *  - plain FITS (and tile-compressed `.fz`): the store's own ByteSource, read by range — a local
 *    file by positional reads, S3 by ranged GETs — so only the byte runs of the cutout are read;
 *  - whole-file gzip/bzip2: a forward-only decompressing stream over the stored bytes. Nothing
 *    allows a seek into such a stream, so everything before the last byte the cutout needs is
 *    decompressed (and then dropped: memory stays at about one chunk); nothing after it is.
 */
export interface CutoutSource {
  source: ByteSource;
  container: Container;
  /** Bytes read from storage so far. */
  storageBytes(): number;
  /** Bytes of decompressed stream passed through to reach the data (0 for plain files). */
  decompressedBytes(): number;
  close(): Promise<void>;
}

/** Counts what a ByteSource hands out (reads, readMany, streams). */
class Counting implements ByteSource {
  readonly name: string;
  bytes = 0;
  readMany?: (ranges: readonly ByteRange[]) => Promise<Uint8Array[]>;

  constructor(private readonly inner: ByteSource) {
    this.name = inner.name;
    if (inner.readMany) {
      const many = inner.readMany.bind(inner);
      this.readMany = async (ranges) => {
        const out = await many(ranges);
        for (const b of out) this.bytes += b.length;
        return out;
      };
    }
  }

  size(): Promise<number> {
    return this.inner.size();
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const b = await this.inner.read(offset, length);
    this.bytes += b.length;
    return b;
  }

  async *stream(start?: number, end?: number): AsyncIterable<Uint8Array> {
    const it = this.inner.stream ? this.inner.stream(start, end) : chunks(this.inner, start ?? 0, end);
    for await (const c of it) {
      this.bytes += c.length;
      yield c;
    }
  }

  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}

async function* chunks(s: ByteSource, start: number, end?: number): AsyncIterable<Uint8Array> {
  const stop = end ?? (await s.size());
  for (let p = start; p < stop; p += 1 << 20) {
    const b = await s.read(p, Math.min(1 << 20, stop - p));
    if (!b.length) return;
    yield b;
  }
}

/** Remembers how far into the decompressed stream reads have gone. */
class Reach implements ByteSource {
  readonly sequential = true as const;
  readonly name: string;
  furthest = 0;
  constructor(private readonly inner: ByteSource) {
    this.name = inner.name;
  }
  size(): Promise<number> {
    return this.inner.size();
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    const b = await this.inner.read(offset, length);
    this.furthest = Math.max(this.furthest, offset + b.length);
    return b;
  }
  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}

export async function openForCutout(store: ObjectStore, key: string): Promise<CutoutSource> {
  const raw = new Counting(await store.source(key));
  const container = detectContainer(await raw.read(0, 3));
  if (container === 'none') {
    return {
      source: raw,
      container,
      storageBytes: () => raw.bytes,
      decompressedBytes: () => 0,
      close: () => raw.close(),
    };
  }
  const input = Readable.from(raw.stream(0));
  const stream = decompressStream(key, input, () => raw.bytes, container);
  const reach = new Reach(stream);
  return {
    source: reach,
    container,
    storageBytes: () => raw.bytes,
    decompressedBytes: () => reach.furthest,
    async close() {
      await stream.close();
      input.destroy();
      await raw.close();
    },
  };
}
