// The access-control cases every visibility test starts from, written straight into a catalog.
import type { Catalog } from '../../src/catalog/catalog.ts';

const ts = '2026-01-01T00:00:00.000Z';
const future = '2999-01-01T00:00:00.000Z';

/**
 * Collections pub (public), priv (private) and team (shared with group g1); observations open (pub),
 * embargoed (pub, public in 2999, owner ada, group g2), secret (priv), teamwork (team) — each with
 * one file `<collection>/<obs>.fits`, an HDU, an artifact and a sky cell; user ada (reader, g2) with
 * a token row, and a job.
 */
export async function seedAccessCases(cat: Catalog): Promise<void> {
  await cat.migrate();
  const db = cat.db;
  await db
    .insertInto('collections')
    .values([
      {
        name: 'pub',
        created_at: ts,
        calib_level: null,
        dataproduct_type: null,
        visibility: 'public',
        settings: '{}',
      },
      {
        name: 'priv',
        created_at: ts,
        calib_level: null,
        dataproduct_type: null,
        visibility: 'private',
        settings: '{}',
      },
      {
        name: 'team',
        created_at: ts,
        calib_level: null,
        dataproduct_type: null,
        visibility: 'shared',
        settings: JSON.stringify({ visibility: 'shared', groups: ['g1'] }),
      },
    ])
    .execute();
  // obs: open (pub, public), embargoed (pub, owner ada, group g2), secret (priv), teamwork (team).
  const obs = [
    ['open', 'pub', null, null, null],
    ['embargoed', 'pub', future, 'ada', 'g2'],
    ['secret', 'priv', null, null, null],
    ['teamwork', 'team', null, null, null],
  ] as const;
  for (const [obsId, collection, publicDate, owner, group] of obs) {
    const o = await db
      .insertInto('observations')
      .values({
        obs_collection: collection,
        obs_id: obsId,
        public_date: publicDate,
        owner,
        group_name: group,
        created_at: ts,
        updated_at: ts,
      } as never)
      .returning('id')
      .executeTakeFirstOrThrow();
    const f = await db
      .insertInto('files')
      .values({
        zone: 'raw',
        key: `${collection}/${obsId}.fits`,
        sha256: obsId,
        size: 2880,
        etag: null,
        content_type: null,
        status: 'ingested',
        error: null,
        collection,
        current: 1,
        kind: 'fits',
        info: null,
        path_fields: null,
        created_at: ts,
        updated_at: ts,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('artifacts')
      .values({ observation_id: o.id, file_id: f.id, role: 'science' })
      .execute();
    await db
      .insertInto('hdus')
      .values({
        file_id: f.id,
        idx: 0,
        kind: 'image',
        header_offset: 0,
        data_offset: 2880,
        data_span: 0,
        shape: '[]',
        checksum: null,
        datasum: null,
        cards: `[["OBJECT","${obsId}"]]`,
        keyvalues: null,
      })
      .execute();
    await db.insertInto('observation_cells').values({ observation_id: o.id, cell: 1 }).execute();
  }
  await db
    .insertInto('users')
    .values({ name: 'ada', roles: '["reader"]', groups: '["g2"]', created_at: ts })
    .execute();
  await db
    .insertInto('tokens')
    .values({ user_name: 'ada', label: null, hash: 'h', prefix: 'flk_x', created_at: ts } as never)
    .execute();
  await db
    .insertInto('jobs')
    .values({
      kind: 'ingest',
      payload: '{"key":"priv/secret.fits"}',
      status: 'done',
      run_after: ts,
      error: null,
      lease_owner: null,
      lease_until: null,
      created_at: ts,
      updated_at: ts,
    })
    .execute();
}
