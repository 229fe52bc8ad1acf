// The same catalog tests on a real SQLite file and a real PostgreSQL server (scripts/pg.sh).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import type { Catalog } from '../../src/catalog/catalog.ts';
import { migrations } from '../../src/catalog/migrations.ts';
import { ENGINES, useEngines } from '../util/engines.ts';

const engines = useEngines(55433);
const fresh = async (engine: 'sqlite' | 'postgres'): Promise<Catalog> => (await engines(engine)).cat;

const TABLES = [
  'artifacts',
  'collections',
  'crawler_state',
  'events',
  'files',
  'hdus',
  'jobs',
  'keywords',
  'observation_cells',
  'observation_links',
  'observations',
  'tap_jobs',
  'tokens',
  'users',
];
const now = () => new Date().toISOString();

for (const kind of ENGINES) {
  test(`${kind}: migrations create every table once, and re-running them is a no-op`, async () => {
    const cat = await fresh(kind);
    try {
      assert.deepEqual(await cat.migrate(), Object.keys(migrations(kind)));
      assert.deepEqual(await cat.migrate(), []);
      const tables = (await cat.db.introspection.getTables()).map((t) => t.name).sort();
      assert.deepEqual(tables, TABLES);
      const obs = (await cat.db.introspection.getTables()).find((t) => t.name === 'observations')!;
      for (const c of [
        'obs_id',
        's_ra',
        's_dec',
        's_region',
        't_min',
        't_max',
        'em_min',
        'em_max',
        'filter',
        'airmass',
        'night',
        'public_date',
      ]) {
        assert.ok(
          obs.columns.some((x) => x.name === c),
          `observations.${c}`,
        );
      }
      if (kind === 'sqlite') {
        const mode = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(cat.db);
        assert.equal(mode.rows[0].journal_mode, 'wal');
      }
    } finally {
      await cat.close();
    }
  });

  test(`${kind}: a file version, its HDUs, an observation and its artifact round-trip; versions are unique`, async () => {
    const cat = await fresh(kind);
    try {
      await cat.migrate();
      const t = now();
      const file = await cat.db
        .insertInto('files')
        .values({
          zone: 'raw',
          key: 'a/b.fits',
          sha256: 'ab'.repeat(32),
          size: 5_000_000_000,
          status: 'ingested',
          etag: null,
          content_type: 'application/fits',
          error: null,
          collection: 'c',
          created_at: t,
          updated_at: t,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await cat.db
        .insertInto('hdus')
        .values({
          file_id: file.id,
          idx: 0,
          kind: 'primary',
          header_offset: 0,
          data_offset: 2880,
          data_span: 4_294_969_920,
          shape: '[4096,4096,64]',
          checksum: 'absent',
          datasum: 'absent',
          cards: '[]',
        })
        .execute();
      const obs = await cat.db
        .insertInto('observations')
        .values({
          obs_collection: 'c',
          obs_id: 'b',
          s_ra: 10.5,
          s_dec: -20.25,
          t_min: 60000.5,
          t_max: 60000.6,
          filter: 'rp',
          created_at: t,
          updated_at: t,
        } as never)
        .returning('id')
        .executeTakeFirstOrThrow();
      await cat.db
        .insertInto('artifacts')
        .values({ observation_id: obs.id, file_id: file.id, role: 'raw' })
        .execute();
      await cat.db
        .insertInto('observation_cells')
        .values({ observation_id: obs.id, cell: 2 ** 40 + 7 })
        .execute();
      const row = await cat.db
        .selectFrom('observations')
        .innerJoin('artifacts', 'artifacts.observation_id', 'observations.id')
        .innerJoin('files', 'files.id', 'artifacts.file_id')
        .innerJoin('hdus', 'hdus.file_id', 'files.id')
        .innerJoin('observation_cells', 'observation_cells.observation_id', 'observations.id')
        .select([
          'observations.s_ra',
          'files.size',
          'hdus.data_span',
          'observation_cells.cell',
          'artifacts.role',
        ])
        .executeTakeFirstOrThrow();
      assert.deepEqual(
        { ...row, size: Number(row.size), data_span: Number(row.data_span), cell: Number(row.cell) },
        { s_ra: 10.5, size: 5_000_000_000, data_span: 4_294_969_920, cell: 2 ** 40 + 7, role: 'raw' },
      );
      // The same key with the same content is one version; a different hash is a new version.
      await assert.rejects(
        cat.db
          .insertInto('files')
          .values({
            zone: 'raw',
            key: 'a/b.fits',
            sha256: 'ab'.repeat(32),
            size: 1,
            status: 'pending',
            etag: null,
            content_type: null,
            error: null,
            collection: null,
            created_at: t,
            updated_at: t,
          })
          .execute(),
        /unique|UNIQUE/,
      );
      await cat.db
        .insertInto('files')
        .values({
          zone: 'raw',
          key: 'a/b.fits',
          sha256: 'cd'.repeat(32),
          size: 1,
          status: 'pending',
          etag: null,
          content_type: null,
          error: null,
          collection: null,
          created_at: t,
          updated_at: t,
        })
        .execute();
      const versions = await cat.db
        .selectFrom('files')
        .select(sql<number>`count(*)`.as('n'))
        .where('key', '=', 'a/b.fits')
        .executeTakeFirstOrThrow();
      assert.equal(Number(versions.n), 2);
    } finally {
      await cat.close();
    }
  });
}

test('postgres: an idle connection the server drops does not crash the process; the next query reconnects', async () => {
  const cat = await fresh('postgres');
  await cat.migrate();
  const pid = Number(
    (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(cat.db)).rows[0].pid,
  );
  // From another catalog (another pool): end the first pool's idle connection, as a server restart does.
  const other = await fresh('postgres');
  await sql`SELECT pg_terminate_backend(${pid})`.execute(other.db);
  await new Promise((r) => setTimeout(r, 200));
  const again = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(cat.db);
  assert.notEqual(Number(again.rows[0].pid), pid, 'a new connection');
});
