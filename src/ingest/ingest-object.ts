import type { Transaction } from 'kysely';
import type { Catalog } from '../catalog/catalog.ts';
import type { Database } from '../catalog/schema.ts';
import type { CollectionSettings } from '../config/config.ts';
import { mjdToIso } from '../fits/time.ts';
import { StorageError } from '../storage/errors.ts';
import type { ObjectMeta, ObjectStore } from '../storage/object-store.ts';
import { placeholders, rawQuery } from '../catalog/raw.ts';
import type { ObservationDraft } from './observe.ts';
import { type Extracted, extractObject } from './extract.ts';
import { RetryableError } from './read-object.ts';

export { RetryableError } from './read-object.ts';

export interface IngestTarget {
  store: ObjectStore;
  catalog: Catalog;
  zone: string;
  key: string;
  collection: string;
  /** The key below the collection (what grouping and path templates read). */
  relKey?: string;
  settings?: CollectionSettings;
  /** Re-extract even when this exact version is catalogued (reindex after an upgrade or config change). */
  force?: boolean;
}

export type IngestOutcome =
  | { status: 'ingested'; fileId: number; kind: string; observationId: number | null; hdus: number }
  | { status: 'unchanged'; fileId: number }
  | { status: 'failed'; fileId: number; kind: string; error: string };

type Tx = Transaction<Database>;
const now = () => new Date().toISOString();
/** A column name as a quoted SQL identifier (the same in SQLite and PostgreSQL). */
const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
const isUnique = (err: unknown) => /unique|duplicate key/i.test((err as Error).message);
const isBusy = (err: unknown) => /database is locked|SQLITE_BUSY/i.test((err as Error).message);

/**
 * Ingests one stored object: reads it (by content), then in ONE transaction records the file
 * version, every HDU, and its part of an observation (created as a placeholder by whichever file of
 * the group comes first, completed when the science file lands), with the HEALPix cells, the links
 * to related observations and an event. A crash leaves all of it or none; re-delivery of the same
 * bytes is a no-op; changed bytes become a new current version, the old one kept.
 */
export async function ingestObject(t: IngestTarget): Promise<IngestOutcome> {
  const p = await prepareIngest(t);
  return 'record' in p ? commitOne(t.catalog, p) : p;
}

/** An object read and understood, ready to be written in a transaction. */
export interface PreparedIngest {
  key: string;
  /** Writes the file's rows; `ensured` names collections already created in this transaction. */
  record(tx: Tx, ensured?: Set<string>): Promise<IngestOutcome>;
}

async function commitOne(cat: Catalog, p: PreparedIngest): Promise<IngestOutcome> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await cat.db.transaction().execute((tx) => p.record(tx));
    } catch (err) {
      // Two deliveries raced (same bytes, or two files of one new observation): the other one
      // committed first, so running again sees its rows. Anything else is worth a later retry.
      if (isUnique(err) && attempt < 3) continue;
      // Another writer holds SQLite's lock: wait without blocking (it may be in this process).
      if (isBusy(err) && attempt < 20) {
        await new Promise((r) => setTimeout(r, 10 + Math.random() * 20 * (attempt + 1)));
        continue;
      }
      if (err instanceof RetryableError) throw err;
      throw new RetryableError(`${p.key}: ${(err as Error).message}`);
    }
  }
}

/**
 * Ingests many objects: reads them concurrently, then writes them all in one transaction (a commit
 * per file would cost more than reading it). If the batch fails as a whole (a race with another
 * worker), each file is committed on its own, so one bad file never fails the others.
 */
export async function ingestBatch(
  cat: Catalog,
  targets: IngestTarget[],
  readConcurrency = 8,
): Promise<(IngestOutcome | Error)[]> {
  const prepared: (IngestOutcome | PreparedIngest | Error)[] = new Array(targets.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(readConcurrency, targets.length) }, async () => {
      while (next < targets.length) {
        const i = next++;
        prepared[i] = await prepareIngest(targets[i]).catch((e: Error) => e);
      }
    }),
  );
  const results = prepared.slice() as (IngestOutcome | Error)[];
  const todo = prepared.flatMap((p, i) => (p && !(p instanceof Error) && 'record' in p ? [i] : []));
  const written = await commitPrepared(
    cat,
    todo.map((i) => prepared[i] as PreparedIngest),
  );
  for (const [j, i] of todo.entries()) results[i] = written[j];
  return results;
}

