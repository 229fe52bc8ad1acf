// TAP 1.1 over HTTP on a real lake (two sample nights ingested by the real worker, users of every
// role, one embargoed observation, one private collection): sync queries in every format read back
// by astropy / Python, MAXREC and its overflow indicator, VOTable error documents, VOSI documents,
// TAP_SCHEMA through ADQL, access control, and the UWS job lifecycle — surviving a server restart.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningServer, startServer } from '../../util/server.ts';
import { type Fixture, populatedLake, type UserName } from '../rest/fixture.ts';
import { type Json, READ_VOTABLE } from './helpers.ts';

import { tapPlugin } from '../../../src/services/tap/routes.ts';
const plugin = tapPlugin({ limits: { defaultMaxrec: 50, hardMaxrec: 100, concurrency: 1 }, sweepMs: 100 });

const dir = mkdtempSync(join(tmpdir(), 'fitslake-tap-svc-'));
let fx: Fixture;
let url: string;
before(async () => {
  fx = await populatedLake([plugin]);
  url = fx.srv.url;
});
let restarted: RunningServer | undefined;
after(async () => {
  // fx.close() closes the first server (already closed by the restart test, if it ran) and the lake.
  await restarted?.close();
  await fx?.close().catch(() => fx.lake.close());
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** POSTs a form to the service as a user; the raw response. */
async function post(path: string, form: Record<string, string>, user?: UserName) {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { ...fx.auth(user), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
    redirect: 'manual',
  });
}
const get = (path: string, user?: UserName) =>
  fetch(`${url}${path}`, { headers: fx.auth(user), redirect: 'manual' });

function py(script: string, bytes: Buffer | string): Json {
  const file = join(dir, `r${++n}`);
  writeFileSync(file, bytes);
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8' }));
}
const votableOf = async (r: Response) => py(READ_VOTABLE, Buffer.from(await r.arrayBuffer()));

/** A sync ADQL query as a user: the parsed VOTable (rows by column name). */
async function query(adql: string, user?: UserName, extra: Record<string, string> = {}) {
  const r = await post('/tap/sync', { REQUEST: 'doQuery', LANG: 'ADQL', QUERY: adql, ...extra }, user);
  assert.equal(r.status, 200, await r.clone().text());
  const v = await votableOf(r);
  const names = v.fields.map((f: { name: string }) => f.name);
  return {
    ...v,
    objects: v.rows.map((row: unknown[]) =>
      Object.fromEntries(names.map((k: string, i: number) => [k, row[i]])),
    ),
  };
}

async function countVisible(
  where: (r: { obs_id: string; obs_collection: string; public_date: string | null }) => boolean,
) {
  const rows = await fx.lake.catalog.db
    .selectFrom('observations')
    .select(['obs_id', 'obs_collection', 'public_date'])
    .execute();
  return rows.filter(where).length;
}

test('VOSI: capabilities with TAPRegExt (ADQL 2.1, geometry, formats, limits, ObsCore 1.1), availability', async () => {
  const caps = await (await get('/tap/capabilities')).text();
  assert.match(caps, /standardID="ivo:\/\/ivoa.net\/std\/TAP" xsi:type="tr:TableAccess"/);
  assert.match(caps, /<version ivo-id="ivo:\/\/ivoa.net\/std\/ADQL#v2.1">2.1<\/version>/);
  assert.match(caps, /features-adqlgeo[\s\S]*<form>CONTAINS<\/form>/);
  assert.match(caps, /<dataModel ivo-id="ivo:\/\/ivoa.net\/std\/ObsCore#core-1.1">/);
  assert.match(caps, /serialization=BINARY2<\/mime><alias>votable\/b2<\/alias>/);
  assert.match(
    caps,
    /<outputLimit><default unit="row">50<\/default><hard unit="row">100<\/hard><\/outputLimit>/,
  );
  assert.doesNotMatch(caps, /uploadMethod/);
  assert.match(caps, new RegExp(`<accessURL use="base">${url}/tap</accessURL>`));
  const avail = await (await get('/tap/availability')).text();
  assert.match(avail, /<vosi:available>true<\/vosi:available>/);
});

test('tables: detail=min without columns, full tableset, one table; keyword views only of visible collections', async () => {
  const min = await (await get('/tap/tables?detail=min')).text();
  assert.match(min, /<name>ivoa.obscore<\/name>/);
  assert.doesNotMatch(min, /<column/);
  assert.match(min, /<name>lake.hdr_night<\/name>/);
  assert.doesNotMatch(min, /hdr_vault/, 'anonymous: no private collection');
  assert.match(await (await get('/tap/tables?detail=min', 'ada')).text(), /<name>lake.hdr_vault<\/name>/);
  const full = await (await get('/tap/tables')).text();
  assert.match(full, /<column std="true"><name>s_ra<\/name>.*<unit>deg<\/unit><ucd>pos.eq.ra<\/ucd>/);
  assert.match(full, /<name>TAP_SCHEMA.columns<\/name>/);
  const one = await get('/tap/tables/ivoa.obscore');
  assert.equal(one.status, 200);
  const t = await one.text();
  assert.match(t, /^<\?xml[^>]*>\n<vosi:table /);
  assert.match(t, /<name>s_region<\/name>.*extendedType="adql:REGION"/);
  assert.equal((await get('/tap/tables/lake.hdr_vault')).status, 404, 'anonymous');
  assert.equal((await get('/tap/tables/lake.hdr_vault', 'ada')).status, 200);
});

test('sync: GET and POST (REQUEST=doQuery ignored); ObsCore columns with units, UCDs, absolute DataLink access_url', async () => {
  const g = await get(
    `/tap/sync?REQUEST=doQuery&LANG=ADQL&QUERY=${encodeURIComponent('SELECT TOP 3 obs_id, s_ra, access_url, access_format FROM ivoa.obscore WHERE access_format IS NOT NULL')}`,
  );
  assert.equal(g.status, 200);
  assert.match(g.headers.get('content-type') ?? '', /application\/x-votable\+xml/);
  const v = await votableOf(g);
  assert.equal(v.rows.length, 3);
  const f = Object.fromEntries(v.fields.map((x: Json) => [x.name, x]));
  assert.equal(f.s_ra.unit, 'deg');
  assert.equal(f.s_ra.ucd, 'pos.eq.ra');
  assert.equal(f.s_ra.utype, 'obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1');
  for (const [obsId, , accessUrl, format] of v.rows) {
    assert.equal(format, 'application/x-votable+xml;content=datalink');
    assert.equal(
      accessUrl,
      `${url}/datalink?ID=ivo://fitslake/night?${encodeURIComponent(obsId).replace(/%/g, '%25')}`,
    );
    assert.ok(accessUrl.startsWith(`${url}/datalink?ID=ivo://fitslake/`), accessUrl);
  }
  const all = await query('SELECT * FROM ivoa.obscore');
  const names = all.fields.map((x: Json) => x.name);
  for (const c of [
    'dataproduct_type',
    'calib_level',
    'obs_collection',
    'obs_id',
    'obs_publisher_did',
    'access_url',
    'access_format',
    'access_estsize',
    'target_name',
    's_ra',
    's_dec',
    's_fov',
    's_region',
    's_resolution',
    's_xel1',
    's_xel2',
    't_min',
    't_max',
    't_exptime',
    't_resolution',
    't_xel',
    'em_min',
    'em_max',
    'em_res_power',
    'em_xel',
    'o_ucd',
    'pol_states',
    'pol_xel',
    'facility_name',
    'instrument_name',
    'filter',
    'airmass',
    'night',
    'public_date',
  ])
    assert.ok(names.includes(c), `column ${c}`);
  assert.ok(!names.includes('obs_pk'), 'the index column is not a result column');
  const region = all.objects.find((o: Json) => o.s_region)?.s_region;
  assert.match(region, /^POLYGON ICRS( -?\d+(\.\d+)?){8,}$/);
});

test('every FORMAT read back: votable, votable/td, votable/b2, BINARY2 MIME, csv, tsv, json, fits', async () => {
  const q = 'SELECT TOP 5 obs_id, s_ra, calib_level, t_min FROM ivoa.obscore ORDER BY obs_id';
  const reference = (await query(q)).rows;
  assert.equal(reference.length, 5);
  for (const fmt of [
    'votable',
    'votable/td',
    'votable/b2',
    'application/x-votable+xml;serialization=BINARY2',
  ]) {
    const r = await post('/tap/sync', { LANG: 'ADQL', QUERY: q, FORMAT: fmt });
    assert.equal(r.status, 200, fmt);
    assert.deepEqual((await votableOf(r)).rows, reference, fmt);
  }
  const csv = await post('/tap/sync', { LANG: 'ADQL', QUERY: q, FORMAT: 'csv' });
  assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
  const csvRows = py(
    `import csv, json, sys\nprint(json.dumps(list(csv.reader(open(sys.argv[1], newline=''))))) `,
    Buffer.from(await csv.arrayBuffer()),
  );
  assert.deepEqual(csvRows[0], ['obs_id', 's_ra', 'calib_level', 't_min']);
  const num = (x: string) => (x === '' ? null : Number(x));
  assert.deepEqual(
    csvRows.slice(1).map((r: string[]) => [r[0], num(r[1]), num(r[2]), num(r[3])]),
    reference,
  );
  const tsv = await post('/tap/sync', { LANG: 'ADQL', QUERY: q, RESPONSEFORMAT: 'tsv' });
  assert.match(tsv.headers.get('content-type') ?? '', /^text\/tab-separated-values/);
  const tsvRows = (await tsv.text())
    .trim()
    .split('\n')
    .map((l) => l.split('\t'));
  assert.deepEqual(
    tsvRows.slice(1).map((r) => [r[0], num(r[1]), num(r[2]), num(r[3])]),
    reference,
  );
  const json = await (await post('/tap/sync', { LANG: 'ADQL', QUERY: q, FORMAT: 'json' })).json();
  assert.deepEqual(json.data, reference);
  assert.equal(json.queryStatus, 'OK');
  const fits = await post('/tap/sync', { LANG: 'ADQL', QUERY: q, FORMAT: 'fits' });
  assert.equal(fits.headers.get('content-type'), 'application/fits');
  const t = py(
    `import json, sys
from astropy.io import fits
from astropy.table import Table
fits.open(sys.argv[1]).verify('exception')
t = Table.read(sys.argv[1], hdu=1)
import numpy as np
def cell(v):
    if v is np.ma.masked: return None
    v = v.item() if hasattr(v, 'item') else v
    return None if isinstance(v, float) and v != v else v
print(json.dumps([[cell(r[c]) for c in t.colnames] for r in t]))`,
    Buffer.from(await fits.arrayBuffer()),
  );
  assert.deepEqual(t, reference);
});

test('MAXREC: rows cut with QUERY_STATUS OVERFLOW after the table; default and hard limits; 0', async () => {
  const total = (await query('SELECT obs_id FROM ivoa.obscore', undefined, { MAXREC: '100' })).rows.length;
  assert.ok(total > 3, `${total} rows`);
  const cut = await query('SELECT obs_id FROM ivoa.obscore', undefined, { MAXREC: '2' });
  assert.equal(cut.rows.length, 2);
  assert.deepEqual(cut.infos.at(-1), ['QUERY_STATUS', 'OVERFLOW']);
  const whole = await query('SELECT obs_id FROM ivoa.obscore', undefined, { MAXREC: String(total) });
  assert.equal(whole.rows.length, total);
  assert.deepEqual(
    whole.infos.map((i: string[]) => i[1]),
    ['OK', ''],
  );
  // TOP below MAXREC: no overflow.
  const top = await query('SELECT TOP 2 obs_id FROM ivoa.obscore', undefined, { MAXREC: '5' });
  assert.equal(top.rows.length, 2);
  assert.ok(!top.infos.some((i: string[]) => i[1] === 'OVERFLOW'));
  const zero = await query('SELECT obs_id FROM ivoa.obscore', undefined, { MAXREC: '0' });
  assert.equal(zero.rows.length, 0);
  assert.deepEqual(zero.infos.at(-1), ['QUERY_STATUS', 'OVERFLOW']);
  // Above the hard limit (100): the hard limit applies.
  assert.equal(
    (await query('SELECT obs_id FROM ivoa.obscore', undefined, { MAXREC: '100000' })).rows.length,
    Math.min(total, 100),
  );
});

test('errors: VOTable error documents with HTTP 400 — LANG, ADQL position, FORMAT, MAXREC, UPLOAD', async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ LANG: 'SQL', QUERY: 'SELECT 1' }, /LANG=SQL is not supported/],
    [{ QUERY: 'SELECT obs_id FROM ivoa.obscore' }, /LANG is required/],
    [{ LANG: 'ADQL' }, /QUERY is required/],
    [{ LANG: 'ADQL', QUERY: 'SELECT nope FROM ivoa.obscore' }, /line 1, column \d+/],
    [{ LANG: 'ADQL', QUERY: 'SELECT obs_id FROM ivoa.nothing' }, /line 1, column \d+/],
    [
      { LANG: 'ADQL', QUERY: 'SELECT obs_id FROM ivoa.obscore', FORMAT: 'text/html' },
      /FORMAT=text\/html is not supported/,
    ],
    [
      { LANG: 'ADQL', QUERY: 'SELECT obs_id FROM ivoa.obscore', MAXREC: '-1' },
      /MAXREC must be a non-negative integer/,
    ],
    [
      { LANG: 'ADQL', QUERY: 'SELECT obs_id FROM ivoa.obscore', UPLOAD: 't,param:t' },
      /UPLOAD is not supported/,
    ],
  ];
  for (const [form, message] of cases) {
    const r = await post('/tap/sync', form);
    assert.equal(r.status, 400, JSON.stringify(form));
    assert.match(r.headers.get('content-type') ?? '', /application\/x-votable\+xml/);
    const got = py(
      `import json, sys
from astropy.io.votable import parse
v = parse(sys.argv[1], verify='exception')
print(json.dumps([(i.name, i.value, str(i.content)) for i in v.resources[0].infos]))`,
      Buffer.from(await r.arrayBuffer()),
    );
    assert.equal(got[0][0], 'QUERY_STATUS');
    assert.equal(got[0][1], 'ERROR');
    assert.match(got[0][2], message, JSON.stringify(form));
  }
});

