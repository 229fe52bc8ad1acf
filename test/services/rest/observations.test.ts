// Observation search, facets and detail over real HTTP on a lake the real worker ingested: every
// filter against an answer computed here from the catalog's rows and header values, deep paging by
// cursor in both sorts, counts, facets, the access rule (embargo, private collection) on rows,
// counts, facets and details, and invalid input.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { ObservationRow } from '../../../src/catalog/search.ts';
import { countObservations, observationFacets } from '../../../src/catalog/search.ts';
import { restObservations } from '../../../src/services/rest/observations.ts';
import { populatedLake, type UserName } from './fixture.ts';

const fx = await populatedLake([restObservations]);
after(() => fx.close());
const db = fx.lake.catalog.db;
const all: ObservationRow[] = await db.selectFrom('observations').selectAll().orderBy('id').execute();
/** A wide cone over several of the sample night's targets (M 51, M 13, SN 2022hrs…). */
const [CRA, CDEC, CR] = [220, 40, 60];
const inCentralCone = (r: ObservationRow) =>
  r.s_ra !== null && distance(CRA, CDEC, r.s_ra, r.s_dec as number) <= CR;

interface Row {
  id: number;
  obs_collection: string;
  t_min: number | null;
  url: string;
  products: Record<string, string>;
}
interface Page {
  rows: Row[];
  next?: string;
  count?: { value: number; exact: boolean };
}
interface ErrorBody {
  error: { code: string; message: string };
}

const USERS: (UserName | undefined)[] = [undefined, 'cy', 'bob', 'ada', 'root'];

/** The access rule as the fixture set it up, written out by hand (not with src/catalog/access.ts). */
function sees(user: UserName | undefined, r: ObservationRow): boolean {
  if (user === 'root') return true;
  if (r.obs_collection === 'vault') return user === 'ada';
  if (Number(r.id) === fx.embargoed) return user === 'ada' || user === 'bob';
  return true;
}

const asc = (a: ObservationRow, b: ObservationRow) =>
  a.t_min === b.t_min ? a.id - b.id : a.t_min === null ? 1 : b.t_min === null ? -1 : a.t_min - b.t_min;
const desc = (a: ObservationRow, b: ObservationRow) =>
  a.t_min === null && b.t_min === null
    ? b.id - a.id
    : a.t_min === null
      ? 1
      : b.t_min === null
        ? -1
        : b.t_min - a.t_min || b.id - a.id;

function expected(user: UserName | undefined, pred: (r: ObservationRow) => boolean, order = asc): number[] {
  return all
    .filter((r) => sees(user, r) && pred(r))
    .sort(order)
    .map((r) => Number(r.id));
}

const qs = (params: Record<string, string | number | string[]>) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    for (const x of Array.isArray(v) ? v : [v]) u.append(k, String(x));
  return u.toString();
};

async function search(params: Record<string, string | number | string[]>, user?: UserName) {
  return fx.get<Page & ErrorBody>(`/api/observations?${qs(params)}`, user);
}

/** Every page of a query, following `next`. */
async function walk(params: Record<string, string | number | string[]>, user?: UserName): Promise<number[]> {
  const ids: number[] = [];
  let cursor: string | undefined;
  for (let n = 0; n < 1000; n++) {
    const r = await search({ ...params, count: 'none', ...(cursor ? { cursor } : {}) }, user);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    if (r.body.next)
      assert.equal(r.body.rows.length, Number(params.limit), 'every page but the last is full');
    ids.push(...r.body.rows.map((x) => x.id));
    if (!r.body.next) return ids;
    cursor = r.body.next;
  }
  throw new Error('paging does not end');
}

