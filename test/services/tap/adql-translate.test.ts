// ADQL translated and run on a real SQLite file and a real PostgreSQL: a few hundred observations
// crowded where archives go wrong (RA 0/360, both poles), each answer compared with a brute-force
// computation in JS (sky.ts's geometry), and the same queries compared across the two engines.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import type { Catalog } from '../../../src/catalog/catalog.ts';
import {
  boxRegion,
  intersects,
  observationCells,
  parseRegion,
  type Region,
  separation,
} from '../../../src/catalog/sky.ts';
import { seededRandom } from '../../../src/demo/sample-night.ts';
import {
  AdqlError,
  type ColumnMeta,
  POSTGRES_GEOMETRY_FUNCTIONS,
  registerSqliteGeometry,
  type TableResolver,
  translateAdql,
} from '../../../src/services/tap/adql/index.ts';
import { area } from '../../../src/catalog/sql-geometry.ts';
import { type Engine, ENGINES, useEngines } from '../../util/engines.ts';

const closers: (() => Promise<void> | void)[] = [];
// Registered before useEngines' own after(), so connections close before its PostgreSQL stops.
after(async () => {
  for (const c of closers) await c();
});
const engines = useEngines(55442);
const D2R = Math.PI / 180;
const norm360 = (ra: number) => ((ra % 360) + 360) % 360;

// ---------------------------------------------------------------- the data

interface Obs {
  id: number;
  obs_id: string;
  obs_collection: string;
  s_ra: number | null;
  s_dec: number | null;
  s_region: string | null;
  t_exptime: number | null;
  instrument_name: string | null;
  target_name: string | null;
}

function destination(ra: number, dec: number, pa: number, dist: number): [number, number] {
  const [l, b, d, t] = [ra * D2R, dec * D2R, dist * D2R, pa * D2R];
  const b2 = Math.asin(
    Math.max(-1, Math.min(1, Math.sin(b) * Math.cos(d) + Math.cos(b) * Math.sin(d) * Math.cos(t))),
  );
  const l2 =
    l + Math.atan2(Math.sin(t) * Math.sin(d) * Math.cos(b), Math.cos(d) - Math.sin(b) * Math.sin(b2));
  return [norm360(l2 / D2R), b2 / D2R];
}

function position(rand: () => number): [number, number] {
  const k = rand();
  if (k < 0.3) return [rand() * 360, Math.asin(2 * rand() - 1) / D2R];
  if (k < 0.55) return [norm360((rand() - 0.5) * 8), (rand() - 0.5) * 20]; // across RA 0/360
  if (k < 0.75) return [rand() * 360, 90 - rand() * 4]; // north pole
  return [rand() * 360, -90 + rand() * 4]; // south pole
}

/** A square footprint centred on the position (rotated squares near the poles). */
function footprint(rand: () => number, ra: number, dec: number, half: number): Region {
  if (Math.abs(dec) + half < 80) {
    const w = half / Math.cos(dec * D2R);
    return boxRegion(ra - w, ra + w, dec - half, dec + half);
  }
  const rot = rand() * 90;
  return {
    type: 'polygon',
    vertices: [45, 135, 225, 315].map((pa) => destination(ra, dec, pa + rot, half * Math.SQRT2)),
  };
}

const sRegion = (r: Region) =>
  r.type === 'circle'
    ? `CIRCLE ICRS ${norm360(r.ra)} ${r.dec} ${r.radius}`
    : `POLYGON ICRS ${r.vertices.map(([a, d]) => `${norm360(a)} ${d}`).join(' ')}`;

const INSTRUMENTS = ['WFC3', 'ACS', 'NIRCam', null];
const TARGETS = ['M31 field', 'm31 core', 'NGC 1300', 'Sgr_A*', '50%_off', null];

function synthetic(n: number): Omit<Obs, 'id'>[] {
  const rand = seededRandom(5);
  const out: Omit<Obs, 'id'>[] = [];
  for (let i = 0; i < n; i++) {
    let [ra, dec]: [number | null, number | null] = position(rand);
    let region: Region | null = null;
    const k = rand();
    if (k < 0.7) region = footprint(rand, ra, dec, 0.05 + rand() * 1.5);
    else if (k < 0.78) region = { type: 'circle', ra, dec, radius: 0.1 + rand() * 0.8 };
    else if (k < 0.8)
      region = { type: 'circle', ra, dec, radius: 35 }; // indexed under ALL_SKY
    else if (k < 0.83) [ra, dec] = [null, null];
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
    out.push({
      obs_id: `obs-${i}`,
      obs_collection: pick(['hst', 'jwst']),
      s_ra: ra,
      s_dec: dec,
      s_region: region ? sRegion(region) : null,
      t_exptime: rand() < 0.9 ? Math.round(1 + rand() * 3600) : null,
      instrument_name: pick(INSTRUMENTS),
      target_name: pick(TARGETS),
    });
  }
  return out;
}