test('TAP_SCHEMA through ADQL: schemas, tables, columns with datatype, unit, UCD, utype; keys', async () => {
  const cols = await query("SELECT * FROM TAP_SCHEMA.columns WHERE table_name = 'ivoa.obscore'");
  const byName = Object.fromEntries(cols.objects.map((o: Json) => [o.column_name, o]));
  assert.ok(cols.objects.length >= 30);
  assert.deepEqual(
    ['datatype', 'unit', 'ucd', 'utype', 'std'].map((k) => byName.s_ra[k]),
    [
      'double',
      'deg',
      'pos.eq.ra',
      'obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1',
      1,
    ],
  );
  assert.deepEqual(
    ['datatype', 'arraysize', 'xtype', 'ucd'].map((k) => byName.s_region[k]),
    ['char', '*', 'adql:REGION', 'pos.outline;obs.field'],
  );
  assert.equal(byName.access_estsize.unit, 'kbyte');
  assert.equal(byName.t_min.unit, 'd');
  assert.equal(byName.em_min.unit, 'm');
  const tables = (await query('SELECT table_name FROM TAP_SCHEMA.tables')).objects.map(
    (o: Json) => o.table_name,
  );
  for (const t of [
    'ivoa.obscore',
    'lake.hdr_night',
    'TAP_SCHEMA.schemas',
    'TAP_SCHEMA.tables',
    'TAP_SCHEMA.columns',
    'TAP_SCHEMA.keys',
    'TAP_SCHEMA.key_columns',
  ])
    assert.ok(tables.includes(t), t);
  assert.ok(!tables.includes('lake.hdr_vault'), 'anonymous: no private keyword view');
  const adaTables = (await query('SELECT table_name FROM TAP_SCHEMA.tables', 'ada')).objects.map(
    (o: Json) => o.table_name,
  );
  assert.ok(adaTables.includes('lake.hdr_vault'));
  const schemas = (await query('SELECT schema_name FROM TAP_SCHEMA.schemas')).objects.map(
    (o: Json) => o.schema_name,
  );
  assert.deepEqual(schemas.sort(), ['TAP_SCHEMA', 'ivoa', 'lake']);
  const keys = (await query('SELECT * FROM TAP_SCHEMA.keys')).objects;
  assert.ok(
    keys.some((k: Json) => k.from_table === 'TAP_SCHEMA.columns' && k.target_table === 'TAP_SCHEMA.tables'),
  );
  assert.equal((await query('SELECT * FROM TAP_SCHEMA.key_columns')).rows.length, keys.length);
  // A keyword view's columns, typed from the crawler's inventory.
  const kw = await query(
    "SELECT column_name, datatype FROM TAP_SCHEMA.columns WHERE table_name = 'lake.hdr_night'",
  );
  const kwTypes = Object.fromEntries(kw.rows);
  assert.equal(kwTypes.file_id, 'long');
  assert.equal(kwTypes.NAXIS1, 'long');
  assert.equal(kwTypes.OBJECT, 'char');
  // Names that are not ADQL regular identifiers are published delimited, as queries must write them.
  assert.equal(kwTypes['"key"'], 'char');
  assert.equal(kwTypes['"DATE-OBS"'], 'char');
  const inventory = await fx.lake.catalog.db
    .selectFrom('keywords')
    .select(['keyword', 'type'])
    .where('collection', '=', 'night')
    .execute();
  for (const k of inventory.filter((i) => i.keyword in kwTypes))
    assert.equal(
      kwTypes[k.keyword],
      { float: 'double', int: 'long', bool: 'boolean' }[k.type] ?? 'char',
      k.keyword,
    );
  const delimited = await query('SELECT TOP 1 "DATE-OBS", "key" FROM lake.hdr_night');
  assert.deepEqual(
    delimited.fields.map((f: Json) => f.name),
    ['DATE-OBS', 'key'],
  );
  const hdr = await query('SELECT TOP 2 file_id, key, NAXIS1 FROM lake.hdr_night');
  assert.equal(hdr.rows.length, 2);
});

