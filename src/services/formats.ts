// Result formats of catalog queries (`fitslake query --format …`, `POST /api/sql`, later TAP): rows as an
// aligned text table, CSV, JSON, a VOTable 1.4 document or a Parquet file.
import { parquetWriteBuffer } from 'hyparquet-writer';

export type OutputFormat = 'table' | 'csv' | 'json' | 'votable' | 'parquet';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'csv', 'json', 'votable', 'parquet'];

/** A column's type, named after the VOTable datatypes it becomes (INT64/DOUBLE/BOOLEAN/STRING in Parquet). */
export type ColumnType = 'long' | 'double' | 'boolean' | 'char';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TWO_63 = 2 ** 63;

const isNull = (v: unknown): v is null | undefined => v === null || v === undefined;

/** An exact integer that fits a signed 64-bit integer (a number must also be below 2^63 after rounding). */
function isInt64(v: unknown): boolean {
  if (typeof v === 'bigint') return v >= INT64_MIN && v <= INT64_MAX;
  return typeof v === 'number' && Number.isInteger(v) && v >= -TWO_63 && v < TWO_63;
}

/**
 * The type of a column from its values, nulls ignored: all 64-bit integers (number or bigint) → long,
 * all numbers (including NaN, ±Infinity, integers beyond 64 bits) → double, all booleans → boolean,
 * anything else (strings, dates, bytes, mixtures, or no non-null value at all) → char.
 */
export function inferType(values: readonly unknown[]): ColumnType {
  let seen = false;
  let allInt = true;
  let allNumber = true;
  let allBoolean = true;
  for (const v of values) {
    if (isNull(v)) continue;
    seen = true;
    const numeric = typeof v === 'number' || typeof v === 'bigint';
    if (!numeric) allNumber = allInt = false;
    else if (allInt && !isInt64(v)) allInt = false;
    if (typeof v !== 'boolean') allBoolean = false;
    if (!allNumber && !allBoolean) return 'char';
  }
  if (!seen) return 'char';
  if (allBoolean) return 'boolean';
  return allInt ? 'long' : 'double';
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** JSON.stringify replacer: bigint → number when exactly representable, else its decimal string; bytes → hex. */
function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Uint8Array) return `\\x${hex(raw)}`; // before Buffer#toJSON turns it into { type, data }
  if (typeof value === 'bigint')
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  return value;
}

/**
 * One non-null cell as text, the same in every text format: integers of a long column exactly (never in
 * exponent notation), other numbers in JavaScript's shortest round-trip form, booleans as true/false,
 * dates in ISO 8601, bytes as \x + hex (PostgreSQL's bytea output), objects and arrays as JSON.
 */
function cellText(v: unknown, type: ColumnType): string {
  if (typeof v === 'string') return v;
  if (type === 'long' && (typeof v === 'number' || typeof v === 'bigint')) return BigInt(v).toString();
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  if (v instanceof Uint8Array) return `\\x${hex(v)}`;
  if (typeof v === 'object') return JSON.stringify(v, jsonReplacer) ?? String(v);
  return String(v);
}

// ---- table ----------------------------------------------------------------------------------------

const MAX_CELL = 60;
const GAP = '  ';

/** Control characters would break the alignment: shown escaped, as in a JSON string. */
function visible(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** Cells longer than 60 characters (code points) keep their first 59 and end in '…'. */
function truncate(s: string): string {
  const cps = Array.from(s);
  return cps.length <= MAX_CELL ? s : `${cps.slice(0, MAX_CELL - 1).join('')}…`;
}

const width = (s: string) => Array.from(s).length;

function formatTable(rows: Record<string, unknown>[], columns: string[], types: ColumnType[]): string {
  const header = columns.map((c) => visible(c));
  const body = rows.map((r) =>
    columns.map((c, i) => (isNull(r[c]) ? '' : truncate(visible(cellText(r[c], types[i]))))),
  );
  const widths = header.map(width); // a loop, not Math.max(...): no argument-count limit on many rows
  for (const cells of body) {
    for (let i = 0; i < cells.length; i++) widths[i] = Math.max(widths[i], width(cells[i]));
  }
  const right = types.map((t) => t === 'long' || t === 'double');
  // No trailing blanks: a left-aligned last column or empty cells at the end would leave some.
  const line = (cells: string[]) =>
    cells
      .map((s, i) => {
        const pad = ' '.repeat(widths[i] - width(s));
        return right[i] ? pad + s : s + pad;
      })
      .join(GAP)
      .replace(/ +$/, '');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join(GAP), ...body.map(line)];
  return `${out.join('\n')}\n`;
}

// ---- csv ------------------------------------------------------------------------------------------

