// TAP result writers, each read back by astropy (Debian's python3-astropy): VOTable TABLEDATA and
// BINARY2 with verify='exception' (FIELD metadata, nulls, non-ASCII, the OVERFLOW INFO after the
// table), the error document, the FITS binary table, and CSV/TSV/JSON.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { outColumns, resolveType } from '../../../src/services/tap/columns.ts';
import { fitsTable } from '../../../src/services/tap/fits-table.ts';
import {
  outputFormat,
  type ResultDoc,
  votableError,
  writeResult,
} from '../../../src/services/tap/votable.ts';
import { type Json, READ_VOTABLE } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'fitslake-tap-formats-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function py(script: string, file: string): Json {
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8' }));
}

const META = [
  {
    name: 'obs_id',
    datatype: 'char',
    ucd: 'meta.id',
    utype: 'obscore:DataID.observationID',
    description: 'id',
  },
  { name: 's_ra', datatype: 'double', unit: 'deg', ucd: 'pos.eq.ra' },
  { name: 'calib_level', datatype: 'int', ucd: 'meta.code;obs.calib' },
  { name: 'size', datatype: 'BIGINT', unit: 'kbyte' },
  { name: 'ok', datatype: 'boolean' },
  { name: 's_region', datatype: 'char', xtype: 'adql:REGION', ucd: 'pos.outline;obs.field' },
  { name: 'avg', datatype: 'int' }, // an AVG the translator typed as int: its values are doubles
];
const ROWS: Record<string, unknown>[] = [
  {
    obs_id: 'a',
    s_ra: 10.5,
    calib_level: 1,
    size: 2 ** 40,
    ok: 1,
    s_region: 'POLYGON ICRS 1 2 3 4 5 6',
    avg: 1.5,
  },
  { obs_id: 'café ☃ 😀', s_ra: null, calib_level: null, size: null, ok: 0, s_region: null, avg: 2 },
  { obs_id: '<&>"\'', s_ra: -0.25, calib_level: 4, size: -1, ok: null, s_region: '', avg: null },
];

function doc(overflow = false): ResultDoc {
  const columns = outColumns(META, ROWS);
  return { columns, rows: ROWS.map((r) => META.map((m) => r[m.name])), overflow };
}

for (const serialization of ['votable', 'votable/b2'] as const) {
  test(`${serialization}: astropy reads it with verify='exception', metadata, nulls and values intact`, () => {
    const fmt = outputFormat(serialization)!;
    const file = join(dir, `t-${fmt.id}.vot`);
    writeFileSync(file, writeResult(fmt, doc(true)));
    const got = py(READ_VOTABLE, file);
    assert.match(
      readFileSync(file, 'utf8'),
      serialization === 'votable' ? /<TABLEDATA>/ : /<BINARY2>\n<STREAM encoding="base64">/,
    );
    assert.deepEqual(
      got.fields.map((f: Json) => [f.name, f.datatype]),
      [
        ['obs_id', 'unicodeChar'],
        ['s_ra', 'double'],
        ['calib_level', 'int'],
        ['size', 'long'],
        ['ok', 'boolean'],
        ['s_region', 'char'],
        ['avg', 'double'],
      ],
    );
    const f = Object.fromEntries(got.fields.map((x: Json) => [x.name, x]));
    assert.equal(f.s_ra.unit, 'deg');
    assert.equal(f.s_ra.ucd, 'pos.eq.ra');
    assert.equal(f.obs_id.utype, 'obscore:DataID.observationID');
    assert.equal(f.s_region.xtype, 'adql:REGION');
    assert.equal(f.size.unit, 'kbyte');
    // The non-BMP character is U+FFFD in BINARY2 (UCS-2); TABLEDATA keeps it.
    assert.equal(got.rows[0][0], 'a');
    assert.match(got.rows[1][0], /^café ☃ /);
    assert.equal(got.rows[2][0], '<&>"\'');
    assert.deepEqual(got.rows[0].slice(1, 5), [10.5, 1, 2 ** 40, true]);
    assert.deepEqual(got.rows[1].slice(1, 5), [null, null, null, false]);
    assert.equal(got.rows[2][3], -1);
    assert.equal(got.rows[0][5], 'POLYGON ICRS 1 2 3 4 5 6');
    assert.deepEqual(
      got.rows.map((r: Json[]) => r[6]),
      [1.5, 2, null],
    );
    // QUERY_STATUS OK before the table, OVERFLOW after it.
    assert.deepEqual(got.infos, [
      ['QUERY_STATUS', 'OK'],
      ['QUERY_STATUS', 'OVERFLOW'],
    ]);
  });
}

