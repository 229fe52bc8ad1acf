import type { ByteSource } from './byte-source.ts';
import { FitsError, located } from './errors.ts';
import type { Hdu } from './hdu.ts';
import type { Header } from './header.ts';
import {
  type AsciiFormat,
  type BinaryFormat,
  ELEMENT_BYTES,
  parseAsciiFormat,
  parseBinaryFormat,
  parseTdim,
} from './tform.ts';

/** One table cell as JavaScript sees it. */
export type Cell = number | bigint | boolean | string | null | readonly [number, number] | Cell[];
export type Row = Record<string, Cell>;

export interface Column {
  name: string;
  tform: string;
  unit?: string;
  /** TDIMn, fastest first. */
  dims?: number[];
  tscal: number;
  tzero: number;
  tnull?: number | bigint | string;
  /** Byte offset of the column inside a row. */
  offset: number;
  binary?: BinaryFormat;
  ascii?: AsciiFormat;
}

export interface TableLayout {
  columns: Column[];
  rowBytes: number;
  nrows: number;
  /** Absolute byte offset of the heap (binary tables: THEAP, default right after the rows). */
  heapOffset: number;
  ascii: boolean;
}

/** Column layout of a BINTABLE or TABLE HDU from its header (Standard §7.2–7.3). */
export function tableLayout(hdu: Hdu): TableLayout {
  const h = hdu.header;
  const ascii = hdu.kind === 'table';
  if (hdu.kind !== 'bintable' && hdu.kind !== 'table' && hdu.kind !== 'compressed-image') {
    throw new FitsError('unsupported', `HDU ${hdu.index} is a ${hdu.kind}, not a table`, { hdu: hdu.index });
  }
  const [rowBytes = 0, nrows = 0] = hdu.naxes;
  const n = h.int('TFIELDS') ?? 0;
  if (n < 0 || n > 999)
    throw new FitsError('bad-keyword', `TFIELDS = ${n}`, { hdu: hdu.index, card: 'TFIELDS' });
  const columns: Column[] = [];
  let offset = 0;
  for (let i = 1; i <= n; i++) {
    const where = { hdu: hdu.index, card: `TFORM${i}` };
    const tform = h.string(`TFORM${i}`);
    if (tform === undefined) throw new FitsError('bad-keyword', `TFORM${i} is missing`, where);
    const col: Column = {
      name: (h.string(`TTYPE${i}`) ?? `col${i}`).trim(),
      tform: tform.trim(),
      tscal: h.number(`TSCAL${i}`) ?? 1,
      tzero: h.number(`TZERO${i}`) ?? 0,
      offset,
    };
    const unit = h.string(`TUNIT${i}`);
    if (unit) col.unit = unit.trim();
    const tnull = h.get(`TNULL${i}`);
    if (typeof tnull === 'number' || typeof tnull === 'bigint' || typeof tnull === 'string')
      col.tnull = tnull;
    if (ascii) {
      col.ascii = parseAsciiFormat(tform, where);
      col.offset = (h.int(`TBCOL${i}`) ?? 1) - 1;
      if (col.offset < 0 || col.offset + col.ascii.width > rowBytes) {
        throw new FitsError(
          'bad-keyword',
          `TBCOL${i} puts the column outside the ${rowBytes}-byte row`,
          where,
        );
      }
    } else {
      col.binary = parseBinaryFormat(tform, where);
      const dims = parseTdim(h.string(`TDIM${i}`));
      if (dims) col.dims = dims;
      offset += col.binary.width;
    }
    columns.push(col);
  }
  if (!ascii && offset > rowBytes) {
    throw new FitsError('bad-keyword', `columns need ${offset} bytes but NAXIS1 = ${rowBytes}`, {
      hdu: hdu.index,
      card: 'NAXIS1',
    });
  }
  const theap = h.int('THEAP') ?? rowBytes * nrows;
  return { columns, rowBytes, nrows, heapOffset: hdu.dataOffset + theap, ascii };
}

export interface RowOptions {
  /** Only these columns. */
  columns?: string[];
  /** Refuse reading more than this many bytes at once. */
  maxBytes?: number;
}

/**
 * Rows [start, end) as objects, reading only those rows' bytes and the heap bytes of their
 * variable-length arrays.
 */
export function readRows(
  source: ByteSource,
  hdu: Hdu,
  start = 0,
  end?: number,
  opts: RowOptions = {},
): Promise<Row[]> {
  return located({ file: source.name, hdu: hdu.index }, () => rowsOf(source, hdu, start, end, opts));
}

