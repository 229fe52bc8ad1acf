// TAP result documents: VOTable 1.4 with full FIELD metadata in TABLEDATA or BINARY2, the
// QUERY_STATUS INFOs (OK, OVERFLOW after the table when MAXREC cut it, ERROR documents), and the
// other formats a TAP client may ask for (CSV, TSV, JSON, FITS binary table).
import { formatRows } from '../formats.ts';
import type { OutColumn, VoType } from './columns.ts';
import { fitsTable } from './fits-table.ts';

const VOTABLE_NS = 'http://www.ivoa.net/xml/VOTable/v1.3';

// XML 1.0 cannot carry these at all, not even as character references: they become U+FFFD.
const XML_INVALID =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Text for element content or a double-quoted attribute. */
export function xml(s: string, attribute = false): string {
  s = s
    .replace(XML_INVALID, '\ufffd')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('\r', '&#13;');
  if (attribute) s = s.replaceAll('"', '&quot;').replaceAll('\n', '&#10;').replaceAll('\t', '&#9;');
  return s;
}

const isNull = (v: unknown): v is null | undefined => v === null || v === undefined;

/** A cell as text (TABLEDATA, CSV, TSV): numbers exactly, booleans T/F in VOTable. */
function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return `\\x${Buffer.from(v).toString('hex')}`;
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

function integer(v: unknown): bigint | null {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  const n = Number(v);
  return Number.isInteger(n) ? BigInt(n) : null;
}

function tdCell(v: unknown, type: VoType): string {
  if (isNull(v)) return '';
  switch (type) {
    case 'boolean':
      return v === true || v === 1 || v === 't' || v === 'true' ? 'T' : 'F';
    case 'double':
    case 'float': {
      const x = Number(v);
      if (Number.isNaN(x)) return 'NaN';
      if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
      return String(x);
    }
    case 'short':
    case 'int':
    case 'long':
      return integer(v)?.toString() ?? '';
    default:
      return xml(text(v));
  }
}

export interface Info {
  name: string;
  value: string;
  content?: string;
}

function field(c: OutColumn): string {
  const attrs = [`name="${xml(c.name, true)}"`, `datatype="${c.datatype}"`];
  if (c.arraysize) attrs.push(`arraysize="${c.arraysize}"`);
  if (c.unit) attrs.push(`unit="${xml(c.unit, true)}"`);
  if (c.ucd) attrs.push(`ucd="${xml(c.ucd, true)}"`);
  if (c.utype) attrs.push(`utype="${xml(c.utype, true)}"`);
  if (c.xtype) attrs.push(`xtype="${xml(c.xtype, true)}"`);
  const open = `<FIELD ${attrs.join(' ')}`;
  return c.description ? `${open}><DESCRIPTION>${xml(c.description)}</DESCRIPTION></FIELD>` : `${open}/>`;
}

const infoXml = (i: Info) =>
  i.content === undefined
    ? `<INFO name="${xml(i.name, true)}" value="${xml(i.value, true)}"/>`
    : `<INFO name="${xml(i.name, true)}" value="${xml(i.value, true)}">${xml(i.content)}</INFO>`;

// ---- BINARY2 --------------------------------------------------------------------------------------

const FIXED: Partial<Record<VoType, number>> = { boolean: 1, short: 2, int: 4, long: 8, float: 4, double: 8 };

