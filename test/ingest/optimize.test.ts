// Range-readable copies of whole-file .gz/.bz2 FITS: written by the worker for a collection with
// `optimize: true` and by `optimizeFile`, checked pixel for pixel, linked to the original.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { queueIngest } from '../../src/ingest/sources.ts';
import { loadConfig } from '../../src/config/config.ts';
import { BufferSource } from '../../src/fits/byte-source.ts';
import { readCompressedImage } from '../../src/fits/compression/tiles.ts';
import { openFits } from '../../src/fits/fits-file.ts';
import { readImage } from '../../src/fits/image.ts';
import { encodeHeader, encodeImageHdu } from '../../src/fits/write.ts';
import {
  type HduMapping,
  optimizedKey,
  optimizeFile,
  rangeReadableCopy,
  verifyOptimized,
  writeOptimized,
} from '../../src/ingest/optimize.ts';
import { Worker } from '../../src/ingest/worker.ts';
import { FileSource } from '../../src/io/file-source.ts';
import { type Lake, lakeOf } from '../../src/lake/lake.ts';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));

async function newLake(yaml = ''): Promise<Lake> {
  const dir = tmp('fitslake-opt-');
  writeFileSync(join(dir, 'fitslake.yaml'), `ingest:\n  previews: false\n${yaml}`);
  const cat = openCatalog({ kind: 'sqlite', path: join(dir, 'c.sqlite') });
  await cat.migrate();
  return lakeOf(loadConfig(dir, {}), cat);
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of body) parts.push(c);
  return Buffer.concat(parts);
}

/** A bintable HDU with two rows of one 4-byte integer column: copied byte for byte. */
function tableHdu(): Uint8Array {
  const header = encodeHeader([
    ['XTENSION', 'BINTABLE'],
    ['BITPIX', 8],
    ['NAXIS', 2],
    ['NAXIS1', 4],
    ['NAXIS2', 2],
    ['PCOUNT', 0],
    ['GCOUNT', 1],
    ['TFIELDS', 1],
    ['TTYPE1', 'N'],
    ['TFORM1', '1J'],
    ['EXTNAME', 'EVENTS'],
  ]);
  const data = new Uint8Array(2880);
  new DataView(data.buffer).setInt32(0, 7);
  new DataView(data.buffer).setInt32(4, -9);
  return Buffer.concat([header, data]);
}

const W = 120;
const H = 50;
const mosaic = new Int16Array(W * H).map((_, i) => Math.round(300 * Math.sin(i / 17)) + (i % 7));
const cube = new Float32Array(W * H * 3).map((_, i) => Math.cos(i / 5) * 100);
cube[17] = Number.NaN;
/** Primary int16 image (unsigned convention) + float32 cube extension + a table. */
function sample(): Uint8Array {
  return Buffer.concat([
    encodeImageHdu(
      mosaic,
      [W, H],
      [
        ['BZERO', 32768],
        ['BSCALE', 1],
        ['OBJECT', 'M31'],
      ],
      { extend: true },
    ),
    encodeImageHdu(cube, [W, H, 3], [['EXTNAME', 'CUBE']], { primary: false }),
    tableHdu(),
  ]);
}

test('optimizedKey drops .gz/.bz2 and appends .fz', () => {
  assert.equal(optimizedKey('c/a/img.fits.gz'), 'c/a/img.fits.fz');
  assert.equal(optimizedKey('c/img.fit.bz2'), 'c/img.fit.fz');
  assert.equal(optimizedKey('c/img.fz.gz'), 'c/img.fz');
});

test('writeOptimized: primary image behind an empty primary, tables copied, pixels identical; funpack agrees', async () => {
  const dir = tmp('fitslake-opt-w-');
  const out = join(dir, 'copy.fits.fz');
  const plain = sample();
  const map = await writeOptimized(new BufferSource(plain), out);
  assert.deepEqual(
    map.map((m: HduMapping) => [m.from, m.to, m.method]),
    [
      [0, 1, 'RICE_1'],
      [1, 2, 'GZIP_2'],
      [2, 3, 'copy'],
    ],
  );
  const copy = await FileSource.open(out);
  await verifyOptimized(new BufferSource(plain), copy, map);
  const fits = await openFits(copy, { mode: 'strict' });
  const orig = await openFits(new BufferSource(plain));
  const a = await readImage(new BufferSource(plain), orig.hdus[0]);
  const b = await readCompressedImage(copy, fits.hdus[1]);
  assert.equal(b.dtype, 'uint16');
  assert.deepEqual(Array.from(b.data as Uint16Array), Array.from(a.data as Uint16Array));
  assert.equal(fits.hdus[1].imageHeader?.string('OBJECT'), 'M31');
  assert.equal(fits.hdus[2].extname, 'CUBE');
  assert.equal(fits.hdus[3].extname, 'EVENTS');
  // A cutout reads a few tiles, not the HDU.
  const before = copy.bytesRead;
  const cut = await readCompressedImage(copy, fits.hdus[2], [
    { start: 10, stop: 20 },
    { start: 5, stop: 8 },
    { start: 1, stop: 2 },
  ]);
  assert.equal(cut.data[0], cube[W * H + 5 * W + 10]);
  assert.ok(copy.bytesRead - before < fits.hdus[2].dataSize / 10);
  await copy.close();
  // A corrupted copy is caught.
  const bad = Buffer.from(
    await collect(
      (async function* () {
        yield (await import('node:fs')).readFileSync(out);
      })(),
    ),
  );
  const heapAt = fits.hdus[1].dataOffset + fits.hdus[1].naxes[0] * fits.hdus[1].naxes[1] + 100;
  bad[heapAt] ^= 0x55;
  await assert.rejects(
    verifyOptimized(new BufferSource(plain), new BufferSource(bad), map),
    /differs from the original|RICE_1|tile/,
  );
  if (spawnSync('sh', ['-c', 'command -v funpack && command -v fitsverify']).status === 0) {
    const v = spawnSync('fitsverify', [out], { encoding: 'utf8' }).stdout;
    assert.match(v, /found 0 warning\(s\) and 0 error\(s\)/, v);
    const f = spawnSync('funpack', ['-O', join(dir, 'back.fits'), out], { encoding: 'utf8' });
    assert.equal(f.status, 0, f.stderr);
    const back = await FileSource.open(join(dir, 'back.fits'));
    const bf = await openFits(back);
    const img0 = await readImage(back, bf.hdus[0]);
    assert.deepEqual(Array.from(img0.data as Uint16Array), Array.from(a.data as Uint16Array));
    const img1 = await readImage(back, bf.hdus[1]);
    for (let i = 0; i < cube.length; i++)
      assert.ok(Object.is(img1.data[i], cube[i]) || (Number.isNaN(img1.data[i]) && Number.isNaN(cube[i])));
    await back.close();
  }
});

