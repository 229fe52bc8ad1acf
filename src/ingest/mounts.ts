// Mounted collections: a cloud index (docs/cloud-index.md) published by someone else becomes a
// read-only collection of the lake. Its files are catalogued where they lie — headers read by range
// from their data URLs through the same ingest path as stored files, so observations, sky cells,
// previews, search, TAP/ObsCore, SIA and SODA treat them like any other — and nothing is copied.
import { readFile } from 'node:fs/promises';
import { sql } from 'kysely';
import { enqueue, enqueueMany } from '../catalog/jobs.ts';
import { openIndex } from '../cloud/client.ts';
import type { CollectionSettings } from '../config/config.ts';
import { type IngestOutcome, ingestBatch } from './ingest-object.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { type UrlEntry, UrlStore } from '../storage/url-store.ts';
import type { Lake, Zone } from '../lake/lake.ts';

/** The catalog zone of mounted files (no store of the lake holds them). */
export const MOUNTED = 'mounted';

export class MountError extends Error {
  override name = 'MountError';
}

/** Opens an index given as an http(s) URL or a local path (whose data URLs must then be absolute). */
async function loadIndex(ref: string) {
  if (/^https?:\/\//i.test(ref)) return openIndex(ref);
  const index = await openIndex(new Uint8Array(await readFile(ref)));
  const relative = index.files.find((f) => !/^https?:\/\//i.test(f.url));
  if (relative)
    throw new MountError(
      `${ref}: ${relative.path} has the relative data URL ${JSON.stringify(relative.entry.url)}; mount the index by its http(s) URL, or index with --data-url-prefix`,
    );
  return index;
}

async function storeOfIndex(collection: string, ref: string): Promise<UrlStore> {
  const index = await loadIndex(ref);
  const entries = new Map<string, UrlEntry>();
  for (const f of index.files) {
    const e = f.entry;
    entries.set(`${collection}/${f.path}`, {
      url: f.url,
      size: e.size,
      etag: e.etag ?? `${e.size}-${e.mtime ?? ''}`,
      ...(e.mtime ? { lastModified: new Date(e.mtime) } : {}),
    });
  }
  return new UrlStore(entries);
}

const CACHE_MS = 60_000;
const cache = new WeakMap<Lake, Map<string, { at: number; store: Promise<UrlStore> }>>();

/**
 * The store holding a catalogued file: the lake's zone, or for a mounted file the data URLs of its
 * collection's index (kept a minute, so a long-running server sees a re-mount soon).
 */
export async function storeFor(lake: Lake, zone: string, key: string): Promise<ObjectStore> {
  if (zone !== MOUNTED) return lake.zones[zone as Zone];
  const collection = key.slice(0, key.indexOf('/'));
  const ref = (await lake.collection(collection)).mount?.index;
  if (!ref) throw new MountError(`${key}: collection ${collection} is not mounted`);
  let byCollection = cache.get(lake);
  if (!byCollection) cache.set(lake, (byCollection = new Map()));
  const hit = byCollection.get(collection);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.store;
  const store = storeOfIndex(collection, ref);
  byCollection.set(collection, { at: Date.now(), store });
  store.catch(() => byCollection.delete(collection));
  return store;
}

export interface MountResult {
  files: number;
  ingested: number;
  unchanged: number;
  failed: { key: string; error: string }[];
  /** Files catalogued by an earlier mount that the index no longer lists. */
  removed: number;
}

/**
 * Mounts (or refreshes) a cloud index as the read-only collection `collection`: records the index
 * in the collection's settings, catalogues every file it lists (unchanged ones by their etag cost
 * one query), retires files it no longer lists, and queues previews and a crawl.
 */
export async function mountIndex(lake: Lake, collection: string, ref: string): Promise<MountResult> {
  const store = await storeOfIndex(collection, ref);
  const db = lake.catalog.db;
  const row = await db
    .selectFrom('collections')
    .selectAll()
    .where('name', '=', collection)
    .executeTakeFirst();
  const settings: CollectionSettings = { ...(row ? JSON.parse(row.settings) : {}), mount: { index: ref } };
  if (row)
    await db
      .updateTable('collections')
      .set({ settings: JSON.stringify(settings) })
      .where('name', '=', collection)
      .execute();
  else
    await db
      .insertInto('collections')
      .values({
        name: collection,
        created_at: new Date().toISOString(),
        settings: JSON.stringify(settings),
        calib_level: null,
        dataproduct_type: null,
      })
      .execute();
  cache.get(lake)?.delete(collection);

  const keys: string[] = [];
  for (let page = await store.list(); ; ) {
    keys.push(...page.objects.map((o) => o.key));
    if (!page.nextToken) break;
    page = await store.list({ continuationToken: page.nextToken });
  }
  const resolved = await lake.collection(collection);
  const result: MountResult = { files: keys.length, ingested: 0, unchanged: 0, failed: [], removed: 0 };
  const previews: { fileId: number }[] = [];
  for (let i = 0; i < keys.length; i += 64) {
    const batch = keys.slice(i, i + 64);
    const outcomes = await ingestBatch(
      lake.catalog,
      batch.map((key) => ({
        store,
        catalog: lake.catalog,
        zone: MOUNTED,
        key,
        collection,
        relKey: key.slice(collection.length + 1),
        settings: resolved,
      })),
    );
    outcomes.forEach((o: IngestOutcome | Error, j) => {
      if (o instanceof Error) result.failed.push({ key: batch[j], error: o.message });
      else if (o.status === 'failed') result.failed.push({ key: batch[j], error: o.error });
      else if (o.status === 'unchanged') result.unchanged++;
      else {
        result.ingested++;
        if (lake.loaded.config.ingest.previews && o.kind === 'fits') previews.push({ fileId: o.fileId });
      }
    });
  }
  result.removed = await retire(lake, collection, new Set(keys));
  if (previews.length) await enqueueMany(lake.catalog, 'preview', previews, { maxAttempts: 3 });
  if (result.ingested || result.removed)
    await enqueue(lake.catalog, 'crawl', { collection }, { maxAttempts: 3 });
  return result;
}

/** Files of an earlier mount that the index dropped: no longer current, out of their observations. */
async function retire(lake: Lake, collection: string, listed: Set<string>): Promise<number> {
  const db = lake.catalog.db;
  const gone = (
    await db
      .selectFrom('files')
      .select(['id', 'key'])
      .where('zone', '=', MOUNTED)
      .where('collection', '=', collection)
      .where('current', '=', 1)
      .execute()
  ).filter((f) => !listed.has(f.key));
  if (!gone.length) return 0;
  const ids = gone.map((f) => Number(f.id));
  await db.transaction().execute(async (tx) => {
    const obs = await tx
      .selectFrom('artifacts')
      .select('observation_id')
      .distinct()
      .where('file_id', 'in', ids)
      .execute();
    await tx.deleteFrom('artifacts').where('file_id', 'in', ids).execute();
    await tx
      .updateTable('files')
      .set({ current: 0, updated_at: new Date().toISOString() })
      .where('id', 'in', ids)
      .execute();
    // An observation left with no file describes nothing that can be read: it goes too.
    const orphans = obs.map((o) => Number(o.observation_id));
    if (orphans.length) {
      const empty = await tx
        .selectFrom('observations')
        .select('id')
        .where('id', 'in', orphans)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('artifacts')
                .select(sql`1`.as('x'))
                .whereRef('artifacts.observation_id', '=', 'observations.id'),
            ),
          ),
        )
        .execute();
      const emptyIds = empty.map((o) => Number(o.id));
      if (emptyIds.length) {
        await tx.deleteFrom('observation_cells').where('observation_id', 'in', emptyIds).execute();
        await tx.deleteFrom('observation_links').where('observation_id', 'in', emptyIds).execute();
        await tx.deleteFrom('observations').where('id', 'in', emptyIds).execute();
      }
    }
  });
  return gone.length;
}