async function rowsOf(
  source: ByteSource,
  hdu: Hdu,
  start: number,
  end: number | undefined,
  opts: RowOptions,
): Promise<Row[]> {
  const t = tableLayout(hdu);
  const stop = Math.min(end ?? t.nrows, t.nrows);
  if (start < 0 || start > stop)
    throw new FitsError('range', `rows [${start}, ${end}) outside 0..${t.nrows}`, { hdu: hdu.index });
  const cols = opts.columns ? t.columns.filter((c) => opts.columns!.includes(c.name)) : t.columns;
  const bytes = (stop - start) * t.rowBytes;
  if (bytes > (opts.maxBytes ?? 2 ** 31))
    throw new FitsError('limit', `${bytes} bytes of rows exceed the limit`, { hdu: hdu.index });
  const raw = await source.read(hdu.dataOffset + start * t.rowBytes, bytes);
  if (raw.length < bytes) throw new FitsError('truncated', 'table data ends early', { hdu: hdu.index });
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const rows: Row[] = [];
  const text = t.ascii ? new TextDecoder('latin1') : undefined;
  for (let r = 0; r < stop - start; r++) {
    const row: Row = {};
    const base = r * t.rowBytes;
    for (const c of cols) {
      if (c.ascii)
        row[c.name] = asciiCell(
          text!.decode(raw.subarray(base + c.offset, base + c.offset + c.ascii.width)),
          c,
        );
      else if (c.binary!.vla) row[c.name] = await vlaCell(source, dv, base + c.offset, c, t, hdu);
      else row[c.name] = binaryCell(dv, base + c.offset, c.binary!.repeat, c.binary!.code, c);
    }
    rows.push(row);
  }
  return rows;
}

/** One column for all rows (or a row range). */
export async function readColumn(
  source: ByteSource,
  hdu: Hdu,
  name: string,
  start = 0,
  end?: number,
): Promise<Cell[]> {
  const rows = await readRows(source, hdu, start, end, { columns: [name] });
  if (rows.length && !(name in rows[0]))
    throw new FitsError('range', `no column ${JSON.stringify(name)}`, { hdu: hdu.index });
  return rows.map((r) => r[name]);
}

const latin1 = new TextDecoder('latin1');

function scalar(dv: DataView, p: number, code: string, c: Column): Cell {
  switch (code) {
    case 'L': {
      const b = dv.getUint8(p);
      return b === 84 ? true : b === 70 ? false : null;
    }
    case 'B':
      return scaleInt(dv.getUint8(p), c, 8);
    case 'I':
      return scaleInt(dv.getInt16(p), c, 16);
    case 'J':
      return scaleInt(dv.getInt32(p), c, 32);
    case 'K': {
      const v = dv.getBigInt64(p);
      if (c.tscal === 1 && c.tzero === 0) return Number.isSafeInteger(Number(v)) ? Number(v) : v;
      if (c.tscal === 1 && c.tzero === 2 ** 63) {
        const u = BigInt.asUintN(64, v ^ (1n << 63n));
        return u <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(u) : u;
      }
      return Number(v) * c.tscal + c.tzero;
    }
    case 'E':
      return dv.getFloat32(p) * c.tscal + c.tzero;
    case 'D':
      return dv.getFloat64(p) * c.tscal + c.tzero;
    case 'C':
      return [dv.getFloat32(p), dv.getFloat32(p + 4)] as const;
    case 'M':
      return [dv.getFloat64(p), dv.getFloat64(p + 8)] as const;
    default:
      throw new FitsError('unsupported', `element type ${code}`);
  }
}

function scaleInt(v: number, c: Column, bits: number): number {
  if (c.tscal === 1 && c.tzero === 0) return v;
  // The unsigned/signed-byte conventions stay exact integers; anything else is a float.
  if (c.tscal === 1 && ((bits === 8 && c.tzero === -128) || c.tzero === 2 ** (bits - 1))) return v + c.tzero;
  return v * c.tscal + c.tzero;
}

function binaryCell(dv: DataView, p: number, repeat: number, code: string, c: Column): Cell {
  if (code === 'A') {
    const s = latin1.decode(new Uint8Array(dv.buffer, dv.byteOffset + p, repeat));
    const clean = (x: string) => {
      const nul = x.indexOf('\0');
      return (nul >= 0 ? x.slice(0, nul) : x).trimEnd();
    };
    // TDIM on a character column makes an array of fixed-width strings (dims[0] characters each).
    if (c.dims && c.dims.length > 1 && c.dims[0] > 0) {
      const strings: Cell[] = [];
      for (let i = 0; i + c.dims[0] <= s.length; i += c.dims[0])
        strings.push(clean(s.slice(i, i + c.dims[0])));
      return c.dims.length > 2 ? shape(strings, c.dims.slice(1)) : strings;
    }
    return clean(s);
  }
  if (code === 'X') {
    const bits: boolean[] = [];
    for (let i = 0; i < repeat; i++) bits.push(((dv.getUint8(p + (i >> 3)) >> (7 - (i & 7))) & 1) === 1);
    return bits;
  }
  const size = ELEMENT_BYTES[code];
  if (repeat === 1 && !c.dims) return scalar(dv, p, code, c);
  const flat: Cell[] = [];
  for (let i = 0; i < repeat; i++) flat.push(scalar(dv, p + i * size, code, c));
  return c.dims && c.dims.length > 1 ? shape(flat, c.dims) : flat;
}

