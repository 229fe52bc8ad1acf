import type { ByteSource } from '../byte-source.ts';
import { FitsError } from '../errors.ts';

/**
 * Random access into a whole-file gzip (.fits.gz) without a copy: decompression checkpoints as
 * zlib's zran.c and indexed_gzip keep them. One pass over the deflate stream (RFC 1951, inflated
 * here in plain TypeScript, since zlib cannot report block boundaries) records, every `span`
 * uncompressed bytes, a checkpoint at a deflate block boundary: the compressed bit offset, the
 * uncompressed offset and the 32 KiB of output before it (the window back-references may reach).
 * A section is then read by fetching the compressed bytes from the nearest checkpoint before it and
 * inflating with that window preloaded, stopping once the section is out.
 *
 * No Node imports: this runs in a browser (a Node caller may instead hand `zlibStreamAt(...)` and the
 * window to `zlib.inflateRawSync(…, { dictionary })`, which is faster).
 */

const WSIZE = 32768;
const CHUNK = 1 << 18;
const OUTSZ = WSIZE + CHUNK + 258;

const LBASE = [
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
  227, 258,
];
const LEXT = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DBASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
  6145, 8193, 12289, 16385, 24577,
];
const DEXT = [
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];
const CLORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 (the gzip trailer's), continued from `crc`. */
export function crc32(crc: number, b: Uint8Array): number {
  let c = ~crc;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function corrupt(reason: string, offset?: number): FitsError {
  return new FitsError('compression', `corrupt deflate stream: ${reason}`, { offset });
}

const CODES = 0;
const LENS = 1;
const DISTS = 2;

/**
 * A canonical Huffman decoding table indexed by the next `bits` input bits (LSB first): entry =
 * symbol << 4 | code length; 0 marks a bit pattern no code has. Returns `bits` (the longest code).
 * Over-subscribed sets, and incomplete ones other than a single one-bit code, are rejected as zlib does.
 */
function buildTable(
  lens: Uint8Array,
  start: number,
  n: number,
  table: Uint16Array,
  kind: number,
  at: number,
): number {
  const count = new Uint16Array(16);
  for (let i = 0; i < n; i++) count[lens[start + i]]++;
  let max = 15;
  while (max > 0 && count[max] === 0) max--;
  count[0] = 0;
  let left = 1;
  for (let len = 1; len <= 15; len++) {
    left = (left << 1) - count[len];
    if (left < 0) throw corrupt('over-subscribed Huffman code', at);
  }
  if (left > 0 && max > 0 && (kind === CODES || max !== 1)) throw corrupt('incomplete Huffman code', at);
  const next = new Uint16Array(16);
  for (let len = 1, code = 0; len <= 15; len++) {
    code = (code + count[len - 1]) << 1;
    next[len] = code;
  }
  const size = 1 << max;
  table.fill(0, 0, size);
  for (let sym = 0; sym < n; sym++) {
    const l = lens[start + sym];
    if (!l) continue;
    const code = next[l]++;
    let r = 0;
    for (let k = 0; k < l; k++) r |= ((code >> k) & 1) << (l - 1 - k);
    for (let j = r; j < size; j += 1 << l) table[j] = (sym << 4) | l;
  }
  return max;
}

let fixed: { lt: Uint16Array; lbits: number; dt: Uint16Array; dbits: number } | undefined;
function fixedTables() {
  if (!fixed) {
    const l = new Uint8Array(288);
    l.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
    const lt = new Uint16Array(1 << 9);
    const dt = new Uint16Array(1 << 5);
    const lbits = buildTable(l, 0, 288, lt, LENS, 0);
    // 32 five-bit codes (complete); symbols 30 and 31 are rejected when decoded
    const dbits = buildTable(new Uint8Array(32).fill(5), 0, 32, dt, DISTS, 0);
    fixed = { lt, lbits, dt, dbits };
  }
  return fixed;
}

// Phases of the walker.
const HEADER = 0; // a gzip member header
const BLOCK = 1; // a deflate block header
const STORED = 2; // inside a stored block
const HUFF = 3; // inside a Huffman block
const TRAILER = 4; // a gzip member trailer
const DONE = 5;
const NEXT = 6; // after a member's trailer: another member or the end

/** Dynamic block headers are at most ~560 bytes; stop and ask for more input before one short of that. */
const HEADER_MARGIN = 1024;
const SYMBOL_MARGIN = 16;

/**
 * A resumable inflater over gzip members (or one raw deflate stream), fed input in chunks. Output
 * goes to `sink` in pieces (views: copy to keep); `onBlock` sees every deflate block boundary.
 */
class Inflater {
  // input: inp[ip..] not yet consumed; bb holds bc bits already taken from it (LSB first)
  inp: Uint8Array = new Uint8Array(0);
  ip = 0;
  inBase = 0; // absolute file offset of inp[0]
  bb = 0;
  bc = 0;
  last = false;
  // output: out[0..op) is history (valid from `floor`), out[flushed..op) not yet handed to the sink
  out = new Uint8Array(OUTSZ);
  op = 0;
  floor = 0;
  flushed = 0;
  outBase = 0; // absolute uncompressed offset of out[0]
  stopAt = Number.POSITIVE_INFINITY;
  stopped = false;

  phase: number;
  bfinal = 0;
  stored = 0;
  lt: Uint16Array = new Uint16Array(0);
  lbits = 0;
  dt: Uint16Array = new Uint16Array(0);
  dbits = 0;
  private readonly ltBuf = new Uint16Array(1 << 15);
  private readonly dtBuf = new Uint16Array(1 << 15);
  private readonly clBuf = new Uint16Array(1 << 7);
  private readonly lens = new Uint8Array(320);

  checkCrc = false;
  crc = 0;
  memberSize = 0;
  members = 0;

  constructor(
    readonly raw: boolean,
    readonly sink: (chunk: Uint8Array) => void,
    readonly onBlock?: (bit: number, out: number) => void,
  ) {
    this.phase = raw ? BLOCK : HEADER;
  }

  /** Starts at an absolute compressed bit offset inside a deflate stream, with `window` as history. */
  seek(bit: number, out: number, window: Uint8Array): void {
    this.inBase = Math.floor(bit / 8);
    this.pendingSkip = bit % 8;
    this.out.set(window.subarray(Math.max(0, window.length - WSIZE)));
    this.op = this.flushed = Math.min(window.length, WSIZE);
    this.outBase = out - this.op;
    this.phase = BLOCK;
  }
  private pendingSkip = 0;

  /** Absolute compressed bit offset of the next unread bit. */
  bitPos(): number {
    return (this.inBase + this.ip) * 8 - this.bc;
  }

  outPos(): number {
    return this.outBase + this.op;
  }

  /** The up to 32 KiB of this member's output before the current position. */
  window(): Uint8Array {
    return this.out.slice(Math.max(this.floor, this.op - WSIZE), this.op);
  }

  push(chunk: Uint8Array | null): void {
    if (chunk === null) this.last = true;
    else if (this.ip >= this.inp.length) {
      this.inBase += this.inp.length;
      this.inp = chunk;
      this.ip = 0;
    } else {
      const rest = this.inp.length - this.ip;
      const b = new Uint8Array(rest + chunk.length);
      b.set(this.inp.subarray(this.ip));
      b.set(chunk, rest);
      this.inBase += this.ip;
      this.inp = b;
      this.ip = 0;
    }
    if (this.pendingSkip) {
      if (this.inp.length === 0) {
        if (this.last) throw corrupt('ends early', this.inBase);
        return;
      }
      this.bb = this.inp[this.ip++] >>> this.pendingSkip;
      this.bc = 8 - this.pendingSkip;
      this.pendingSkip = 0;
    }
    this.run();
  }

  private flush(): void {
    if (this.op > this.flushed) {
      const c = this.out.subarray(this.flushed, this.op);
      if (this.checkCrc) this.crc = crc32(this.crc, c);
      this.memberSize += c.length;
      this.sink(c);
      this.flushed = this.op;
    }
  }

  /** Hands out pending output and moves the last 32 KiB to the front of the buffer. */
  private slide(): void {
    this.flush();
    const shift = this.op - WSIZE;
    this.out.copyWithin(0, shift, this.op);
    this.outBase += shift;
    this.op = this.flushed = WSIZE;
    this.floor = Math.max(0, this.floor - shift);
  }

  /** Room before the output must slide or stop. */
  private limit(): number {
    return Math.min(OUTSZ - 258, this.stopAt - this.outBase);
  }

  /** True (after flushing) when the requested output is out. */
  private atStop(): boolean {
    if (this.outBase + this.op < this.stopAt) return false;
    this.flush();
    this.stopped = true;
    return true;
  }

  private overrun(): void {
    if (this.ip > this.inp.length && (this.ip - this.inp.length) * 8 > this.bc)
      throw corrupt('ends early', this.inBase + this.inp.length);
  }

  private need(n: number): void {
    while (this.bc < n) {
      this.bb |= (this.ip < this.inp.length ? this.inp[this.ip] : 0) << this.bc;
      this.ip++;
      this.bc += 8;
    }
  }

  private bits(n: number): number {
    this.need(n);
    const v = this.bb & ((1 << n) - 1);
    this.bb >>>= n;
    this.bc -= n;
    return v;
  }

  /** Drops the bits up to the next byte boundary and returns unused whole bytes to the input. */
  private align(): void {
    this.ip -= this.bc >> 3;
    this.bb = 0;
    this.bc = 0;
    if (this.ip > this.inp.length) throw corrupt('ends early', this.inBase + this.inp.length);
  }

  private run(): void {
    while (!this.stopped) {
      switch (this.phase) {
        case HEADER: {
          const p = gzipHeader(this.inp, this.ip, this.last, this.inBase);
          if (p < 0) return;
          this.ip = p;
          this.floor = this.op;
          this.checkCrc = true;
          this.crc = 0;
          this.memberSize = 0;
          this.phase = BLOCK;
          break;
        }
        case BLOCK: {
          if (!this.last && this.inp.length - this.ip < HEADER_MARGIN) return;
          if (this.op >= this.limit()) {
            if (this.atStop()) return;
            this.slide();
          }
          this.onBlock?.(this.bitPos(), this.outPos());
          const at = this.inBase + this.ip;
          const h = this.bits(3);
          this.bfinal = h & 1;
          const type = h >> 1;
          if (type === 0) {
            this.align();
            if (this.inp.length - this.ip < 4) throw corrupt('ends early', this.inBase + this.inp.length);
            const i = this.inp;
            const p = this.ip;
            const len = i[p] | (i[p + 1] << 8);
            const nlen = i[p + 2] | (i[p + 3] << 8);
            if ((len ^ 0xffff) !== nlen) throw corrupt('stored block length check fails', at);
            this.ip += 4;
            this.stored = len;
            this.phase = STORED;
          } else if (type === 1) {
            const f = fixedTables();
            this.lt = f.lt;
            this.lbits = f.lbits;
            this.dt = f.dt;
            this.dbits = f.dbits;
            this.phase = HUFF;
          } else if (type === 2) {
            this.dynamic(at);
            this.phase = HUFF;
          } else throw corrupt('invalid block type', at);
          this.overrun();
          break;
        }
        case STORED: {
          while (this.stored > 0) {
            if (this.op >= this.limit()) {
              if (this.atStop()) return;
              this.slide();
            }
            const avail = this.inp.length - this.ip;
            if (avail === 0) {
              if (this.last) throw corrupt('ends early', this.inBase + this.inp.length);
              return;
            }
            const n = Math.min(this.stored, avail, this.limit() - this.op);
            this.out.set(this.inp.subarray(this.ip, this.ip + n), this.op);
            this.ip += n;
            this.op += n;
            this.stored -= n;
          }
          this.phase = this.bfinal ? (this.raw ? DONE : TRAILER) : BLOCK;
          break;
        }
        case HUFF: {
          const r = this.huff();
          if (r !== 0) return;
          this.phase = this.bfinal ? (this.raw ? DONE : TRAILER) : BLOCK;
          break;
        }
        case TRAILER: {
          this.align();
          if (this.inp.length - this.ip < 8) {
            if (this.last) throw corrupt('gzip trailer missing', this.inBase + this.inp.length);
            return;
          }
          this.flush();
          const i = this.inp;
          const p = this.ip;
          const crc = (i[p] | (i[p + 1] << 8) | (i[p + 2] << 16) | (i[p + 3] << 24)) >>> 0;
          const isize = (i[p + 4] | (i[p + 5] << 8) | (i[p + 6] << 16) | (i[p + 7] << 24)) >>> 0;
          if (this.checkCrc && crc !== this.crc)
            throw new FitsError('compression', 'gzip CRC-32 mismatch', { offset: this.inBase + p });
          if (this.checkCrc && isize !== this.memberSize % 2 ** 32)
            throw new FitsError('compression', 'gzip length mismatch', { offset: this.inBase + p + 4 });
          this.ip += 8;
          this.members++;
          this.phase = NEXT;
          break;
        }
        case NEXT: {
          // trailing non-gzip bytes are ignored, as gzip does
          const left = this.inp.length - this.ip;
          if (left < 2 && !this.last) return;
          this.phase =
            left >= 2 && this.inp[this.ip] === 0x1f && this.inp[this.ip + 1] === 0x8b ? HEADER : DONE;
          break;
        }
        default:
          this.flush();
          return;
      }
    }
  }

  private dynamic(at: number): void {
    const nlen = this.bits(5) + 257;
    const ndist = this.bits(5) + 1;
    const ncode = this.bits(4) + 4;
    if (nlen > 286 || ndist > 30) throw corrupt('too many length or distance symbols', at);
    const lens = this.lens;
    lens.fill(0, 0, 19);
    for (let i = 0; i < ncode; i++) lens[CLORDER[i]] = this.bits(3);
    const cl = this.clBuf;
    const clbits = buildTable(lens, 0, 19, cl, CODES, at);
    const clmask = (1 << clbits) - 1;
    const total = nlen + ndist;
    for (let i = 0; i < total; ) {
      this.need(clbits);
      const e = cl[this.bb & clmask];
      const n = e & 15;
      if (n === 0) throw corrupt('invalid code-length code', at);
      this.bb >>>= n;
      this.bc -= n;
      const sym = e >> 4;
      if (sym < 16) {
        lens[i++] = sym;
        continue;
      }
      let v = 0;
      let rep: number;
      if (sym === 16) {
        if (i === 0) throw corrupt('length repeat with no previous length', at);
        v = lens[i - 1];
        rep = 3 + this.bits(2);
      } else if (sym === 17) rep = 3 + this.bits(3);
      else rep = 11 + this.bits(7);
      if (i + rep > total) throw corrupt('too many code lengths', at);
      lens.fill(v, i, i + rep);
      i += rep;
    }
    this.overrun();
    if (lens[256] === 0) throw corrupt('no end-of-block code', at);
    this.lbits = buildTable(lens, 0, nlen, this.ltBuf, LENS, at);
    this.dbits = buildTable(lens, nlen, ndist, this.dtBuf, DISTS, at);
    this.lt = this.ltBuf;
    this.dt = this.dtBuf;
  }

  /** Decodes symbols of the current block: 0 at its end, 1 when stopped or waiting for input. */
  private huff(): number {
    const inp = this.inp;
    const ie = inp.length;
    const out = this.out;
    const lt = this.lt;
    const dt = this.dt;
    const lbits = this.lbits;
    const dbits = this.dbits;
    const lmask = (1 << lbits) - 1;
    const dmask = (1 << dbits) - 1;
    const last = this.last;
    let floor = this.floor;
    let ip = this.ip;
    let bb = this.bb;
    let bc = this.bc;
    let op = this.op;
    let lim = this.limit();
    let ret = 1;
    for (;;) {
      if (op >= lim) {
        this.ip = ip;
        this.bb = bb;
        this.bc = bc;
        this.op = op;
        if (this.atStop()) return 1;
        this.slide();
        op = this.op;
        lim = this.limit();
        floor = this.floor;
        continue;
      }
      if (ip > ie - SYMBOL_MARGIN) {
        if (!last) break;
        if (ip > ie && (ip - ie) * 8 > bc) throw corrupt('ends early', this.inBase + ie);
      }
      while (bc < lbits) {
        bb |= (ip < ie ? inp[ip] : 0) << bc;
        ip++;
        bc += 8;
      }
      let e = lt[bb & lmask];
      let n = e & 15;
      if (n === 0) throw corrupt('invalid literal/length code', this.inBase + ip);
      bb >>>= n;
      bc -= n;
      const sym = e >> 4;
      if (sym < 256) {
        out[op++] = sym;
        continue;
      }
      if (sym === 256) {
        ret = 0;
        break;
      }
      const li = sym - 257;
      if (li >= 29) throw corrupt('invalid literal/length symbol', this.inBase + ip);
      let len = LBASE[li];
      const le = LEXT[li];
      if (le) {
        while (bc < le) {
          bb |= (ip < ie ? inp[ip] : 0) << bc;
          ip++;
          bc += 8;
        }
        len += bb & ((1 << le) - 1);
        bb >>>= le;
        bc -= le;
      }
      while (bc < dbits) {
        bb |= (ip < ie ? inp[ip] : 0) << bc;
        ip++;
        bc += 8;
      }
      e = dt[bb & dmask];
      n = e & 15;
      if (n === 0) throw corrupt('invalid distance code', this.inBase + ip);
      bb >>>= n;
      bc -= n;
      const ds = e >> 4;
      if (ds >= 30) throw corrupt('invalid distance symbol', this.inBase + ip);
      let dist = DBASE[ds];
      const de = DEXT[ds];
      if (de) {
        while (bc < de) {
          bb |= (ip < ie ? inp[ip] : 0) << bc;
          ip++;
          bc += 8;
        }
        dist += bb & ((1 << de) - 1);
        bb >>>= de;
        bc -= de;
      }
      if (dist > op - floor) throw corrupt('distance too far back', this.inBase + ip);
      let from = op - dist;
      const end = op + len;
      while (op < end) out[op++] = out[from++];
    }
    this.ip = ip;
    this.bb = bb;
    this.bc = bc;
    this.op = op;
    this.overrun();
    return ret;
  }
}

/** Skips a gzip member header at `p`: the position after it, or -1 if more input is needed. */
function gzipHeader(b: Uint8Array, p: number, last: boolean, base: number): number {
  const short = () => {
    if (last) throw new FitsError('compression', 'gzip header ends early', { offset: base + p });
    return -1;
  };
  if (b.length - p < 10) return short();
  if (b[p] !== 0x1f || b[p + 1] !== 0x8b)
    throw new FitsError('not-fits', 'not a gzip stream', { offset: base + p });
  if (b[p + 2] !== 8)
    throw new FitsError('compression', `gzip method ${b[p + 2]} is not deflate`, { offset: base + p + 2 });
  const flg = b[p + 3];
  if (flg & 0xe0)
    throw new FitsError('compression', 'gzip header has reserved flags set', { offset: base + p + 3 });
  let q = p + 10;
  if (flg & 4) {
    if (b.length - q < 2) return short();
    q += 2 + (b[q] | (b[q + 1] << 8));
  }
  for (const bit of [8, 16]) {
    if (!(flg & bit)) continue;
    while (q < b.length && b[q] !== 0) q++;
    if (q >= b.length) return short();
    q++;
  }
  if (flg & 2) {
    if (b.length - q < 2) return short();
    const want = crc32(0, b.subarray(p, q)) & 0xffff;
    if ((b[q] | (b[q + 1] << 8)) !== want)
      throw new FitsError('compression', 'gzip header CRC mismatch', { offset: base + q });
    q += 2;
  }
  if (q > b.length) return short();
  return q;
}

// ---- the index -----------------------------------------------------------------------------------

export interface GzipCheckpoint {
  /** Absolute bit offset in the .gz file of a deflate block header (bit 0 = LSB of byte 0). */
  bit: number;
  /** Uncompressed offset (in the concatenation of all members) of that block's first byte. */
  out: number;
  /** The up to 32 KiB of the same member's output before `out`. */
  window: Uint8Array;
}

export interface GzipIndex {
  /** Size of the .gz file. */
  compressedSize: number;
  /** Total uncompressed size. */
  size: number;
  /** Requested uncompressed distance between checkpoints. */
  span: number;
  /** In increasing order; the first is at the start of the first member's deflate data. */
  checkpoints: GzipCheckpoint[];
}

/**
 * Builds an index from a .gz file fed in chunks (constant memory besides the index: one pass at the
 * speed of a pure-JS inflate). Verifies every member's CRC-32 and length.
 */
export class GzipIndexer {
  private readonly inf: Inflater;
  private readonly checkpoints: GzipCheckpoint[] = [];
  private inBytes = 0;
  private lastOut = Number.NEGATIVE_INFINITY;

  constructor(readonly span = 1 << 20) {
    if (!(span > 0)) throw new FitsError('range', `checkpoint span must be positive, not ${span}`);
    this.inf = new Inflater(
      false,
      () => {},
      (bit, out) => {
        if (out - this.lastOut < this.span) return;
        this.lastOut = out;
        this.checkpoints.push({ bit, out, window: this.inf.window() });
      },
    );
  }

  push(chunk: Uint8Array): void {
    this.inBytes += chunk.length;
    if (chunk.length) this.inf.push(chunk);
  }

  finish(): GzipIndex {
    this.inf.push(null);
    if (this.inf.members === 0) throw new FitsError('compression', 'no complete gzip member');
    return {
      compressedSize: this.inBytes,
      size: this.inf.outPos(),
      span: this.span,
      checkpoints: this.checkpoints,
    };
  }
}

export function buildGzipIndex(gz: Uint8Array, span = 1 << 20): GzipIndex {
  const ix = new GzipIndexer(span);
  ix.push(gz);
  return ix.finish();
}

/** Index of the last checkpoint at or before uncompressed offset `pos`. */
export function checkpointBefore(index: GzipIndex, pos: number): number {
  const c = index.checkpoints;
  let lo = 0;
  let hi = c.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (c[mid].out <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export interface GzipReadPlan {
  /** Which checkpoint to inflate from. */
  checkpoint: number;
  /** Compressed byte range [from, to) of the .gz file to fetch. */
  from: number;
  to: number;
}

/**
 * The compressed bytes a read of uncompressed [start, end) needs: from the checkpoint at or before
 * `start` up to the first checkpoint at or after `end` (whose block boundary ends the data needed).
 */
export function planGzipRead(index: GzipIndex, start: number, end: number): GzipReadPlan {
  if (!(start >= 0 && end >= start && end <= index.size))
    throw new FitsError('range', `uncompressed range [${start}, ${end}) outside 0..${index.size}`);
  const c = index.checkpoints;
  const i = checkpointBefore(index, start);
  let j = i + 1;
  while (j < c.length && c[j].out < end) j++;
  return {
    checkpoint: i,
    from: Math.floor(c[i].bit / 8),
    to: j < c.length ? Math.ceil(c[j].bit / 8) : index.compressedSize,
  };
}

/**
 * Inflates from checkpoint `cp` and returns uncompressed [start, end). `bytes` are compressed bytes
 * of the .gz file starting at file offset `offset` and covering at least from the checkpoint's byte
 * to the data `end` needs (as `planGzipRead` gives); decoding crosses into later members if needed.
 */
export function inflateFromCheckpoint(
  cp: GzipCheckpoint,
  bytes: Uint8Array,
  offset: number,
  start: number,
  end: number,
): Uint8Array {
  if (!(start >= cp.out && end >= start))
    throw new FitsError('range', `range [${start}, ${end}) before checkpoint`);
  const result = new Uint8Array(end - start);
  let got = 0;
  let pos = cp.out;
  const inf = new Inflater(false, (c) => {
    const a = Math.max(start, pos);
    const b = Math.min(end, pos + c.length);
    if (b > a) {
      result.set(c.subarray(a - pos, b - pos), a - start);
      got = Math.max(got, b - start);
    }
    pos += c.length;
  });
  inf.stopAt = end;
  inf.seek(cp.bit, cp.out, cp.window);
  const skip = Math.floor(cp.bit / 8) - offset;
  if (skip < 0) throw new FitsError('range', 'compressed bytes start after the checkpoint');
  inf.push(bytes.subarray(skip));
  if (!inf.stopped) inf.push(null);
  if (got < end - start)
    throw new FitsError('truncated', `gzip stream ends at ${pos}, before the requested ${end}`);
  return result;
}

/** Reads uncompressed [start, start + length) of a .gz through its index: one range request. */
export async function readGzipRange(
  source: ByteSource,
  index: GzipIndex,
  start: number,
  length: number,
): Promise<Uint8Array> {
  const end = Math.min(start + length, index.size);
  if (end <= start) return new Uint8Array(0);
  const plan = planGzipRead(index, start, end);
  const bytes = await source.read(plan.from, plan.to - plan.from);
  return inflateFromCheckpoint(index.checkpoints[plan.checkpoint], bytes, plan.from, start, end);
}

/**
 * A raw deflate stream that zlib can inflate from a checkpoint (`zlib.inflateRawSync(stream,
 * { dictionary: window, finishFlush: Z_SYNC_FLUSH })`): zlib has no way to start at a bit offset
 * (no inflatePrime in Node), and shifting the bits would misalign later stored blocks, so the
 * checkpoint's partial first byte is kept and preceded by empty deflate blocks whose total length
 * is `bit % 8` bits modulo 8. `bytes` start at file offset `offset`.
 */
export function zlibStreamAt(bytes: Uint8Array, offset: number, bit: number): Uint8Array {
  const p = Math.floor(bit / 8) - offset;
  const k = bit % 8;
  if (p < 0 || p >= bytes.length)
    throw new FitsError('range', 'compressed bytes do not cover the checkpoint');
  if (k === 0) return bytes.subarray(p);
  const prefix = emptyBlocks(k);
  const m = prefix.bits >> 3;
  const out = new Uint8Array(m + bytes.length - p);
  out.set(prefix.bytes.subarray(0, m));
  out[m] = (prefix.bytes[m] & ((1 << k) - 1)) | (bytes[p] & ~((1 << k) - 1) & 0xff);
  out.set(bytes.subarray(p + 1), m + 1);
  return out;
}

/**
 * Non-final deflate blocks with no output, `bits` long with bits ≡ k (mod 8): empty fixed blocks
 * (10 bits each) and at most one empty dynamic block (92 or 95 bits: only end-of-block has a code).
 */
function emptyBlocks(k: number): { bytes: Uint8Array; bits: number } {
  const bytes = new Uint8Array(32);
  let o = 0;
  const put = (v: number, n: number) => {
    for (let i = 0; i < n; i++, o++) if ((v >> i) & 1) bytes[o >> 3] |= 1 << (o & 7);
  };
  for (const dyn of [0, 92, 95])
    for (let a = 0; a < 4; a++) {
      if ((10 * a + dyn) % 8 !== k) continue;
      if (dyn) {
        const n = dyn === 92 ? 18 : 19; // code-length codes sent (symbol 1 is the 18th in CLORDER)
        put(0, 1);
        put(2, 2);
        put(0, 5); // 257 literal/length codes
        put(0, 5); // 1 distance code
        put(n - 4, 4);
        for (let i = 0; i < n; i++)
          put(CLORDER[i] === 18 ? 1 : CLORDER[i] === 0 || CLORDER[i] === 1 ? 2 : 0, 3);
        // code-length codes: 18 → 0, 0 → 10, 1 → 11 (Huffman codes go MSB first)
        put(0, 1);
        put(127, 7); // 138 zero lengths
        put(0, 1);
        put(107, 7); // 118 more: symbols 0..255 unused
        put(0b11, 2); // end-of-block has length 1
        put(0b01, 2); // the distance code is unused
        put(0, 1); // end-of-block
      }
      for (let i = 0; i < a; i++) {
        put(0, 1);
        put(1, 2);
        put(0, 7); // end-of-block in the fixed code
      }
      return { bytes, bits: o };
    }
  throw new Error('unreachable');
}

/** Inflates a whole raw deflate stream (no header). */
export function inflateRaw(data: Uint8Array, maxSize = 1 << 30): Uint8Array {
  const parts: Uint8Array[] = [];
  let n = 0;
  const inf = new Inflater(true, (c) => {
    n += c.length;
    if (n > maxSize) throw new FitsError('limit', `inflated data exceeds ${maxSize} bytes`);
    parts.push(c.slice());
  });
  inf.push(data);
  inf.push(null);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Inflates a whole gzip file (all members; a check of the inflater against zlib). */
export function gunzip(data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let n = 0;
  const inf = new Inflater(false, (c) => {
    n += c.length;
    parts.push(c.slice());
  });
  inf.push(data);
  inf.push(null);
  if (inf.members === 0) throw new FitsError('compression', 'no complete gzip member');
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---- serialised form (to store next to the cloud index) -------------------------------------------

const MAGIC = [0x46, 0x4c, 0x47, 0x5a, 0x49, 0x58, 0x30, 0x31]; // "FLGZIX01"

/**
 * Little-endian: magic, f64 compressed size, f64 size, f64 span, u32 count; per checkpoint f64 bit,
 * f64 out, u8 method (0 stored, 1 raw deflate), u32 window length, u32 stored length, the bytes.
 * `deflateRaw` (e.g. zlib's deflateRawSync) compresses the windows when it makes them smaller.
 */
export function encodeGzipIndex(index: GzipIndex, deflateRaw?: (b: Uint8Array) => Uint8Array): Uint8Array {
  const wins = index.checkpoints.map((c) => {
    const z = deflateRaw && c.window.length ? deflateRaw(c.window) : undefined;
    return z && z.length < c.window.length ? { m: 1, b: z } : { m: 0, b: c.window };
  });
  const size = 8 + 24 + 4 + wins.reduce((a, w) => a + 25 + w.b.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out.set(MAGIC);
  dv.setFloat64(8, index.compressedSize, true);
  dv.setFloat64(16, index.size, true);
  dv.setFloat64(24, index.span, true);
  dv.setUint32(32, wins.length, true);
  let p = 36;
  index.checkpoints.forEach((c, i) => {
    dv.setFloat64(p, c.bit, true);
    dv.setFloat64(p + 8, c.out, true);
    out[p + 16] = wins[i].m;
    dv.setUint32(p + 17, c.window.length, true);
    dv.setUint32(p + 21, wins[i].b.length, true);
    out.set(wins[i].b, p + 25);
    p += 25 + wins[i].b.length;
  });
  return out;
}

export function decodeGzipIndex(b: Uint8Array): GzipIndex {
  const bad = (why: string) => new FitsError('compression', `bad gzip index: ${why}`);
  if (b.length < 36 || MAGIC.some((m, i) => b[i] !== m)) throw bad('no magic');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = dv.getUint32(32, true);
  const checkpoints: GzipCheckpoint[] = [];
  let p = 36;
  for (let i = 0; i < n; i++) {
    if (p + 25 > b.length) throw bad('truncated');
    const wlen = dv.getUint32(p + 17, true);
    const slen = dv.getUint32(p + 21, true);
    if (p + 25 + slen > b.length || wlen > WSIZE) throw bad('truncated');
    const stored = b.subarray(p + 25, p + 25 + slen);
    const window = b[p + 16] === 1 ? inflateRaw(stored, WSIZE) : stored.slice();
    if (window.length !== wlen) throw bad('window length');
    checkpoints.push({ bit: dv.getFloat64(p, true), out: dv.getFloat64(p + 8, true), window });
    p += 25 + slen;
  }
  return {
    compressedSize: dv.getFloat64(8, true),
    size: dv.getFloat64(16, true),
    span: dv.getFloat64(24, true),
    checkpoints,
  };
}
