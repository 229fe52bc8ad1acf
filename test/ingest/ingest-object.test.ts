import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Catalog } from '../../src/catalog/catalog.ts';
import { encodeImageHdu } from '../../src/fits/write.ts';
import { ingestObject } from '../../src/ingest/ingest-object.ts';
import { LocalStore } from '../../src/storage/local-store.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { corpusBytes, truth } from '../util/corpus.ts';
import { ENGINES, useEngines } from '../util/engines.ts';

const engines = useEngines(55435);
const extractObject = (s: ObjectStore, cat: Catalog, zone: string, key: string, collection = 'default') =>
  ingestObject({ store: s, catalog: cat, zone, key, collection });
const store = () => new LocalStore(mkdtempSync(join(tmpdir(), 'fitslake-ingest-')));

for (const engine of ENGINES) {
  test(`${engine}: a FITS object is catalogued with every HDU and card; the same bytes again change nothing`, async () => {
    const { cat } = await engines(engine);
    await cat.migrate();
    const s = store();
    const rel = 'synthetic/compressed_all.fits';
    await s.put('raw/night1/c.fits', corpusBytes(rel));
    const first = await extractObject(s, cat, 'raw', 'raw/night1/c.fits', 'test');
    assert.equal(first.status, 'ingested');
    const t = truth(rel);
    const hdus = await cat.db.selectFrom('hdus').selectAll().orderBy('idx').execute();
    assert.equal(hdus.length, t.hdus.length);
    for (const [i, h] of hdus.entries()) {
      assert.deepEqual(
        [Number(h.header_offset), Number(h.data_offset), Number(h.data_span)],
        [t.hdus[i].hdrLoc, t.hdus[i].datLoc, t.hdus[i].datSpan],
      );
    }
    assert.equal(hdus[1].kind, 'compressed-image');
    assert.equal(JSON.parse(hdus[1].shape).join('x'), '80x64');
    assert.equal(hdus[1].checksum, 'ok');
    const cards = JSON.parse(hdus[1].cards) as [string, unknown][];
    assert.deepEqual(
      cards[0],
      ['XTENSION', 'IMAGE', 'string', 'Image extension'],
      'the logical image header',
    );
    const again = await extractObject(s, cat, 'raw', 'raw/night1/c.fits', 'test');
    assert.deepEqual(again, { status: 'unchanged', fileId: (first as { fileId: number }).fileId });
    assert.equal((await cat.db.selectFrom('observations').selectAll().execute()).length, 1);
    const files = await cat.db.selectFrom('files').selectAll().execute();
    assert.equal(files.length, 1);
    await cat.close();
  });

  test(`${engine}: changed bytes under the same key are a new version; a corrupt file is kept and marked failed`, async () => {
    const { cat } = await engines(engine);
    await cat.migrate();
    const s = store();
    await s.put('raw/a.fits', corpusBytes('fits/arange.fits'));
    await extractObject(s, cat, 'raw', 'raw/a.fits');
    await s.put('raw/a.fits', corpusBytes('fits/checksum.fits'));
    const v2 = await extractObject(s, cat, 'raw', 'raw/a.fits');
    assert.equal(v2.status, 'ingested');
    const versions = await cat.db
      .selectFrom('files')
      .select(['sha256', 'status'])
      .where('key', '=', 'raw/a.fits')
      .execute();
    assert.equal(versions.length, 2);
    const junk = new TextEncoder().encode('this is not FITS, but it was named so'.repeat(100));
    await s.put('raw/broken.fits', junk);
    const bad = await extractObject(s, cat, 'raw', 'raw/broken.fits');
    assert.equal(bad.status, 'failed');
    assert.match((bad as { error: string }).error, /raw\/broken\.fits.*does not start with SIMPLE/);
    const row = await cat.db
      .selectFrom('files')
      .select(['status', 'error'])
      .where('key', '=', 'raw/broken.fits')
      .executeTakeFirstOrThrow();
    assert.equal(row.status, 'failed');
    assert.ok(await s.head('raw/broken.fits'), 'the bytes are kept');
    await cat.close();
  });

  test(`${engine}: concurrent deliveries of the same object record one file`, async () => {
    const { cat, reopen } = await engines(engine);
    await cat.migrate();
    const s = store();
    await s.put('raw/x.fits', corpusBytes('fits/checksum.fits'));
    const others = [reopen(), reopen(), reopen()];
    const results = await Promise.all([cat, ...others].map((c) => extractObject(s, c, 'raw', 'raw/x.fits')));
    assert.equal(results.filter((r) => r.status === 'ingested').length, 1, JSON.stringify(results));
    assert.equal(results.filter((r) => r.status === 'unchanged').length, 3);
    assert.equal((await cat.db.selectFrom('files').selectAll().execute()).length, 1);
    assert.equal((await cat.db.selectFrom('hdus').selectAll().execute()).length, 2);
    for (const c of [cat, ...others]) await c.close();
  });
}

test('a .fits.gz larger than 64 MiB once decompressed is ingested (the bomb check counts the compressed bytes read)', async () => {
  const { cat } = await engines('sqlite');
  await cat.migrate();
  const s = store();
  // 4200 x 4200 float32 = 70.6 MB of pixels, compressing well but far below the 2000:1 bomb ratio.
  const n = 4200;
  const pixels = new Float32Array(n * n);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i % 977) * 0.25;
  const fits = encodeImageHdu(pixels, [n, n], [['OBJECT', 'big']]);
  const gz = gzipSync(fits, { level: 1 });
  const ratio = fits.length / gz.length;
  assert.ok(fits.length > 64 << 20 && ratio < 500, `${fits.length} bytes, ratio ${ratio.toFixed(0)}:1`);
  await s.put('raw/big/big.fits.gz', gz);
  const r = await extractObject(s, cat, 'raw', 'raw/big/big.fits.gz', 'big');
  assert.equal(r.status, 'ingested', JSON.stringify(r));
  const h = await cat.db.selectFrom('hdus').select(['shape', 'data_span']).executeTakeFirstOrThrow();
  assert.deepEqual(JSON.parse(h.shape), [n, n]);
  await cat.close();
});