test('access control: anonymous never sees the embargoed observation or the private collection', async () => {
  const embargoed = await fx.lake.catalog.db
    .selectFrom('observations')
    .select('obs_id')
    .where('id', '=', fx.embargoed)
    .executeTakeFirstOrThrow();
  const seen = async (user?: UserName) =>
    (await query('SELECT obs_id, obs_collection FROM ivoa.obscore', user, { MAXREC: '100' })).objects as {
      obs_id: string;
      obs_collection: string;
    }[];
  const anon = await seen();
  assert.ok(anon.length > 0);
  assert.ok(!anon.some((o) => o.obs_id === embargoed.obs_id), 'embargoed hidden');
  assert.ok(!anon.some((o) => o.obs_collection === 'vault'), 'private hidden');
  assert.equal(
    anon.length,
    await countVisible(
      (r) =>
        r.obs_collection === 'night' && (r.public_date === null || r.public_date <= new Date().toISOString()),
    ),
  );
  const cy = await seen('cy');
  assert.equal(cy.length, anon.length);
  const bob = await seen('bob');
  assert.ok(
    bob.some((o) => o.obs_id === embargoed.obs_id),
    'group member sees it',
  );
  assert.ok(!bob.some((o) => o.obs_collection === 'vault'));
  const ada = await seen('ada');
  assert.ok(ada.some((o) => o.obs_id === embargoed.obs_id));
  assert.ok(ada.some((o) => o.obs_collection === 'vault'));
  // Nor through the keyword view, nor a filter naming it.
  const direct = await query(`SELECT obs_id FROM ivoa.obscore WHERE obs_id = '${embargoed.obs_id}'`);
  assert.equal(direct.rows.length, 0);
  const err = await post('/tap/sync', { LANG: 'ADQL', QUERY: 'SELECT TOP 1 file_id FROM lake.hdr_vault' });
  assert.equal(err.status, 400, 'unknown table for anonymous');
});

