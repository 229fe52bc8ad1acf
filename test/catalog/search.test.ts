// searchObservations on both engines against a brute-force filter over every row: ~2000 synthetic
// observations all over the sky (crowded at RA 0/360 and the poles), random cones, boxes and
// polygons, time ranges and other filters; keyset paging at limit 7; the cells index in the plan.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompiledQuery, sql } from 'kysely';
import type { Catalog } from '../../src/catalog/catalog.ts';
import type { Visibility } from '../../src/catalog/access.ts';
import {
  coarsen,
  countObservations,
  FACETS,
  MAX_LIMIT,
  observationFacets,
  type ObservationQuery,
  type ObservationRow,
  searchObservations,
  searchQuery,
} from '../../src/catalog/search.ts';
import {
  ALL_SKY,
  boxRegion,
  intersects,
  observationCells,
  parseRegion,
  type Region,
  separation,
} from '../../src/catalog/sky.ts';
import { seededRandom } from '../../src/demo/sample-night.ts';
import { ENGINES, useEngines } from '../util/engines.ts';

const engines = useEngines(55437);
const D2R = Math.PI / 180;

const rng = seededRandom;

const norm360 = (ra: number) => ((ra % 360) + 360) % 360;

/** The point at distance `dist` (deg) and position angle `pa` (deg) from (ra, dec). */
function destination(ra: number, dec: number, pa: number, dist: number): [number, number] {
  const [l, b, d, t] = [ra * D2R, dec * D2R, dist * D2R, pa * D2R];
  const b2 = Math.asin(
    Math.max(-1, Math.min(1, Math.sin(b) * Math.cos(d) + Math.cos(b) * Math.sin(d) * Math.cos(t))),
  );
  const l2 =
    l + Math.atan2(Math.sin(t) * Math.sin(d) * Math.cos(b), Math.cos(d) - Math.sin(b) * Math.sin(b2));
  return [norm360(l2 / D2R), b2 / D2R];
}

/** A random position: uniform on the sky, or crowded where archives break (RA 0/360, the poles). */
function randomPosition(rand: () => number, k = rand()): [number, number] {
  if (k < 0.45) return [rand() * 360, Math.asin(2 * rand() - 1) / D2R];
  if (k < 0.6) return [norm360((rand() - 0.5) * 6), (rand() - 0.5) * 120];
  if (k < 0.7) return [rand() * 360, 90 - rand() * 3];
  if (k < 0.8) return [rand() * 360, -90 + rand() * 3];
  // A crowded field, so that searches there return a few hundred rows.
  return destination(150, 2, rand() * 360, 3 * Math.sqrt(rand()));
}

