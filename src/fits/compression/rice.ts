import { FitsError } from '../errors.ts';

/**
 * Rice decoding as in the FITS tiled-image convention (Pence, White & Seaman): the first pixel is
 * stored raw, then blocks of `blockSize` differences, each block led by a code saying how many
 * low bits each difference keeps (or that the block is all zeros, or stored raw).
 */
export function riceDecode(input: Uint8Array, count: number, bytepix: 1 | 2 | 4, blockSize = 32): Int32Array {
  const fsBits = bytepix === 1 ? 3 : bytepix === 2 ? 4 : 5;
  const fsMax = bytepix === 1 ? 6 : bytepix === 2 ? 14 : 25;
  const bBits = 8 * bytepix;
  const out = new Int32Array(count);
  if (count === 0) return out;
  if (input.length < bytepix)
    throw new FitsError('compression', 'RICE_1 tile is shorter than its first pixel');
  // Sums wrap at the pixel width, as cfitsio's do (the encoder's differences wrap the same way):
  // 8-bit pixels are unsigned (BITPIX 8), 16- and 32-bit ones signed.
  const wrap =
    bytepix === 1
      ? (v: number) => v & 0xff
      : bytepix === 2
        ? (v: number) => (v << 16) >> 16
        : (v: number) => v | 0;
  let last = 0;
  for (let i = 0; i < bytepix; i++) last = (last << 8) | input[i];
  last = wrap(last);
  let pos = bytepix;
  // A 32-bit bit buffer: `buf` holds `nbits` not-yet-used bits, aligned to the low end.
  let buf = 0;
  let nbits = 0;
  const need = (n: number) => {
    while (nbits < n) {
      if (pos >= input.length) throw new FitsError('compression', 'RICE_1 tile ends early');
      buf = ((buf << 8) | input[pos++]) >>> 0;
      nbits += 8;
    }
  };
  const take = (n: number): number => {
    if (n === 0) return 0;
    if (n > 24) return take(n - 16) * 65536 + take(16);
    need(n);
    nbits -= n;
    const v = (buf >>> nbits) & ((1 << n) - 1);
    buf &= nbits ? (1 << nbits) - 1 : 0;
    return v;
  };
  const undo = (d: number) => (d & 1 ? -((d + 1) / 2) : d / 2);
  for (let i = 0; i < count; ) {
    const fs = take(fsBits) - 1;
    const end = Math.min(count, i + blockSize);
    if (fs < 0) {
      for (; i < end; i++) out[i] = last;
    } else if (fs === fsMax) {
      for (; i < end; i++) {
        last = wrap(last + undo(take(bBits)));
        out[i] = last;
      }
    } else {
      for (; i < end; i++) {
        // Unary count of leading zeros, then fs low bits.
        let zeros = 0;
        for (;;) {
          need(1);
          nbits--;
          const bit = (buf >>> nbits) & 1;
          buf &= nbits ? (1 << nbits) - 1 : 0;
          if (bit) break;
          if (++zeros > 64) throw new FitsError('compression', 'RICE_1 tile is corrupt (runaway unary code)');
        }
        const d = zeros * 2 ** fs + take(fs);
        last = wrap(last + undo(d));
        out[i] = last;
      }
    }
  }
  return out;
}
