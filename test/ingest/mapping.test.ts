// A collection's keyword mapping: columns from the keywords a telescope really writes.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { loadConfig } from '../../src/config/config.ts';
import { encodeImageHdu } from '../../src/fits/write.ts';
import { ingestObject } from '../../src/ingest/ingest-object.ts';
import { lakeOf } from '../../src/lake/lake.ts';

test('mapping from fitslake.yaml: ITIME, TARG, sexagesimal OBJRA/OBJDEC and DATE_BEG fill the columns', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-map-'));
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    join(dir, 'fitslake.yaml'),
    `collections:
  odd:
    calibLevel: 2
    proprietaryDays: 30
    mapping:
      t_exptime: [ITIME, EXPTIME]
      target_name: [TARG]
      s_ra: [OBJRA]
      s_dec: [OBJDEC]
      t_min: [DATE_BEG]
      filter: [FLTR]
`,
  );
  const loaded = loadConfig(dir, {});
  const cat = openCatalog({ kind: 'sqlite', path: join(dir, 'c.sqlite') });
  await cat.migrate();
  const lake = lakeOf(loaded, cat);
  const bytes = encodeImageHdu(
    new Int16Array(16),
    [4, 4],
    [
      ['ITIME', 42.5, 'integration time'],
      ['TARG', 'NGC 253'],
      ['OBJRA', '00:47:33.1'],
      ['OBJDEC', '-25:17:18'],
      ['DATE_BEG', '2023-09-01T02:00:00'],
      ['FLTR', 'Halpha'],
    ],
  );
  await lake.zones.raw.put('odd/x.fits', bytes);
  const r = await ingestObject({
    store: lake.zones.raw,
    catalog: cat,
    zone: 'raw',
    key: 'odd/x.fits',
    collection: 'odd',
    relKey: 'x.fits',
    settings: await lake.collection('odd'),
  });
  assert.equal(r.status, 'ingested');
  const o = await cat.db.selectFrom('observations').selectAll().executeTakeFirstOrThrow();
  assert.equal(o.t_exptime, 42.5);
  assert.equal(o.target_name, 'NGC 253');
  assert.ok(Math.abs(o.s_ra! - (0 + 47 / 60 + 33.1 / 3600) * 15) < 1e-9, `s_ra ${o.s_ra}`);
  assert.ok(Math.abs(o.s_dec! - -(25 + 17 / 60 + 18 / 3600)) < 1e-9, `s_dec ${o.s_dec}`);
  assert.ok(Math.abs(o.t_min! - 60188.0833333) < 1e-6, `t_min ${o.t_min}`);
  assert.equal(o.filter, 'Halpha');
  assert.ok(
    o.em_min! < 656.3e-9 && o.em_max! > 656.3e-9,
    `the mapped filter gives the H-alpha passband: ${o.em_min}–${o.em_max}`,
  );
  assert.equal(o.calib_level, 2);
  assert.equal(o.public_date?.slice(0, 10), '2023-10-01', 'public 30 days after the start');
  const cells = await cat.db.selectFrom('observation_cells').selectAll().execute();
  assert.equal(cells.length, 1, 'a mapped position is indexed');
  await cat.close();
});