const DATA = synthetic(700);

const OBSCORE_COLUMNS: ColumnMeta[] = [
  { name: 'id', datatype: 'long' },
  { name: 'obs_id', datatype: 'char' },
  { name: 'obs_collection', datatype: 'char' },
  { name: 's_ra', datatype: 'double', unit: 'deg', ucd: 'pos.eq.ra' },
  { name: 's_dec', datatype: 'double', unit: 'deg', ucd: 'pos.eq.dec' },
  { name: 's_region', datatype: 'char', xtype: 'adql:REGION' } as ColumnMeta,
  { name: 't_exptime', datatype: 'double', unit: 's' },
  { name: 'instrument_name', datatype: 'char' },
  { name: 'target_name', datatype: 'char' },
];

const resolve: TableResolver = (schema, name) => {
  const s = schema?.toLowerCase();
  const n = name.toLowerCase();
  if ((s === 'ivoa' || s === undefined) && n === 'obscore')
    return {
      sql: `(SELECT ${OBSCORE_COLUMNS.map((c) => c.name).join(', ')} FROM observations)`,
      columns: OBSCORE_COLUMNS,
      spatial: { ra: 's_ra', dec: 's_dec', region: 's_region', idColumn: 'id' },
    };
  if (s === 'tap_schema' && n === 'tables')
    return {
      sql: "(SELECT 'ivoa' AS schema_name, 'ivoa.obscore' AS table_name UNION ALL SELECT 'tap_schema', 'TAP_SCHEMA.tables')",
      columns: [
        { name: 'schema_name', datatype: 'char' },
        { name: 'table_name', datatype: 'char' },
      ],
    };
  return undefined;
};

// ---------------------------------------------------------------- the engines

type Row = Record<string, unknown>;
interface Runner {
  engine: Engine;
  run(adql: string, maxrec?: number): Promise<Row[]>;
  sqlOf(adql: string): string;
}

const runners: Runner[] = [];
let rows: Obs[] = [];

async function load(cat: Catalog): Promise<Obs[]> {
  await cat.migrate();
  const now = '2024-01-01T00:00:00Z';
  const ids = await cat.db
    .insertInto('observations')
    .values(DATA.map((o) => ({ ...o, created_at: now, updated_at: now })))
    .returning('id')
    .execute();
  const cells: { observation_id: number; cell: number }[] = [];
  DATA.forEach((o, j) => {
    const region = o.s_region ? parseRegion(o.s_region) : null;
    for (const cell of observationCells(region, o.s_ra, o.s_dec))
      cells.push({ observation_id: Number(ids[j].id), cell });
  });
  for (let j = 0; j < cells.length; j += 2000)
    await cat.db
      .insertInto('observation_cells')
      .values(cells.slice(j, j + 2000))
      .execute();
  return DATA.map((o, j) => ({ ...o, id: Number(ids[j].id) }));
}

before(async () => {
  for (const engine of ENGINES) {
    const { cat } = await engines(engine);
    const loaded = await load(cat);
    if (engine === 'sqlite') {
      rows = loaded;
      const opts = cat.options as { path: string };
      await cat.close();
      // As the query child runs it: a read-only connection with the geometry functions registered.
      const db = new BetterSqlite3(opts.path, { readonly: true });
      registerSqliteGeometry(db);
      closers.push(() => {
        db.close();
      });
      runners.push({
        engine,
        sqlOf: (q) => translateAdql(q, { dialect: 'sqlite', resolve }).sql,
        run: async (q, maxrec) =>
          db.prepare(translateAdql(q, { dialect: 'sqlite', resolve, maxrec }).sql).all() as Row[],
      });
    } else {
      for (const f of POSTGRES_GEOMETRY_FUNCTIONS) await sql.raw(f).execute(cat.db);
      closers.push(() => cat.close());
      runners.push({
        engine,
        sqlOf: (q) => translateAdql(q, { dialect: 'postgres', resolve }).sql,
        run: async (q, maxrec) =>
          (await sql.raw(translateAdql(q, { dialect: 'postgres', resolve, maxrec }).sql).execute(cat.db))
            .rows as Row[],
      });
    }
  }
});