const D2R = Math.PI / 180;
/** Angular distance (haversine), written here rather than taken from src/catalog/sky.ts. */
function distance(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const h =
    Math.sin(((dec2 - dec1) * D2R) / 2) ** 2 +
    Math.cos(dec1 * D2R) * Math.cos(dec2 * D2R) * Math.sin(((ra2 - ra1) * D2R) / 2) ** 2;
  return (2 * Math.asin(Math.min(1, Math.sqrt(h)))) / D2R;
}

const mjdOf = (iso: string) => Date.parse(iso) / 86400000 + 40587;
const overlaps = (r: ObservationRow, start?: number, end?: number) =>
  r.t_min !== null &&
  (end === undefined || r.t_min <= end) &&
  (start === undefined || (r.t_max ?? r.t_min) >= start);

/** Header values per observation, read from the HDUs of its current files (the truth for kw=). */
async function headerValues(): Promise<Map<number, Record<string, unknown>[]>> {
  const rows = await db
    .selectFrom('artifacts')
    .innerJoin('files', 'files.id', 'artifacts.file_id')
    .innerJoin('hdus', 'hdus.file_id', 'files.id')
    .select(['artifacts.observation_id', 'hdus.keyvalues'])
    .where('files.current', '=', 1)
    .where('files.status', '=', 'ingested')
    .execute();
  const out = new Map<number, Record<string, unknown>[]>();
  for (const r of rows) {
    const list = out.get(Number(r.observation_id)) ?? [];
    list.push(JSON.parse(r.keyvalues ?? '{}'));
    out.set(Number(r.observation_id), list);
  }
  return out;
}

test('the lake holds what the fixture made', () => {
  assert.equal(all.filter((r) => r.obs_collection === 'night').length, 21);
  assert.equal(all.filter((r) => r.obs_collection === 'vault').length, 12);
  assert.equal(all.filter((r) => r.t_min === null).length, 2);
});

test('without filters each caller gets exactly the observations it may see', async () => {
  for (const user of USERS) {
    const r = await search({ limit: 1000, count: 'exact' }, user);
    assert.equal(r.status, 200);
    const want = expected(user, () => true);
    assert.deepEqual(
      r.body.rows.map((x) => x.id),
      want,
      `user ${user ?? 'anonymous'}`,
    );
    assert.deepEqual(r.body.count, { value: want.length, exact: true });
  }
  // The embargo and the private collection really hide something from the anonymous caller.
  assert.equal(expected(undefined, () => true).length, 20);
  assert.equal(expected('root', () => true).length, 33);
});

test('cone and box searches equal the distances computed here', async () => {
  const science = all.filter((r) => r.s_ra !== null && r.obs_type === 'EXPOSE');
  const centres = [...new Map(science.map((r) => [r.target_name, r])).values()];
  assert.ok(centres.length >= 3, 'several targets');
  let nonEmpty = 0;
  for (const c of centres) {
    const [ra, dec] = [c.s_ra as number, c.s_dec as number];
    for (const radius of [0.2, 2]) {
      const inCone = (r: ObservationRow) =>
        r.s_ra !== null && distance(ra, dec, r.s_ra, r.s_dec as number) <= radius;
      // Footprints are ~40″ across: keep cones whose edge passes far from every position.
      for (const r of all)
        if (r.s_ra !== null) {
          const d = distance(ra, dec, r.s_ra, r.s_dec as number);
          assert.ok(Math.abs(d - radius) > 0.05, `an observation sits on the edge of ${ra},${dec},${radius}`);
        }
      for (const user of ['root', undefined] as const) {
        const r = await search({ ra, dec, radius, limit: 1000 }, user);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const want = expected(user, inCone);
        assert.deepEqual(
          r.body.rows.map((x) => x.id),
          want,
        );
        if (want.length) nonEmpty++;
      }
      // A box of the same centre: RA within ±w/2 (in degrees of RA), Dec within ±h/2.
      const [w, h] = [radius * 2, radius];
      const inBox = (r: ObservationRow) => {
        if (r.s_ra === null) return false;
        const dra = Math.abs(((r.s_ra - ra + 540) % 360) - 180);
        return dra <= w / 2 && Math.abs((r.s_dec as number) - dec) <= h / 2;
      };
      const r = await search({ box: `${ra},${dec},${w},${h}`, limit: 1000 }, 'root');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(
        r.body.rows.map((x) => x.id),
        expected('root', inBox),
        `box ${ra},${dec},${w},${h}`,
      );
    }
  }
  assert.ok(nonEmpty >= centres.length, 'the cones found rows');
});