// ---- async -------------------------------------------------------------------------------------

async function createJob(form: Record<string, string>, user?: UserName): Promise<string> {
  const r = await post('/tap/async', form, user);
  assert.equal(r.status, 303, await r.text());
  const loc = r.headers.get('location') ?? '';
  assert.match(loc, new RegExp(`^${url}/tap/async/[A-Za-z0-9_-]{22}$`));
  return loc.slice(`${url}`.length);
}

const tag = (xml: string, name: string) => new RegExp(`<uws:${name}>([^<]*)</uws:${name}>`).exec(xml)?.[1];

async function waitDone(job: string, user?: UserName): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const x = await (await get(`${job}?WAIT=5`, user)).text();
    const phase = tag(x, 'phase');
    if (phase && !['PENDING', 'QUEUED', 'EXECUTING'].includes(phase)) return x;
  }
  throw new Error('job never finished');
}

test('async: create (303), PENDING, parameters, RUN, WAIT, COMPLETED, result, list by owner, delete', async () => {
  const job = await createJob(
    { REQUEST: 'doQuery', LANG: 'ADQL', QUERY: 'SELECT TOP 3 obs_id FROM ivoa.obscore', RUNID: 'r1' },
    'ada',
  );
  let x = await (await get(job, 'ada')).text();
  assert.equal(tag(x, 'phase'), 'PENDING');
  assert.equal(tag(x, 'runId'), 'r1');
  assert.equal(tag(x, 'ownerId'), 'ada');
  assert.match(x, /<uws:parameter id="QUERY">SELECT TOP 3 obs_id FROM ivoa.obscore<\/uws:parameter>/);
  assert.equal(await (await get(`${job}/phase`, 'ada')).text(), 'PENDING\n');
  // Parameters change while PENDING.
  assert.equal((await post(`${job}/parameters`, { MAXREC: '2' }, 'ada')).status, 303);
  assert.equal((await post(`${job}/executionduration`, { EXECUTIONDURATION: '30' }, 'ada')).status, 303);
  assert.equal(await (await get(`${job}/executionduration`, 'ada')).text(), '30\n');
  // Not visible to others; the owner lists it, anonymous lists nothing.
  assert.equal((await get(job, 'bob')).status, 404);
  assert.equal((await get(job)).status, 404);
  assert.match(await (await get('/tap/async', 'ada')).text(), new RegExp(job.split('/').pop() as string));
  assert.doesNotMatch(await (await get('/tap/async', 'bob')).text(), /jobref/);
  assert.doesNotMatch(await (await get('/tap/async')).text(), /jobref/);
  assert.equal((await post(`${job}/phase`, { PHASE: 'RUN' }, 'ada')).status, 303);
  x = await waitDone(job, 'ada');
  assert.equal(tag(x, 'phase'), 'COMPLETED', x);
  assert.match(x, /<uws:result id="result" xlink:type="simple" xlink:href="[^"]+\/results\/result"/);
  assert.ok(tag(x, 'startTime') && tag(x, 'endTime'));
  const result = await get(`${job}/results/result`, 'ada');
  assert.equal(result.status, 200);
  const v = await votableOf(result);
  assert.equal(v.rows.length, 2);
  assert.deepEqual(v.infos.at(-1), ['QUERY_STATUS', 'OVERFLOW'], 'MAXREC 2 cut TOP 3');
  // Filters: PHASE, LAST, AFTER.
  assert.match(await (await get('/tap/async?PHASE=COMPLETED', 'ada')).text(), /jobref/);
  assert.doesNotMatch(await (await get('/tap/async?PHASE=EXECUTING', 'ada')).text(), /jobref/);
  assert.equal(((await (await get('/tap/async?LAST=1', 'ada')).text()).match(/jobref id/g) ?? []).length, 1);
  assert.doesNotMatch(await (await get('/tap/async?AFTER=2999-01-01T00:00:00Z', 'ada')).text(), /jobref/);
  // Deleted: 303 to the list, then gone (with its result file).
  const del = await fetch(`${url}${job}`, { method: 'DELETE', headers: fx.auth('ada'), redirect: 'manual' });
  assert.equal(del.status, 303);
  assert.equal(del.headers.get('location'), `${url}/tap/async`);
  assert.equal((await get(job, 'ada')).status, 404);
  const left = await fx.lake.zones.derived.list({ prefix: `tap/jobs/${job.split('/').pop()}/` });
  assert.equal(left.objects.length, 0);
});

