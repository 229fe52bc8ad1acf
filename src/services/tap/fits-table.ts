// A TAP result as a FITS file: an empty primary HDU and one BINTABLE extension (FITS Standard 4.0
// §7.3), with the column metadata as TTYPE/TUNIT plus the UCD/utype keywords STIL reads (TUCDn, TUTYPn).
import { type CardSpec, encodeHeader } from '../../fits/write.ts';
import type { OutColumn } from './columns.ts';

const BLOCK = 2880;
const LONG_NULL = -(2n ** 63n);
const INT_NULL = -(2 ** 31);
const SHORT_NULL = -(2 ** 15);

const isNull = (v: unknown): v is null | undefined => v === null || v === undefined;

function integer(v: unknown): bigint | null {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  const n = Number(v);
  return Number.isInteger(n) ? BigInt(n) : null;
}

function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

/** Card values must be printable ASCII: anything else is replaced by '?'. */
const ascii = (s: string) => s.replace(/[^\x20-\x7e]/g, '?');

interface Layout {
  form: string;
  width: number;
  write(view: DataView, bytes: Uint8Array, at: number, v: unknown): void;
  tnull?: number | bigint;
}

function layout(c: OutColumn, values: unknown[]): Layout {
  switch (c.datatype) {
    case 'boolean':
      return {
        form: 'L',
        width: 1,
        write: (_view, bytes, at, v) => {
          bytes[at] = isNull(v) ? 0 : v === true || v === 1 || v === 't' || v === 'true' ? 0x54 : 0x46;
        },
      };
    case 'short':
      return {
        form: 'I',
        width: 2,
        tnull: SHORT_NULL,
        write: (view, _b, at, v) => view.setInt16(at, Number(integer(isNull(v) ? null : v) ?? SHORT_NULL)),
      };
    case 'int':
      return {
        form: 'J',
        width: 4,
        tnull: INT_NULL,
        write: (view, _b, at, v) =>
          view.setInt32(at, Number(isNull(v) ? INT_NULL : (integer(v) ?? INT_NULL))),
      };
    case 'long':
      return {
        form: 'K',
        width: 8,
        tnull: LONG_NULL,
        write: (view, _b, at, v) => view.setBigInt64(at, isNull(v) ? LONG_NULL : (integer(v) ?? LONG_NULL)),
      };
    case 'float':
      return {
        form: 'E',
        width: 4,
        write: (view, _b, at, v) => view.setFloat32(at, isNull(v) ? Number.NaN : Number(v)),
      };
    case 'double':
      return {
        form: 'D',
        width: 8,
        write: (view, _b, at, v) => view.setFloat64(at, isNull(v) ? Number.NaN : Number(v)),
      };
    default: {
      // Strings: fixed width, the longest value's UTF-8 bytes (at least 1), NUL-padded.
      const enc = new TextEncoder();
      let width = 1;
      for (const v of values) if (!isNull(v)) width = Math.max(width, enc.encode(textOf(v)).length);
      return {
        form: `${width}A`,
        width,
        write: (_view, bytes, at, v) => {
          if (isNull(v)) return;
          bytes.set(enc.encode(textOf(v)).subarray(0, width), at);
        },
      };
    }
  }
}

export function fitsTable(
  columns: readonly OutColumn[],
  rows: readonly unknown[][],
  opts: { overflow?: boolean } = {},
): Buffer {
  const layouts = columns.map((c, i) =>
    layout(
      c,
      rows.map((r) => r[i]),
    ),
  );
  const rowWidth = layouts.reduce((a, l) => a + l.width, 0);
  const cards: CardSpec[] = [
    ['XTENSION', 'BINTABLE', 'binary table extension'],
    ['BITPIX', 8, '8-bit bytes'],
    ['NAXIS', 2, '2-dimensional table'],
    ['NAXIS1', rowWidth, 'width of a row in bytes'],
    ['NAXIS2', rows.length, 'number of rows'],
    ['PCOUNT', 0, 'no heap'],
    ['GCOUNT', 1, 'one group'],
    ['TFIELDS', columns.length, 'number of columns'],
  ];
  columns.forEach((c, i) => {
    const n = i + 1;
    const l = layouts[i];
    cards.push([`TTYPE${n}`, ascii(c.name).slice(0, 68)], [`TFORM${n}`, l.form]);
    if (l.tnull !== undefined) cards.push([`TNULL${n}`, l.tnull]);
    // Metadata too long for one card (a string value holds 68 characters) is left out.
    const meta = (key: string, v: string | undefined) => {
      if (v && v.length <= 68) cards.push([`${key}${n}`, ascii(v)]);
    };
    meta('TUNIT', c.unit);
    meta('TUCD', c.ucd);
    meta('TUTYP', c.utype);
    meta('TXTYP', c.xtype);
  });
  cards.push(['EXTNAME', 'RESULT', 'TAP query result']);
  if (opts.overflow) cards.push(['OVERFLOW', true, 'rows were cut at MAXREC']);
  const primary = encodeHeader([
    ['SIMPLE', true, 'conforms to FITS standard'],
    ['BITPIX', 8],
    ['NAXIS', 0],
    ['EXTEND', true],
  ]);
  const header = encodeHeader(cards);
  const dataBytes = rowWidth * rows.length;
  const padded = Math.ceil(dataBytes / BLOCK) * BLOCK;
  const out = Buffer.alloc(primary.length + header.length + padded);
  out.set(primary, 0);
  out.set(header, primary.length);
  const start = primary.length + header.length;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let at = start;
  for (const r of rows) {
    layouts.forEach((l, i) => {
      l.write(view, out, at, r[i]);
      at += l.width;
    });
  }
  return out;
}
