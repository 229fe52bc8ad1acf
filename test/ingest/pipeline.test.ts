// The lake's ingest pipeline end to end on both catalog engines with a real local store: files of
// one exposure arriving in any order, placeholders completed, related frames linked, versions,
// pictures with EXIF, plain files, corrupt files that never block the rest, previews and crawls.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { loadConfig } from '../../src/config/config.ts';
import { writeSampleNight } from '../../src/demo/sample-night.ts';
import { encodeImageHdu } from '../../src/fits/write.ts';
import { ingestObject } from '../../src/ingest/ingest-object.ts';
import { queueIngest } from '../../src/ingest/sources.ts';
import { splitKey, Worker } from '../../src/ingest/worker.ts';
import { type Lake, lakeOf } from '../../src/lake/lake.ts';
import { ENGINES, useEngines } from '../util/engines.ts';

const engines = useEngines(55439);
async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of body) parts.push(c);
  return Buffer.concat(parts);
}
const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));

async function newLake(engine: (typeof ENGINES)[number]): Promise<Lake> {
  const { cat } = await engines(engine);
  await cat.migrate();
  return lakeOf(loadConfig(tmp('fitslake-lake-'), {}), cat);
}

/** Stores a file in the raw zone and ingests it as a worker would. */
async function arrive(lake: Lake, key: string, bytes: Uint8Array) {
  await lake.zones.raw.put(key, bytes);
  const { collection, relKey } = splitKey(key, 'default');
  return ingestObject({
    store: lake.zones.raw,
    catalog: lake.catalog,
    zone: 'raw',
    key,
    collection,
    relKey,
    settings: await lake.collection(collection),
  });
}

const night = tmp('fitslake-night-');
const files = await writeSampleNight(night, { exposures: 2, size: 64, seed: 7 });
const science = files.find((f) => f.role === 'science' && /-ex10\./.test(f.path))!;
const group = files.filter((f) => f.obsId === science.obsId);
const bytesOf = (path: string) => readFileSync(join(night, path));