test('time ranges in MJD and in ISO 8601 give the same, right answer', async () => {
  const times = all
    .map((r) => r.t_min)
    .filter((t): t is number => t !== null && t < mjdOf('2022-07-01T00:00:00Z'))
    .sort((a, b) => a - b);
  const start = (times[3] + times[4]) / 2;
  const end = (times[12] + times[13]) / 2;
  const want = expected('root', (r) => overlaps(r, start, end));
  assert.ok(want.length >= 8 && want.length < 20, `${want.length} rows in range`);
  const mjd = await search({ start, end, limit: 1000 }, 'root');
  assert.deepEqual(
    mjd.body.rows.map((x) => x.id),
    want,
  );
  const iso = (m: number) => new Date(Math.round((m - 40587) * 86400000)).toISOString();
  const isoR = await search({ start: iso(start), end: iso(end), limit: 1000 }, 'root');
  assert.deepEqual(
    isoR.body.rows.map((x) => x.id),
    want,
  );
  // Without a zone designator the time is UTC; an offset is honoured.
  const local = await search(
    { start: iso(start).replace('Z', ''), end: iso(end).replace('Z', '+00:00') },
    'root',
  );
  assert.deepEqual(
    local.body.rows.map((x) => x.id),
    want,
  );
  // Open-ended ranges.
  const onlyStart = await search({ start, limit: 1000 }, 'root');
  assert.deepEqual(
    onlyStart.body.rows.map((x) => x.id),
    expected('root', (r) => overlaps(r, start)),
  );
  // A date alone: the whole day (the night of 2022-06-29, not the vault one of 2022-07-02).
  const day = await search({ start: '2022-06-29', end: '2022-06-29', limit: 1000 }, 'root');
  const dayWant = expected('root', (r) =>
    overlaps(r, mjdOf('2022-06-29T00:00:00Z'), mjdOf('2022-06-30T00:00:00Z')),
  );
  assert.equal(dayWant.length, 19, 'the night’s observations with a time');
  assert.deepEqual(
    day.body.rows.map((x) => x.id),
    dayWant,
  );
});

test('instrument, filter, target and exposure time filters', async () => {
  const science = all.filter((r) => r.obs_type === 'EXPOSE');
  const cases: [Record<string, string | number>, (r: ObservationRow) => boolean][] = [];
  for (const inst of new Set(all.map((r) => r.instrument_name)))
    cases.push([{ instrument: inst as string }, (r) => r.instrument_name === inst]);
  for (const f of new Set(science.map((r) => r.filter)))
    cases.push([{ filter: f as string }, (r) => r.filter === f]);
  cases.push([{ target: 'm 5' }, (r) => r.target_name?.toLowerCase().includes('m 5') ?? false]);
  cases.push([{ target: 'NGC' }, (r) => r.target_name?.toLowerCase().includes('ngc') ?? false]);
  cases.push([{ exptime_min: 60 }, (r) => r.t_exptime !== null && r.t_exptime >= 60]);
  cases.push([{ exptime_max: 60 }, (r) => r.t_exptime !== null && r.t_exptime <= 60]);
  cases.push([
    { exptime_min: 30, exptime_max: 120, instrument: 'kb001ms' },
    (r) => r.t_exptime !== null && r.t_exptime >= 30 && r.t_exptime <= 120 && r.instrument_name === 'kb001ms',
  ]);
  cases.push([{ collection: 'vault' }, (r) => r.obs_collection === 'vault']);
  let nonEmpty = 0;
  for (const [params, pred] of cases)
    for (const user of ['root', undefined, 'bob'] as const) {
      const r = await search({ ...params, limit: 1000 }, user);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const want = expected(user, pred);
      assert.deepEqual(
        r.body.rows.map((x) => x.id),
        want,
        `${JSON.stringify(params)} as ${user}`,
      );
      if (want.length) nonEmpty++;
    }
  assert.ok(nonEmpty > cases.length * 2, 'most cases found rows');
});