/**
 * Writes prepared files in one transaction; if it fails as a whole (a race with another writer),
 * commits each on its own, so one bad file never fails the others.
 */
export async function commitPrepared(
  cat: Catalog,
  prepared: PreparedIngest[],
): Promise<(IngestOutcome | Error)[]> {
  const results: (IngestOutcome | Error)[] = new Array(prepared.length);
  if (!prepared.length) return results;
  try {
    await cat.db.transaction().execute(async (tx) => {
      const ensured = new Set<string>();
      for (const [i, p] of prepared.entries()) results[i] = await p.record(tx, ensured);
    });
  } catch {
    for (const [i, p] of prepared.entries()) results[i] = await commitOne(cat, p).catch((e: Error) => e);
  }
  return results;
}

type FileRow = { id: number; sha256: string; status: string; current: number };

/**
 * The rows of every version of a key: this exact version's (if any, `unchanged` when it is
 * catalogued and current and not forced), whether some version is current, and whether other
 * versions exist — a new key (the common case) then skips the writes that retire old versions.
 */
async function catalogued(
  db: Catalog['db'] | Tx,
  dialect: Catalog['dialect'],
  zone: string,
  key: string,
  sha256: string,
  force: boolean,
): Promise<{ unchanged?: IngestOutcome; prior?: FileRow; anyCurrent: boolean; others: boolean }> {
  const rows = await rawQuery<FileRow>(
    db,
    dialect,
    'SELECT id, sha256, status, current FROM files WHERE zone = ? AND key = ?',
    [zone, key],
  );
  const row = rows.find((r) => r.sha256 === sha256);
  const found = {
    anyCurrent: rows.some((r) => Number(r.current) === 1),
    others: rows.length > (row ? 1 : 0),
  };
  if (row && row.status !== 'pending' && Number(row.current) && !force)
    return { unchanged: { status: 'unchanged', fileId: Number(row.id) }, ...found };
  return { prior: row, ...found };
}

/** Whether this version of the object is catalogued already (one query; the write checks again). */
export async function alreadyCatalogued(
  t: Pick<IngestTarget, 'catalog' | 'zone' | 'key' | 'force'>,
  object: ObjectMeta,
): Promise<IngestOutcome | undefined> {
  const sha256 = object.sha256 ?? object.etag;
  return (await catalogued(t.catalog.db, t.catalog.dialect, t.zone, t.key, sha256, t.force ?? false))
    .unchanged;
}

/** Reads one object and prepares its catalog writes (or finds this version already catalogued). */
export async function prepareIngest(t: IngestTarget): Promise<IngestOutcome | PreparedIngest> {
  let meta: ObjectMeta | undefined;
  try {
    meta = await t.store.head(t.key);
  } catch (err) {
    throw new RetryableError(`${t.key}: ${(err as Error).message}`);
  }
  if (!meta) throw new StorageError('not-found', 'no such object', t.key);
  // Checked before reading (so an unchanged object costs one query), and again inside the
  // transaction (another worker may have recorded it meanwhile).
  const unchanged = await alreadyCatalogued(t, meta);
  if (unchanged) return unchanged;
  const x = await extractObject(t.store, t.key, t.relKey ?? t.key, t.settings ?? {});
  return preparedWrite(t, meta, x);
}