for (const engine of ENGINES) {
  test(`${engine}: an exposure's files in any order make one observation, completed when the FITS lands`, async () => {
    const lake = await newLake(engine);
    const db = lake.catalog.db;
    const order = ['thumbnail', 'header', 'preview', 'small', 'science'];
    const obs = () =>
      db.selectFrom('observations').selectAll().where('obs_id', '=', science.obsId).executeTakeFirstOrThrow();
    for (const role of order) {
      const f = group.find((g) => g.role === role)!;
      const r = await arrive(lake, `n1/${f.path}`, bytesOf(f.path));
      assert.equal(r.status, 'ingested', `${f.path}: ${JSON.stringify(r)}`);
      const o = await obs();
      const products = JSON.parse(o.products) as Record<string, string>;
      assert.ok(products[role]?.endsWith(f.path.split('/').pop()!), `${role} flagged: ${o.products}`);
      if (role === 'thumbnail') {
        assert.equal(o.status, 'placeholder');
        assert.equal(o.meta_rank, 1);
        assert.equal(o.instrument_name, science.path.split('/')[0], 'instrument from the name');
        assert.equal(o.night, '2022-06-29', 'night from the name');
        assert.equal(o.s_ra, null, 'a thumbnail knows no position');
      }
      if (role === 'header') {
        // The dump arrives before the FITS: the observation is searchable already.
        assert.equal(o.status, 'placeholder');
        assert.equal(o.meta_rank, 2);
        assert.ok(
          o.s_ra !== null && o.s_dec !== null && o.t_min !== null && o.filter,
          JSON.stringify(o, null, 1),
        );
        assert.ok(o.s_region?.startsWith('POLYGON ICRS'));
      }
    }
    const o = await obs();
    assert.equal(o.status, 'complete');
    assert.equal(o.meta_rank, 4);
    assert.equal(o.obs_type, 'EXPOSE');
    assert.equal(o.access_url, `/api/files/${encodeURIComponent(`n1/${science.path}`)}`);
    assert.equal(o.access_format, 'application/fits');
    assert.ok(Number(o.access_estsize) > 0);
    assert.equal(o.calib_level, 1);
    assert.ok(o.em_min && o.em_max && o.em_min < o.em_max, 'passband from FILTER');
    const arts = await db.selectFrom('artifacts').select('role').where('observation_id', '=', o.id).execute();
    assert.deepEqual(arts.map((a) => a.role).sort(), [...order].sort());
    assert.equal((await db.selectFrom('observations').selectAll().execute()).length, 1);
    const cells = await db
      .selectFrom('observation_cells')
      .selectAll()
      .where('observation_id', '=', o.id)
      .execute();
    assert.ok(cells.length >= 1);
    // Its calibration frames are linked by name, whether or not they have arrived yet.
    const links = await db
      .selectFrom('observation_links')
      .selectAll()
      .where('observation_id', '=', o.id)
      .execute();
    assert.deepEqual(links.map((l) => l.relation).sort(), ['bias', 'dark', 'flat']);
    const bias = files.find((f) => f.obsId === links.find((l) => l.relation === 'bias')!.target_obs_id);
    assert.ok(bias, `the bias link names a real frame: ${JSON.stringify(links)}`);
    await arrive(lake, `n1/${bias.path}`, bytesOf(bias.path));
    const joined = await db
      .selectFrom('observation_links')
      .innerJoin('observations as t', 't.obs_id', 'observation_links.target_obs_id')
      .select(['t.obs_type'])
      .where('observation_links.observation_id', '=', o.id)
      .where('relation', '=', 'bias')
      .executeTakeFirstOrThrow();
    assert.equal(joined.obs_type, 'BIAS');
    await lake.close();
  });

  test(`${engine}: a changed file is a new current version; the old one is kept`, async () => {
    const lake = await newLake(engine);
    const db = lake.catalog.db;
    const frame = (exptime: number) =>
      encodeImageHdu(
        new Int16Array(64),
        [8, 8],
        [
          ['DATE-OBS', '2023-01-02T03:04:05'],
          ['EXPTIME', exptime],
          ['OBJECT', 'M 42'],
        ],
      );
    const v1 = await arrive(lake, 'c/m42_001.fits', frame(10));
    const v2 = await arrive(lake, 'c/m42_001.fits', frame(20));
    assert.equal(v1.status, 'ingested');
    assert.equal(v2.status, 'ingested');
    const versions = await db
      .selectFrom('files')
      .select(['id', 'current'])
      .where('key', '=', 'c/m42_001.fits')
      .orderBy('id')
      .execute();
    assert.deepEqual(
      versions.map((v) => v.current),
      [0, 1],
    );
    const o = await db.selectFrom('observations').selectAll().executeTakeFirstOrThrow();
    assert.equal(o.t_exptime, 20, 'metadata from the new version');
    const arts = await db
      .selectFrom('artifacts')
      .select('file_id')
      .where('observation_id', '=', o.id)
      .execute();
    assert.deepEqual(
      arts.map((a) => Number(a.file_id)),
      [Number(versions[1].id)],
    );
    assert.equal((await arrive(lake, 'c/m42_001.fits', frame(20))).status, 'unchanged');
    await lake.close();
  });

  test(`${engine}: pictures keep size and EXIF, plain files are catalogued, corrupt FITS fail with the reason`, async () => {
    const lake = await newLake(engine);
    const db = lake.catalog.db;
    const jpeg = await sharp(Buffer.alloc(40 * 30 * 3, 90), { raw: { width: 40, height: 30, channels: 3 } })
      .jpeg()
      .withExif({
        IFD0: { Make: 'ZWO', Model: 'ASI294MC' },
        IFD2: { DateTimeOriginal: '2022:06:29 03:12:00' },
      })
      .toBuffer();
    const pic = await arrive(lake, 'c/moon.jpg', jpeg);
    assert.equal(pic.status, 'ingested');
    const row = await db
      .selectFrom('files')
      .select(['kind', 'info'])
      .where('key', '=', 'c/moon.jpg')
      .executeTakeFirstOrThrow();
    assert.equal(row.kind, 'image');
    const info = JSON.parse(row.info!);
    assert.equal(info.width, 40);
    assert.equal(info.height, 30);
    assert.equal(info.exif['Image.Make'], 'ZWO');
    const o = await db
      .selectFrom('observations')
      .selectAll()
      .where('obs_id', '=', 'moon')
      .executeTakeFirstOrThrow();
    assert.ok(Math.abs((o.t_min ?? 0) - 59759.1333333) < 1e-5, `EXIF time → t_min ${o.t_min}`);

    const csv = await arrive(lake, 'c/notes.csv', new TextEncoder().encode('a,b\n1,2\n'));
    assert.equal(csv.status, 'ingested');
    assert.equal((csv as { kind: string }).kind, 'plain');
    assert.equal((csv as { observationId: number | null }).observationId, null);
    // Named FITS, but a gzip of text: a plain file is fine only when the name does not claim FITS.
    const bad = await arrive(
      lake,
      'c/broken.fits',
      new TextEncoder().encode('SIMPLE  =   garbage'.repeat(200)),
    );
    assert.equal(bad.status, 'failed');
    assert.match((bad as { error: string }).error, /broken\.fits/);
    const truncated = encodeImageHdu(new Int16Array(64 * 64), [64, 64]).subarray(0, 3000);
    const cut = await arrive(lake, 'c/cut.fits', truncated);
    assert.equal(cut.status, 'failed', 'a truncated FITS is recorded as failed');
    assert.ok(await lake.zones.raw.head('c/cut.fits'), 'and kept');
    await lake.close();
  });

  test(`${engine}: workers ingest a night, make previews and crawl; a corrupt file blocks nothing`, async () => {
    const lake = await newLake(engine);
    const db = lake.catalog.db;
    const keys: string[] = [];
    for (const f of files) {
      await lake.zones.raw.put(`n1/${f.path}`, bytesOf(f.path));
      keys.push(`n1/${f.path}`);
    }
    await lake.zones.raw.put('n1/zz-corrupt.fits', new TextEncoder().encode('not a fits file at all'));
    keys.splice(3, 0, 'n1/zz-corrupt.fits');
    await queueIngest(lake, keys);
    await new Worker(lake).run({ untilIdle: true, concurrency: 4 });
    const failed = await db
      .selectFrom('files')
      .select(['key', 'error'])
      .where('status', '=', 'failed')
      .execute();
    assert.deepEqual(
      failed.map((f) => f.key),
      ['n1/zz-corrupt.fits'],
    );
    const ok = await db
      .selectFrom('files')
      .select('id')
      .where('zone', '=', 'raw')
      .where('status', '=', 'ingested')
      .execute();
    assert.equal(ok.length, files.length);
    const nObs = new Set(files.map((f) => f.obsId)).size;
    const obs = await db.selectFrom('observations').select(['obs_id', 'status']).execute();
    assert.equal(obs.length, nObs);
    assert.ok(obs.every((o) => o.status === 'complete'));
    // Previews: a stretched JPEG preview and thumbnail per FITS image, a thumbnail per picture.
    const previews = await db.selectFrom('files').select(['key']).where('zone', '=', 'previews').execute();
    const fitsCount = files.filter((f) => f.role === 'science' || f.role === 'small').length;
    const picCount = files.filter((f) => f.role === 'preview' || f.role === 'thumbnail').length;
    assert.equal(previews.length, fitsCount * 2 + picCount);
    const one = previews.find((p) => p.key.endsWith('.fits.bz2.preview.jpg'))!;
    const meta = await sharp(await collect(await lake.zones.previews.get(one.key))).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.width, 64);
    const jobs = await db.selectFrom('jobs').select(['kind', 'status']).execute();
    assert.ok(
      jobs.every((j) => j.status === 'done'),
      JSON.stringify(jobs.filter((j) => j.status !== 'done')),
    );
    assert.ok(jobs.some((j) => j.kind === 'crawl'));
    await lake.close();
  });
}