/** Runs on both engines; returns the rows of each (asserting they agree). */
async function both(adql: string, opts: { ordered?: boolean } = {}): Promise<Row[]> {
  const [a, b] = await Promise.all(runners.map((r) => r.run(adql)));
  const canon = (rs: Row[]) => {
    const out = rs.map((r) =>
      JSON.stringify(Object.values(r).map((v) => (typeof v === 'number' ? Number(v.toPrecision(10)) : v))),
    );
    return opts.ordered ? out : out.sort();
  };
  assert.deepEqual(canon(b), canon(a), `engines disagree on ${adql}`);
  return a;
}

const ids = (rs: Row[]) => rs.map((r) => Number(r.id)).sort((x, y) => x - y);
const truth = (f: (o: Obs) => boolean) =>
  rows
    .filter(f)
    .map((o) => o.id)
    .sort((x, y) => x - y);
const fp = (o: Obs): Region | null => (o.s_region ? parseRegion(o.s_region) : null);

// ---------------------------------------------------------------- spatial

const CONES: [number, number, number][] = [
  [0, 0, 3], // straddles RA 0/360
  [359.5, 2, 2.5],
  [0.5, -3, 4],
  [0, 90, 3], // centred on the north pole
  [123, 88.5, 2.5], // reaching over the north pole
  [200, -89, 2], // over the south pole
  [0, -90, 5],
  [45, 30, 40], // a big one
  [10.68, 41.27, 0.5],
];

describe('cone search: CONTAINS(POINT, CIRCLE)', () => {
  for (const [ra, dec, r] of CONES) {
    test(`cone (${ra}, ${dec}, ${r}) on both engines matches the brute force`, async () => {
      const q = `SELECT id FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', ${ra}, ${dec}, ${r}))`;
      const want = truth(
        (o) => o.s_ra !== null && o.s_dec !== null && separation(o.s_ra, o.s_dec, ra, dec) <= r,
      );
      assert.ok(want.length > 0 || r < 1, 'the cone should hold observations');
      for (const run of runners) {
        assert.match(run.sqlOf(q), /observation_cells/, 'uses the HEALPix index');
        assert.deepEqual(ids(await run.run(q)), want, run.engine);
      }
    });
  }

  test('a CIRCLE given a POINT, and = 0 (the complement, no index)', async () => {
    const q = 'SELECT id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(POINT(0, 0), 3)) = 0';
    const want = truth((o) => o.s_ra !== null && o.s_dec !== null && separation(o.s_ra, o.s_dec, 0, 0) > 3);
    for (const run of runners) {
      assert.doesNotMatch(run.sqlOf(q), /observation_cells/);
      assert.deepEqual(ids(await run.run(q)), want, run.engine);
    }
  });
});

const POLYGONS: [string, [number, number][]][] = [
  [
    'across RA 0',
    [
      [358, -3],
      [3, -3],
      [3, 4],
      [358, 4],
    ],
  ],
  [
    'a triangle across RA 0',
    [
      [355, -5],
      [5, -2],
      [359, 6],
    ],
  ],
  [
    'around the north pole',
    [
      [0, 86],
      [90, 86],
      [180, 86],
      [270, 86],
    ],
  ],
  [
    'around the south pole',
    [
      [0, -87],
      [120, -87],
      [240, -87],
    ],
  ],
  [
    'touching the south pole region',
    [
      [10, -80],
      [60, -80],
      [60, -88],
      [10, -88],
    ],
  ],
  [
    'concave, across RA 0',
    [
      [356, -4],
      [4, -4],
      [4, 4],
      [0, 0],
      [356, 4],
    ],
  ],
];

