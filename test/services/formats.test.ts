// `fitslake query --format …` outputs, each read back by an independent reader: CSV by Python's csv
// module, JSON by JSON.parse, VOTable by astropy (Debian's python3-astropy, verify='exception'), Parquet
// by hyparquet (installed with hyparquet-writer).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { formatRows, inferType } from '../../src/services/formats.ts';

const dir = mkdtempSync(join(tmpdir(), 'fitslake-formats-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function py(script: string, args: string[] = [], input = ''): unknown {
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, ...args], { input, encoding: 'utf8' }));
}

// Values every format must survive: separators, quotes, CR/LF, tabs, markup, empty vs NULL, non-ASCII
// (including a character outside the BMP), int64 extremes and doubles at the ends of their range.
const COLUMNS = ['id', 'name', 'ra', 'ok', 'big', 'note'];
const ROWS: Record<string, unknown>[] = [
  { id: 1, name: 'plain', ra: 10.684, ok: true, big: 2n ** 62n, note: 'comma, here' },
  { id: -2, name: 'quote " inside', ra: -0.25, ok: false, big: -(2n ** 63n), note: 'line1\nline2' },
  { id: 3, name: null, ra: null, ok: null, big: null, note: 'crlf\r\nend\rcr' },
  { id: null, name: 'unicode café ☃ 😀 Ω', ra: 1e-300, ok: true, big: 9007199254740993n, note: '' },
  { id: 5, name: `<&>'"`, ra: 1.7976931348623157e308, ok: false, big: 0n, note: 'tab\there  ' },
  { id: 6, name: '', ra: 3, ok: true, big: 2n ** 63n - 1n, note: null },
];

test('inferType: long, double, boolean, char; nulls ignored', () => {
  assert.equal(inferType([1, null, 2n, -0, undefined]), 'long');
  assert.equal(inferType([2n ** 63n - 1n, -(2n ** 63n)]), 'long');
  assert.equal(inferType([2n ** 63n]), 'double'); // beyond int64
  assert.equal(inferType([1, 2.5]), 'double');
  assert.equal(inferType([1, Number.NaN]), 'double');
  assert.equal(inferType([1e300]), 'double');
  assert.equal(inferType([true, null, false]), 'boolean');
  assert.equal(inferType([true, 1]), 'char');
  assert.equal(inferType(['1', 2]), 'char');
  assert.equal(inferType([new Date(0)]), 'char');
  assert.equal(inferType([null, null]), 'char');
  assert.equal(inferType([]), 'char');
});

test('csv: RFC 4180 quoting read back by Python csv, NULL empty, "" for the empty string, LF line ends', () => {
  const csv = formatRows(ROWS, COLUMNS, 'csv');
  const back = py(
    `import csv, io, json, sys
text = sys.stdin.buffer.read().decode('utf-8')
print(json.dumps(list(csv.reader(io.StringIO(text, newline=''), strict=True))))`,
    [],
    csv,
  ) as string[][];
  const text = (v: unknown) => (v === null ? '' : String(v));
  assert.deepEqual(back, [COLUMNS, ...ROWS.map((r) => COLUMNS.map((c) => text(r[c])))]);

  const lines = csv.split('\n');
  assert.equal(lines.at(-1), '', 'ends with one LF');
  assert.equal(lines[0], 'id,name,ra,ok,big,note');
  assert.equal(lines[1], '1,plain,10.684,true,4611686018427387904,"comma, here"');
  assert.ok(csv.includes('\n3,,,,,"crlf\r\nend\rcr"\n'), 'NULL is an empty field, CR/LF quoted verbatim');
  assert.ok(csv.includes('\n,unicode café ☃ 😀 Ω,1e-300,true,9007199254740993,""\n'), 'empty string is ""');
  assert.ok(csv.includes('"quote "" inside"'));
  assert.equal(formatRows([], ['a,b', 'c'], 'csv'), '"a,b",c\n');
});

test('json: one array of row objects in column order, bigint as number when safe, else string', () => {
  const json = formatRows(ROWS, COLUMNS, 'json');
  assert.ok(json.endsWith(']\n'));
  assert.equal(json.indexOf('\n'), json.length - 1, 'a single line');
  const back = JSON.parse(json) as Record<string, unknown>[];
  const expected = ROWS.map((r) =>
    Object.fromEntries(
      COLUMNS.map((c) => {
        const v = r[c];
        if (typeof v !== 'bigint') return [c, v];
        return [c, Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()];
      }),
    ),
  );
  assert.deepEqual(back, expected);
  for (const o of back) assert.deepEqual(Object.keys(o), COLUMNS);
  assert.equal(back[0].big, '4611686018427387904');
  assert.equal(back[4].big, 0);
  // A missing key is null; the row object's own key order does not matter.
  assert.equal(formatRows([{ b: 2n }], ['a', 'b'], 'json'), '[{"a":null,"b":2}]\n');
  assert.equal(formatRows([], ['a'], 'json'), '[]\n');
});