test('async: anonymous job reachable by id; ERROR with a VOTable error naming the position; ABORT; ACTION=DELETE', async () => {
  const job = await createJob({ LANG: 'ADQL', QUERY: 'SELECT nope FROM ivoa.obscore', PHASE: 'RUN' });
  const x = await waitDone(job);
  assert.equal(tag(x, 'phase'), 'ERROR');
  assert.match(x, /<uws:errorSummary type="fatal" hasDetail="true"><uws:message>[^<]*line 1, column \d+/);
  const err = await get(`${job}/error`);
  assert.equal(err.status, 200);
  assert.match(await err.text(), /<INFO name="QUERY_STATUS" value="ERROR">[^<]*line 1, column/);
  assert.equal((await get(`${job}/results/result`)).status, 404);

  const pending = await createJob({ LANG: 'ADQL', QUERY: 'SELECT obs_id FROM ivoa.obscore' });
  assert.equal((await post(`${pending}/phase`, { PHASE: 'ABORT' })).status, 303);
  assert.equal(await (await get(`${pending}/phase`)).text(), 'ABORTED\n');
  assert.equal((await post(`${pending}/phase`, { PHASE: 'RUN' })).status, 400, 'an aborted job cannot run');
  assert.equal((await post(`${pending}/phase`, { PHASE: 'SUSPEND' })).status, 400);
  const d = await post(pending, { ACTION: 'DELETE' });
  assert.equal(d.status, 303);
  assert.equal((await get(pending)).status, 404);
  // Bad parameters: the job is created, and fails when run.
  const bad = await createJob({ LANG: 'PQL', QUERY: 'x', PHASE: 'RUN' });
  const bx = await waitDone(bad);
  assert.equal(tag(bx, 'phase'), 'ERROR');
  assert.match(bx, /LANG=PQL is not supported/);
});