test('kw= matches header keywords of the observation’s files', async () => {
  const headers = await headerValues();
  const has = (kw: string, value: unknown) => (r: ObservationRow) =>
    (headers.get(Number(r.id)) ?? []).some((kv) => kv[kw] === value);
  const observer = all.find((r) => r.observer)?.observer as string;
  const seeing = (headers.get(fx.embargoed) ?? []).map((kv) => kv.SEEING).find((x) => x !== undefined);
  assert.equal(typeof seeing, 'number');
  const cases: [string[], (r: ObservationRow) => boolean][] = [
    [['EXPTIME=60'], has('EXPTIME', 60)],
    [['exptime=60.0'], has('EXPTIME', 60)], // a standard keyword in any case; a number in any spelling
    [[`OBSERVER=${observer}`], has('OBSERVER', observer)],
    [['OBSTYPE=BIAS'], has('OBSTYPE', 'BIAS')],
    [['OBSTYPE=EXPOSE', 'FILTER=rp'], (r) => has('OBSTYPE', 'EXPOSE')(r) && has('FILTER', 'rp')(r)],
    [[`SEEING=${seeing}`], has('SEEING', seeing)],
    [['SIMPLE=T', 'OBSTYPE=DARK'], (r) => has('SIMPLE', true)(r) && has('OBSTYPE', 'DARK')(r)],
    [['OBSTYPE=nothing-like-this'], () => false],
  ];
  for (const [kw, pred] of cases)
    for (const user of ['root', undefined] as const) {
      const r = await search({ kw, limit: 1000 }, user);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(
        r.body.rows.map((x) => x.id),
        expected(user, pred),
        `${kw.join('&')} as ${user}`,
      );
    }
  assert.ok(expected('root', has('EXPTIME', 60)).length > 0);
  // The embargoed observation's own SEEING finds it for its owner, and nothing leaks to others.
  const own = await search({ kw: `SEEING=${seeing}` }, 'ada');
  assert.ok(own.body.rows.some((x) => x.id === fx.embargoed));
  const anon = await search({ kw: `SEEING=${seeing}` });
  assert.ok(!anon.body.rows.some((x) => x.id === fx.embargoed));
});

test('deep paging returns every row once, in order, for each sort and page size', async () => {
  const cases: [Record<string, string | number>, (r: ObservationRow) => boolean][] = [
    [{}, () => true],
    [{ instrument: 'fa002ms' }, (r) => r.instrument_name === 'fa002ms'],
    [{ ra: CRA, dec: CDEC, radius: CR }, inCentralCone],
  ];
  for (const [params, pred] of cases)
    for (const [sort, order] of [
      ['t_min', asc],
      ['-t_min', desc],
    ] as const)
      for (const user of [undefined, 'root'] as const)
        for (const limit of [1, 2, 5]) {
          const got = await walk({ ...params, sort, limit }, user);
          assert.equal(new Set(got).size, got.length, 'no row twice');
          assert.deepEqual(
            got,
            expected(user, pred, order),
            `${JSON.stringify(params)} ${sort} ${limit} ${user}`,
          );
        }
  assert.ok(expected(undefined, inCentralCone).length >= 6, 'the cone spans several pages');
  for (const r of all)
    if (r.s_ra !== null)
      assert.ok(Math.abs(distance(CRA, CDEC, r.s_ra, r.s_dec as number) - CR) > 0.05, 'nothing on the edge');
  // The tie and the rows without time are where they belong.
  const ordered = expected('root', () => true);
  assert.deepEqual(
    ordered.slice(-2),
    all
      .filter((r) => r.t_min === null)
      .map((r) => Number(r.id))
      .sort((a, b) => a - b),
  );
  // A cursor of one sort is refused by the other.
  const first = await search({ limit: 3 }, 'root');
  const other = await search({ limit: 3, sort: '-t_min', cursor: first.body.next as string }, 'root');
  assert.equal(other.status, 400);
  assert.match(other.body.error.message, /cursor/);
});