test('error document: QUERY_STATUS ERROR with the message, valid for astropy', () => {
  const file = join(dir, 'err.vot');
  writeFileSync(file, votableError('line 1, column 8: unknown column "nope" <here>'));
  const got = py(
    `import json, sys
from astropy.io.votable import parse
v = parse(sys.argv[1], verify='exception')
r = v.resources[0]
print(json.dumps([(i.name, i.value, str(i.content)) for i in r.infos]))`,
    file,
  );
  assert.deepEqual(got, [['QUERY_STATUS', 'ERROR', 'line 1, column 8: unknown column "nope" <here>']]);
});

test('fits: a BINTABLE astropy reads, with units, nulls (TNULL, NaN) and UTF-8 strings', () => {
  const d = doc(true);
  const file = join(dir, 't.fits');
  writeFileSync(file, fitsTable(d.columns, d.rows, { overflow: true }));
  const got = py(
    `import json, sys
from astropy.io import fits
from astropy.table import Table
h = fits.open(sys.argv[1])
h.verify('exception')
t = Table.read(sys.argv[1], hdu=1)
rows = []
for r in t:
    rows.append([None if (hasattr(r[c], 'mask') and r[c].mask) or (isinstance(r[c], float) and r[c] != r[c]) else (r[c].item() if hasattr(r[c], 'item') else r[c]) for c in t.colnames])
print(json.dumps({'names': t.colnames, 'units': [str(t[c].unit) if t[c].unit else None for c in t.colnames],
  'forms': [h[1].header['TFORM%d' % (i + 1)] for i in range(len(t.colnames))], 'rows': rows,
  'overflow': h[1].header.get('OVERFLOW'), 'ucd': h[1].header.get('TUCD2')}, default=str))`,
    file,
  );
  assert.deepEqual(
    got.names,
    META.map((m) => m.name),
  );
  assert.equal(got.units[1], 'deg');
  assert.equal(got.ucd, 'pos.eq.ra');
  assert.deepEqual(got.forms.slice(1, 5), ['D', 'J', 'K', 'L']);
  assert.equal(got.overflow, true);
  assert.equal(got.rows[0][0], 'a');
  assert.equal(got.rows[1][0], 'café ☃ 😀');
  assert.deepEqual(got.rows[0].slice(1, 4), [10.5, 1, 2 ** 40]);
  assert.deepEqual(got.rows[1].slice(1, 4), [null, null, null]);
  assert.equal(got.rows[2][6], null);
});

test('csv, tsv, json: header, nulls, escapes, overflow status', () => {
  const d = doc(true);
  const csv = writeResult(outputFormat('csv')!, d).toString('utf8');
  assert.equal(csv.split('\n')[0], 'obs_id,s_ra,calib_level,size,ok,s_region,avg');
  assert.match(csv, /"<&>""'",-0\.25,4,-1,/);
  const tsv = writeResult(outputFormat('text/tab-separated-values')!, {
    ...d,
    rows: [['a\tb\nc', 1, null, null, null, null, null]],
  }).toString('utf8');
  assert.equal(tsv.split('\n')[1], 'a\\tb\\nc\t1\t\t\t\t\t');
  const json = JSON.parse(writeResult(outputFormat('json')!, d).toString('utf8'));
  assert.equal(json.queryStatus, 'OVERFLOW');
  assert.deepEqual(json.metadata[1], { name: 's_ra', datatype: 'double', unit: 'deg', ucd: 'pos.eq.ra' });
  assert.deepEqual(json.data[0].slice(0, 5), ['a', 10.5, 1, 2 ** 40, true]);
});

test('format names: aliases and MIME types, case and blanks ignored; unknown → undefined', () => {
  assert.equal(outputFormat(undefined)!.id, 'votable');
  assert.equal(outputFormat('VOTable')!.id, 'votable');
  assert.equal(outputFormat('application/x-votable+xml; serialization=BINARY2')!.id, 'votable-b2');
  assert.equal(outputFormat('votable/b2')!.id, 'votable-b2');
  assert.equal(outputFormat('text/csv')!.id, 'csv');
  assert.equal(outputFormat('application/fits')!.id, 'fits');
  assert.equal(outputFormat('text/html'), undefined);
});

test('resolveType: declared types kept when the values fit, else what they are', () => {
  assert.equal(resolveType('int', [1, 2, null]), 'int');
  assert.equal(resolveType('int', [1, 2 ** 40]), 'long');
  assert.equal(resolveType('long', [1.5]), 'double');
  assert.equal(resolveType('boolean', [0, 1]), 'boolean');
  assert.equal(resolveType(undefined, [1, 2]), 'long');
  assert.equal(resolveType(undefined, ['x', 'é']), 'unicodeChar');
  assert.equal(resolveType('double', []), 'double');
  assert.equal(resolveType('char', [1]), 'char');
});
