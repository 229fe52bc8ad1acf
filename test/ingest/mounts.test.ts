// A cloud index mounted as a read-only collection (issue 6 item 4): the sample night is indexed
// where it lies (served by Debian's nginx with Range), mounted into a lake, and must then answer in
// REST search, TAP/ObsCore, SIA and SODA exactly as the same files ingested the ordinary way do —
// with nothing copied into the lake, previews made from the data URLs, and a re-mount picking up
// what the index's publisher changed.
import assert from 'node:assert/strict';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import type { Output } from '../../src/cli/output.ts';
import { type NightFile, writeSampleNight } from '../../src/demo/sample-night.ts';
import { type Lake, openLake } from '../../src/lake/lake.ts';
import { servicePlugins } from '../../src/services/index.ts';
import { type Nginx, startNginx } from '../cloud/nginx.ts';
import { type RunningServer, startServer } from '../util/server.ts';

/** nginx's workers run as another user: what it serves must be readable by all. */
function readableByAll(dir: string): void {
  chmodSync(dir, 0o755);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) readableByAll(p);
    else chmodSync(p, 0o644);
  }
}

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Output = { out: (t) => void (out += t), err: (t) => void (err += t), bytes: () => {} };
  const code = await main(args, io);
  return { code, out, err };
}

let root = '';
let nginx: Nginx;
let files: NightFile[] = [];
/** The paths the index lists (its FITS files and header dumps; not the JPEGs). */
let indexed: string[] = [];
let mounted: Lake;
let plain: Lake;
let srvMounted: RunningServer;
let srvPlain: RunningServer;
const INDEX = () => `${nginx.url}/night.json`;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'fitslake-mount-'));
  files = await writeSampleNight(join(root, 'www', 'data'), { exposures: 4, size: 64, seed: 7 });
  nginx = await startNginx(join(root, 'www'));
  const idx = await cli(
    'index',
    join(root, 'www', 'data'),
    '--out',
    join(root, 'www', 'night.json'),
    '--data-url-prefix',
    `${nginx.url}/data/`,
  );
  assert.equal(idx.code, 0, idx.out + idx.err);
  chmodSync(root, 0o755);
  readableByAll(join(root, 'www'));
  indexed = (
    JSON.parse(readFileSync(join(root, 'www', 'night.json'), 'utf8')) as { files: { path: string }[] }
  ).files
    .map((f) => f.path)
    .sort();
  assert.ok(indexed.length >= 8 && indexed.length < files.length, `${indexed.length} of ${files.length}`);
  // The oracle lake gets exactly the indexed files, ingested the ordinary way.
  for (const p of indexed) cpSync(join(root, 'www', 'data', p), join(root, 'src', p));
  for (const name of ['mounted', 'plain']) assert.equal((await cli('init', join(root, name))).code, 0);
  const m = await cli('mount', INDEX(), '--collection', 'sky', '--lake', join(root, 'mounted'));
  assert.equal(m.code, 0, m.out + m.err);
  assert.match(
    m.out,
    new RegExp(`${indexed.length} file\\(s\\), ingested ${indexed.length}, unchanged 0, failed 0`),
  );
  // The oracle: the same files ingested into a lake the ordinary way.
  const i = await cli(
    'ingest',
    join(root, 'src'),
    '--recursive',
    '--collection',
    'sky',
    '--no-progress',
    '--lake',
    join(root, 'plain'),
  );
  assert.equal(i.code, 0, i.out + i.err);
  mounted = await openLake(join(root, 'mounted'));
  plain = await openLake(join(root, 'plain'));
  srvMounted = await startServer(mounted, { plugins: servicePlugins, rateLimit: 0 });
  srvPlain = await startServer(plain, { plugins: servicePlugins, rateLimit: 0 });
});
after(async () => {
  await srvMounted?.close();
  await srvPlain?.close();
  await mounted?.close();
  await plain?.close();
  nginx?.stop();
  rmSync(root, { recursive: true, force: true });
});

const OBS_COLUMNS = [
  'obs_id',
  's_ra',
  's_dec',
  's_region',
  't_min',
  't_max',
  'instrument_name',
  'filter',
] as const;

async function observations(lake: Lake) {
  return lake.catalog.db.selectFrom('observations').select(OBS_COLUMNS).orderBy('obs_id').execute();
}

