import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import type { Catalog } from '../../src/catalog/catalog.ts';
import type { CardSpec } from '../../src/fits/write.ts';
import { encodeImageHdu } from '../../src/fits/write.ts';
import {
  type CrawlResult,
  crawl,
  createViewSql,
  keywordInventory,
  viewName,
} from '../../src/ingest/crawler.ts';
import { ingestObject } from '../../src/ingest/ingest-object.ts';
import { LocalStore } from '../../src/storage/local-store.ts';
import { ENGINES, useEngines } from '../util/engines.ts';

const engines = useEngines(55436);
const execFileAsync = promisify(execFile);

/** A primary HDU with `cards`, then (if given) an image extension with `ext`. */
function fits(cards: CardSpec[], ext?: CardSpec[]): Uint8Array {
  const primary = encodeImageHdu(new Int16Array(16), [4, 4], cards, { extend: !!ext });
  if (!ext) return primary;
  const e = encodeImageHdu(new Int16Array(4), [2, 2], ext, { primary: false });
  const out = new Uint8Array(primary.length + e.length);
  out.set(primary);
  out.set(e, primary.length);
  return out;
}

interface Lake {
  cat: Catalog;
  put(relKey: string, bytes: Uint8Array, collection?: string): Promise<number>;
  createdAt(id: number): Promise<string>;
}

async function lake(cat: Catalog): Promise<Lake> {
  await cat.migrate();
  const store = new LocalStore(mkdtempSync(join(tmpdir(), 'fitslake-crawl-')));
  return {
    cat,
    async put(relKey, bytes, collection = 'Night-1') {
      const key = `raw/${collection}/${relKey}`;
      await store.put(key, bytes);
      const r = await ingestObject({ store, catalog: cat, zone: 'raw', key, collection, relKey });
      return r.fileId;
    },
    async createdAt(id) {
      const f = await cat.db
        .selectFrom('files')
        .select('created_at')
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      return f.created_at;
    },
  };
}

/** Runs `n` crawls of a SQLite catalog at once, each in its own Node process. */
async function crawlInProcesses(cat: Catalog, collection: string, n: number): Promise<CrawlResult[]> {
  const list = await sql<{ file: string }>`PRAGMA database_list`.execute(cat.db);
  const path = list.rows[0].file;
  const src = (p: string) => JSON.stringify(fileURLToPath(new URL(`../../src/${p}`, import.meta.url)));
  const script = `
    const { openCatalog } = await import(${src('catalog/catalog.ts')});
    const { crawl } = await import(${src('ingest/crawler.ts')});
    const cat = openCatalog({ kind: 'sqlite', path: ${JSON.stringify(path)} });
    console.log(JSON.stringify(await crawl(cat, ${JSON.stringify(collection)}, { batchFiles: 2 })));
    await cat.close();`;
  const runs = Array.from({ length: n }, () =>
    execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]),
  );
  return (await Promise.all(runs)).map((r) => JSON.parse(r.stdout) as CrawlResult);
}

const kw = (rows: Awaited<ReturnType<typeof keywordInventory>>, keyword: string) => {
  const r = rows.find((x) => x.keyword === keyword);
  assert.ok(r, `inventory has ${keyword}`);
  return r;
};

const state = async (cat: Catalog, collection: string) => {
  const s = await cat.db
    .selectFrom('crawler_state')
    .selectAll()
    .where('collection', '=', collection)
    .executeTakeFirstOrThrow();
  return {
    last: Number(s.last_file_id),
    view: JSON.parse(s.view_columns) as { pathFields: string[]; columns: [string, string][] },
  };
};

test('view names: lower case, [a-z0-9_] only, at most 63 characters', () => {
  assert.equal(viewName('Night-1'), 'hdr_night_1');
  assert.equal(viewName('HST/ACS wfc.2'), 'hdr_hst_acs_wfc_2');
  assert.equal(viewName('Ünï'), 'hdr__n_');
  assert.equal(viewName('x'.repeat(100)), 'hdr_' + 'x'.repeat(59));
});

