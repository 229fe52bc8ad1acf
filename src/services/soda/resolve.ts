import type { Selectable } from 'kysely';
import { fileFilter, observationVisible, type Visibility } from '../../catalog/access.ts';
import type { FileTable, HduTable, ObservationTable } from '../../catalog/schema.ts';
import type { Lake } from '../../lake/lake.ts';

/**
 * What a DataLink or SODA `ID` names. Two forms are accepted:
 *  - the observation's publisher DID, `ivo://fitslake/<collection>?<obs_id>` (ObsCore
 *    obs_publisher_did, exactly as the catalog stores it): the observation and its science file;
 *  - a raw-zone file key, `<collection>/<path…>` (as in `/api/files/<key>`): that file.
 * Both go through the catalog's access rule: an ID that is missing or hidden from the caller
 * resolves to undefined, and callers answer both the same way (NotFoundFault), so nothing leaks.
 */
export type FileRow = Selectable<FileTable>;
export type ObservationRow = Selectable<ObservationTable>;
export type HduRow = Selectable<HduTable>;

export interface Resolved {
  id: string;
  observation?: ObservationRow;
  /** The FITS file a cutout reads (the observation's science file); absent when it has none yet. */
  file?: FileRow;
}

export const isDid = (id: string) => /^ivo:\/\//i.test(id);

/** The current, visible science file of an observation. */
export async function scienceFile(
  lake: Lake,
  v: Visibility,
  observationId: number,
): Promise<FileRow | undefined> {
  return lake.catalog.db
    .selectFrom('artifacts')
    .innerJoin('files', 'files.id', 'artifacts.file_id')
    .selectAll('files')
    .where('artifacts.observation_id', '=', observationId)
    .where('artifacts.role', '=', 'science')
    .where('files.current', '=', 1)
    .where('files.status', '=', 'ingested')
    .where(fileFilter(v, 'files'))
    .orderBy('files.id', 'desc')
    .executeTakeFirst();
}

export async function resolveId(lake: Lake, v: Visibility, id: string): Promise<Resolved | undefined> {
  const db = lake.catalog.db;
  if (isDid(id)) {
    const observation = await db
      .selectFrom('observations')
      .selectAll()
      .where('obs_publisher_did', '=', id)
      .executeTakeFirst();
    if (!observation || !observationVisible(v, observation)) return undefined;
    const file = await scienceFile(lake, v, Number(observation.id));
    return { id, observation, ...(file ? { file } : {}) };
  }
  if (
    id.length > 1024 ||
    id.startsWith('/') ||
    id.split('/').some((s) => s === '..' || s === '.' || s === '')
  )
    return undefined;
  const file = await db
    .selectFrom('files')
    .selectAll()
    .where('zone', 'in', ['raw', 'mounted'])
    .where('key', '=', id)
    .where('current', '=', 1)
    .where(fileFilter(v, 'files'))
    .executeTakeFirst();
  return file ? { id, file } : undefined;
}

/** The image HDUs of a catalogued FITS file (data present, every axis non-empty), in file order. */
export async function imageHdus(lake: Lake, fileId: number): Promise<HduRow[]> {
  const rows = await lake.catalog.db
    .selectFrom('hdus')
    .selectAll()
    .where('file_id', '=', fileId)
    .orderBy('idx')
    .execute();
  return rows.filter((h) => {
    if (!['primary', 'image', 'compressed-image'].includes(h.kind)) return false;
    const shape = JSON.parse(h.shape) as number[];
    return shape.length > 0 && shape.every((n) => n > 0);
  });
}