test('a collection with optimize: true gets a derived .fz copy after ingest, linked and idempotent', async () => {
  const lake = await newLake('collections:\n  opt:\n    optimize: true\n');
  const db = lake.catalog.db;
  const bz = spawnSync('bzip2', ['-c'], { input: sample() }).stdout;
  await lake.zones.raw.put('opt/night/img.fits.gz', gzipSync(sample()));
  await lake.zones.raw.put('opt/night/img2.fits.bz2', bz);
  await lake.zones.raw.put('opt/night/plain.fits', sample());
  await queueIngest(lake, ['opt/night/img.fits.gz', 'opt/night/img2.fits.bz2', 'opt/night/plain.fits']);
  await new Worker(lake).run({ untilIdle: true, concurrency: 2 });
  const jobs = await db
    .selectFrom('jobs')
    .select(['kind', 'status', 'error'])
    .where('kind', '=', 'optimize')
    .execute();
  assert.deepEqual(
    jobs.map((j) => [j.kind, j.status]),
    [
      ['optimize', 'done'],
      ['optimize', 'done'],
    ],
    JSON.stringify(jobs),
  );
  const derived = await db
    .selectFrom('files')
    .selectAll()
    .where('zone', '=', 'derived')
    .orderBy('key')
    .execute();
  assert.deepEqual(
    derived.map((d) => d.key),
    ['opt/night/img.fits.fz', 'opt/night/img2.fits.fz'],
  );
  const orig = await db
    .selectFrom('files')
    .select(['id', 'key', 'sha256'])
    .where('key', '=', 'opt/night/img.fits.gz')
    .executeTakeFirstOrThrow();
  const d0 = derived[0];
  assert.equal(d0.kind, 'fits');
  assert.deepEqual(JSON.parse(d0.info!).derivedFrom, {
    fileId: Number(orig.id),
    key: orig.key,
    sha256: orig.sha256,
  });
  const hdus = await db
    .selectFrom('hdus')
    .select(['idx', 'kind'])
    .where('file_id', '=', d0.id)
    .orderBy('idx')
    .execute();
  assert.deepEqual(
    hdus.map((h) => h.kind),
    ['primary', 'compressed-image', 'compressed-image', 'bintable'],
  );
  const links = await db
    .selectFrom('artifacts')
    .select(['observation_id', 'role', 'file_id'])
    .where('file_id', 'in', [Number(orig.id), Number(d0.id)])
    .execute();
  const role = links.find((l) => Number(l.file_id) === Number(d0.id));
  assert.equal(role?.role, 'optimized');
  assert.equal(
    role?.observation_id,
    links.find((l) => Number(l.file_id) === Number(orig.id))?.observation_id,
  );
  assert.equal(await rangeReadableCopy(lake.catalog, 'opt/night/img.fits.gz'), 'opt/night/img.fits.fz');
  assert.equal(await rangeReadableCopy(lake.catalog, Number(orig.id)), 'opt/night/img.fits.fz');
  assert.equal(await rangeReadableCopy(lake.catalog, 'opt/night/plain.fits'), undefined);
  // The original is untouched.
  assert.deepEqual(await collect(await lake.zones.raw.get('opt/night/img.fits.gz')), gzipSync(sample()));
  // Re-running does nothing; a plain FITS is skipped.
  const again = await optimizeFile(lake, Number(orig.id));
  assert.equal(again.status, 'unchanged');
  const plain = await db
    .selectFrom('files')
    .select('id')
    .where('key', '=', 'opt/night/plain.fits')
    .executeTakeFirstOrThrow();
  assert.equal((await optimizeFile(lake, Number(plain.id))).status, 'skipped');
  assert.equal((await db.selectFrom('files').select('id').where('zone', '=', 'derived').execute()).length, 2);
  await lake.close();
});
