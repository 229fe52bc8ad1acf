// The one-pass ingest of local files (src/ingest/direct.ts) at a size where its extraction threads
// store the files with blocking calls and the schema crawl runs several times during the ingest:
// every file stored intact and catalogued once, and the keyword inventory counts each HDU once.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { keywordInventory } from '../../src/ingest/crawler.ts';
import { ingestLocal } from '../../src/ingest/direct.ts';
import { Worker } from '../../src/ingest/worker.ts';
import { openLake } from '../../src/lake/lake.ts';
import { smallFrame } from '../util/frames.ts';

/** More than the crawl's interval (2,000 files), so it runs during the ingest and once after. */
const N = 2300;
/** Files carrying a keyword no other file has. */
const RARE = [7, 1500, 2299];

test('one-pass ingest of 2,300 files: stored byte for byte, catalogued once, every keyword counted once', async () => {
  const src = mkdtempSync(join(tmpdir(), 'fitslake-direct-src-'));
  const sums = new Map<string, string>();
  for (let i = 0; i < N; i++) {
    const name = `frame_${String(i).padStart(4, '0')}.fits`;
    const bytes = smallFrame(i, RARE.includes(i) ? [['RAREKEY', i]] : []);
    writeFileSync(join(src, name), bytes);
    sums.set(`d/${name}`, createHash('sha256').update(bytes).digest('hex'));
  }
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-direct-lake-'));
  writeFileSync(join(dir, 'fitslake.yaml'), 'ingest:\n  previews: false\n');
  const lake = await openLake(dir, {});
  try {
    const settled: number[] = [];
    const r = await ingestLocal(lake, src, 'd', false, (p) => settled.push(p.settled));
    assert.equal(r.keys.length, N);
    assert.deepEqual(r.queued, [], 'every file went through the one pass');
    assert.equal(settled.at(-1), N);

    // Stored byte for byte (the threads' putSync), with the SHA-256 the catalog records.
    const files = await lake.catalog.db
      .selectFrom('files')
      .select(['key', 'sha256', 'status'])
      .where('collection', '=', 'd')
      .execute();
    assert.equal(files.length, N);
    for (const f of files) {
      assert.equal(f.status, 'ingested', f.key);
      assert.equal(f.sha256, sums.get(f.key), f.key);
    }
    for (const key of ['d/frame_0000.fits', 'd/frame_1500.fits', 'd/frame_2299.fits']) {
      const stored = readFileSync(join(dir, 'data', 'raw', ...key.split('/')));
      assert.equal(createHash('sha256').update(stored).digest('hex'), sums.get(key));
      assert.equal((await lake.zones.raw.head(key))?.sha256, sums.get(key));
    }
    const obs = await sql<{
      n: number;
    }>`SELECT COUNT(*) AS n FROM observations WHERE obs_collection = 'd'`.execute(lake.catalog.db);
    assert.equal(Number(obs.rows[0].n), N);

    // The crawl ran during the ingest (its watermark is past the first 2,000 files), and the rest is
    // left to the crawl job the ingest queued.
    const state = await lake.catalog.db
      .selectFrom('crawler_state')
      .select('last_file_id')
      .where('collection', '=', 'd')
      .executeTakeFirstOrThrow();
    assert.ok(Number(state.last_file_id) >= 2000, `watermark ${state.last_file_id}`);
    await new Worker(lake).run({ untilIdle: true });
    const inventory = new Map((await keywordInventory(lake.catalog, 'd')).map((k) => [k.keyword, k]));
    assert.equal(inventory.get('OBJECT')?.count, N);
    assert.equal(inventory.get('EXPTIME')?.type, 'int');
    assert.equal(inventory.get('RAREKEY')?.count, RARE.length);
    assert.deepEqual(inventory.get('RAREKEY')?.examples, RARE);
    const view = await sql<{
      n: number;
      rare: number;
    }>`SELECT COUNT(*) AS n, COUNT("RAREKEY") AS rare FROM hdr_d`.execute(lake.catalog.db);
    assert.deepEqual(
      { n: Number(view.rows[0].n), rare: Number(view.rows[0].rare) },
      { n: N, rare: RARE.length },
    );
  } finally {
    await lake.close();
  }
});