test('view SQL quotes identifiers and literals (doubled quotes), on both dialects', () => {
  for (const d of ['sqlite', 'postgres'] as const) {
    const q = createViewSql(d, 'hdr_o_x', "O'Brien", [
      ['ODD"KEY', 'string'],
      ['night', 'path'],
    ]);
    assert.match(q, /^CREATE VIEW "hdr_o_x" AS/);
    assert.ok(q.includes(`AS "ODD""KEY"`), q);
    assert.ok(q.includes(`f.collection = 'O''Brien'`), q);
  }
});

for (const engine of ENGINES) {
  test(`${engine}: crawl inventories keywords, widens types, and keeps a typed hdr_ view`, async () => {
    const { cat } = await engines(engine);
    const l = await lake(cat);
    const f1 = await l.put(
      'night=2022-06-29/a.fits',
      fits(
        [
          ['EXPTIME', 30],
          ['FILTER', 'V'],
          ['AIRMASS', 1.2],
          ['GAIN', 2],
          ['DOFLAT', true],
          ['COMMENT', 'a comment, not a keyword'],
          ['HISTORY', 'made by the test'],
        ],
        [
          ['EXTNAME', 'SCI'],
          ['FILTER', 'V2'],
        ],
      ),
    );
    const f2 = await l.put(
      'night=2022-06-30/b.fits',
      fits([
        ['EXPTIME', 60],
        ['FILTER', 'R'],
        ['AIRMASS', 1.7],
        ['GAIN', 4],
        ['DOFLAT', false],
      ]),
    );
    // Neither a failed file nor another collection's file is crawled.
    await l.put('night=2022-06-29/broken.fits', new TextEncoder().encode('not FITS at all'.repeat(300)));
    await l.put('o.fits', fits([['OTHERKEY', 1]]), 'other');

    const first = await crawl(cat, 'Night-1');
    assert.equal(first.files, 2);
    assert.equal(first.viewChanged, true);
    assert.deepEqual(first.newKeywords, [
      'AIRMASS',
      'BITPIX',
      'DOFLAT',
      'EXPTIME',
      'EXTEND',
      'EXTNAME',
      'FILTER',
      'GAIN',
      'GCOUNT',
      'NAXIS',
      'NAXIS1',
      'NAXIS2',
      'PCOUNT',
      'SIMPLE',
      'XTENSION',
    ]);
    let inv = await keywordInventory(cat, 'Night-1');
    assert.deepEqual(
      inv.map((r) => r.keyword),
      first.newKeywords,
      'sorted by keyword; COMMENT and HISTORY are not keywords',
    );
    const t1 = await l.createdAt(f1);
    const t2 = await l.createdAt(f2);
    assert.deepEqual(kw(inv, 'EXPTIME'), {
      keyword: 'EXPTIME',
      count: 2,
      type: 'int',
      examples: [30, 60],
      first_seen: t1,
      last_seen: t2,
    });
    assert.deepEqual(
      [kw(inv, 'FILTER').count, kw(inv, 'FILTER').type, kw(inv, 'FILTER').examples],
      [3, 'string', ['V', 'V2', 'R']],
    );
    assert.deepEqual([kw(inv, 'AIRMASS').type, kw(inv, 'AIRMASS').examples], ['float', [1.2, 1.7]]);
    assert.deepEqual([kw(inv, 'DOFLAT').type, kw(inv, 'DOFLAT').examples], ['bool', [true, false]]);
    assert.deepEqual([kw(inv, 'NAXIS').count, kw(inv, 'NAXIS').type], [3, 'int'], 'three HDUs');
    assert.deepEqual([kw(inv, 'EXTNAME').count, kw(inv, 'EXTNAME').first_seen], [1, t1]);
    assert.deepEqual(
      (await keywordInventory(cat, 'other')).map((r) => r.keyword),
      [],
      'not crawled',
    );

    // One row per HDU; the extension inherits EXPTIME and AIRMASS from its primary HDU, keeps its FILTER.
    const low = await sql<{ EXPTIME: number; FILTER: string }>`
      SELECT "EXPTIME", "FILTER" FROM hdr_night_1 WHERE "AIRMASS" < 1.5 ORDER BY file_id, hdu`.execute(
      cat.db,
    );
    assert.deepEqual(low.rows, [
      { EXPTIME: 30, FILTER: 'V' },
      { EXPTIME: 30, FILTER: 'V2' },
    ]);
    assert.equal(typeof low.rows[0].EXPTIME, 'number');
    const all = await sql<Record<string, unknown>>`
      SELECT file_id, key, hdu, kind, night, "AIRMASS", "DOFLAT", "EXTNAME", "NAXIS1"
      FROM hdr_night_1 ORDER BY file_id, hdu`.execute(cat.db);
    const T = engine === 'sqlite' ? 1 : true;
    const F = engine === 'sqlite' ? 0 : false;
    assert.deepEqual(all.rows, [
      {
        file_id: f1,
        key: 'raw/Night-1/night=2022-06-29/a.fits',
        hdu: 0,
        kind: 'primary',
        night: '2022-06-29',
        AIRMASS: 1.2,
        DOFLAT: T,
        EXTNAME: null,
        NAXIS1: 4,
      },
      {
        file_id: f1,
        key: 'raw/Night-1/night=2022-06-29/a.fits',
        hdu: 1,
        kind: 'image',
        night: '2022-06-29',
        AIRMASS: 1.2,
        DOFLAT: T,
        EXTNAME: 'SCI',
        NAXIS1: 2,
      },
      {
        file_id: f2,
        key: 'raw/Night-1/night=2022-06-30/b.fits',
        hdu: 0,
        kind: 'primary',
        night: '2022-06-30',
        AIRMASS: 1.7,
        DOFLAT: F,
        EXTNAME: null,
        NAXIS1: 4,
      },
    ]);
    const s1 = await state(cat, 'Night-1');
    assert.equal(s1.last, f2);
    assert.deepEqual(s1.view.pathFields, ['night']);
    assert.deepEqual(s1.view.columns.slice(0, 3), [
      ['night', 'path'],
      ['AIRMASS', 'float'],
      ['BITPIX', 'int'],
    ]);

    // Later files: a fractional EXPTIME widens int → float, a string GAIN makes it string, new keywords.
    const f3 = await l.put(
      'c.fits',
      fits([
        ['EXPTIME', 30.5],
        ['FILTER', 'B'],
        ['AIRMASS', 1.1],
        ['GAIN', 'high'],
        ['NEWKEY', 3],
        ['DATE-OBS', '2022-06-30T01:02:03'],
      ]),
    );
    const second = await crawl(cat, 'Night-1');
    assert.deepEqual(second, { files: 1, newKeywords: ['DATE-OBS', 'NEWKEY'], viewChanged: true });
    inv = await keywordInventory(cat, 'Night-1');
    const t3 = await l.createdAt(f3);
    assert.deepEqual(kw(inv, 'EXPTIME'), {
      keyword: 'EXPTIME',
      count: 3,
      type: 'float',
      examples: [30, 60, 30.5],
      first_seen: t1,
      last_seen: t3,
    });
    assert.deepEqual([kw(inv, 'GAIN').type, kw(inv, 'GAIN').examples], ['string', [2, 4, 'high']]);
    assert.deepEqual([kw(inv, 'FILTER').count, kw(inv, 'FILTER').examples], [4, ['V', 'V2', 'R', 'B']]);
    assert.deepEqual(kw(inv, 'NEWKEY'), {
      keyword: 'NEWKEY',
      count: 1,
      type: 'int',
      examples: [3],
      first_seen: t3,
      last_seen: t3,
    });
    const low2 = await sql<{
      EXPTIME: number;
      FILTER: string;
      NEWKEY: number | null;
      'DATE-OBS': string | null;
    }>`
      SELECT "EXPTIME", "FILTER", "NEWKEY", "DATE-OBS" FROM hdr_night_1
      WHERE "AIRMASS" < 1.5 ORDER BY file_id, hdu`.execute(cat.db);
    assert.deepEqual(low2.rows, [
      { EXPTIME: 30, FILTER: 'V', NEWKEY: null, 'DATE-OBS': null },
      { EXPTIME: 30, FILTER: 'V2', NEWKEY: null, 'DATE-OBS': null },
      { EXPTIME: 30.5, FILTER: 'B', NEWKEY: 3, 'DATE-OBS': '2022-06-30T01:02:03' },
    ]);
    const gain = await sql<{ GAIN: string; night: string | null }>`
      SELECT "GAIN", night FROM hdr_night_1 WHERE hdu = 0 ORDER BY file_id`.execute(cat.db);
    assert.deepEqual(gain.rows, [
      { GAIN: '2', night: '2022-06-29' },
      { GAIN: '4', night: '2022-06-30' },
      { GAIN: 'high', night: null },
    ]);

    // Nothing new: nothing changes.
    const before = await state(cat, 'Night-1');
    assert.equal(before.last, f3);
    const third = await crawl(cat, 'Night-1');
    assert.deepEqual(third, { files: 0, newKeywords: [], viewChanged: false });
    assert.deepEqual(await keywordInventory(cat, 'Night-1'), inv);
    assert.deepEqual((await state(cat, 'Night-1')).view, before.view);
    assert.equal((await state(cat, 'Night-1')).last, f3);

    // A file not crawled yet whose AIRMASS is text reads NULL there instead of breaking the view;
    // a new version of a key replaces the old one in the view.
    const f4 = await l.put(
      'd.fits',
      fits([
        ['AIRMASS', 'unknown'],
        ['EXPTIME', 'long'],
        ['FILTER', 'U'],
      ]),
    );
    const f2b = await l.put(
      'night=2022-06-30/b.fits',
      fits([
        ['EXPTIME', 90],
        ['FILTER', 'I'],
        ['AIRMASS', 1.3],
      ]),
    );
    const mixed = await sql<{ file_id: number; EXPTIME: number | null; AIRMASS: number | null }>`
      SELECT file_id, "EXPTIME", "AIRMASS" FROM hdr_night_1 WHERE hdu = 0 ORDER BY file_id`.execute(cat.db);
    assert.deepEqual(mixed.rows, [
      { file_id: f1, EXPTIME: 30, AIRMASS: 1.2 },
      { file_id: f3, EXPTIME: 30.5, AIRMASS: 1.1 },
      { file_id: f4, EXPTIME: null, AIRMASS: null },
      { file_id: f2b, EXPTIME: 90, AIRMASS: 1.3 },
    ]);
    const fourth = await crawl(cat, 'Night-1');
    assert.deepEqual(
      fourth,
      { files: 2, newKeywords: [], viewChanged: true },
      'EXPTIME and AIRMASS became string',
    );
    inv = await keywordInventory(cat, 'Night-1');
    assert.deepEqual([kw(inv, 'AIRMASS').type, kw(inv, 'AIRMASS').count], ['string', 5]);
    assert.deepEqual(kw(inv, 'EXPTIME').examples, [30, 60, 30.5, 'long', 90]);
    assert.deepEqual(kw(inv, 'FILTER').examples, ['V', 'V2', 'R', 'B', 'U'], 'capped at five: no I');
    assert.equal(kw(inv, 'FILTER').count, 6);
    const texts = await sql<{ EXPTIME: string | null }>`
      SELECT "EXPTIME" FROM hdr_night_1 WHERE hdu = 0 ORDER BY file_id`.execute(cat.db);
    assert.deepEqual(
      texts.rows.map((r) => r.EXPTIME),
      ['30', '30.5', 'long', '90'],
    );
    await cat.close();
  });

  test(`${engine}: crawl works in batches, and a keyword only in later files gets its column`, async () => {
    const { cat } = await engines(engine);
    const l = await lake(cat);
    for (let i = 0; i < 5; i++)
      await l.put(
        `run=${i % 2}/f${i}.fits`,
        fits([
          ['SEQ', i],
          ['OBJECT', `M${i}`],
        ]),
        'Batch Test',
      );
    const r = await crawl(cat, 'Batch Test', { batchFiles: 2 });
    assert.deepEqual([r.files, r.viewChanged], [5, true]);
    let inv = await keywordInventory(cat, 'Batch Test');
    assert.deepEqual([kw(inv, 'SEQ').count, kw(inv, 'SEQ').type], [5, 'int']);
    assert.deepEqual(kw(inv, 'OBJECT').examples, ['M0', 'M1', 'M2', 'M3', 'M4']);
    await assert.rejects(sql`SELECT "LATE" FROM hdr_batch_test`.execute(cat.db));

    const late = await l.put(
      'run=1/late.fits',
      fits([
        ['SEQ', 5],
        ['LATE', 1.5],
      ]),
      'Batch Test',
    );
    const r2 = await crawl(cat, 'Batch Test', { batchFiles: 2 });
    assert.deepEqual(r2, { files: 1, newKeywords: ['LATE'], viewChanged: true });
    inv = await keywordInventory(cat, 'Batch Test');
    assert.deepEqual([kw(inv, 'SEQ').count, kw(inv, 'OBJECT').examples.length], [6, 5]);
    const rows = await sql<{ file_id: number; run: string; SEQ: number; LATE: number | null }>`
      SELECT file_id, run, "SEQ", "LATE" FROM hdr_batch_test WHERE "SEQ" >= 3 ORDER BY "SEQ"`.execute(cat.db);
    assert.deepEqual(
      rows.rows.map((x) => [x.run, x.SEQ, x.LATE]),
      [
        ['1', 3, null],
        ['0', 4, null],
        ['1', 5, 1.5],
      ],
    );
    assert.equal(rows.rows[2].file_id, late);
    assert.equal((await state(cat, 'Batch Test')).last, late);
    await cat.close();
  });

  test(`${engine}: concurrent crawls of one collection count every file once`, async () => {
    const { cat, reopen } = await engines(engine);
    const l = await lake(cat);
    for (let i = 0; i < 7; i++) await l.put(`f${i}.fits`, fits([['SEQ', i]]), 'race');
    // better-sqlite3 waits for a lock synchronously, so SQLite writers race as separate processes
    // (as they do in production); PostgreSQL clients race from here.
    const others = engine === 'postgres' ? [reopen(), reopen()] : [];
    const results =
      engine === 'postgres'
        ? await Promise.all([cat, ...others].map((c) => crawl(c, 'race', { batchFiles: 2 })))
        : await crawlInProcesses(cat, 'race', 3);
    assert.equal(
      results.reduce((n, r) => n + r.files, 0),
      7,
      JSON.stringify(results),
    );
    assert.equal(results.filter((r) => r.newKeywords.includes('SEQ')).length, 1);
    const inv = await keywordInventory(cat, 'race');
    assert.deepEqual([kw(inv, 'SEQ').count, kw(inv, 'SIMPLE').count], [7, 7]);
    const n = await sql<{ n: number }>`SELECT count(*) AS n FROM hdr_race WHERE "SEQ" >= 0`.execute(cat.db);
    assert.equal(Number(n.rows[0].n), 7);
    for (const c of [cat, ...others]) await c.close();
  });
}