test('counts: exact, estimated, none; of the whole query on every page', async () => {
  const visible = expected(undefined, () => true).length;
  const p1 = await search({ limit: 5, count: 'exact' });
  assert.deepEqual(p1.body.count, { value: visible, exact: true });
  const p2 = await search({ limit: 5, count: 'estimate', cursor: p1.body.next as string });
  assert.deepEqual(p2.body.count, { value: visible, exact: true }, 'below the cap an estimate is exact');
  const none = await search({ limit: 5, count: 'none' });
  assert.equal(none.body.count, undefined);
  const dflt = await search({ limit: 5, instrument: 'kb001ms' }, 'bob');
  assert.deepEqual(dflt.body.count, {
    value: expected('bob', (r) => r.instrument_name === 'kb001ms').length,
    exact: true,
  });
  // Above the cap an estimate stops and says it is a lower bound (a small cap stands in for 10000),
  // in SQL alone and when the exact spatial test has to look at the rows.
  const cat = fx.lake.catalog;
  const visibility = {
    caller: { user: null, roles: [], groups: [] },
    all: false,
    collections: ['night'],
    now: new Date().toISOString(),
  };
  assert.deepEqual(await countObservations(cat, { visibility }, 'estimate', 5), { value: 5, exact: false });
  assert.deepEqual(await countObservations(cat, { visibility }, 'exact', 5), { value: visible, exact: true });
  assert.deepEqual(await countObservations(cat, { visibility }, 'estimate', visible), {
    value: visible,
    exact: true,
  });
  const cone = { type: 'circle' as const, ra: CRA, dec: CDEC, radius: CR };
  const inCone = expected(undefined, inCentralCone).length;
  assert.ok(inCone > 2);
  assert.deepEqual(await countObservations(cat, { visibility, region: cone }, 'estimate', 2), {
    value: 2,
    exact: false,
  });
  assert.deepEqual(await countObservations(cat, { visibility, region: cone }, 'exact'), {
    value: inCone,
    exact: true,
  });
});

test('facets count only what the caller may see', async () => {
  type Facets = Record<string, { value: string | null; count: number }[]>;
  const facet = (
    user: UserName | undefined,
    pred: (r: ObservationRow) => boolean,
    col: keyof ObservationRow,
  ) => {
    const m = new Map<string | null, number>();
    for (const r of all)
      if (sees(user, r) && pred(r)) m.set(r[col] as string | null, (m.get(r[col] as string | null) ?? 0) + 1);
    return m;
  };
  const asMap = (list: { value: string | null; count: number }[]) =>
    new Map(list.map((x) => [x.value, x.count]));
  const cols = {
    collection: 'obs_collection',
    instrument_name: 'instrument_name',
    filter: 'filter',
    dataproduct_type: 'dataproduct_type',
    night: 'night',
  } as const;
  for (const [params, pred] of [
    [{}, () => true],
    [{ exptime_min: 60 }, (r: ObservationRow) => r.t_exptime !== null && r.t_exptime >= 60],
    [{ ra: CRA, dec: CDEC, radius: CR }, inCentralCone],
  ] as [Record<string, string | number>, (r: ObservationRow) => boolean][])
    for (const user of USERS) {
      const r = await fx.get<Facets>(`/api/observations/facets?${qs(params)}`, user);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      for (const [name, col] of Object.entries(cols))
        assert.deepEqual(
          asMap(r.body[name]),
          facet(user, pred, col),
          `${name} ${JSON.stringify(params)} ${user}`,
        );
      for (const list of Object.values(r.body))
        for (let i = 1; i < list.length; i++)
          assert.ok(list[i - 1].count >= list[i].count, 'most frequent first');
    }
  const anon = await fx.get<Facets>('/api/observations/facets');
  assert.deepEqual(
    anon.body.collection.map((x) => x.value),
    ['night'],
    'the private collection is not even named',
  );
  // The same function over the catalog agrees with the route.
  const direct = await observationFacets(fx.lake.catalog, {});
  assert.equal(
    direct.obs_collection.reduce((s, x) => s + x.count, 0),
    all.length,
  );
});