test('table: header, dashes, numbers right-aligned, NULL empty, long cells cut to 60 with …', () => {
  const rows = [
    { id: 1, name: 'M31', ra: 10.684, ok: true, comment: 'x'.repeat(80) },
    { id: 12345, name: null, ra: -0.5, ok: null, comment: 'two\nlines' },
    { id: null, name: 'NGC 1976', ra: 83.8221, ok: false, comment: 'y'.repeat(60) },
  ];
  const cols = ['id', 'name', 'ra', 'ok', 'comment'];
  const out = formatRows(rows, cols, 'table');
  assert.ok(out.endsWith('\n'));
  const lines = out.slice(0, -1).split('\n');
  assert.deepEqual(lines, [
    `   id  name           ra  ok     comment`,
    `-----  --------  -------  -----  ${'-'.repeat(60)}`,
    `    1  M31        10.684  true   ${'x'.repeat(59)}…`,
    `12345               -0.5         two\\nlines`,
    `       NGC 1976  83.8221  false  ${'y'.repeat(60)}`,
  ]);
  // Every cell sits inside the span of its column's dashes.
  const spans = [...lines[1].matchAll(/-+/g)].map((m) => [m.index, m.index + m[0].length]);
  for (const line of [lines[0], ...lines.slice(2)]) {
    for (let i = 0; i < spans.length - 1; i++) assert.equal(line.slice(spans[i][1], spans[i + 1][0]), '  ');
  }
  assert.equal(formatRows([], ['a', 'bb'], 'table'), 'a  bb\n-  --\n');
});

test('votable: astropy parses it strictly with the same values and dtypes', () => {
  const file = join(dir, 'rows.vot');
  const extra = ['odd "name" <&>', 'empty', 'ctl'];
  const rows = ROWS.map((r, i) => ({ ...r, [extra[0]]: i, empty: null, ctl: i === 0 ? 'a\u0001b' : 'ok' }));
  writeFileSync(file, formatRows(rows, [...COLUMNS, ...extra], 'votable'));
  const got = py(
    `import json, sys
from astropy.io.votable import parse
v = parse(sys.argv[1], verify='exception')
res = v.resources[0]
t = v.get_first_table()
out = {'version': v.version, 'resource': res.type,
       'infos': [[i.name, i.value] for i in res.infos],
       'fields': [[f.name, f.datatype, f.arraysize] for f in t.fields], 'columns': {}}
t = t.to_table(use_names_over_ids=True)
for name in t.colnames:
    col = t[name]
    mask = getattr(col, 'mask', None)
    vals = []
    for i, x in enumerate(col):
        if mask is not None and bool(mask[i]): vals.append(None)
        elif col.dtype.kind == 'i': vals.append(str(int(x)))
        elif col.dtype.kind == 'f': vals.append(float(x))
        elif col.dtype.kind == 'b': vals.append(bool(x))
        else: vals.append(str(x))
    out['columns'][name] = {'dtype': col.dtype.str, 'values': vals}
print(json.dumps(out))`,
    [file],
  ) as {
    version: string;
    resource: string;
    infos: string[][];
    fields: (string | null)[][];
    columns: Record<string, { dtype: string; values: unknown[] }>;
  };
  assert.equal(got.version, '1.4');
  assert.equal(got.resource, 'results');
  assert.deepEqual(got.infos, [['QUERY_STATUS', 'OK']]);
  assert.deepEqual(got.fields, [
    ['id', 'long', null],
    ['name', 'unicodeChar', '*'], // non-ASCII values: VOTable's char is ASCII only
    ['ra', 'double', null],
    ['ok', 'boolean', null],
    ['big', 'long', null],
    ['note', 'char', '*'],
    ['odd "name" <&>', 'long', null],
    ['empty', 'char', '*'],
    ['ctl', 'char', '*'],
  ]);
  const col = (name: string) => got.columns[name];
  const values = (name: string, f: (v: unknown) => unknown) => rows.map((r) => f(r[name]));
  const nullOr = (f: (v: unknown) => unknown) => (v: unknown) => (v === null ? null : f(v));
  assert.deepEqual(col('id'), { dtype: '<i8', values: values('id', nullOr(String)) });
  assert.deepEqual(col('big'), { dtype: '<i8', values: values('big', nullOr(String)) });
  assert.deepEqual(col('ra'), { dtype: '<f8', values: values('ra', nullOr(Number)) });
  assert.deepEqual(col('ok'), { dtype: '|b1', values: values('ok', nullOr(Boolean)) });
  // TABLEDATA has no NULL for strings: an empty TD is the empty string. CR, LF and tabs inside survive;
  // astropy strips the whitespace around a TD's text (so 'tab\there  ' comes back as 'tab\there').
  const text = (v: unknown) => String(v ?? '').trim();
  assert.deepEqual(col('name'), { dtype: '|O', values: values('name', text) });
  assert.deepEqual(col('note'), { dtype: '|O', values: values('note', text) });
  assert.equal(col('note').values[2], 'crlf\r\nend\rcr');
  assert.deepEqual(col('odd "name" <&>').values, ['0', '1', '2', '3', '4', '5']);
  assert.deepEqual(col('empty').values, ['', '', '', '', '', '']);
  assert.deepEqual(col('ctl').values, ['a\ufffdb', 'ok', 'ok', 'ok', 'ok', 'ok'], 'XML-invalid → U+FFFD');

  // NaN and infinities use VOTable's spellings; astropy masks NaN like a NULL double.
  const special = formatRows(
    [{ x: Number.NaN }, { x: Number.POSITIVE_INFINITY }, { x: -1 / 0 }],
    ['x'],
    'votable',
  );
  assert.match(special, /<TD>NaN<\/TD>[\s\S]*<TD>\+Inf<\/TD>[\s\S]*<TD>-Inf<\/TD>/);
  writeFileSync(file, special);
  const inf = py(
    `import json, sys
from astropy.io.votable import parse_single_table
t = parse_single_table(sys.argv[1], verify='exception').to_table()
print(json.dumps([bool(t['x'].mask[0]), str(t['x'][1]), str(t['x'][2])]))`,
    [file],
  );
  assert.deepEqual(inf, [true, 'inf', '-inf']);

  // No rows: still a valid table with its fields.
  writeFileSync(file, formatRows([], ['a'], 'votable'));
  const empty = py(
    `import json, sys
from astropy.io.votable import parse_single_table
t = parse_single_table(sys.argv[1], verify='exception').to_table()
print(json.dumps([t.colnames, len(t)]))`,
    [file],
  );
  assert.deepEqual(empty, [['a'], 0]);
});