describe('polygon search', () => {
  for (const [label, v] of POLYGONS) {
    const poly = `POLYGON('ICRS', ${v.flat().join(', ')})`;
    const region: Region = { type: 'polygon', vertices: v };
    test(`CONTAINS(POINT, POLYGON) ${label}`, async () => {
      const q = `SELECT id FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), ${poly}) = 1`;
      const want = truth(
        (o) =>
          o.s_ra !== null &&
          o.s_dec !== null &&
          intersects(region, { type: 'circle', ra: o.s_ra, dec: o.s_dec, radius: 0 }),
      );
      assert.ok(want.length > 0, 'the polygon should hold observations');
      for (const run of runners) {
        assert.match(run.sqlOf(q), /observation_cells/);
        assert.deepEqual(ids(await run.run(q)), want, run.engine);
      }
    });
    test(`INTERSECTS(s_region, POLYGON) ${label}`, async () => {
      const q = `SELECT id FROM ivoa.obscore WHERE INTERSECTS(s_region, ${poly}) = 1`;
      const want = truth((o) => {
        const f = fp(o);
        return f !== null && intersects(region, f);
      });
      for (const run of runners) {
        assert.match(run.sqlOf(q), /observation_cells/);
        assert.deepEqual(ids(await run.run(q)), want, run.engine);
      }
    });
  }

  for (const [ra, dec, r] of CONES.slice(0, 7)) {
    test(`INTERSECTS(s_region, CIRCLE(${ra}, ${dec}, ${r})) and the reversed argument order`, async () => {
      const want = truth((o) => {
        const f = fp(o);
        return f !== null && intersects({ type: 'circle', ra, dec, radius: r }, f);
      });
      assert.ok(want.length > 0);
      for (const q of [
        `SELECT id FROM ivoa.obscore WHERE INTERSECTS(s_region, CIRCLE('ICRS', ${ra}, ${dec}, ${r})) = 1`,
        `SELECT id FROM ivoa.obscore WHERE 1 = INTERSECTS(CIRCLE(${ra}, ${dec}, ${r}), s_region)`,
      ])
        for (const run of runners) assert.deepEqual(ids(await run.run(q)), want, `${run.engine}: ${q}`);
    });
  }

  test('BOX across RA 0 is the polygon of its corners', async () => {
    const q = 'SELECT id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), BOX(0, 0, 6, 4)) = 1';
    const region: Region = {
      type: 'polygon',
      vertices: [
        [-3, -2],
        [3, -2],
        [3, 2],
        [-3, 2],
      ],
    };
    const want = truth(
      (o) =>
        o.s_ra !== null &&
        o.s_dec !== null &&
        intersects(region, { type: 'circle', ra: o.s_ra, dec: o.s_dec, radius: 0 }),
    );
    assert.ok(want.length > 0);
    for (const run of runners) assert.deepEqual(ids(await run.run(q)), want, run.engine);
  });

  test('shapes built from columns go through the exact functions, without the index', async () => {
    // Which observations' 2° circles reach into a polygon at the north pole?
    const region: Region = {
      type: 'polygon',
      vertices: [
        [0, 86],
        [90, 86],
        [180, 86],
        [270, 86],
      ],
    };
    const q = `SELECT id FROM ivoa.obscore WHERE INTERSECTS(CIRCLE(s_ra, s_dec, 2), POLYGON(0, 86, 90, 86, 180, 86, 270, 86)) = 1`;
    const want = truth(
      (o) =>
        o.s_ra !== null &&
        o.s_dec !== null &&
        intersects(region, { type: 'circle', ra: o.s_ra, dec: o.s_dec, radius: 2 }),
    );
    assert.ok(want.length > 0);
    for (const run of runners) {
      assert.doesNotMatch(run.sqlOf(q), /observation_cells/);
      assert.deepEqual(ids(await run.run(q)), want, run.engine);
    }
  });

  test('a join on distance (no literal: the exact test alone)', async () => {
    const q = `SELECT a.id AS a, b.id AS b FROM ivoa.obscore AS a JOIN ivoa.obscore AS b
      ON 1 = CONTAINS(POINT(a.s_ra, a.s_dec), CIRCLE(b.s_ra, b.s_dec, 0.5)) WHERE a.id < b.id AND a.s_dec > 85`;
    const want: string[] = [];
    for (const a of rows)
      for (const b of rows)
        if (
          a.id < b.id &&
          a.s_dec !== null &&
          a.s_dec > 85 &&
          b.s_dec !== null &&
          a.s_ra !== null &&
          b.s_ra !== null &&
          separation(a.s_ra, a.s_dec, b.s_ra, b.s_dec) <= 0.5
        )
          want.push(`${a.id}-${b.id}`);
    assert.ok(want.length > 0);
    for (const run of runners) {
      assert.doesNotMatch(run.sqlOf(q), /observation_cells/);
      const got = (await run.run(q)).map((r) => `${r.a}-${r.b}`).sort();
      assert.deepEqual(got, want.sort(), run.engine);
    }
  });

  test('DISTANCE, COORD1, COORD2 and AREA', async () => {
    const q = `SELECT id, DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', 0, 90)) AS d, DISTANCE(s_ra, s_dec, 359.9, -0.1) AS d2,
      COORD1(POINT(s_ra, s_dec)) AS c1, COORD2(POINT(s_ra, s_dec)) AS c2, AREA(s_region) AS a,
      AREA(CIRCLE(s_ra, s_dec, 1)) AS ac FROM ivoa.obscore WHERE s_ra IS NOT NULL ORDER BY id`;
    const res = await both(q, { ordered: true });
    const byId = new Map(rows.map((o) => [o.id, o]));
    for (const r of res) {
      const o = byId.get(Number(r.id)) as Obs;
      const [ra, dec] = [o.s_ra as number, o.s_dec as number];
      assert.ok(Math.abs((r.d as number) - separation(ra, dec, 0, 90)) < 1e-9);
      assert.ok(Math.abs((r.d2 as number) - separation(ra, dec, 359.9, -0.1)) < 1e-9);
      assert.equal(r.c1, ra);
      assert.equal(r.c2, dec);
      const f = fp(o);
      if (f)
        assert.ok(Math.abs((r.a as number) - area(f)) < 1e-6 * Math.max(1, area(f)), `area of ${o.s_region}`);
      else assert.equal(r.a, null);
      assert.ok(Math.abs((r.ac as number) - area({ type: 'circle', ra, dec, radius: 1 })) < 1e-9);
    }
    // A 1° square on the equator: about 1 square degree; a hemisphere-sized cap: 2π sr.
    const [k] = await both(
      'SELECT AREA(BOX(10, 0, 1, 1)) AS box, AREA(CIRCLE(0, 0, 90)) AS cap, DISTANCE(POINT(359.5, 0), POINT(0.5, 0)) AS wrap FROM ivoa.obscore WHERE id = 1',
    );
    assert.ok(Math.abs((k.box as number) - 1) < 1e-3);
    assert.ok(Math.abs((k.cap as number) - 2 * Math.PI * (180 / Math.PI) ** 2) < 1e-6);
    assert.ok(Math.abs((k.wrap as number) - 1) < 1e-12);
  });
});