/** One row's BINARY2 bytes: the null flags (one bit per column, first column most significant), then each cell. */
function binary2Row(row: readonly unknown[], columns: readonly OutColumn[]): Buffer {
  const parts: Buffer[] = [];
  const flags = Buffer.alloc(Math.ceil(columns.length / 8));
  parts.push(flags);
  columns.forEach((c, i) => {
    const v = row[i];
    const isNul =
      isNull(v) ||
      ((c.datatype === 'short' || c.datatype === 'int' || c.datatype === 'long') && integer(v) === null);
    if (isNul) flags[i >> 3] |= 0x80 >> (i & 7);
    const size = FIXED[c.datatype];
    if (size !== undefined) {
      const b = Buffer.alloc(size);
      if (!isNul)
        switch (c.datatype) {
          case 'boolean':
            b[0] = v === true || v === 1 || v === 't' || v === 'true' ? 0x54 : 0x46;
            break;
          case 'short':
            b.writeInt16BE(Number(integer(v)));
            break;
          case 'int':
            b.writeInt32BE(Number(integer(v)));
            break;
          case 'long':
            b.writeBigInt64BE(integer(v) as bigint);
            break;
          case 'float':
            b.writeFloatBE(Number(v));
            break;
          default:
            b.writeDoubleBE(Number(v));
        }
      else if (c.datatype === 'float') b.writeFloatBE(Number.NaN);
      else if (c.datatype === 'double') b.writeDoubleBE(Number.NaN);
      else if (c.datatype === 'boolean') b[0] = 0x3f; // '?'
      parts.push(b);
      return;
    }
    // Variable-length strings: a 4-byte count of characters, then the characters.
    const s = isNul ? '' : text(v).replace(XML_INVALID, '\ufffd');
    if (c.datatype === 'unicodeChar') {
      // UCS-2: characters beyond the BMP become U+FFFD.
      const units = s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '\ufffd');
      const b = Buffer.alloc(4 + units.length * 2);
      b.writeUInt32BE(units.length);
      for (let k = 0; k < units.length; k++) b.writeUInt16BE(units.charCodeAt(k), 4 + k * 2);
      parts.push(b);
    } else {
      const bytes = Buffer.from(s, 'latin1');
      const len = Buffer.alloc(4);
      len.writeUInt32BE(bytes.length);
      parts.push(len, bytes);
    }
  });
  return Buffer.concat(parts);
}

// ---- VOTable --------------------------------------------------------------------------------------

export interface ResultDoc {
  columns: OutColumn[];
  /** Cells in column order. */
  rows: unknown[][];
  /** MAXREC cut the result. */
  overflow: boolean;
  /** Extra INFOs in the RESOURCE (QUERY, request time…). */
  infos?: Info[];
}

export function votable(doc: ResultDoc, serialization: 'TABLEDATA' | 'BINARY2'): Buffer {
  const head = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<VOTABLE version="1.4" xmlns="${VOTABLE_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`,
    '<RESOURCE type="results">',
    '<INFO name="QUERY_STATUS" value="OK"/>',
    ...(doc.infos ?? []).map(infoXml),
    `<TABLE nrows="${doc.rows.length}">`,
    ...doc.columns.map(field),
    '<DATA>',
  ];
  const tail = [
    '</DATA>',
    '</TABLE>',
    // DALI: the overflow indicator follows the table.
    ...(doc.overflow ? ['<INFO name="QUERY_STATUS" value="OVERFLOW"/>'] : []),
    '</RESOURCE>',
    '</VOTABLE>',
    '',
  ];
  if (serialization === 'TABLEDATA') {
    const out = [...head, '<TABLEDATA>'];
    for (const r of doc.rows)
      out.push(`<TR>${doc.columns.map((c, i) => `<TD>${tdCell(r[i], c.datatype)}</TD>`).join('')}</TR>`);
    out.push('</TABLEDATA>', ...tail);
    return Buffer.from(out.join('\n'), 'utf8');
  }
  const bin = Buffer.concat(doc.rows.map((r) => binary2Row(r, doc.columns)));
  const b64 = bin.toString('base64').replace(/.{1,76}/g, '$&\n');
  return Buffer.from(
    `${[...head, '<BINARY2>', '<STREAM encoding="base64">'].join('\n')}\n${b64}${['</STREAM>', '</BINARY2>', ...tail].join('\n')}`,
    'utf8',
  );
}

/** A DALI error document: QUERY_STATUS ERROR with the message (which names the position, for ADQL). */
export function votableError(message: string, infos: Info[] = []): Buffer {
  return Buffer.from(
    [
      '<?xml version="1.0" encoding="UTF-8"?>',
      `<VOTABLE version="1.4" xmlns="${VOTABLE_NS}">`,
      '<RESOURCE type="results">',
      `<INFO name="QUERY_STATUS" value="ERROR">${xml(message)}</INFO>`,
      ...infos.map(infoXml),
      '</RESOURCE>',
      '</VOTABLE>',
      '',
    ].join('\n'),
    'utf8',
  );
}

// ---- other formats ----------------------------------------------------------------------------------

function tsv(doc: ResultDoc): Buffer {
  // IANA text/tab-separated-values: no tabs or line breaks inside fields — they are escaped.
  const esc = (s: string) =>
    s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  const lines = [doc.columns.map((c) => esc(c.name)).join('\t')];
  for (const r of doc.rows)
    lines.push(
      doc.columns
        .map((c, i) =>
          isNull(r[i]) ? '' : esc(c.datatype === 'boolean' ? tdCell(r[i], 'boolean') : text(r[i])),
        )
        .join('\t'),
    );
  return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
}