/** Nests a flat array by TDIM (fastest axis innermost), as astropy's rows show it. */
function shape(flat: Cell[], dims: number[]): Cell[] {
  let out: Cell[] = flat;
  for (let d = 0; d < dims.length - 1; d++) {
    const n = dims[d];
    const next: Cell[] = [];
    for (let i = 0; i < out.length; i += n) next.push(out.slice(i, i + n));
    out = next;
  }
  return out;
}

async function vlaCell(
  source: ByteSource,
  dv: DataView,
  p: number,
  c: Column,
  t: TableLayout,
  hdu: Hdu,
): Promise<Cell> {
  const q = c.binary!.code === 'Q';
  const count = q ? Number(dv.getBigInt64(p)) : dv.getInt32(p);
  const off = q ? Number(dv.getBigInt64(p + 8)) : dv.getInt32(p + 4);
  const code = c.binary!.vla!.code;
  const bytes = code === 'X' ? Math.ceil(count / 8) : count * ELEMENT_BYTES[code];
  const heapEnd = hdu.dataOffset + hdu.dataSize;
  if (count < 0 || off < 0 || t.heapOffset + off + bytes > heapEnd) {
    throw new FitsError(
      'range',
      `column ${c.name}: array descriptor (${count}, ${off}) points outside the heap`,
      {
        hdu: hdu.index,
      },
    );
  }
  if (count === 0) return code === 'A' ? '' : [];
  const heap = await source.read(t.heapOffset + off, bytes);
  if (heap.length < bytes)
    throw new FitsError('truncated', `column ${c.name}: heap ends early`, { hdu: hdu.index });
  const hv = new DataView(heap.buffer, heap.byteOffset, heap.byteLength);
  const cell = binaryCell(hv, 0, count, code, { ...c, dims: undefined });
  return code === 'A' || Array.isArray(cell) ? cell : [cell];
}

function asciiCell(text: string, c: Column): Cell {
  const f = c.ascii!;
  if (f.code === 'A') return text.trimEnd();
  const s = text.trim();
  if (c.tnull !== undefined && s === String(c.tnull).trim()) return null;
  if (s === '') return f.code === 'I' ? 0 : Number.NaN;
  const v = Number(s.replace(/[dD]/, 'E'));
  if (Number.isNaN(v))
    throw new FitsError('bad-card', `column ${c.name}: ${JSON.stringify(s)} is not a number`);
  return f.code === 'I' && c.tscal === 1 && c.tzero === 0 ? v : v * c.tscal + c.tzero;
}

/** Random-groups parameters (PTYPEn/PSCALn/PZEROn) and data of one group (Standard §6). */
export interface Group {
  /** PTYPEn in order (names may repeat: e.g. two DATE parameters to be added). */
  names: string[];
  /** Scaled parameter values, in the same order. */
  params: number[];
  data: number[];
}

export function readGroup(source: ByteSource, hdu: Hdu, group: number): Promise<Group> {
  return located({ file: source.name, hdu: hdu.index }, () => groupOf(source, hdu, group));
}

async function groupOf(source: ByteSource, hdu: Hdu, group: number): Promise<Group> {
  if (hdu.kind !== 'groups')
    throw new FitsError('unsupported', `HDU ${hdu.index} is not random groups`, { hdu: hdu.index });
  if (group < 0 || group >= hdu.gcount)
    throw new FitsError('range', `group ${group} outside 0..${hdu.gcount}`, { hdu: hdu.index });
  const h: Header = hdu.header;
  const bpp = Math.abs(hdu.bitpix) / 8;
  const nData = hdu.naxes.slice(1).reduce((a, b) => a * b, 1);
  const perGroup = hdu.pcount + nData;
  if (perGroup * bpp > 2 ** 28)
    throw new FitsError('limit', `groups of ${perGroup} values are beyond the limit`, { hdu: hdu.index });
  const raw = await source.read(hdu.dataOffset + group * perGroup * bpp, perGroup * bpp);
  if (raw.length < perGroup * bpp)
    throw new FitsError('truncated', `group ${group} ends early`, { hdu: hdu.index });
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const get = (i: number) => {
    const p = i * bpp;
    switch (hdu.bitpix) {
      case 8:
        return dv.getUint8(p);
      case 16:
        return dv.getInt16(p);
      case 32:
        return dv.getInt32(p);
      case 64:
        return Number(dv.getBigInt64(p));
      case -32:
        return dv.getFloat32(p);
      default:
        return dv.getFloat64(p);
    }
  };
  const names: string[] = [];
  const params: number[] = [];
  for (let i = 0; i < hdu.pcount; i++) {
    names.push((h.string(`PTYPE${i + 1}`) ?? `PARAM${i + 1}`).trim());
    params.push(get(i) * (h.number(`PSCAL${i + 1}`) ?? 1) + (h.number(`PZERO${i + 1}`) ?? 0));
  }
  const bscale = h.number('BSCALE') ?? 1;
  const bzero = h.number('BZERO') ?? 0;
  const data = Array.from({ length: nData }, (_, i) => get(hdu.pcount + i) * bscale + bzero);
  return { names, params, data };
}
