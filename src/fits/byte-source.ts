/**
 * Where FITS bytes come from. The FITS library only ever sees this interface, so the same parser
 * reads a local file, an HTTP range-readable URL, an S3 object or an in-memory buffer in a browser.
 * Implementations live in src/io (Node) — this file has no Node imports.
 */
export interface ByteSource {
  /** A human-readable name (path or URL) used in error messages. */
  readonly name: string;
  /** Total size in bytes. */
  size(): Promise<number>;
  /**
   * Reads `length` bytes at `offset`. Returns fewer bytes only when the source ends first
   * (an empty array at or past the end); never more.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Reads several ranges at once; sources that can coalesce or parallelise them override this. */
  readMany?(ranges: readonly ByteRange[]): Promise<Uint8Array[]>;
  /** Streams `[start, end)` sequentially in chunks (whole source by default). */
  stream?(start?: number, end?: number): AsyncIterable<Uint8Array>;
  /** Releases handles and sockets. */
  close?(): Promise<void>;
}

export interface ByteRange {
  offset: number;
  length: number;
}

/** A ByteSource over bytes already in memory (tests, browser uploads, decompressed tiles). */
export class BufferSource implements ByteSource {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Total bytes handed out by read(): lets tests prove how little a walk touches. */
  bytesRead = 0;
  reads = 0;

  constructor(bytes: Uint8Array, name = 'buffer') {
    this.bytes = bytes;
    this.name = name;
  }

  async size(): Promise<number> {
    return this.bytes.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const out = this.bytes.subarray(
      Math.min(offset, this.bytes.length),
      Math.min(offset + length, this.bytes.length),
    );
    this.bytesRead += out.length;
    this.reads++;
    return out;
  }

  async *stream(start = 0, end = this.bytes.length): AsyncIterable<Uint8Array> {
    const step = 1 << 20;
    for (let p = start; p < end; p += step) yield this.bytes.subarray(p, Math.min(end, p + step));
  }
}

/** Reads several ranges through readMany when the source has it, else one by one. */
export async function readRanges(source: ByteSource, ranges: readonly ByteRange[]): Promise<Uint8Array[]> {
  if (source.readMany) return source.readMany(ranges);
  return Promise.all(ranges.map((r) => source.read(r.offset, r.length)));
}
