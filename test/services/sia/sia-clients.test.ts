// SIA 2.0 and Simple Cone Search through a real client (Debian's python3-pyvo) against a real server
// on a lake of ingested sample nights. The expected rows come from the catalog and from distances
// computed here, never from the service; the embargoed observation appears only for its owner.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { siaRoutes } from '../../../src/services/sia/routes.ts';
import { type Fixture, populatedLake } from '../rest/fixture.ts';

const run = promisify(execFile);
// biome-ignore lint/suspicious/noExplicitAny: JSON printed by the Python client
type Json = any;
let fx: Fixture;

interface Obs {
  id: number;
  obs_id: string;
  s_ra: number;
  s_dec: number;
  instrument_name: string | null;
}
/** What an anonymous caller may see: the public night collection without the embargoed frame. */
let visible: Obs[] = [];
let embargoed: Obs;

before(async () => {
  fx = await populatedLake([siaRoutes]);
  const rows = (await fx.lake.catalog.db
    .selectFrom('observations')
    .select(['id', 'obs_id', 's_ra', 's_dec', 'instrument_name'])
    .where('obs_collection', '=', 'night')
    .where('s_ra', 'is not', null)
    .orderBy('obs_id')
    .execute()) as Obs[];
  embargoed = rows.find((r) => Number(r.id) === fx.embargoed) as Obs;
  assert.ok(embargoed, 'the embargoed observation has a position');
  visible = rows.filter((r) => Number(r.id) !== fx.embargoed);
  assert.ok(visible.length >= 3);
});
after(() => fx?.close());

async function py(script: string, ...args: string[]): Promise<Json> {
  const { stdout } = await run('/usr/bin/python3', ['-c', script, fx.srv.url, ...args], { timeout: 120_000 });
  return JSON.parse(stdout);
}

/** Great-circle distance in degrees (haversine), computed independently of the service. */
function sep(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const r = Math.PI / 180;
  const a =
    Math.sin(((dec2 - dec1) * r) / 2) ** 2 +
    Math.cos(dec1 * r) * Math.cos(dec2 * r) * Math.sin(((ra2 - ra1) * r) / 2) ** 2;
  return (2 * Math.asin(Math.min(1, Math.sqrt(a)))) / r;
}

const SIA = `
import json, sys, warnings
warnings.simplefilter('ignore')
import pyvo
try:
    from pyvo.dal.sia2 import SIA2Service
except ImportError:  # pyvo < 1.5 (Debian 12 has 1.2) names it SIAService
    from pyvo.dal.sia2 import SIAService as SIA2Service
base, ra, dec, r, instrument = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
s = SIA2Service(base + '/sia')
cone = s.search(pos=(ra, dec, r))
everything = s.search(pos=(0, 360, -90, 90))
by_instrument = s.search(instrument=instrument)
cut = s.search(maxrec=2)
err = None
try:
    s.search(CALIB='9')
except Exception as e:  # pyvo raises DALQueryError or DALServiceError by version
    err = type(e).__name__ + ': ' + str(e)
print(json.dumps({
  'cone': sorted(str(x['obs_id']) for x in cone),
  'cols': [f.name for f in cone.fielddescs],
  'access': sorted(set(str(x['access_url']).split('?')[0] for x in cone)),
  'all': len(everything),
  'instrument': sorted(str(x['obs_id']) for x in by_instrument),
  'cut': len(cut),
  'overflow': [i.value for i in cut.votable.resources[0].infos if i.name == 'QUERY_STATUS'][-1],
  'err': err,
}))`;

test('pyvo SIA2Service finds the service from /sia/capabilities; POS, INSTRUMENT, MAXREC and errors', async () => {
  const centre = visible[0];
  const radius = 0.5;
  const instrument = visible.find((v) => v.instrument_name)?.instrument_name as string;
  const got = await py(SIA, String(centre.s_ra), String(centre.s_dec), String(radius), instrument);
  // Every visible observation whose position is inside the circle is found (footprints may add more).
  const near = visible.filter((v) => sep(v.s_ra, v.s_dec, centre.s_ra, centre.s_dec) <= radius);
  for (const v of near) assert.ok(got.cone.includes(v.obs_id), `${v.obs_id} within ${radius} deg`);
  assert.ok(!got.cone.includes(embargoed.obs_id), 'no embargoed row for an anonymous caller');
  for (const c of ['obs_publisher_did', 'access_url', 's_region', 't_min', 'em_min', 'dataproduct_type'])
    assert.ok(got.cols.includes(c), `ObsCore column ${c}`);
  assert.deepEqual(got.access, [`${fx.srv.url}/datalink`]);
  // The whole sky is every visible observation with a position, and only those.
  const anonymous = await fx.lake.catalog.db
    .selectFrom('observations')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('obs_collection', '=', 'night')
    .where('id', '!=', fx.embargoed)
    .executeTakeFirstOrThrow();
  assert.ok(got.all >= visible.length && got.all <= Number(anonymous.n), `${got.all} rows`);
  const byInstrument = await fx.lake.catalog.db
    .selectFrom('observations')
    .select('obs_id')
    .where('obs_collection', '=', 'night')
    .where('id', '!=', fx.embargoed)
    .where('instrument_name', '=', instrument)
    .orderBy('obs_id')
    .execute();
  assert.deepEqual(
    got.instrument,
    byInstrument.map((r) => r.obs_id),
  );
  assert.equal(got.cut, 2);
  assert.equal(got.overflow, 'OVERFLOW');
  assert.match(got.err, /CALIB/);
});