test('mounted files are catalogued like ingested ones, and nothing is copied into the lake', async () => {
  const want = await observations(plain);
  assert.ok(want.length >= 4);
  assert.deepEqual(await observations(mounted), want);
  const zones = await mounted.catalog.db
    .selectFrom('files')
    .select(['zone', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('zone')
    .orderBy('zone')
    .execute();
  assert.deepEqual(
    zones.map((z) => [z.zone, Number(z.n)]),
    [
      ['mounted', indexed.length],
      ['previews', zones.find((z) => z.zone === 'previews')?.n ?? 0],
    ].map(([z, n]) => [z, Number(n)]),
  );
  assert.ok(Number(zones.find((z) => z.zone === 'previews')?.n) > 0, 'previews made from the data URLs');
  const raw = join(root, 'mounted', 'data', 'raw');
  assert.deepEqual(existsSync(raw) ? readdirSync(raw) : [], [], 'no raw copy');
});

test('REST search, TAP, SIA and SODA answer from the mounted collection as from the ingested one', async () => {
  const get = async (srv: RunningServer, path: string) => {
    const r = await fetch(srv.url + path, { redirect: 'manual' });
    return { status: r.status, headers: r.headers, bytes: Buffer.from(await r.arrayBuffer()) };
  };
  const ids = (body: Buffer) =>
    (JSON.parse(body.toString()) as { rows: { obs_id: string }[] }).rows.map((r) => r.obs_id).sort();
  const search = '/api/observations?collection=sky&limit=100';
  assert.deepEqual(ids((await get(srvMounted, search)).bytes), ids((await get(srvPlain, search)).bytes));

  const tap = `/tap/sync?${new URLSearchParams({ LANG: 'ADQL', FORMAT: 'csv', QUERY: 'SELECT obs_id, s_ra, s_dec, t_min FROM ivoa.obscore ORDER BY obs_id' })}`;
  const tapM = (await get(srvMounted, tap)).bytes.toString();
  assert.equal(tapM, (await get(srvPlain, tap)).bytes.toString());
  assert.ok(tapM.split('\n').length > 4);

  const science = (await observations(plain)).find((o) => o.s_ra !== null) as {
    obs_id: string;
    s_ra: number;
    s_dec: number;
  };
  const sia = `/sia/query?POS=${encodeURIComponent(`CIRCLE ${science.s_ra} ${science.s_dec} 0.01`)}&RESPONSEFORMAT=csv`;
  const siaM = (await get(srvMounted, sia)).bytes.toString();
  assert.ok(siaM.includes(science.obs_id));

  // A SODA cutout reads the mounted file by range from its data URL: the same pixels and header.
  const did = encodeURIComponent(`ivo://fitslake/sky?${science.obs_id}`);
  const soda = `/soda?ID=${did}&PIXEL_1=5%2020&PIXEL_2=7%2030`;
  const mark = nginx.mark();
  const cutM = await get(srvMounted, soda);
  const cutP = await get(srvPlain, soda);
  assert.equal(cutM.status, 200, cutM.bytes.toString().slice(0, 300));
  assert.equal(cutM.bytes.length, cutP.bytes.length);
  const strip = (b: Buffer) => b.toString('latin1').replace(/(CHECKSUM|DATASUM|DATE)\s*=.{70}/g, '');
  assert.equal(strip(cutM.bytes), strip(cutP.bytes));
  const served = await nginx.since(mark, '/data/');
  assert.ok(
    served.requests >= 1 && served.ranges.every((r) => r.startsWith('bytes=')),
    JSON.stringify(served),
  );

  // A download of a mounted file is sent to where it lives.
  const key = `sky/${files.find((f) => f.obsId === science.obs_id)?.path}`;
  const dl = await get(
    srvMounted,
    `/api/files/${key.split('/').map(encodeURIComponent).join('/')}?zone=mounted`,
  );
  assert.equal(dl.status, 302);
  assert.equal(dl.headers.get('location'), `${nginx.url}/data/${key.slice(4)}`);
});

test('re-mounting after the publisher changed the index: unchanged files cost nothing, dropped ones leave', async () => {
  const again = await cli('mount', INDEX(), '--collection', 'sky', '--lake', join(root, 'mounted'), '--json');
  assert.equal(again.code, 0, again.err);
  const r = JSON.parse(again.out);
  assert.deepEqual([r.ingested, r.unchanged, r.removed], [0, indexed.length, 0]);
  // The publisher deletes one exposure's science file and re-indexes.
  const science = files.find((f) => f.role === 'science') as NightFile;
  rmSync(join(root, 'www', 'data', science.path));
  const idx = await cli(
    'index',
    join(root, 'www', 'data'),
    '--out',
    join(root, 'www', 'night.json'),
    '--data-url-prefix',
    `${nginx.url}/data/`,
  );
  assert.equal(idx.code, 0, idx.err);
  readableByAll(join(root, 'www'));
  const third = JSON.parse(
    (await cli('mount', INDEX(), '--collection', 'sky', '--lake', join(root, 'mounted'), '--json')).out,
  );
  assert.equal(third.removed, 1);
  const left = await mounted.catalog.db
    .selectFrom('files')
    .select('key')
    .where('zone', '=', 'mounted')
    .where('current', '=', 1)
    .execute();
  assert.equal(left.length, indexed.length - 1);
  assert.ok(!left.some((f) => f.key === `sky/${science.path}`));
  // A read-only collection: the lake refuses to write into it.
  const put = await fetch(`${srvMounted.url}/api/files/sky/new.fits`, { method: 'PUT', body: 'x' });
  assert.equal(put.status, 409);
  assert.match(await put.text(), /mounted index/);
});