function json(doc: ResultDoc): Buffer {
  const meta = doc.columns.map((c) => {
    const { description: _d, ...m } = c;
    return m;
  });
  const data = doc.rows.map((r) =>
    r.map((v, i) => {
      if (isNull(v)) return null;
      const t = doc.columns[i].datatype;
      if (t === 'boolean') return v === true || v === 1 || v === 't' || v === 'true';
      if (t === 'double' || t === 'float') {
        const x = Number(v);
        return Number.isFinite(x) ? x : null;
      }
      if (t === 'short' || t === 'int' || t === 'long') {
        const n = integer(v);
        return n === null ? null : Number.isSafeInteger(Number(n)) ? Number(n) : n.toString();
      }
      return text(v);
    }),
  );
  return Buffer.from(
    `${JSON.stringify({ metadata: meta, data, queryStatus: doc.overflow ? 'OVERFLOW' : 'OK' })}\n`,
    'utf8',
  );
}

function csv(doc: ResultDoc): Buffer {
  const names = doc.columns.map((_c, i) => `c${i}`);
  const rows = doc.rows.map((r) => Object.fromEntries(names.map((n, i) => [n, r[i] ?? null])));
  const out = formatRows(rows, names, 'csv');
  // The header line with the real names (formatRows quotes as RFC 4180 wants).
  const header = formatRows(
    [],
    doc.columns.map((c) => c.name),
    'csv',
  );
  return Buffer.from(header + out.slice(out.indexOf('\n') + 1), 'utf8');
}

/** TAP FORMAT / RESPONSEFORMAT values (aliases and MIME types) → the writer. */
export interface OutputFormat {
  id: 'votable' | 'votable-b2' | 'csv' | 'tsv' | 'json' | 'fits';
  mime: string;
  /** Extension of the stored async result. */
  ext: string;
}

export const OUTPUT_FORMATS: readonly (OutputFormat & { aliases: string[]; ivoId?: string })[] = [
  {
    id: 'votable',
    mime: 'application/x-votable+xml',
    ext: 'vot',
    aliases: [
      'votable',
      'votable/td',
      'votabletd',
      'application/x-votable+xml',
      'text/xml',
      'application/x-votable+xml;serialization=tabledata',
    ],
    ivoId: 'ivo://ivoa.net/std/TAPRegExt#output-votable-td',
  },
  {
    id: 'votable-b2',
    mime: 'application/x-votable+xml;serialization=BINARY2',
    ext: 'vot',
    aliases: ['votable/b2', 'votableb2', 'application/x-votable+xml;serialization=binary2'],
    ivoId: 'ivo://ivoa.net/std/TAPRegExt#output-votable-binary2',
  },
  { id: 'csv', mime: 'text/csv', ext: 'csv', aliases: ['csv', 'text/csv', 'text/csv;header=present'] },
  { id: 'tsv', mime: 'text/tab-separated-values', ext: 'tsv', aliases: ['tsv', 'text/tab-separated-values'] },
  { id: 'json', mime: 'application/json', ext: 'json', aliases: ['json', 'application/json'] },
  { id: 'fits', mime: 'application/fits', ext: 'fits', aliases: ['fits', 'application/fits', 'image/fits'] },
];

/** The format a FORMAT/RESPONSEFORMAT value names (case and blanks around ';' ignored), or undefined. */
export function outputFormat(value: string | undefined): OutputFormat | undefined {
  if (value === undefined || value.trim() === '') return OUTPUT_FORMATS[0];
  const v = value
    .toLowerCase()
    .replace(/\s*;\s*/g, ';')
    .trim();
  return OUTPUT_FORMATS.find((f) => f.aliases.includes(v));
}

export function writeResult(format: OutputFormat, doc: ResultDoc): Buffer {
  switch (format.id) {
    case 'votable':
      return votable(doc, 'TABLEDATA');
    case 'votable-b2':
      return votable(doc, 'BINARY2');
    case 'csv':
      return csv(doc);
    case 'tsv':
      return tsv(doc);
    case 'json':
      return json(doc);
    case 'fits':
      return fitsTable(doc.columns, doc.rows, { overflow: doc.overflow });
  }
}

/** Content-Type header of a format (text formats in UTF-8). */
export function contentType(format: OutputFormat): string {
  if (format.id === 'csv' || format.id === 'tsv') return `${format.mime}; charset=utf-8`;
  return format.mime;
}