test('SIA: the owner of the embargoed observation finds it, others do not', async () => {
  const url = (user?: 'ada' | 'bob' | 'cy') =>
    fetch(
      `${fx.srv.url}/sia/query?POS=${encodeURIComponent(`CIRCLE ${embargoed.s_ra} ${embargoed.s_dec} 0.01`)}`,
      {
        headers: fx.auth(user),
      },
    ).then(async (r) => ({ status: r.status, text: await r.text() }));
  const anon = await url();
  assert.equal(anon.status, 200);
  assert.ok(!anon.text.includes(embargoed.obs_id));
  assert.ok((await url('ada')).text.includes(embargoed.obs_id), 'the owner');
  assert.ok((await url('bob')).text.includes(embargoed.obs_id), 'the group');
  assert.ok(!(await url('cy')).text.includes(embargoed.obs_id), 'another reader');
  // A form POST is the same query.
  const post = await fetch(`${fx.srv.url}/sia/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...fx.auth('ada') },
    body: new URLSearchParams({ POS: `CIRCLE ${embargoed.s_ra} ${embargoed.s_dec} 0.01` }).toString(),
  });
  assert.ok((await post.text()).includes(embargoed.obs_id));
  const bad = await fetch(`${fx.srv.url}/sia/query?POS=CIRCLE%201%202`);
  assert.equal(bad.status, 400);
  const text = await bad.text();
  assert.match(text, /QUERY_STATUS" value="ERROR"/);
  assert.match(text, /POS/);
});

const SCS = `
import json, sys, warnings
warnings.simplefilter('ignore')
import pyvo
base, ra, dec, r = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
s = pyvo.dal.SCSService(base + '/scs')
res = s.search(pos=(ra, dec), radius=r, verbosity=2)
few = s.search(pos=(ra, dec), radius=r, verbosity=1)
err = None
try:
    s.search(pos=(ra, dec), radius=500)
except Exception as e:
    err = type(e).__name__ + ': ' + str(e)
print(json.dumps({
  'ids': [str(x.id) for x in res],
  'pos': [[float(x.pos.ra.deg), float(x.pos.dec.deg)] for x in res],
  'dist': [float(x['dist']) for x in res],
  'few_cols': [f.name for f in few.fielddescs],
  'columns': [c.name for c in s.columns],
  'err': err,
}))`;

test('pyvo SCSService: nearest first, positions by UCD, VERB, the SR=0 metadata query, errors', async () => {
  const centre = visible[Math.floor(visible.length / 2)];
  const radius = 2;
  const got = await py(SCS, String(centre.s_ra), String(centre.s_dec), String(radius));
  const want = visible
    .map((v) => ({ v, d: sep(v.s_ra, v.s_dec, centre.s_ra, centre.s_dec) }))
    .filter((x) => x.d <= radius)
    .sort((a, b) => a.d - b.d);
  assert.deepEqual(
    got.ids,
    want.map((x) => `ivo://fitslake/night?${x.v.obs_id}`),
  );
  want.forEach((x, i) => {
    assert.ok(Math.abs(got.dist[i] - x.d) < 1e-6, `distance of ${x.v.obs_id}`);
    assert.ok(Math.abs(got.pos[i][0] - x.v.s_ra) < 1e-9 && Math.abs(got.pos[i][1] - x.v.s_dec) < 1e-9);
  });
  assert.deepEqual(got.few_cols, ['obs_publisher_did', 's_ra', 's_dec', 'dist']);
  assert.ok(got.columns.includes('target_name'), 'the SR=0 query describes the VERB=2 columns');
  assert.match(got.err, /SR 500/);
});