// RFC 4180 fields: quoted when they hold a comma, a double quote, CR or LF, with quotes doubled. NULL is
// the empty field; an empty string is written "" so the two stay distinct (as PostgreSQL's COPY … CSV).
function csvField(s: string | null): string {
  if (s === null) return '';
  if (s === '' || /[",\r\n]/.test(s)) return `"${s.replaceAll('"', '""')}"`;
  return s;
}

function formatCsv(rows: Record<string, unknown>[], columns: string[], types: ColumnType[]): string {
  const lines = [columns.map(csvField).join(',')];
  for (const r of rows) {
    lines.push(columns.map((c, i) => csvField(isNull(r[c]) ? null : cellText(r[c], types[i]))).join(','));
  }
  // Records end in LF, not RFC 4180's CRLF: what Unix tools, Python's csv, pandas, DuckDB and astropy all
  // read, and what a shell pipeline expects. CR and LF inside a field are kept verbatim (quoted).
  return `${lines.join('\n')}\n`;
}

// ---- json -----------------------------------------------------------------------------------------

function formatJson(rows: Record<string, unknown>[], columns: string[]): string {
  // Keys in `columns` order; a missing value is null; NaN and ±Infinity become null (JSON has neither).
  const objects = rows.map((r) => {
    const o: Record<string, unknown> = {};
    for (const c of columns) o[c] = r[c] ?? null;
    return o;
  });
  return `${JSON.stringify(objects, jsonReplacer)}\n`;
}

// ---- votable --------------------------------------------------------------------------------------

// XML 1.0 cannot carry these at all, not even as character references: they become U+FFFD.
const XML_INVALID =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Text for element content or a double-quoted attribute; CR, and in attributes TAB/LF, as references so parsers keep them. */
function xml(s: string, attribute = false): string {
  s = s
    .replace(XML_INVALID, '\ufffd')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('\r', '&#13;');
  if (attribute) s = s.replaceAll('"', '&quot;').replaceAll('\n', '&#10;').replaceAll('\t', '&#9;');
  return s;
}

function votableCell(v: unknown, type: ColumnType): string {
  if (isNull(v)) return '';
  if (type === 'double') {
    const x = Number(v);
    if (Number.isNaN(x)) return 'NaN';
    if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
    return String(x);
  }
  if (type === 'boolean') return v ? 'T' : 'F';
  return xml(cellText(v, type));
}

function formatVotable(rows: Record<string, unknown>[], columns: string[], types: ColumnType[]): string {
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">',
    '<RESOURCE type="results">',
    '<INFO name="QUERY_STATUS" value="OK"/>',
    `<TABLE nrows="${rows.length}">`,
  ];
  columns.forEach((c, i) => {
    const name = xml(c, true);
    if (types[i] !== 'char') {
      out.push(`<FIELD name="${name}" datatype="${types[i]}"/>`);
      return;
    }
    // VOTable's char is ASCII only: a column with any other character is unicodeChar.
    const ascii = rows.every((r) => isNull(r[c]) || /^[\u0000-\u007f]*$/.test(cellText(r[c], 'char')));
    out.push(`<FIELD name="${name}" datatype="${ascii ? 'char' : 'unicodeChar'}" arraysize="*"/>`);
  });
  out.push('<DATA>', '<TABLEDATA>');
  for (const r of rows) {
    out.push(`<TR>${columns.map((c, i) => `<TD>${votableCell(r[c], types[i])}</TD>`).join('')}</TR>`);
  }
  out.push('</TABLEDATA>', '</DATA>', '</TABLE>', '</RESOURCE>', '</VOTABLE>');
  return `${out.join('\n')}\n`;
}

// ---- parquet --------------------------------------------------------------------------------------

const PARQUET_TYPE = { long: 'INT64', double: 'DOUBLE', boolean: 'BOOLEAN', char: 'STRING' } as const;

function parquetValue(v: unknown, type: ColumnType): bigint | number | boolean | string | null {
  if (isNull(v)) return null;
  if (type === 'long') return BigInt(v as number | bigint);
  if (type === 'double') return Number(v);
  if (type === 'boolean') return v as boolean;
  return cellText(v, type);
}

function formatParquet(rows: Record<string, unknown>[], columns: string[], types: ColumnType[]): Uint8Array {
  const buffer = parquetWriteBuffer({
    columnData: columns.map((name, i) => ({
      name,
      data: rows.map((r) => parquetValue(r[name], types[i])),
      type: PARQUET_TYPE[types[i]],
      nullable: true,
    })),
  });
  return new Uint8Array(buffer);
}

// ---- entry point ----------------------------------------------------------------------------------

/** The rows of a query in one output format: Parquet as bytes, every other format as text ending in a newline. */
export function formatRows(rows: Record<string, unknown>[], columns: string[], format: 'parquet'): Uint8Array;
export function formatRows(
  rows: Record<string, unknown>[],
  columns: string[],
  format: Exclude<OutputFormat, 'parquet'>,
): string;
export function formatRows(
  rows: Record<string, unknown>[],
  columns: string[],
  format: OutputFormat,
): Uint8Array | string;
export function formatRows(
  rows: Record<string, unknown>[],
  columns: string[],
  format: OutputFormat,
): Uint8Array | string {
  if (format === 'json') return formatJson(rows, columns);
  const types = columns.map((c) => inferType(rows.map((r) => r[c])));
  switch (format) {
    case 'table':
      return formatTable(rows, columns, types);
    case 'csv':
      return formatCsv(rows, columns, types);
    case 'votable':
      return formatVotable(rows, columns, types);
    case 'parquet':
      return formatParquet(rows, columns, types);
    default:
      throw new Error(
        `unknown output format ${JSON.stringify(format)} (one of ${OUTPUT_FORMATS.join(', ')})`,
      );
  }
}