// ---------------------------------------------------------------- relational

describe('relational ADQL on both engines', () => {
  test('TOP, ORDER BY, OFFSET and MAXREC', async () => {
    const res = await both('SELECT TOP 5 id, obs_id FROM ivoa.obscore ORDER BY id DESC OFFSET 2', {
      ordered: true,
    });
    const want = rows
      .map((o) => o.id)
      .sort((a, b) => b - a)
      .slice(2, 7);
    assert.deepEqual(
      res.map((r) => Number(r.id)),
      want,
    );
    for (const run of runners) assert.equal((await run.run('SELECT id FROM ivoa.obscore', 10)).length, 11);
    for (const run of runners)
      assert.equal((await run.run('SELECT TOP 3 id FROM ivoa.obscore', 10)).length, 3);
  });

  test('GROUP BY with HAVING, aggregates and ORDER BY an alias and an ordinal', async () => {
    const res = await both(
      `SELECT instrument_name AS inst, COUNT(*) AS n, COUNT(DISTINCT obs_collection) AS nc, SUM(t_exptime) AS total,
        AVG(t_exptime) AS mean, MIN(t_exptime) AS lo, MAX(t_exptime) AS hi
       FROM ivoa.obscore WHERE instrument_name IS NOT NULL GROUP BY instrument_name HAVING COUNT(*) > 10 ORDER BY n DESC, 1`,
      { ordered: true },
    );
    const groups = new Map<string, Obs[]>();
    for (const o of rows)
      if (o.instrument_name) groups.set(o.instrument_name, [...(groups.get(o.instrument_name) ?? []), o]);
    const want = [...groups]
      .filter(([, g]) => g.length > 10)
      .map(([inst, g]) => {
        const t = g.map((o) => o.t_exptime).filter((x): x is number => x !== null);
        return {
          inst,
          n: g.length,
          total: t.reduce((a, b) => a + b, 0),
          mean: t.reduce((a, b) => a + b, 0) / t.length,
          lo: Math.min(...t),
          hi: Math.max(...t),
        };
      })
      .sort((a, b) => b.n - a.n || (a.inst < b.inst ? -1 : 1));
    assert.deepEqual(
      res.map((r) => [r.inst, Number(r.n), Number(r.total), Number(r.lo), Number(r.hi)]),
      want.map((w) => [w.inst, w.n, w.total, w.lo, w.hi]),
    );
    for (const [i, r] of res.entries()) assert.ok(Math.abs((r.mean as number) - want[i].mean) < 1e-9);
    assert.ok(res.every((r) => Number(r.nc) === 2));
  });

  test('set operations: UNION, UNION ALL, INTERSECT, EXCEPT and their precedence', async () => {
    const north = truth((o) => o.s_dec !== null && o.s_dec > 80);
    const hst = truth((o) => o.obs_collection === 'hst');
    const wfc3 = truth((o) => o.instrument_name === 'WFC3');
    const N = 'SELECT id FROM ivoa.obscore WHERE s_dec > 80';
    const H = "SELECT id FROM ivoa.obscore WHERE obs_collection = 'hst'";
    const W = "SELECT id FROM ivoa.obscore WHERE instrument_name = 'WFC3'";
    const set = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b);
    assert.deepEqual(ids(await both(`${N} UNION ${H}`)), set([...north, ...hst]));
    assert.equal((await both(`${N} UNION ALL ${H}`)).length, north.length + hst.length);
    assert.deepEqual(
      ids(await both(`${N} INTERSECT ${H}`)),
      north.filter((x) => hst.includes(x)),
    );
    assert.deepEqual(
      ids(await both(`${N} EXCEPT ${H}`)),
      north.filter((x) => !hst.includes(x)),
    );
    // INTERSECT binds tighter: N ∪ (H ∩ W), not (N ∪ H) ∩ W.
    assert.deepEqual(
      ids(await both(`${N} UNION ${H} INTERSECT ${W}`)),
      set([...north, ...hst.filter((x) => wfc3.includes(x))]),
    );
    assert.deepEqual(
      ids(await both(`(${N} UNION ${H}) INTERSECT ${W}`)),
      set([...north, ...hst]).filter((x) => wfc3.includes(x)),
    );
    // Left to right: (N ∪ H) − W.
    assert.deepEqual(
      ids(await both(`${N} UNION ${H} EXCEPT ${W}`)),
      set([...north, ...hst]).filter((x) => !wfc3.includes(x)),
    );
    const top = await both(`${N} UNION ${H} ORDER BY id DESC OFFSET 1`, { ordered: true });
    assert.deepEqual(
      top.map((r) => Number(r.id)),
      set([...north, ...hst])
        .reverse()
        .slice(1),
    );
  });

  test('subqueries: IN, NOT IN, EXISTS, scalar, in FROM; WITH', async () => {
    const maxExp = Math.max(...rows.map((o) => o.t_exptime ?? 0));
    assert.deepEqual(
      ids(
        await both('SELECT id FROM ivoa.obscore WHERE t_exptime = (SELECT MAX(t_exptime) FROM ivoa.obscore)'),
      ),
      truth((o) => o.t_exptime === maxExp),
    );
    assert.deepEqual(
      ids(
        await both(
          "SELECT id FROM ivoa.obscore WHERE id IN (SELECT id FROM ivoa.obscore WHERE target_name = 'NGC 1300')",
        ),
      ),
      truth((o) => o.target_name === 'NGC 1300'),
    );
    assert.deepEqual(
      ids(
        await both(
          "SELECT id FROM ivoa.obscore AS o WHERE NOT EXISTS (SELECT 1 FROM ivoa.obscore AS p WHERE p.id = o.id AND p.obs_collection = 'hst')",
        ),
      ),
      truth((o) => o.obs_collection !== 'hst'),
    );
    const [c] = await both(
      'SELECT COUNT(*) AS n FROM (SELECT DISTINCT instrument_name FROM ivoa.obscore) AS x',
    );
    assert.equal(Number(c.n), new Set(rows.map((o) => o.instrument_name)).size);
    const w = await both(
      `WITH north (oid, dec) AS (SELECT id, s_dec FROM ivoa.obscore WHERE s_dec > 86), far AS (SELECT oid FROM north WHERE dec > 88)
       SELECT oid FROM far ORDER BY oid`,
      { ordered: true },
    );
    assert.deepEqual(
      w.map((r) => Number(r.oid)),
      truth((o) => o.s_dec !== null && o.s_dec > 88),
    );
  });

  test('joins: INNER, LEFT, RIGHT, FULL, NATURAL, USING, comma', async () => {
    const a = '(SELECT id, obs_collection FROM ivoa.obscore WHERE s_dec > 88) AS a';
    const b = "(SELECT id, instrument_name FROM ivoa.obscore WHERE instrument_name = 'ACS') AS b";
    const A = truth((o) => o.s_dec !== null && o.s_dec > 88);
    const B = truth((o) => o.instrument_name === 'ACS');
    const inner = A.filter((x) => B.includes(x));
    assert.deepEqual(ids(await both(`SELECT a.id FROM ${a} INNER JOIN ${b} ON a.id = b.id`)), inner);
    assert.deepEqual(ids(await both(`SELECT id FROM ${a} JOIN ${b} USING (id)`)), inner);
    assert.deepEqual(ids(await both(`SELECT id FROM ${a} NATURAL JOIN ${b}`)), inner);
    assert.deepEqual(ids(await both(`SELECT a.id FROM ${a}, ${b} WHERE a.id = b.id`)), inner);
    const left = await both(`SELECT id, instrument_name FROM ${a} LEFT OUTER JOIN ${b} USING (id)`);
    assert.deepEqual(ids(left), A);
    assert.equal(left.filter((r) => r.instrument_name === 'ACS').length, inner.length);
    assert.deepEqual(ids(await both(`SELECT id FROM ${a} RIGHT JOIN ${b} USING (id)`)), B);
    assert.deepEqual(
      ids(await both(`SELECT id FROM ${a} FULL OUTER JOIN ${b} USING (id)`)),
      [...new Set([...A, ...B])].sort((x, y) => x - y),
    );
    const star = await both(`SELECT * FROM ${a} NATURAL JOIN ${b}`);
    assert.deepEqual(Object.keys(star[0] ?? { id: 0, obs_collection: 0, instrument_name: 0 }), [
      'id',
      'obs_collection',
      'instrument_name',
    ]);
  });

  test('LIKE is case-sensitive and ILIKE is not, on both engines; % and _ only are wildcards', async () => {
    assert.deepEqual(
      ids(await both("SELECT id FROM ivoa.obscore WHERE target_name LIKE 'M31%'")),
      truth((o) => o.target_name === 'M31 field'),
    );
    assert.deepEqual(
      ids(await both("SELECT id FROM ivoa.obscore WHERE target_name ILIKE 'm31%'")),
      truth((o) => !!o.target_name?.toLowerCase().startsWith('m31')),
    );
    assert.deepEqual(
      ids(await both("SELECT id FROM ivoa.obscore WHERE target_name LIKE 'Sgr_A*'")),
      truth((o) => o.target_name === 'Sgr_A*'),
    );
    // No escape character in ADQL: a backslash is an ordinary character.
    assert.deepEqual(
      ids(await both("SELECT id FROM ivoa.obscore WHERE target_name NOT LIKE '%\\_%'")),
      truth((o) => o.target_name !== null),
    );
    assert.deepEqual(
      ids(
        await both("SELECT id FROM ivoa.obscore WHERE target_name LIKE '50!%%' OR target_name LIKE '__\\%'"),
      ),
      [],
    );
    assert.deepEqual(
      ids(await both("SELECT id FROM ivoa.obscore WHERE target_name LIKE lower('M31') || '%'")),
      truth((o) => o.target_name === 'm31 core'),
    );
  });

  test('math and string functions agree across engines and with JS', async () => {
    const [r] =
      await both(`SELECT ABS(-2.5) AS abs, CEILING(1.2) AS ceil, FLOOR(-1.5) AS fl, DEGREES(PI()) AS deg, RADIANS(180) AS rad,
      EXP(1) AS e, LOG(10) AS ln, LOG10(1000) AS lg, MOD(7, 3) AS m, MOD(7.5, 2) AS m2, POWER(2, 10) AS pw, SQRT(2) AS sq,
      ROUND(2.567, 2) AS r2, ROUND(-2.5) AS r0, TRUNCATE(2.567, 2) AS t2, TRUNCATE(-2.7) AS t0,
      ACOS(0.5) AS acos, ASIN(0.5) AS asin, ATAN(1) AS atan, ATAN2(1, 2) AS atan2, COS(1) AS cos, COT(1) AS cot, SIN(1) AS sin, TAN(1) AS tan,
      LOWER('AbC') AS lo, UPPER('AbC') AS up, TRIM('  x  ') AS tr, 'a' || 'b' || 1 AS cat, 0x1F AS hex, 7 / 2 AS idiv, 7.0 / 2 AS div,
      CAST(2.7 AS INTEGER) AS ci, CAST(-2.7 AS BIGINT) AS cb, CAST(12 AS VARCHAR(1)) AS cv, CAST('3.5' AS DOUBLE PRECISION) AS cd,
      CASE WHEN 1 < 2 THEN 'yes' ELSE 'no' END AS c1, CASE 2 WHEN 1 THEN 'one' WHEN 2 THEN 'two' END AS c2
      FROM ivoa.obscore WHERE id = 1`);
    const want: Record<string, unknown> = {
      abs: 2.5,
      ceil: 2,
      fl: -2,
      deg: 180,
      rad: Math.PI,
      e: Math.E,
      ln: Math.log(10),
      lg: 3,
      m: 1,
      m2: 1.5,
      pw: 1024,
      sq: Math.SQRT2,
      r2: 2.57,
      r0: -3,
      t2: 2.56,
      t0: -2,
      acos: Math.acos(0.5),
      asin: Math.asin(0.5),
      atan: Math.atan(1),
      atan2: Math.atan2(1, 2),
      cos: Math.cos(1),
      cot: 1 / Math.tan(1),
      sin: Math.sin(1),
      tan: Math.tan(1),
      lo: 'abc',
      up: 'ABC',
      tr: 'x',
      cat: 'ab1',
      hex: 31,
      idiv: 3,
      div: 3.5,
      ci: 2,
      cb: -2,
      cv: '1',
      cd: 3.5,
      c1: 'yes',
      c2: 'two',
    };
    for (const [k, v] of Object.entries(want)) {
      if (typeof v === 'number') assert.ok(Math.abs(Number(r[k]) - v) < 1e-12, `${k}: ${r[k]} ≠ ${v}`);
      else assert.equal(r[k], v, k);
    }
    for (const run of runners) {
      const rnd = (await run.run('SELECT RAND() AS x, RAND(7) AS y FROM ivoa.obscore')).flatMap((row) => [
        row.x,
        row.y,
      ]);
      assert.ok(
        rnd.every((x) => typeof x === 'number' && x >= 0 && x < 1),
        run.engine,
      );
      assert.ok(new Set(rnd).size > rnd.length / 2, `${run.engine}: RAND varies`);
    }
  });

  test('schema-qualified names resolve through the resolver; the SQL has no schema qualifier', async () => {
    const res = await both("SELECT t.table_name FROM TAP_SCHEMA.tables AS t WHERE t.schema_name = 'ivoa'");
    assert.deepEqual(
      res.map((r) => r.table_name),
      ['ivoa.obscore'],
    );
    const res2 = await both(
      "SELECT TAP_SCHEMA.tables.table_name FROM TAP_SCHEMA.tables WHERE tables.schema_name = 'tap_schema'",
    );
    assert.deepEqual(
      res2.map((r) => r.table_name),
      ['TAP_SCHEMA.tables'],
    );
    for (const run of runners) {
      const s = run.sqlOf('SELECT ivoa.obscore.s_ra FROM ivoa.obscore JOIN TAP_SCHEMA.tables ON 1 = 1');
      // (The resolver's own text mentions 'ivoa.obscore' as data, inside quotes.)
      assert.doesNotMatch(s.replace(/'[^']*'/g, "''"), /\b(main|public|ivoa|tap_schema)\./i);
    }
  });

  test('output columns carry names (unique) and metadata', () => {
    const t = translateAdql(
      'SELECT TOP 3 a.s_ra, b.s_ra, COUNT(*) FROM ivoa.obscore AS a, ivoa.obscore AS b GROUP BY a.s_ra, b.s_ra',
      {
        dialect: 'sqlite',
        resolve,
      },
    );
    assert.deepEqual(
      t.columns.map((c) => c.name),
      ['s_ra', 's_ra_2', 'count'],
    );
    assert.equal(t.columns[0].unit, 'deg');
    assert.equal(t.columns[0].ucd, 'pos.eq.ra');
    assert.equal(t.columns[2].datatype, 'long');
    assert.equal(t.top, 3);
  });

  test('unknown tables and columns are named, with their position', () => {
    const cases: [string, RegExp][] = [
      ['SELECT x FROM ivoa.nosuch', /line 1, column 15: unknown table ivoa\.nosuch/],
      ['SELECT nosuch FROM ivoa.obscore', /line 1, column 8: unknown column nosuch/],
      ['SELECT o.s_ra FROM ivoa.obscore AS p', /line 1, column 8: unknown table o in o\.s_ra/],
      ['SELECT id FROM ivoa.obscore AS a, ivoa.obscore AS b', /column id is ambiguous/],
      [
        'SELECT id FROM ivoa.obscore WHERE CONTAINS(s_ra, CIRCLE(0, 0, 1)) = 1',
        /column 44: expected a geometry/,
      ],
      [
        'SELECT id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), POLYGON(0, 0, 180, 0, 90, 89, 270, -89)) = 1',
        /hemisphere/,
      ],
      ['SELECT FOO(id) FROM ivoa.obscore', /unknown function FOO/],
      ['SELECT id FROM ivoa.obscore\nORDER BY 3', /line 2, column 10: ORDER BY position 3/],
    ];
    for (const [q, re] of cases) {
      assert.throws(
        () => translateAdql(q, { dialect: 'sqlite', resolve }),
        (e: unknown) => e instanceof AdqlError && re.test(e.message),
        q,
      );
    }
    assert.throws(
      () =>
        translateAdql('SELECT id FROM ivoa.obscore INTERSECT ALL SELECT id FROM ivoa.obscore', {
          dialect: 'sqlite',
          resolve,
        }),
      AdqlError,
    );
  });
});
