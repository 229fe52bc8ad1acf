import type { ByteSource } from './byte-source.ts';
import { located } from './errors.ts';
import type { Hdu } from './hdu.ts';

/**
 * FITS checksums (Standard §J, Seaman, Pence & Rots): a 32-bit ones'-complement sum of the HDU's
 * big-endian 32-bit words. DATASUM holds the sum of the data blocks as a decimal string; CHECKSUM is
 * a 16-character ASCII encoding chosen so the whole HDU sums to -0 (0xFFFFFFFF).
 */
export type SumStatus = 'ok' | 'bad' | 'absent';

export interface ChecksumResult {
  checksum: SumStatus;
  datasum: SumStatus;
  /** The computed data sum (unsigned), whatever the cards say. */
  computedDatasum: number;
}

/** Adds two 32-bit values with end-around carry. */
export function onesAdd(a: number, b: number): number {
  const s = a + b;
  return s > 0xffffffff ? (s - 0xffffffff) >>> 0 : s >>> 0;
}

/**
 * Ones'-complement sum of a buffer of whole 32-bit words (length a multiple of 4; FITS blocks are),
 * continuing from `sum`. The hi/lo 16-bit split keeps every partial sum exact in a double (up to
 * 2^37 words per call, far beyond any buffer).
 */
export function onesSum(bytes: Uint8Array, sum = 0): number {
  let hi = sum >>> 16;
  let lo = sum & 0xffff;
  const n = bytes.length & ~3;
  for (let i = 0; i < n; i += 4) {
    hi += (bytes[i] << 8) | bytes[i + 1];
    lo += (bytes[i + 2] << 8) | bytes[i + 3];
  }
  if (n < bytes.length) {
    // A ragged tail (only in truncated files) counts as if zero-padded.
    const t = new Uint8Array(4);
    t.set(bytes.subarray(n));
    hi += (t[0] << 8) | t[1];
    lo += (t[2] << 8) | t[3];
  }
  [hi, lo] = fold(hi, lo);
  return ((hi << 16) | lo) >>> 0;
}

function fold(hi: number, lo: number): [number, number] {
  for (;;) {
    const hc = Math.floor(hi / 0x10000);
    const lc = Math.floor(lo / 0x10000);
    if (!hc && !lc) return [hi, lo];
    hi = (hi % 0x10000) + lc;
    lo = (lo % 0x10000) + hc;
  }
}

const EXCLUDE = new Set([0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60]);

/** The 16-character ASCII form of a checksum (complemented, as CHECKSUM stores it). */
export function encodeChecksum(sum: number, complement = true): string {
  const value = complement ? ~sum >>> 0 : sum >>> 0;
  const asc = new Array<number>(16);
  for (let i = 0; i < 4; i++) {
    const byte = (value >>> (24 - 8 * i)) & 0xff;
    const quotient = Math.floor(byte / 4) + 0x30;
    const ch = [quotient + (byte % 4), quotient, quotient, quotient];
    for (let again = true; again; ) {
      again = false;
      for (let j = 0; j < 4; j += 2) {
        if (EXCLUDE.has(ch[j]) || EXCLUDE.has(ch[j + 1])) {
          ch[j]++;
          ch[j + 1]--;
          again = true;
        }
      }
    }
    for (let j = 0; j < 4; j++) asc[4 * j + i] = ch[j];
  }
  // The encoding is rotated one character to the right so it sums correctly in the card's columns.
  return String.fromCharCode(asc[15], ...asc.slice(0, 15));
}

/** Sums bytes [start, end) of a source in 1 MiB reads at increasing offsets (works on streams too). */
export async function sumRange(source: ByteSource, start: number, end: number, sum = 0): Promise<number> {
  const step = 1 << 20;
  for (let p = start; p < end; p += step) {
    const b = await source.read(p, Math.min(step, end - p));
    if (b.length === 0) break;
    sum = onesSum(b, sum);
  }
  return sum;
}

/**
 * Verifies CHECKSUM and DATASUM of one HDU, streaming its bytes once. A DATASUM that is not a
 * decimal number (e.g. '' in astropy's memtest.fits) is 'bad', not 'absent': the card is there and wrong.
 */
export function verifyChecksums(source: ByteSource, hdu: Hdu): Promise<ChecksumResult> {
  return located({ file: source.name, hdu: hdu.index }, () => checksumsOf(source, hdu));
}

async function checksumsOf(source: ByteSource, hdu: Hdu): Promise<ChecksumResult> {
  const header = hdu.header;
  const hasChecksum = header.has('CHECKSUM');
  const hasDatasum = header.has('DATASUM');
  // Header first, then data: offsets only increase, so a forward-only stream can be verified too.
  const headerSum = hasChecksum ? await sumRange(source, hdu.headerOffset, hdu.dataOffset) : 0;
  const dataSum = await sumRange(source, hdu.dataOffset, hdu.dataOffset + hdu.dataSpan);
  const result: ChecksumResult = { checksum: 'absent', datasum: 'absent', computedDatasum: dataSum };
  if (hasDatasum) {
    const text = String(header.get('DATASUM') ?? '').trim();
    result.datasum = /^\d+$/.test(text) && Number(text) === dataSum ? 'ok' : 'bad';
  }
  if (hasChecksum) result.checksum = onesAdd(headerSum, dataSum) === 0xffffffff ? 'ok' : 'bad';
  return result;
}