/** The catalog writes of an object already read (here or in an extraction thread). */
export function preparedWrite(
  t: Pick<IngestTarget, 'catalog' | 'zone' | 'key' | 'collection' | 'settings' | 'force'>,
  object: ObjectMeta,
  x: Extracted,
): PreparedIngest {
  const { catalog: cat, zone, key, collection } = t;
  const settings = t.settings ?? {};
  const sha256 = object.sha256 ?? object.etag;
  const ex = x;
  const { fields, cells, draft } = x;
  return { key, record };

  async function record(tx: Tx, ensured: Set<string> = new Set()): Promise<IngestOutcome> {
    const ts = now();
    const status = ex.error ? 'failed' : 'ingested';
    if (!ensured.has(collection)) {
      await tx
        .insertInto('collections')
        .values({ name: collection, created_at: ts, calib_level: null, dataproduct_type: null })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      ensured.add(collection);
    }
    const {
      unchanged: unchangedNow,
      prior,
      anyCurrent,
      others,
    } = await catalogued(tx, cat.dialect, zone, key, sha256, t.force ?? false);
    if (unchangedNow) return unchangedNow;
    // This version becomes the current one of its key; older versions stay, no longer current.
    if (anyCurrent)
      await rawQuery(
        tx,
        cat.dialect,
        'UPDATE files SET current = 0, updated_at = ? WHERE zone = ? AND key = ? AND current = 1',
        [ts, zone, key],
      );
    const row = {
      status,
      error: ex.error,
      kind: ex.kind,
      info: ex.info ? JSON.stringify(ex.info) : null,
      path_fields: JSON.stringify(fields),
      collection,
      current: 1,
      updated_at: ts,
    };
    let fileId: number;
    if (prior) {
      fileId = Number(prior.id);
      await tx.updateTable('files').set(row).where('id', '=', fileId).execute();
      await tx.deleteFrom('hdus').where('file_id', '=', fileId).execute();
      await tx.deleteFrom('artifacts').where('file_id', '=', fileId).execute();
    } else {
      const [inserted] = await rawQuery<{ id: number }>(
        tx,
        cat.dialect,
        `INSERT INTO files (zone, key, sha256, size, etag, content_type, status, error, kind, info, path_fields,
           collection, current, created_at, updated_at) VALUES ${placeholders(1, 15)} RETURNING id`,
        [
          zone,
          key,
          sha256,
          object.size,
          object.etag,
          object.contentType ?? null,
          row.status,
          row.error,
          row.kind,
          row.info,
          row.path_fields,
          collection,
          1,
          ts,
          ts,
        ],
      );
      fileId = Number(inserted.id);
    }
    if (ex.rows.length)
      await rawQuery(
        tx,
        cat.dialect,
        `INSERT INTO hdus (file_id, idx, kind, header_offset, data_offset, data_span, shape, checksum, datasum,
           cards, keyvalues) VALUES ${placeholders(ex.rows.length, 11)}`,
        ex.rows.flatMap((h) => [
          fileId,
          h.idx,
          h.kind,
          h.header_offset,
          h.data_offset,
          h.data_span,
          h.shape,
          h.checksum,
          h.datasum,
          h.cards,
          h.keyvalues,
        ]),
      );
    // The older versions of this key leave the observation; the new one takes their place.
    if (others)
      await rawQuery(
        tx,
        cat.dialect,
        'DELETE FROM artifacts WHERE file_id IN (SELECT id FROM files WHERE zone = ? AND key = ? AND current = 0)',
        [zone, key],
      );
    let observationId: number | null = null;
    if (draft) observationId = await mergeObservation(tx, draft, fileId, ex, ts);
    await rawQuery(tx, cat.dialect, 'INSERT INTO events (kind, payload, created_at) VALUES (?, ?, ?)', [
      ex.error ? 'ingest.failed' : 'file.ingested',
      JSON.stringify({
        zone,
        key,
        collection,
        fileId,
        kind: ex.kind,
        observationId,
        ...(ex.error ? { error: ex.error } : {}),
      }),
      ts,
    ]);
    return ex.error
      ? { status: 'failed', fileId, kind: ex.kind, error: ex.error }
      : { status: 'ingested', fileId, kind: ex.kind, observationId, hdus: ex.rows.length };
  }

  async function mergeObservation(
    tx: Tx,
    d: ObservationDraft,
    fileId: number,
    ex: Extracted,
    ts: string,
  ): Promise<number> {
    const [obs] = await rawQuery<{ id: number; products: string; meta_rank: number; status: string }>(
      tx,
      cat.dialect,
      `SELECT id, products, meta_rank, status FROM observations WHERE obs_collection = ? AND obs_id = ?${
        cat.dialect === 'postgres' ? ' FOR UPDATE' : ''
      }`,
      [collection, d.obsId],
    );
    const products = obs ? (JSON.parse(obs.products) as Record<string, string>) : {};
    if (!ex.error) products[d.role] = key;
    const complete = 'science' in products || 'small' in products;
    const better = !obs || d.rank >= obs.meta_rank;
    const cols: Record<string, unknown> = {};
    let current: Record<string, unknown> = {};
    if (obs && !better) {
      // Lower-ranked metadata only fills what is still unknown.
      current = (await tx
        .selectFrom('observations')
        .selectAll()
        .where('id', '=', obs.id)
        .executeTakeFirstOrThrow()) as unknown as Record<string, unknown>;
    }
    for (const [k, v] of Object.entries(d.columns)) {
      if (v === null || v === undefined) continue;
      if (better || current[k] === null || current[k] === undefined) cols[k] = v;
    }
    if (better && !ex.error) cols.meta_rank = d.rank;
    if (d.role === 'science' && !ex.error) {
      cols.access_url = `/api/files/${encodeURIComponent(key)}`;
      cols.access_format = ex.kind === 'fits' ? 'application/fits' : null;
      cols.access_estsize = Math.ceil(object.size / 1024);
    }
    const tmin = (cols.t_min as number | undefined) ?? (current.t_min as number | null | undefined);
    if (cols.t_min !== undefined || !obs) {
      const start = tmin !== undefined && tmin !== null ? new Date(mjdToIso(tmin) + 'Z') : new Date(ts);
      const days = settings.proprietaryDays ?? 0;
      cols.public_date = new Date(start.getTime() + days * 86400000).toISOString();
    }
    const base = {
      ...cols,
      products: JSON.stringify(products),
      status: complete ? 'complete' : 'placeholder',
      calib_level: settings.calibLevel ?? (cols.calib_level as number | undefined) ?? 1,
      ...(settings.dataproductType ? { dataproduct_type: settings.dataproductType } : {}),
      updated_at: ts,
    };
    let id: number;
    if (obs) {
      id = Number(obs.id);
      const names = Object.keys(base) as (keyof typeof base)[];
      await rawQuery(
        tx,
        cat.dialect,
        `UPDATE observations SET ${names.map((c) => `${ident(c)} = ?`).join(', ')} WHERE id = ?`,
        [...names.map((c) => base[c]), id],
      );
    } else {
      const row: Record<string, unknown> = {
        ...base,
        obs_collection: collection,
        obs_id: d.obsId,
        obs_publisher_did: `ivo://fitslake/${encodeURIComponent(collection)}?${encodeURIComponent(d.obsId)}`,
        // Who sees it before its public date: the uploader (an API upload records it on the
        // object), else the collection's owner and group.
        owner: object.metadata.owner ?? settings.owner ?? null,
        group_name: settings.group ?? null,
        created_at: ts,
      };
      const names = Object.keys(row);
      const [r] = await rawQuery<{ id: number }>(
        tx,
        cat.dialect,
        `INSERT INTO observations (${names.map(ident).join(', ')}) VALUES ${placeholders(1, names.length)} RETURNING id`,
        names.map((c) => row[c]),
      );
      id = Number(r.id);
    }
    await rawQuery(
      tx,
      cat.dialect,
      `INSERT INTO artifacts (observation_id, file_id, role) VALUES (?, ?, ?)
         ON CONFLICT (observation_id, file_id) DO UPDATE SET role = excluded.role`,
      [id, fileId, d.role],
    );
    if (('s_region' in cols || 's_ra' in cols || !obs) && cells.length) {
      if (obs)
        await rawQuery(tx, cat.dialect, 'DELETE FROM observation_cells WHERE observation_id = ?', [id]);
      for (let i = 0; i < cells.length; i += 500) {
        const part = cells.slice(i, i + 500);
        await rawQuery(
          tx,
          cat.dialect,
          `INSERT INTO observation_cells (observation_id, cell) VALUES ${placeholders(part.length, 2)}`,
          part.flatMap((cell) => [id, cell]),
        );
      }
    }
    for (const link of d.links) {
      await rawQuery(
        tx,
        cat.dialect,
        `INSERT INTO observation_links (observation_id, relation, target_obs_id) VALUES (?, ?, ?)
           ON CONFLICT (observation_id, relation) DO UPDATE SET target_obs_id = excluded.target_obs_id`,
        [id, link.relation, link.target],
      );
    }
    if (!obs || (complete && obs.status !== 'complete')) {
      await rawQuery(tx, cat.dialect, 'INSERT INTO events (kind, payload, created_at) VALUES (?, ?, ?)', [
        obs ? 'observation.completed' : 'observation.created',
        JSON.stringify({ collection, obsId: d.obsId, observationId: id, status: base.status }),
        ts,
      ]);
    }
    return id;
  }
}