test('parquet: hyparquet reads back the same values, nulls and INT64/DOUBLE/BOOLEAN/STRING types', async () => {
  const bytes = formatRows(ROWS, COLUMNS, 'parquet');
  assert.ok(bytes instanceof Uint8Array);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), 'PAR1');
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;

  const schema = parquetMetadata(file).schema.slice(1);
  assert.deepEqual(
    schema.map((s) => [s.name, s.type, s.converted_type ?? null, s.repetition_type]),
    [
      ['id', 'INT64', null, 'OPTIONAL'],
      ['name', 'BYTE_ARRAY', 'UTF8', 'OPTIONAL'],
      ['ra', 'DOUBLE', null, 'OPTIONAL'],
      ['ok', 'BOOLEAN', null, 'OPTIONAL'],
      ['big', 'INT64', null, 'OPTIONAL'],
      ['note', 'BYTE_ARRAY', 'UTF8', 'OPTIONAL'],
    ],
  );

  const back = await parquetReadObjects({ file });
  const expected = ROWS.map((r) => ({
    ...r,
    id: r.id === null ? null : BigInt(r.id as number),
  }));
  assert.deepEqual(back, expected);

  // A column of NULLs only, a double column with integers and NaN, mixed values as text, no rows.
  const mixed = formatRows(
    [
      { n: null, d: 1, m: 1, t: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)) },
      { n: null, d: Number.NaN, m: 'a', t: null },
      { n: null, d: 2.5, m: true, t: null },
    ],
    ['n', 'd', 'm', 't'],
    'parquet',
  );
  const mixedBack = await parquetReadObjects({ file: mixed.slice().buffer as ArrayBuffer });
  assert.deepEqual(mixedBack, [
    { n: null, d: 1, m: '1', t: '2024-01-02T03:04:05.000Z' },
    { n: null, d: Number.NaN, m: 'a', t: null },
    { n: null, d: 2.5, m: 'true', t: null },
  ]);
  const none = formatRows([], ['a', 'b'], 'parquet');
  assert.deepEqual(await parquetReadObjects({ file: none.slice().buffer as ArrayBuffer }), []);
  assert.deepEqual(
    parquetMetadata(none.slice().buffer as ArrayBuffer)
      .schema.slice(1)
      .map((s) => s.name),
    ['a', 'b'],
  );
});
