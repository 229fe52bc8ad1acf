/**
 * Rice encoding as in the FITS tiled-image convention (Pence, White & Seaman; cfitsio's
 * fits_rcomp*): the first pixel raw in `bytepix` big-endian bytes, then blocks of `blockSize`
 * zig-zagged differences, each led by a code: 0 = all differences zero, fsMax+1 = stored raw in
 * 8·bytepix bits, else fs+1 followed by each difference as a unary high part and fs low bits.
 * Differences wrap to the pixel width exactly as cfitsio's do, so funpack decodes the same values.
 */
export function riceEncode(values: ArrayLike<number>, bytepix: 1 | 2 | 4, blockSize = 32): Uint8Array {
  const n = values.length;
  const fsBits = bytepix === 1 ? 3 : bytepix === 2 ? 4 : 5;
  const fsMax = bytepix === 1 ? 6 : bytepix === 2 ? 14 : 25;
  const bBits = 8 * bytepix;
  const w = new BitWriter(bytepix + Math.ceil(n * bytepix * 1.1) + Math.ceil(n / blockSize) + 16);
  if (n === 0) return new Uint8Array(0);
  const wrap =
    bytepix === 1
      ? (v: number) => (v << 24) >> 24
      : bytepix === 2
        ? (v: number) => (v << 16) >> 16
        : (v: number) => v | 0;
  let last = wrap(values[0]);
  // The first pixel, big-endian (two's complement of the pixel width).
  for (let i = bytepix - 1; i >= 0; i--) w.byte((last >>> (8 * i)) & 0xff);
  const diff = new Float64Array(blockSize);
  for (let start = 0; start < n; start += blockSize) {
    const count = Math.min(blockSize, n - start);
    let sum = 0;
    for (let j = 0; j < count; j++) {
      const next = wrap(values[start + j]);
      const d = wrap(next - last);
      // Zig-zag: 0, -1, 1, -2, 2… → 0, 1, 2, 3, 4… (unsigned within the pixel width).
      const z = d < 0 ? -2 * d - 1 : 2 * d;
      diff[j] = z;
      sum += z;
      last = next;
    }
    // cfitsio's choice of fs from the mean difference (any fs decodes; this one compresses best).
    const dpsum = Math.max(0, (sum - Math.floor(count / 2) - 1) / count);
    let psum = Math.floor(Math.floor(dpsum) / 2);
    let fs = 0;
    for (; psum > 0; fs++) psum = Math.floor(psum / 2);
    if (fs >= fsMax) {
      w.bits(fsMax + 1, fsBits);
      for (let j = 0; j < count; j++) w.bits(diff[j], bBits);
    } else if (fs === 0 && sum === 0) {
      w.bits(0, fsBits);
    } else {
      w.bits(fs + 1, fsBits);
      const scale = 2 ** fs;
      for (let j = 0; j < count; j++) {
        const v = diff[j];
        const top = Math.floor(v / scale);
        w.unary(top);
        if (fs) w.bits(v - top * scale, fs);
      }
    }
  }
  return w.finish();
}

/** Bits packed most significant first, the last byte padded with zeros. */
class BitWriter {
  private buf: Uint8Array;
  private pos = 0;
  private acc = 0; // pending bits, aligned low
  private nacc = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + extra));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** Writes the low `n` (≤ 32) bits of a non-negative value. */
  bits(value: number, n: number): void {
    if (n > 16) {
      this.bits(Math.floor(value / 65536), n - 16);
      this.bits(value % 65536, 16);
      return;
    }
    this.acc = ((this.acc << n) | (value & ((1 << n) - 1))) >>> 0;
    this.nacc += n;
    if (this.nacc >= 8) {
      this.ensure(4);
      while (this.nacc >= 8) {
        this.nacc -= 8;
        this.buf[this.pos++] = (this.acc >>> this.nacc) & 0xff;
      }
      this.acc &= (1 << this.nacc) - 1;
    }
  }

  /** `count` zeros then a one. */
  unary(count: number): void {
    while (count >= 16) {
      this.bits(0, 16);
      count -= 16;
    }
    this.bits(1, count + 1);
  }

  finish(): Uint8Array {
    if (this.nacc > 0) this.bits(0, 8 - this.nacc);
    return this.buf.slice(0, this.pos);
  }
}
