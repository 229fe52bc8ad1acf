import type { Transaction } from 'kysely';
import type { Database } from '../catalog/schema.ts';
import type { ObjectMeta } from '../storage/object-store.ts';

/** What fitslake made from a catalogued file (a preview, an optimized copy) and stored. */
export interface DerivedVersion {
  zone: 'previews' | 'derived';
  meta: ObjectMeta;
  contentType: string;
  kind: string;
  collection: string | null;
  /** JSON: at least `derivedFrom`. */
  info: string;
}

/**
 * Records a stored derived object as the current version of its key, in the caller's transaction:
 * the same bytes made again reuse their row; new bytes become a new version, the old one kept but
 * no longer current (as ingest does for raw files). `existed` tells the caller to replace its rows.
 */
export async function recordDerivedVersion(
  tx: Transaction<Database>,
  d: DerivedVersion,
  ts: string,
): Promise<{ id: number; existed: boolean }> {
  const key = d.meta.key;
  const sha256 = d.meta.sha256 ?? d.meta.etag;
  await tx
    .updateTable('files')
    .set({ current: 0 })
    .where('zone', '=', d.zone)
    .where('key', '=', key)
    .execute();
  const existing = await tx
    .selectFrom('files')
    .select('id')
    .where('zone', '=', d.zone)
    .where('key', '=', key)
    .where('sha256', '=', sha256)
    .executeTakeFirst();
  if (existing) {
    const id = Number(existing.id);
    await tx
      .updateTable('files')
      .set({ current: 1, info: d.info, status: 'ingested', updated_at: ts })
      .where('id', '=', id)
      .execute();
    return { id, existed: true };
  }
  const r = await tx
    .insertInto('files')
    .values({
      zone: d.zone,
      key,
      sha256,
      size: d.meta.size,
      etag: d.meta.etag,
      content_type: d.contentType,
      status: 'ingested',
      error: null,
      collection: d.collection,
      kind: d.kind,
      info: d.info,
      path_fields: null,
      current: 1,
      created_at: ts,
      updated_at: ts,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: Number(r.id), existed: false };
}

/** Links a derived file to its source's observation with a product role (idempotent). */
export async function linkArtifact(
  tx: Transaction<Database>,
  observationId: number,
  fileId: number,
  role: string,
): Promise<void> {
  await tx
    .insertInto('artifacts')
    .values({ observation_id: observationId, file_id: fileId, role })
    .onConflict((oc) => oc.columns(['observation_id', 'file_id']).doUpdateSet({ role }))
    .execute();
}