test('async: ABORT of an EXECUTING job cancels its SQL — the next job (concurrency 1) does not wait for it', async () => {
  // Seven self-joins of ObsCore: billions of rows, minutes of work unless cancelled.
  const from = Array.from({ length: 7 }, (_, i) => `ivoa.obscore t${i}`).join(', ');
  const slow = await createJob({ LANG: 'ADQL', QUERY: `SELECT COUNT(*) AS n FROM ${from}`, PHASE: 'RUN' });
  for (let i = 0; i < 100 && (await (await get(`${slow}/phase`)).text()) !== 'EXECUTING\n'; i++)
    await new Promise((r) => setTimeout(r, 50));
  assert.equal(await (await get(`${slow}/phase`)).text(), 'EXECUTING\n');
  const t0 = Date.now();
  assert.equal((await post(`${slow}/phase`, { PHASE: 'ABORT' })).status, 303);
  assert.equal(await (await get(`${slow}/phase`)).text(), 'ABORTED\n');
  const next = await createJob({
    LANG: 'ADQL',
    QUERY: 'SELECT TOP 1 obs_id FROM ivoa.obscore',
    PHASE: 'RUN',
  });
  const x = await waitDone(next);
  assert.equal(tag(x, 'phase'), 'COMPLETED', x);
  // Without the cancel the only query slot stays busy until the slow job's duration (600 s) ends.
  assert.ok(Date.now() - t0 < 30_000, `the next job ran ${Date.now() - t0} ms after the abort`);
  assert.equal(await (await get(`${slow}/phase`)).text(), 'ABORTED\n', 'still ABORTED, never COMPLETED');
});