/** A small square footprint: boxRegion away from the poles, a rotated square of offsets near them. */
function squareFootprint(rand: () => number, ra: number, dec: number, half: number): Region {
  if (Math.abs(dec) + half < 85) {
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

const TARGETS = [
  'M31 field 3',
  'NGC 1300',
  'ngc_4993',
  'Sgr A*',
  '50%_off',
  'Orion Nebula',
  'Ωmega Cen',
  null,
];
const INSTRUMENTS = ['WFC3', 'ACS', 'NIRCam', null];
const FILTERS = ['g', 'r', 'F200W', null];
const COLLECTIONS = ['hst', 'jwst', 'ztf'];

type NewObservation = {
  obs_collection: string;
  obs_id: string;
  s_ra: number | null;
  s_dec: number | null;
  s_region: string | null;
  t_min: number | null;
  t_max: number | null;
  t_exptime: number | null;
  instrument_name: string | null;
  filter: string | null;
  target_name: string | null;
  created_at: string;
  updated_at: string;
};

function synthetic(rand: () => number, n: number, collection?: string): NewObservation[] {
  const out: NewObservation[] = [];
  for (let i = 0; i < n; i++) {
    let [ra, dec]: [number | null, number | null] = randomPosition(rand);
    let region: Region | null = null;
    const k = rand();
    if (k < 0.75) region = squareFootprint(rand, ra, dec, 0.02 * 50 ** rand());
    else if (k < 0.8) region = { type: 'circle', ra, dec, radius: 0.05 + rand() * 0.5 };
    else if (k < 0.82)
      region = { type: 'circle', ra, dec, radius: 35 }; // indexed under ALL_SKY
    else if (k < 0.85) [ra, dec] = [null, null]; // no position at all: never in a spatial result
    // k ≥ 0.85: a position without a footprint
    const exptime = rand() < 0.9 ? Math.round(1 + rand() * 3600) : null;
    const tk = rand();
    const t_min = tk < 0.05 ? null : tk < 0.15 ? 59000.25 : 58000 + rand() * 3000;
    const t_max = t_min === null || rand() < 0.2 ? null : t_min + (exptime ?? 60) / 86400;
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
    out.push({
      obs_collection: collection ?? pick(COLLECTIONS),
      obs_id: `${collection ?? 'obs'}-${i}`,
      s_ra: ra,
      s_dec: dec,
      s_region: region ? sRegion(region) : null,
      t_min,
      t_max,
      t_exptime: exptime,
      instrument_name: pick(INSTRUMENTS),
      filter: pick(FILTERS),
      target_name: pick(TARGETS),
      created_at: '2024-01-01T00:00:00Z',
      updated_at: '2024-01-01T00:00:00Z',
    });
  }
  return out;
}

/** Inserts observations and their cells the way ingest does (observationCells of the footprint). */
async function insert(cat: Catalog, obs: NewObservation[]): Promise<void> {
  for (let i = 0; i < obs.length; i += 200) {
    const chunk = obs.slice(i, i + 200);
    const ids = await cat.db.insertInto('observations').values(chunk).returning('id').execute();
    const cells: { observation_id: number; cell: number }[] = [];
    for (const [j, o] of chunk.entries()) {
      const region = o.s_region ? parseRegion(o.s_region) : null;
      for (const cell of observationCells(region, o.s_ra, o.s_dec))
        cells.push({ observation_id: Number(ids[j].id), cell });
    }
    for (let j = 0; j < cells.length; j += 5000)
      await cat.db
        .insertInto('observation_cells')
        .values(cells.slice(j, j + 5000))
        .execute();
  }
}

// ---------------------------------------------------------------- the brute-force truth

function footprint(r: ObservationRow): Region | null {
  const p = r.s_region ? parseRegion(r.s_region) : null;
  if (p) return p;
  return r.s_ra !== null && r.s_dec !== null ? { type: 'circle', ra: r.s_ra, dec: r.s_dec, radius: 0 } : null;
}

/** A cap holding the region (a polygon smaller than a hemisphere lies within its vertices' cap). */
type Cap = { x: number; y: number; z: number; r: number };
function capOf(region: Region): Cap {
  const v = (ra: number, dec: number) => [
    Math.cos(dec * D2R) * Math.cos(ra * D2R),
    Math.cos(dec * D2R) * Math.sin(ra * D2R),
    Math.sin(dec * D2R),
  ];
  if (region.type === 'circle') {
    const [x, y, z] = v(region.ra, region.dec);
    return { x, y, z, r: region.radius };
  }
  const vs = region.vertices.map(([ra, dec]) => v(ra, dec));
  const s = vs.reduce((a, b) => [a[0] + b[0], a[1] + b[1], a[2] + b[2]], [0, 0, 0]);
  const n = Math.hypot(s[0], s[1], s[2]);
  const [x, y, z] = [s[0] / n, s[1] / n, s[2] / n];
  const r = Math.max(...vs.map((p) => Math.acos(Math.min(1, p[0] * x + p[1] * y + p[2] * z)) / D2R));
  return { x, y, z, r: r + 1e-6 };
}
const capsApart = (a: Cap, b: Cap) =>
  Math.acos(Math.max(-1, Math.min(1, a.x * b.x + a.y * b.y + a.z * b.z))) / D2R > a.r + b.r + 1e-6;
const footprintCaps = new WeakMap<ObservationRow, Cap | null>();

function bruteMatches(r: ObservationRow, q: ObservationQuery, qcap?: Cap): boolean {
  if (q.collection !== undefined && r.obs_collection !== q.collection) return false;
  if (q.instrument !== undefined && r.instrument_name !== q.instrument) return false;
  if (q.filter !== undefined && r.filter !== q.filter) return false;
  if (q.target !== undefined && !r.target_name?.toLowerCase().includes(q.target.toLowerCase())) return false;
  if (q.exptimeMin !== undefined && !(r.t_exptime !== null && r.t_exptime >= q.exptimeMin)) return false;
  if (q.exptimeMax !== undefined && !(r.t_exptime !== null && r.t_exptime <= q.exptimeMax)) return false;
  if (q.start !== undefined || q.end !== undefined) {
    if (r.t_min === null) return false;
    const hi = r.t_max ?? r.t_min;
    if (q.end !== undefined && r.t_min > q.end) return false;
    if (q.start !== undefined && hi < q.start) return false;
  }
  if (q.region) {
    const fp = footprint(r);
    if (!fp) return false;
    // Only to save time: regions whose bounding caps are apart cannot meet.
    let fcap = footprintCaps.get(r);
    if (fcap === undefined) footprintCaps.set(r, (fcap = capOf(fp)));
    if (qcap && fcap && capsApart(qcap, fcap)) return false;
    // A point against a cone needs no polygon code: check the distance directly.
    if (fp.type === 'circle' && fp.radius === 0 && q.region.type === 'circle')
      return separation(fp.ra, fp.dec, q.region.ra, q.region.dec) <= q.region.radius;
    return intersects(q.region, fp);
  }
  return true;
}

/** t_min ascending, ties by id, rows without t_min last (by id). */
const byKey = (a: ObservationRow, b: ObservationRow) =>
  a.t_min === b.t_min ? a.id - b.id : a.t_min === null ? 1 : b.t_min === null ? -1 : a.t_min - b.t_min;

function brute(all: ObservationRow[], q: ObservationQuery): ObservationRow[] {
  const qcap = q.region ? capOf(q.region) : undefined;
  return all.filter((r) => bruteMatches(r, q, qcap)).sort(byKey);
}

// ---------------------------------------------------------------- random queries

function randomRegion(rand: () => number, all: ObservationRow[]): Region {
  // Centred on an observation half of the time (so that results are rarely empty), else anywhere.
  const placed = all.filter((r) => r.s_ra !== null);
  let [ra, dec] =
    rand() < 0.5
      ? (() => {
          const r = placed[Math.floor(rand() * placed.length)];
          return destination(r.s_ra!, r.s_dec!, rand() * 360, rand() * 0.5);
        })()
      : randomPosition(rand);
  const size = 0.05 * 200 ** (rand() ** 2); // mostly small, up to 10°
  const k = rand();
  if (k < 0.4) return { type: 'circle', ra, dec, radius: size };
  if (k < 0.7) {
    // A box; near the poles one that reaches the pole.
    if (Math.abs(dec) > 85) {
      const lo = Math.min(89.5, Math.abs(dec) - size / 2);
      return dec > 0 ? boxRegion(ra, ra + 60 + rand() * 300, lo, 90) : boxRegion(ra, ra + 90, -90, -lo);
    }
    dec = Math.max(-80, Math.min(80, dec));
    const w = Math.min(60, size / Math.cos(dec * D2R));
    return boxRegion(ra - w, ra + w, dec - size / 2, Math.min(89, dec + size / 2));
  }
  const n = 3 + Math.floor(rand() * 6);
  const vertices = Array.from({ length: n }, (_, i) =>
    destination(ra, dec, (360 * (i + 0.2 + 0.6 * rand())) / n, size * (0.4 + 0.6 * rand())),
  );
  if (rand() < 0.3) ra = -1; // keep the generator's sequence independent of the branch
  return { type: 'polygon', vertices };
}

function randomQuery(rand: () => number, all: ObservationRow[]): ObservationQuery {
  const q: ObservationQuery = { limit: MAX_LIMIT };
  if (rand() < 0.85) q.region = randomRegion(rand, all);
  if (rand() < 0.4) {
    const a = 58000 + rand() * 3200;
    const b = a + rand() * 1500;
    const k = rand();
    if (k < 0.4) [q.start, q.end] = [a, b];
    else if (k < 0.6) q.start = a;
    else if (k < 0.8) q.end = b;
    else [q.start, q.end] = [59000.25, 59000.25]; // the instant many observations share
  }
  if (rand() < 0.15) q.collection = COLLECTIONS[Math.floor(rand() * 3)];
  if (rand() < 0.15) q.instrument = INSTRUMENTS[Math.floor(rand() * 3)] as string;
  if (rand() < 0.1) q.filter = FILTERS[Math.floor(rand() * 3)] as string;
  if (rand() < 0.1) q.target = ['ngc', 'M31', '_', '%', 'a*', 'ORION'][Math.floor(rand() * 6)];
  if (rand() < 0.1) q.exptimeMin = rand() * 2000;
  if (rand() < 0.1) q.exptimeMax = 500 + rand() * 3000;
  return q;
}

/** Regions where archives usually break: RA 0/360, the poles, large cones and wide boxes. */
const HARD: Region[] = [
  { type: 'circle', ra: 0, dec: 0, radius: 3 },
  { type: 'circle', ra: 359.9, dec: 20, radius: 2 },
  { type: 'circle', ra: 0.1, dec: -30, radius: 4 },
  { type: 'circle', ra: 0, dec: 90, radius: 2 },
  { type: 'circle', ra: 123, dec: 89.9, radius: 0.5 },
  { type: 'circle', ra: 200, dec: -89.5, radius: 3 },
  { type: 'circle', ra: 0, dec: 60, radius: 40 },
  { type: 'circle', ra: 150, dec: 2, radius: 1.5 },
  boxRegion(357, 3, -40, 40),
  boxRegion(-5, 5, 10, 20),
  boxRegion(0, 360, 87, 90),
  boxRegion(0, 360, 88, 89.5),
  boxRegion(30, 120, -90, -86),
  boxRegion(340, 20, -30, 30),
  { type: 'polygon', vertices: [0, 60, 120, 180, 240, 300].map((a) => [a, 88] as [number, number]) },
  { type: 'polygon', vertices: [10, 130, 250].map((a) => [a, -87.5] as [number, number]) },
  {
    type: 'polygon',
    vertices: [
      [350, -5],
      [10, -5],
      [10, 5],
      [350, 5],
    ],
  },
  {
    type: 'polygon',
    vertices: [
      [358, -60],
      [2.5, -50],
      [0, 40],
      [357, 0],
    ],
  },
];

async function all(cat: Catalog): Promise<ObservationRow[]> {
  return cat.db.selectFrom('observations').selectAll().orderBy('id').execute();
}

async function walk(cat: Catalog, q: ObservationQuery, limit: number): Promise<ObservationRow[]> {
  const out: ObservationRow[] = [];
  let cursor: string | undefined;
  for (let pages = 0; ; pages++) {
    assert.ok(pages < 10000, 'paging terminates');
    const page = await searchObservations(cat, { ...q, limit, cursor });
    if (page.next) assert.equal(page.rows.length, limit, 'every page but the last is full');
    else assert.ok(page.rows.length <= limit, 'the last page is not over-full');
    out.push(...page.rows);
    if (!page.next) return out;
    cursor = page.next;
  }
}

const ids = (rows: ObservationRow[]) => rows.map((r) => r.id);
const show = (q: ObservationQuery) =>
  JSON.stringify(q, (_, v) => (typeof v === 'number' ? Math.round(v * 1e6) / 1e6 : v));

// ---------------------------------------------------------------- tests

test('coarsen merges across the smallest gaps and never drops a cell', () => {
  const rand = rng(7);
  for (let i = 0; i < 200; i++) {
    const ranges: [number, number][] = [];
    let at = Math.floor(rand() * 10);
    for (let k = Math.floor(rand() * 400); k > 0; k--) {
      const a = at + 2 + Math.floor(rand() * (rand() < 0.5 ? 3 : 300));
      const b = a + Math.floor(rand() * 20);
      ranges.push([a, b]);
      at = b;
    }
    const max = 1 + Math.floor(rand() * 50);
    const out = coarsen(ranges, max);
    assert.ok(out.length <= Math.max(max, 0), `${out.length} ranges for max ${max}`);
    for (const [a, b] of ranges)
      assert.ok(
        out.some(([x, y]) => x <= a && b <= y),
        `[${a}, ${b}] covered`,
      );
    for (let j = 1; j < out.length; j++) assert.ok(out[j][0] > out[j - 1][1] + 1, 'sorted and disjoint');
    if (ranges.length <= max) assert.deepEqual(out, ranges);
  }
});

for (const engine of ENGINES) {
  test(`${engine}: searchObservations agrees with a brute-force filter; paging; the cells index`, async (t) => {
    const { cat } = await engines(engine);
    await cat.migrate();
    await insert(cat, synthetic(rng(11), 2000));
    const rows = await all(cat);
    assert.equal(rows.length, 2000);
    const allSky = await cat.db
      .selectFrom('observation_cells')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('cell', '=', ALL_SKY)
      .executeTakeFirstOrThrow();
    assert.ok(Number(allSky.n) > 10, 'some footprints are indexed under ALL_SKY');

    await t.test('random and hard queries equal the brute force', async () => {
      const rand = rng(12);
      const queries: ObservationQuery[] = [];
      for (const region of HARD) {
        queries.push({ region, limit: MAX_LIMIT });
        queries.push({ region, start: 58500, end: 60000, limit: MAX_LIMIT });
      }
      for (const target of ['_', '%', '50%_', 'NGC', 'sgr a*', 'nebula', 'zzz', 'ωMEGA', 'Ω'])
        queries.push({ target, limit: MAX_LIMIT }, { target, region: HARD[7], limit: MAX_LIMIT });
      queries.push({ start: 59000.25, limit: MAX_LIMIT }, { end: 59000.25, limit: MAX_LIMIT });
      queries.push(
        { start: 59000.26, end: 59000.5, limit: MAX_LIMIT },
        { exptimeMin: 3000, limit: MAX_LIMIT },
      );
      for (let i = 0; i < 160; i++) queries.push(randomQuery(rand, rows));
      let nonEmpty = 0;
      for (const q of queries) {
        const got = await searchObservations(cat, q);
        const want = brute(rows, q);
        assert.deepEqual(ids(got.rows), ids(want), show(q));
        assert.equal(got.next, undefined, 'a page with every row has no next');
        if (want.length > 0) nonEmpty++;
      }
      // The rows themselves are the catalog's rows, every column.
      const q = { region: HARD[7], limit: 5 };
      assert.deepEqual((await searchObservations(cat, q)).rows, brute(rows, q).slice(0, 5));
      assert.ok(nonEmpty > queries.length * 0.6, `only ${nonEmpty} of ${queries.length} queries found rows`);
    });

    await t.test('walking every page at limit 7 gives the unpaged result, without duplicates', async () => {
      const rand = rng(13);
      const picked: ObservationQuery[] = [
        {}, // every row, those without t_min last
        { start: 58800, end: 59500 },
        { region: HARD[3] },
        { region: HARD[8], end: 59800 },
        { region: HARD[7] },
        { region: HARD[14] },
        { target: 'ngc' },
      ];
      for (let i = 0; picked.length < 16 && i < 400; i++) {
        const q = randomQuery(rand, rows);
        const n = brute(rows, q).length;
        if (q.region && n >= 10 && n <= 400) picked.push(q);
      }
      assert.ok(picked.length >= 14, `only ${picked.length} queries to page through`);
      for (const q of picked) {
        const whole = await searchObservations(cat, { ...q, limit: MAX_LIMIT });
        assert.deepEqual(ids(whole.rows), ids(brute(rows, q)), show(q));
        const paged = await walk(cat, q, 7);
        assert.equal(new Set(ids(paged)).size, paged.length, `duplicates: ${show(q)}`);
        assert.deepEqual(ids(paged), ids(whole.rows), show(q));
      }
      // The default page is 100 rows; a limit above the maximum is reduced to it.
      const first = await searchObservations(cat, {});
      assert.equal(first.rows.length, 100);
      assert.ok(first.next, 'more rows follow');
      const big = await searchObservations(cat, { limit: 1e9 });
      assert.equal(big.rows.length, 2000);
      // An exact page boundary: the last full page says so only if rows follow.
      const n = brute(rows, { region: HARD[7] }).length;
      const exact = await searchObservations(cat, { region: HARD[7], limit: n });
      assert.equal(exact.rows.length, n);
      assert.equal(exact.next, undefined);
    });

    await t.test('the cursor resumes after rows the exact test filtered out', async () => {
      // A cone with a few observations inside and hundreds just outside its edge: in the cone's
      // cells (so SQL returns them) but not touching it; times interleave both kinds.
      const rand = rng(14);
      const cone: Region = { type: 'circle', ra: 359.95, dec: -45, radius: 0.4 };
      const decoys: NewObservation[] = synthetic(rand, 430, 'decoy').map((o, i) => {
        const inside = i % 15 === 0;
        const [ra, dec] = destination(
          359.95,
          -45,
          rand() * 360,
          inside ? rand() * 0.35 : 0.41 + rand() * 0.08,
        );
        return { ...o, s_ra: ra, s_dec: dec, s_region: null, t_min: 59000 + i / 10, t_max: null };
      });
      await insert(cat, decoys);
      const everything = await all(cat);
      const q: ObservationQuery = { collection: 'decoy', region: cone };
      const want = brute(everything, q);
      assert.equal(want.length, 29);
      const candidates = await searchQuery(cat, q, MAX_LIMIT).execute();
      assert.ok(candidates.length > 200, `the cells let many decoys through (${candidates.length})`);
      for (const limit of [1, 2, 7, 28, 29, 30]) {
        const paged = await walk(cat, q, limit);
        assert.deepEqual(ids(paged), ids(want), `limit ${limit}`);
      }
      // Rows sharing one t_min page by id.
      const same = await walk(cat, { start: 59000.25, end: 59000.25 }, 7);
      assert.deepEqual(ids(same), ids(brute(everything, { start: 59000.25, end: 59000.25 })));
      assert.ok(same.length > 100, 'many rows share that t_min');
    });

    await t.test('a cone search reads observation_cells through its index', async () => {
      const cone: ObservationQuery = { region: { type: 'circle', ra: 150, dec: 2, radius: 0.3 } };
      const compiled = searchQuery(cat, cone).compile();
      if (engine === 'sqlite') {
        const plan = await cat.db.executeQuery<{ detail: string }>(
          CompiledQuery.raw(`EXPLAIN QUERY PLAN ${compiled.sql}`, [...compiled.parameters]),
        );
        const text = plan.rows.map((r) => r.detail).join('\n');
        assert.match(text, /SEARCH observation_cells USING (COVERING )?INDEX/, text);
        assert.doesNotMatch(text, /SCAN observation_cells/, text);
      } else {
        // More rows, so the planner has a table worth an index, then fresh statistics.
        await insert(cat, synthetic(rng(15), 2000, 'filler'));
        await sql`ANALYZE`.execute(cat.db);
        const plan = await cat.db.executeQuery<{ 'QUERY PLAN': string }>(
          CompiledQuery.raw(`EXPLAIN ${compiled.sql}`, [...compiled.parameters]),
        );
        const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
        assert.match(text, /(Index|Bitmap)[^\n]* on observation_cells/, text);
        assert.doesNotMatch(text, /Seq Scan on observation_cells/, text);
      }
      // And the answer is still the brute force's.
      const got = await searchObservations(cat, { ...cone, limit: MAX_LIMIT });
      assert.deepEqual(ids(got.rows), ids(brute(await all(cat), cone)));
    });

    await t.test('invalid queries and cursors are refused', async () => {
      const bad: ObservationQuery[] = [
        { limit: 0 },
        { limit: 2.5 },
        { cursor: 'not a cursor' },
        { cursor: Buffer.from('{"t":1}').toString('base64url') },
        { order: 'id' as 't_min' },
        { start: Number.NaN },
        { region: { type: 'circle', ra: 10, dec: 95, radius: 1 } },
        { region: { type: 'circle', ra: 10, dec: 0, radius: -1 } },
        {
          region: {
            type: 'polygon',
            vertices: [
              [0, 0],
              [1, 1],
            ],
          },
        },
        { region: boxRegion(0, 360, -10, 10) }, // a band round the equator: no hemisphere holds it
        { region: boxRegion(0, 200, -10, 10) },
      ];
      for (const q of bad) await assert.rejects(searchObservations(cat, q), RangeError, show(q));
    });

    await cat.close();
  });
}

// ---------------------------------------------------------------- sorts, visibility, keywords, counts, facets

/** The access rule written out for the brute force (not taken from src/catalog/access.ts). */
function bruteSees(v: Visibility, r: ObservationRow): boolean {
  if (v.all) return true;
  if (!v.collections.includes(r.obs_collection)) return false;
  if (r.public_date === null || r.public_date <= v.now) return true;
  return (
    (v.caller.user !== null && r.owner === v.caller.user) ||
    (r.group_name !== null && v.caller.groups.includes(r.group_name))
  );
}

/** t_min descending, ties by id descending, rows without t_min last (by id descending). */
const byKeyDesc = (a: ObservationRow, b: ObservationRow) =>
  a.t_min === b.t_min ? b.id - a.id : a.t_min === null ? 1 : b.t_min === null ? -1 : b.t_min - a.t_min;

function bruteFull(rows: ObservationRow[], q: ObservationQuery, kw?: Map<number, Record<string, unknown>[]>) {
  const qcap = q.region ? capOf(q.region) : undefined;
  return rows
    .filter(
      (r) =>
        bruteMatches(r, q, qcap) &&
        (!q.visibility || bruteSees(q.visibility, r)) &&
        (q.keywords ?? []).every((k) =>
          (kw?.get(r.id) ?? []).some((h) => {
            const v = h[k.keyword];
            return (
              v === k.value ||
              (typeof v === 'number' && v === Number(k.value)) ||
              (v === true && k.value === 'T')
            );
          }),
        ),
    )
    .sort(q.order === '-t_min' ? byKeyDesc : byKey);
}

const NOW = '2030-01-01T00:00:00.000Z';
const VISIBILITIES: Visibility[] = [
  { caller: { user: null, roles: [], groups: [] }, all: false, collections: ['hst', 'ztf'], now: NOW },
  {
    caller: { user: 'ada', roles: ['reader'], groups: [] },
    all: false,
    collections: ['hst', 'jwst'],
    now: NOW,
  },
  {
    caller: { user: 'bob', roles: ['reader'], groups: ['team'] },
    all: false,
    collections: ['jwst'],
    now: NOW,
  },
  { caller: { user: 'root', roles: ['admin'], groups: [] }, all: true, collections: [], now: NOW },
];

for (const engine of ENGINES) {
  test(`${engine}: descending sort, visibility, keywords, counts and facets agree with the brute force`, async (t) => {
    const { cat } = await engines(engine);
    await cat.migrate();
    await insert(cat, synthetic(rng(21), 700));
    // Embargoes: some observations public only after NOW, owned by ada or shared with team.
    await cat.db.updateTable('observations').set({ public_date: '2020-01-01T00:00:00.000Z' }).execute();
    await sql`UPDATE observations SET public_date = '2100-01-01T00:00:00.000Z' WHERE id % 4 = 0`.execute(
      cat.db,
    );
    await sql`UPDATE observations SET owner = 'ada' WHERE id % 3 = 0`.execute(cat.db);
    await sql`UPDATE observations SET group_name = 'team' WHERE id % 5 = 0`.execute(cat.db);
    await sql`UPDATE observations SET public_date = NULL WHERE id % 7 = 0`.execute(cat.db);
    // Header values: every third observation has a file with two HDUs (keywords in either).
    const kw = new Map<number, Record<string, unknown>[]>();
    const rows = await all(cat);
    const ts = '2024-01-01T00:00:00Z';
    for (const r of rows.filter((x) => x.id % 3 === 1)) {
      const hdus = [
        { EXPTIME: r.id % 2 ? 60 : 30.5, OBSERVER: r.id % 4 === 1 ? "O'Neil & Co" : 'Hubble', SIMPLE: true },
        {
          EXTNAME: 'SCI',
          'HIERARCH ESO DET': r.id % 5 === 1 ? 'chip-1' : 'chip-2',
          BIG: '12345678901234567890',
        },
      ];
      kw.set(r.id, hdus);
      const f = await cat.db
        .insertInto('files')
        .values({
          zone: 'raw',
          key: `${r.obs_collection}/${r.obs_id}.fits`,
          sha256: `sha-${r.id}`,
          size: 2880,
          etag: null,
          content_type: null,
          status: 'ingested',
          error: null,
          collection: r.obs_collection,
          current: 1,
          kind: 'fits',
          info: null,
          path_fields: null,
          created_at: ts,
          updated_at: ts,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await cat.db
        .insertInto('hdus')
        .values(
          hdus.map((h, idx) => ({
            file_id: Number(f.id),
            idx,
            kind: idx ? 'image' : 'primary',
            header_offset: 0,
            data_offset: 0,
            data_span: 0,
            shape: '[]',
            checksum: null,
            datasum: null,
            cards: '[]',
            keyvalues: JSON.stringify(h),
          })),
        )
        .execute();
      await cat.db
        .insertInto('artifacts')
        .values({ observation_id: r.id, file_id: Number(f.id), role: 'science' })
        .execute();
    }
    // A superseded file's values no longer count.
    const old = rows.find((x) => x.id % 3 === 2) as ObservationRow;
    const stale = await cat.db
      .insertInto('files')
      .values({
        zone: 'raw',
        key: 'old.fits',
        sha256: 'old',
        size: 1,
        etag: null,
        content_type: null,
        status: 'ingested',
        error: null,
        collection: old.obs_collection,
        current: 0,
        kind: 'fits',
        info: null,
        path_fields: null,
        created_at: ts,
        updated_at: ts,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await cat.db
      .insertInto('hdus')
      .values({
        file_id: Number(stale.id),
        idx: 0,
        kind: 'primary',
        header_offset: 0,
        data_offset: 0,
        data_span: 0,
        shape: '[]',
        checksum: null,
        datasum: null,
        cards: '[]',
        keyvalues: JSON.stringify({ EXPTIME: 60 }),
      })
      .execute();
    await cat.db
      .insertInto('artifacts')
      .values({ observation_id: old.id, file_id: Number(stale.id), role: 'science' })
      .execute();
    const every = await all(cat);

    const queries: ObservationQuery[] = [
      {},
      { start: 58800, end: 59500 },
      { region: HARD[7] },
      { region: HARD[0], end: 59800 },
      { target: 'ngc' },
      { target: 'Ω' }, // tested in JS after SQL
      { keywords: [{ keyword: 'EXPTIME', value: '60' }] },
      {
        keywords: [
          { keyword: 'EXPTIME', value: '60.0' },
          { keyword: 'OBSERVER', value: "O'Neil & Co" },
        ],
      },
      { keywords: [{ keyword: 'EXPTIME', value: '30.5' }], region: HARD[7] },
      { keywords: [{ keyword: 'HIERARCH ESO DET', value: 'chip-1' }] },
      {
        keywords: [
          { keyword: 'SIMPLE', value: 'T' },
          { keyword: 'EXTNAME', value: 'SCI' },
        ],
      },
      { keywords: [{ keyword: 'BIG', value: '12345678901234567890' }] },
      { keywords: [{ keyword: 'EXPTIME', value: '61' }] },
    ];

    await t.test('every query, sort and caller equals the brute force, paged at 25', async () => {
      let nonEmpty = 0;
      for (const base of queries)
        for (const order of ['t_min', '-t_min'] as const)
          for (const visibility of [undefined, ...VISIBILITIES]) {
            const q: ObservationQuery = { ...base, order, ...(visibility ? { visibility } : {}) };
            const want = bruteFull(every, q, kw);
            const whole = await searchObservations(cat, { ...q, limit: MAX_LIMIT });
            assert.deepEqual(ids(whole.rows), ids(want), show(q));
            // 25 a page still splits the 70-odd rows sharing t_min 59000.25 across pages.
            const paged = await walk(cat, q, 25);
            assert.deepEqual(ids(paged), ids(want), `paged ${show(q)}`);
            if (want.length) nonEmpty++;
          }
      assert.ok(nonEmpty > queries.length * 8, `only ${nonEmpty} non-empty`);
      // The keyword match really needs its keyword: EXPTIME=60 is not everyone's.
      const sixty = bruteFull(every, { keywords: [{ keyword: 'EXPTIME', value: '60' }] }, kw).length;
      assert.ok(sixty > 50 && sixty < 200, `${sixty} with EXPTIME=60`);
      assert.ok(
        !bruteFull(every, { keywords: [{ keyword: 'EXPTIME', value: '60' }] }, kw).some(
          (r) => r.id === old.id,
        ),
      );
    });

    await t.test(
      'counts: exact always, estimates exact below the cap and a lower bound above it',
      async () => {
        for (const base of queries)
          for (const visibility of [undefined, ...VISIBILITIES]) {
            const q: ObservationQuery = { ...base, ...(visibility ? { visibility } : {}) };
            const n = bruteFull(every, q, kw).length;
            assert.deepEqual(await countObservations(cat, q, 'exact'), { value: n, exact: true }, show(q));
            assert.deepEqual(await countObservations(cat, q, 'estimate'), { value: n, exact: true }, show(q));
            const cap = Math.max(1, Math.floor(n / 2));
            const est = await countObservations(cat, q, 'estimate', cap);
            assert.deepEqual(
              est,
              n > cap ? { value: cap, exact: false } : { value: n, exact: true },
              show(q),
            );
          }
      },
    );

    await t.test('facets count the matches by column', async () => {
      for (const base of [queries[0], queries[2], queries[5], queries[6]])
        for (const visibility of [undefined, ...VISIBILITIES]) {
          const q: ObservationQuery = { ...base, ...(visibility ? { visibility } : {}) };
          const want = bruteFull(every, q, kw);
          const got = await observationFacets(cat, q);
          for (const col of FACETS) {
            const m = new Map<string | null, number>();
            for (const r of want) m.set(r[col], (m.get(r[col]) ?? 0) + 1);
            assert.deepEqual(new Map(got[col].map((x) => [x.value, x.count])), m, `${col} ${show(q)}`);
          }
        }
    });

    await t.test('a cursor continues only its own sort; bad keywords are refused', async () => {
      const page = await searchObservations(cat, { limit: 5 });
      await assert.rejects(
        searchObservations(cat, { limit: 5, order: '-t_min', cursor: page.next }),
        RangeError,
      );
      await assert.rejects(
        searchObservations(cat, { keywords: [{ keyword: 'A"B', value: '1' }] }),
        RangeError,
      );
      await assert.rejects(
        searchObservations(cat, {
          keywords: Array.from({ length: 11 }, () => ({ keyword: 'A', value: '1' })),
        }),
        RangeError,
      );
    });
    await cat.close();
  });
}