test('observation detail: files, download and preview URLs, products, links, DataLink', async () => {
  const science = all.find(
    (r) => r.obs_collection === 'night' && r.obs_type === 'EXPOSE' && Number(r.id) !== fx.embargoed,
  ) as ObservationRow;
  const r = await fx.get<{
    observation: Row & { obs_id: string };
    files: {
      key: string;
      zone: string;
      role: string;
      size: number;
      url: string;
      headerUrl: string | null;
      status: string;
    }[];
    products: Record<string, string>;
    previews: { preview: string | null; thumbnail: string | null };
    links: { relation: string; obsId: string; id: number | null; url: string | null }[];
    datalink: { semantics: string; accessUrl: string }[];
  }>(`/api/observations/${science.id}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.observation.id, Number(science.id));
  assert.equal(r.body.observation.obs_id, science.obs_id);
  const arts = await db
    .selectFrom('artifacts')
    .innerJoin('files', 'files.id', 'artifacts.file_id')
    .select(['files.key', 'files.zone', 'artifacts.role', 'files.size'])
    .where('observation_id', '=', science.id)
    .where('files.current', '=', 1)
    .execute();
  assert.deepEqual(
    r.body.files.map((f) => `${f.zone}:${f.key}:${f.role}:${f.size}`).sort(),
    arts.map((a) => `${a.zone}:${a.key}:${a.role}:${a.size}`).sort(),
  );
  const roles = r.body.files.map((f) => f.role);
  for (const role of ['science', 'small', 'preview', 'thumbnail', 'header'])
    assert.ok(roles.includes(role), role);
  const fits = r.body.files.find((f) => f.role === 'science')!;
  assert.equal(fits.url, `/api/files/${fits.key.split('/').map(encodeURIComponent).join('/')}`);
  assert.equal(fits.headerUrl, `${fits.url}/header`);
  const auto = r.body.files.find((f) => f.zone === 'previews');
  assert.ok(auto, 'fitslake rendered previews too');
  assert.match(auto.url, /\?zone=previews$/);
  assert.equal(r.body.previews.preview, r.body.files.find((f) => f.role === 'preview')!.url);
  assert.equal(r.body.previews.thumbnail, r.body.files.find((f) => f.role === 'thumbnail')!.url);
  assert.deepEqual(r.body.products, JSON.parse(science.products));
  assert.deepEqual(
    r.body.links.map((l) => l.relation),
    ['bias', 'dark', 'flat'],
  );
  for (const l of r.body.links) {
    const target = all.find((o) => o.obs_id === l.obsId && o.obs_collection === 'night');
    assert.ok(target, `the ${l.relation} frame arrived`);
    assert.equal(l.id, Number(target.id));
    assert.equal(l.url, `/api/observations/${target.id}`);
  }
  const semantics = r.body.datalink.map((d) => d.semantics);
  assert.equal(semantics.filter((s) => s === '#this').length, 1);
  assert.equal(semantics.filter((s) => s === '#calibration').length, 3);
  assert.ok(semantics.includes('#preview') && semantics.includes('#thumbnail'));
});

test('detail is 404 alike for missing and hidden observations', async () => {
  const secret = all.find((r) => r.obs_collection === 'vault') as ObservationRow;
  const missing = Math.max(...all.map((r) => Number(r.id))) + 100;
  const matrix: [number, UserName | undefined, number][] = [];
  for (const user of USERS) {
    matrix.push([
      fx.embargoed,
      user,
      sees(user, all.find((r) => Number(r.id) === fx.embargoed)!) ? 200 : 404,
    ]);
    matrix.push([Number(secret.id), user, sees(user, secret) ? 200 : 404]);
    matrix.push([missing, user, 404]);
  }
  assert.deepEqual(
    matrix
      .filter(([, , s]) => s === 200)
      .map(([id, u]) => `${id}:${u}`)
      .sort(),
    [
      `${fx.embargoed}:ada`,
      `${fx.embargoed}:bob`,
      `${fx.embargoed}:root`,
      `${secret.id}:ada`,
      `${secret.id}:root`,
    ].sort(),
  );
  for (const [id, user, status] of matrix) {
    const r = await fx.get<ErrorBody>(`/api/observations/${id}`, user);
    assert.equal(r.status, status, `${id} as ${user}`);
    if (status === 404)
      assert.deepEqual(r.body, { error: { code: 'not-found', message: `no observation ${id}` } });
  }
});

test('invalid input is a 400 naming the parameter', async () => {
  const cases: [string, RegExp][] = [
    ['ra=10&dec=10&radius=-1', /radius/],
    ['ra=400&dec=10&radius=1', /ra/],
    ['ra=10&dec=95&radius=1', /dec/],
    ['ra=abc&dec=1&radius=1', /ra/],
    ['ra=10&dec=10', /radius/],
    ['ra=10&dec=10&radius=1&box=10,10,1,1', /box/],
    ['box=1,2,3', /box/],
    ['box=10,10,200,1', /box/],
    ['cursor=not-a-cursor', /cursor/],
    [`cursor=${Buffer.from('[1,2]').toString('base64url')}`, /cursor/],
    ['sort=obs_id', /sort/],
    ['start=yesterday', /start/],
    ['end=2022-02-30', /end/],
    ['start=59000&end=58000', /start/],
    ['limit=0', /limit/],
    ['limit=100001', /limit/],
    ['count=maybe', /count/],
    ['kw=NOEQUALS', /kw/],
    ['kw=BAD"KEY=1', /kw/],
    ['exptime_min=-5', /exptime_min/],
  ];
  for (const [query, names] of cases) {
    const r = await fx.get<ErrorBody>(`/api/observations?${query}`);
    assert.equal(r.status, 400, `${query}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'invalid-request', query);
    assert.match(r.body.error.message, names, query);
  }
  const facets = await fx.get<ErrorBody>('/api/observations/facets?radius=-1&ra=1&dec=1');
  assert.equal(facets.status, 400);
  const id = await fx.get<ErrorBody>('/api/observations/abc');
  assert.equal(id.status, 400);
  assert.match(id.body.error.message, /id/);
});

test('openapi.json documents the routes and their parameters', async () => {
  const doc = (await (await fetch(`${fx.srv.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { parameters?: { name: string }[] }>>;
  };
  const names = (doc.paths['/api/observations']?.get.parameters ?? []).map((p) => p.name);
  for (const p of [
    'collection',
    'ra',
    'dec',
    'radius',
    'box',
    'start',
    'end',
    'instrument',
    'filter',
    'target',
    'exptime_min',
    'exptime_max',
    'kw',
    'sort',
    'cursor',
    'limit',
    'count',
  ])
    assert.ok(names.includes(p), `${p} documented`);
  assert.ok(doc.paths['/api/observations/facets']?.get);
  assert.ok(doc.paths['/api/observations/{id}']?.get);
});