test('async: destruction time set, then the job and its result are deleted after it', async () => {
  const job = await createJob(
    { LANG: 'ADQL', QUERY: 'SELECT TOP 1 obs_id FROM ivoa.obscore', PHASE: 'RUN' },
    'cy',
  );
  assert.equal(tag(await waitDone(job, 'cy'), 'phase'), 'COMPLETED');
  const id = job.split('/').pop() as string;
  assert.equal((await fx.lake.zones.derived.list({ prefix: `tap/jobs/${id}/` })).objects.length, 1);
  const soon = new Date(Date.now() + 300).toISOString();
  assert.equal((await post(`${job}/destruction`, { DESTRUCTION: soon }, 'cy')).status, 303);
  assert.equal(await (await get(`${job}/destruction`, 'cy')).text(), `${soon}\n`);
  await new Promise((r) => setTimeout(r, 800));
  const row = await fx.lake.catalog.db
    .selectFrom('tap_jobs')
    .select('id')
    .where('id', '=', id)
    .executeTakeFirst();
  assert.equal(row, undefined, 'swept from the catalog');
  assert.equal((await fx.lake.zones.derived.list({ prefix: `tap/jobs/${id}/` })).objects.length, 0);
  assert.equal((await get(job, 'cy')).status, 404);
});

