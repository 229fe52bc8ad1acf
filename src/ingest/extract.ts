import type { Catalog } from '../catalog/catalog.ts';
import { verifyChecksums } from '../fits/checksum.ts';
import { FitsError } from '../fits/errors.ts';
import { openFits } from '../fits/fits-file.ts';
import { logicalHeader, logicalShape } from '../fits/hdu.ts';
import { StorageError } from '../storage/errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** What happened to one object: catalogued now, already catalogued (same bytes), or failed. */
export type ExtractOutcome =
  | { status: 'ingested'; fileId: number; hdus: number }
  | { status: 'unchanged'; fileId: number }
  | { status: 'failed'; fileId: number; error: string; retry: false };

/** Thrown for failures worth retrying (storage or catalog I/O): the job queue backs off and tries again. */
export class RetryableError extends Error {
  override name = 'RetryableError';
}

const now = () => new Date().toISOString();
const FITS_NAME = /\.(fits?|fts|fz)(\.(gz|bz2))?$/i;

/**
 * Catalogues one stored object: its file version (identified by SHA-256, so re-delivering the same
 * bytes is a no-op and changed bytes become a new version) and, for FITS, every HDU with every card
 * — all in one transaction, so a crash leaves either nothing or the whole record. A corrupt file
 * is kept and recorded as failed with the reader's precise error.
 */
export async function extractObject(
  store: ObjectStore,
  cat: Catalog,
  zone: string,
  key: string,
  collection: string | null = null,
): Promise<ExtractOutcome> {
  let meta: Awaited<ReturnType<ObjectStore['head']>>;
  try {
    meta = await store.head(key);
  } catch (err) {
    throw new RetryableError(`${key}: ${(err as Error).message}`);
  }
  if (!meta) throw new StorageError('not-found', 'no such object', key);
  const object = meta;
  const sha256 = object.sha256 ?? object.etag;
  const existing = await cat.db
    .selectFrom('files')
    .select(['id', 'status'])
    .where('zone', '=', zone)
    .where('key', '=', key)
    .where('sha256', '=', sha256)
    .executeTakeFirst();
  if (existing && existing.status !== 'pending') return { status: 'unchanged', fileId: Number(existing.id) };

  // Read everything first (header blocks only), then write in one short transaction.
  let hdus: {
    idx: number;
    kind: string;
    header_offset: number;
    data_offset: number;
    data_span: number;
    shape: string;
    checksum: string | null;
    datasum: string | null;
    cards: string;
  }[] = [];
  let error: string | null = null;
  const looksFits = FITS_NAME.test(key) || meta.contentType === 'application/fits';
  if (looksFits) {
    let source: Awaited<ReturnType<ObjectStore['source']>> | undefined;
    try {
      source = await store.source(key);
      const fits = await openFits(source);
      for (const h of fits.hdus) {
        const sums = fits.headerOnly ? undefined : await verifyChecksums(source, h).catch(() => undefined);
        hdus.push({
          idx: h.index,
          kind: h.kind,
          header_offset: h.headerOffset,
          data_offset: h.dataOffset,
          data_span: h.dataSpan,
          shape: JSON.stringify(logicalShape(h)),
          checksum: sums?.checksum ?? null,
          datasum: sums?.datasum ?? null,
          cards: JSON.stringify(
            logicalHeader(h).cards.map((c) => [
              c.keyword,
              typeof c.value === 'bigint' ? c.value.toString() : c.value,
              c.type,
              c.comment,
            ]),
          ),
        });
      }
    } catch (err) {
      if (err instanceof FitsError) {
        // Not retryable: the bytes are what they are. Kept in storage, recorded with the reason.
        error = err.message;
        hdus = [];
      } else throw new RetryableError(`${key}: ${(err as Error).message}`);
    } finally {
      await source?.close?.();
    }
  }

  const t = now();
  const status = error ? 'failed' : 'ingested';
  let fileId: number;
  try {
    fileId = await record();
  } catch (err) {
    // Two deliveries of the same bytes raced and the other one recorded them first: harmless.
    if (!/unique|duplicate key/i.test((err as Error).message))
      throw new RetryableError(`${key}: ${(err as Error).message}`);
    const row = await cat.db
      .selectFrom('files')
      .select('id')
      .where('zone', '=', zone)
      .where('key', '=', key)
      .where('sha256', '=', sha256)
      .executeTakeFirstOrThrow();
    return { status: 'unchanged', fileId: Number(row.id) };
  }
  return error
    ? { status: 'failed', fileId, error, retry: false }
    : { status: 'ingested', fileId, hdus: hdus.length };

  function record(): Promise<number> {
    return cat.db.transaction().execute(async (tx) => {
      let id: number;
      if (existing) {
        id = Number(existing.id);
        await tx.updateTable('files').set({ status, error, updated_at: t }).where('id', '=', id).execute();
        await tx.deleteFrom('hdus').where('file_id', '=', id).execute();
      } else {
        const row = await tx
          .insertInto('files')
          .values({
            zone,
            key,
            sha256,
            size: object.size,
            etag: object.etag,
            content_type: object.contentType ?? null,
            status,
            error,
            collection,
            created_at: t,
            updated_at: t,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        id = Number(row.id);
      }
      if (hdus.length)
        await tx
          .insertInto('hdus')
          .values(hdus.map((h) => ({ ...h, file_id: id })))
          .execute();
      return id;
    });
  }
}
