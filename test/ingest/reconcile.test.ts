// reconcile(): the repair that `fitslake worker` runs at start and `status --repair` runs on demand.
// A stored object the catalog lacks gets one ingest job — unless it was stored within the settle
// time, when the ingest that stored it is still on its way (queuing it then made a second job);
// a catalogued key whose object is gone is marked deleted.
import assert from 'node:assert/strict';
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeImageHdu } from '../../src/fits/write.ts';
import { ingestObject } from '../../src/ingest/ingest-object.ts';
import { RECONCILE_SETTLE_MS, reconcile } from '../../src/ingest/sources.ts';
import { openLake } from '../../src/lake/lake.ts';
import type { LocalStore } from '../../src/storage/local-store.ts';

test('reconcile queues a lost object once it has settled, never a fresh one, and retires vanished files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-reconcile-'));
  writeFileSync(join(dir, 'fitslake.yaml'), '');
  const lake = await openLake(dir);
  try {
    const frame = (name: string) => encodeImageHdu(new Int16Array(16), [4, 4], [['OBJECT', name]]);
    // Catalogued normally, then its object removed behind the catalog's back.
    await lake.zones.raw.put('c/gone.fits', frame('gone'));
    const gone = await ingestObject({
      store: lake.zones.raw,
      catalog: lake.catalog,
      zone: 'raw',
      key: 'c/gone.fits',
      collection: 'c',
      relKey: 'gone.fits',
    });
    assert.equal(gone.status, 'ingested');
    await lake.zones.raw.delete('c/gone.fits');
    // Stored but never catalogued: one just now, one long ago (its file dated back past the settle time).
    await lake.zones.raw.put('c/fresh.fits', frame('fresh'));
    await lake.zones.raw.put('c/lost.fits', frame('lost'));
    const old = new Date(Date.now() - 2 * RECONCILE_SETTLE_MS);
    utimesSync(join((lake.zones.raw as LocalStore).root, 'c', 'lost.fits'), old, old);

    const jobs = async () =>
      (await lake.catalog.db.selectFrom('jobs').select('payload').where('kind', '=', 'ingest').execute())
        .map((j) => (JSON.parse(j.payload) as { key: string }).key)
        .sort();
    assert.deepEqual(await reconcile(lake), { queued: 1, removed: 1 });
    assert.deepEqual(await jobs(), ['c/lost.fits']);
    const row = await lake.catalog.db
      .selectFrom('files')
      .select(['status', 'current'])
      .where('key', '=', 'c/gone.fits')
      .executeTakeFirstOrThrow();
    assert.deepEqual({ ...row, current: Number(row.current) }, { status: 'deleted', current: 0 });
    // Again: the lost key's job is pending, so nothing is queued twice; the fresh one still waits.
    assert.deepEqual(await reconcile(lake), { queued: 0, removed: 0 });
    // With no settle time (an operator who knows nothing is in flight), the fresh one is queued too.
    assert.deepEqual(await reconcile(lake, 0), { queued: 1, removed: 0 });
    assert.deepEqual(await jobs(), ['c/fresh.fits', 'c/lost.fits']);
  } finally {
    await lake.close();
  }
});