test('async: jobs survive a restart — a COMPLETED result is served, an EXECUTING job becomes ERROR, QUEUED runs', async () => {
  const done = await createJob(
    {
      LANG: 'ADQL',
      QUERY: 'SELECT TOP 2 obs_id FROM ivoa.obscore ORDER BY obs_id',
      PHASE: 'RUN',
      FORMAT: 'csv',
    },
    'ada',
  );
  assert.equal(tag(await waitDone(done, 'ada'), 'phase'), 'COMPLETED');
  const before = await (await get(`${done}/results/result`, 'ada')).text();
  const running = await createJob({ LANG: 'ADQL', QUERY: 'SELECT obs_id FROM ivoa.obscore' }, 'ada');
  const queued = await createJob({ LANG: 'ADQL', QUERY: 'SELECT TOP 1 obs_id FROM ivoa.obscore' }, 'ada');
  await fx.srv.close();
  // As a crash would leave them.
  const db = fx.lake.catalog.db;
  await db
    .updateTable('tap_jobs')
    .set({ phase: 'EXECUTING', started_at: new Date().toISOString() })
    .where('id', '=', running.split('/').pop() as string)
    .execute();
  await db
    .updateTable('tap_jobs')
    .set({ phase: 'QUEUED' })
    .where('id', '=', queued.split('/').pop() as string)
    .execute();
  restarted = await startServer(fx.lake, { plugins: [plugin], rateLimit: 0 });
  fx.srv = restarted;
  const oldUrl = url;
  url = fx.srv.url;
  const rel = (p: string) => p.replace(oldUrl, '');
  const after = await get(`${rel(done)}/results/result`, 'ada');
  assert.equal(after.status, 200);
  assert.equal(await after.text(), before);
  assert.match(before, /^obs_id\n/);
  const x = await (await get(rel(running), 'ada')).text();
  assert.equal(tag(x, 'phase'), 'ERROR');
  assert.match(x, /interrupted by a server restart/);
  assert.equal(tag(await waitDone(rel(queued), 'ada'), 'phase'), 'COMPLETED');
});
