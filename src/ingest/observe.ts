import type { CollectionSettings } from '../config/config.ts';
import { type Hdu, logicalHeader, logicalShape } from '../fits/hdu.ts';
import type { Header } from '../fits/header.ts';
import { isoToMjd } from '../fits/time.ts';
import { DEFAULT_RELATED, frameType, type Grouping, relatedObsId } from './grouping.ts';
import { passbandFor } from './filters.ts';
import { type DerivedObservation, deriveObservation, parseAngle } from './observation.ts';
import type { Extraction } from './read-object.ts';

/** What one file tells about its observation, before it is merged with what other files told. */
export interface ObservationDraft {
  obsId: string;
  role: string;
  /** How authoritative this file's metadata is: the science FITS beats a dump, which beats a JPEG. */
  rank: number;
  columns: Partial<DerivedObservation> & { obs_type?: string | null };
  links: { relation: string; target: string }[];
}

const RANK: Record<string, number> = { science: 4, small: 3, header: 2, preview: 1, thumbnail: 1 };

const NUMERIC = new Set([
  's_ra',
  's_dec',
  's_fov',
  's_resolution',
  's_xel1',
  's_xel2',
  't_min',
  't_max',
  't_exptime',
  'em_min',
  'em_max',
  'em_xel',
  'airmass',
  'altitude',
  'azimuth',
]);

/** The HDU an observation describes: the first image with two or more axes, else the primary. */
export function scienceHdu(hdus: Hdu[]): Hdu | undefined {
  return (
    hdus.find(
      (h) =>
        (h.kind === 'primary' || h.kind === 'image' || h.kind === 'compressed-image') &&
        logicalShape(h).filter((n) => n > 1).length >= 2,
    ) ?? hdus[0]
  );
}

/** A mapped keyword's value converted for its column (sexagesimal angles, ISO dates → MJD). */
function mappedValue(column: string, value: unknown): unknown {
  if (!NUMERIC.has(column)) return typeof value === 'string' ? value.trim() : value;
  if (column === 's_ra') return parseAngle(value, typeof value === 'string' && /[:\s]/.test(value.trim()));
  if (column === 's_dec') return parseAngle(value, false);
  if ((column === 't_min' || column === 't_max') && typeof value === 'string') return isoToMjd(value) ?? null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number') return value;
  const n = Number(value);
  return typeof value === 'string' && value.trim() && Number.isFinite(n) ? n : null;
}

/** Applies a collection's keyword mapping: column → keywords tried in order, HDU first, then primary. */
export function applyMapping(
  columns: Record<string, unknown>,
  mapping: Record<string, string[]> | undefined,
  headers: Header[],
): void {
  if (!mapping) return;
  for (const [column, keys] of Object.entries(mapping)) {
    for (const k of keys) {
      const h = headers.find((x) => x.has(k));
      if (!h) continue;
      const v = mappedValue(column, h.get(k));
      if (v !== null && v !== undefined) {
        columns[column] = v;
        break;
      }
    }
  }
}

/** Derives the observation draft of one file from its extraction and its place in the group. */
export function draftObservation(
  ex: Extraction,
  g: Grouping,
  settings: CollectionSettings,
): ObservationDraft {
  const draft: ObservationDraft = {
    obsId: g.base,
    role: g.role,
    rank: ex.error ? 0 : (RANK[g.role] ?? (ex.kind === 'fits' ? 3 : ex.kind === 'header' ? 2 : 0)),
    columns: { obs_type: frameType(g.fields.type) },
    links: [],
  };
  if (g.fields.instrument) draft.columns.instrument_name = g.fields.instrument;
  if (g.fields.site) draft.columns.site = g.fields.site;
  if (g.fields.date) {
    const d = g.fields.date;
    draft.columns.night = `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;
  }
  if (ex.kind === 'image' && ex.info) {
    const exif = (ex.info.exif ?? {}) as Record<string, unknown>;
    const taken = exif['Photo.DateTimeOriginal'];
    if (typeof taken === 'string') draft.columns.t_min = isoToMjd(taken.replace('Z', '')) ?? null;
  }
  const hdu = scienceHdu(ex.hdus);
  if (hdu && !ex.error) {
    const primary = ex.hdus[0];
    const derived = deriveObservation(hdu, primary);
    for (const [k, v] of Object.entries(derived)) {
      if (v !== null && v !== undefined) (draft.columns as Record<string, unknown>)[k] = v;
    }
    const headers = [logicalHeader(hdu), ...(hdu === primary ? [] : [logicalHeader(primary)])];
    const filterBefore = draft.columns.filter;
    applyMapping(draft.columns as Record<string, unknown>, settings.mapping, headers);
    // A mapped filter names the passband, unless the mapping or a spectral axis already gave one.
    const mapped = settings.mapping ?? {};
    if (draft.columns.filter !== filterBefore && !mapped.em_min && !mapped.em_max && !draft.columns.em_xel) {
      const band = passbandFor(draft.columns.filter ?? null);
      draft.columns.em_min = band?.min ?? null;
      draft.columns.em_max = band?.max ?? null;
    }
    // DAY-OBS is often written 20220629: the catalog's night is always YYYY-MM-DD.
    const night = draft.columns.night;
    if (night && /^\d{8}$/.test(night))
      draft.columns.night = `${night.slice(0, 4)}-${night.slice(4, 6)}-${night.slice(6)}`;
    const type = headers
      .map((h) => h.get('OBSTYPE') ?? h.get('IMAGETYP') ?? h.get('FRAMETYP'))
      .find((v) => typeof v === 'string' && v.trim());
    if (typeof type === 'string') draft.columns.obs_type = type.trim().toUpperCase();
    for (const [keyword, relation] of Object.entries(settings.related ?? DEFAULT_RELATED)) {
      const v = headers
        .map((h) => h.get(keyword))
        .find((x) => typeof x === 'string' && x.trim() && x !== 'N/A');
      if (typeof v === 'string') draft.links.push({ relation, target: relatedObsId(v, settings) });
    }
  }
  return draft;
}
