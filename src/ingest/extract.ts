// Reading an object and deriving its catalog rows, as plain data: pure work over bytes, so it runs as
// well in an extraction thread (extract-thread.ts) as beside the catalog writes.
import { observationCells, parseRegion } from '../catalog/sky.ts';
import type { CollectionSettings } from '../config/config.ts';
import { BufferSource } from '../fits/byte-source.ts';
import { groupOf } from './grouping.ts';
import { draftObservation, type ObservationDraft } from './observe.ts';
import { pathFields } from './paths.ts';
import { type Extraction, type HduRow, type ObjectReader, readObject } from './read-object.ts';

/** What reading an object yields, as plain data (so it can be computed in another thread). */
export interface Extracted {
  kind: Extraction['kind'];
  error: string | null;
  info: Record<string, unknown> | null;
  rows: HduRow[];
  /** Its part of an observation; null for plain and failed files. */
  draft: ObservationDraft | null;
  /** The HEALPix cells of the draft's footprint or position. */
  cells: number[];
  /** Columns from the key's folders (Hive key=value, the collection's path template). */
  fields: Record<string, string>;
}

/** Reads an object by content and derives everything its catalog rows need, outside any transaction. */
export async function extractObject(
  store: ObjectReader,
  key: string,
  relKey: string,
  settings: CollectionSettings,
): Promise<Extracted> {
  const ex = await readObject(store, key);
  const group = groupOf(relKey, settings, ex.kind);
  // A failed file is kept and reported but describes nothing; a plain file belongs to no observation.
  const draft = ex.kind === 'plain' || ex.error ? null : draftObservation(ex, group, settings);
  const region = typeof draft?.columns.s_region === 'string' ? parseRegion(draft.columns.s_region) : null;
  const cells = draft
    ? observationCells(region, draft.columns.s_ra ?? null, draft.columns.s_dec ?? null)
    : [];
  return {
    kind: ex.kind,
    error: ex.error,
    info: ex.info,
    rows: ex.rows,
    draft,
    cells,
    fields: pathFields(relKey, settings.pathTemplate),
  };
}

/** An object already in memory, read as the store would serve it. */
export function memoryReader(bytes: Uint8Array, key: string): ObjectReader {
  return {
    source: async () => new BufferSource(bytes, key),
    get: async () =>
      (async function* () {
        yield bytes;
      })(),
  };
}
