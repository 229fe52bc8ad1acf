import type { SequentialSource } from '../fits/fits-file.ts';
import { FitsError } from '../fits/errors.ts';

export interface StreamLimits {
  /** Stop with a FitsError('limit') past this many decompressed bytes. */
  maxBytes?: number;
  /** Stop when output exceeds input by this ratio (after the first 64 MiB): a decompression bomb. */
  maxRatio?: number;
  /** Bytes of compressed input consumed so far (for the ratio check). */
  inputBytes?: () => number;
}

/**
 * A forward-only ByteSource over a stream of chunks (decompressed gzip/bzip2). Reads must come at
 * non-decreasing offsets; bytes skipped over are dropped as they arrive, so memory stays at about
 * one chunk whatever the file size. size() drains the rest of the stream.
 */
export class StreamSource implements SequentialSource {
  readonly sequential = true as const;
  readonly name: string;
  private readonly it: AsyncIterator<Uint8Array>;
  private chunks: Uint8Array[] = [];
  private start = 0; // stream offset of chunks[0][0]
  private buffered = 0;
  private done = false;
  private readonly limits: StreamLimits;

  constructor(name: string, stream: AsyncIterable<Uint8Array>, limits: StreamLimits = {}) {
    this.name = name;
    this.it = stream[Symbol.asyncIterator]();
    this.limits = limits;
  }

  private async pull(): Promise<boolean> {
    if (this.done) return false;
    const { value, done } = await this.it.next();
    if (done) {
      this.done = true;
      return false;
    }
    this.chunks.push(value);
    this.buffered += value.length;
    this.check();
    return true;
  }

  private check(): void {
    const total = this.start + this.buffered;
    const { maxBytes, maxRatio = 2000, inputBytes } = this.limits;
    if (maxBytes !== undefined && total > maxBytes) {
      throw new FitsError('limit', `decompressed data exceeds ${maxBytes} bytes`, { file: this.name });
    }
    if (inputBytes && total > 64 << 20 && total > maxRatio * Math.max(1, inputBytes())) {
      throw new FitsError('limit', `decompression ratio above ${maxRatio}:1 (a decompression bomb?)`, {
        file: this.name,
      });
    }
  }

  private drop(upto: number): void {
    while (this.chunks.length && this.start + this.chunks[0].length <= upto) {
      const c = this.chunks.shift()!;
      this.start += c.length;
      this.buffered -= c.length;
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < this.start) {
      throw new FitsError('io', `stream cannot seek back to byte ${offset} (at ${this.start})`, {
        file: this.name,
      });
    }
    this.drop(offset);
    while (this.start + this.buffered < offset) {
      if (!(await this.pull())) return new Uint8Array(0);
      this.drop(offset);
    }
    while (this.start + this.buffered < offset + length && (await this.pull())) {}
    const end = Math.min(offset + length, this.start + this.buffered);
    const out = new Uint8Array(Math.max(0, end - offset));
    let pos = this.start;
    for (const c of this.chunks) {
      const a = Math.max(offset, pos);
      const b = Math.min(end, pos + c.length);
      if (a < b) out.set(c.subarray(a - pos, b - pos), a - offset);
      pos += c.length;
      if (pos >= end) break;
    }
    return out;
  }

  async size(): Promise<number> {
    while (await this.pull()) this.drop(this.start + this.buffered - (this.chunks.at(-1)?.length ?? 0));
    return this.start + this.buffered;
  }

  async *stream(from = 0, to = Number.POSITIVE_INFINITY): AsyncIterable<Uint8Array> {
    let p = from;
    while (p < to) {
      const b = await this.read(p, Math.min(1 << 20, to - p));
      if (b.length === 0) return;
      yield b;
      p += b.length;
    }
  }

  async close(): Promise<void> {
    this.done = true;
    await this.it.return?.();
  }
}
