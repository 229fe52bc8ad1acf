// The Explore page's query: what the form holds, as the page URL carries it (so a search can be
// shared) and as /api/observations wants it (degrees, MJD or ISO; exposure range in seconds; header
// keyword conditions as repeatable `kw=KEYWORD=value`).
import { parseDec, parseRa, parseRadius } from './coords.ts';

export const FILTER_FIELDS = [
  'collection',
  'start',
  'end',
  'target',
  'ra',
  'dec',
  'radius',
  'instrument',
  'filter',
  'exptime_min',
  'exptime_max',
] as const;
export type FilterField = (typeof FILTER_FIELDS)[number];

/** At most this many header keyword conditions (the API's limit). */
export const MAX_KW = 10;

export interface Search extends Record<FilterField, string> {
  /** Header keyword conditions, each `KEYWORD=value` (the URL's and the API's repeatable `kw`). */
  kw: string[];
  sort: 't_min' | '-t_min';
  cursor: string;
}

export function emptySearch(): Search {
  const s = Object.fromEntries(FILTER_FIELDS.map((f) => [f, ''])) as Record<FilterField, string>;
  return { ...s, kw: [], sort: 't_min', cursor: '' };
}

/** The search a page URL's query string describes. */
export function fromParams(p: URLSearchParams): Search {
  const s = emptySearch();
  for (const f of FILTER_FIELDS) s[f] = (p.get(f) ?? '').trim();
  s.kw = p
    .getAll('kw')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  s.sort = p.get('sort') === '-t_min' ? '-t_min' : 't_min';
  s.cursor = p.get('cursor') ?? '';
  return s;
}

/** The page URL's query string of a search (empty fields left out; coordinates as typed). */
export function toParams(s: Search): URLSearchParams {
  const p = new URLSearchParams();
  for (const f of FILTER_FIELDS) if (s[f].trim()) p.set(f, s[f].trim());
  for (const k of s.kw) if (k.trim()) p.append('kw', k.trim());
  if (s.sort !== 't_min') p.set('sort', s.sort);
  if (s.cursor) p.set('cursor', s.cursor);
  return p;
}

/** The filters as /api/observations and /api/observations/facets take them, or what is wrong. */
export function apiFilters(s: Search): { params: URLSearchParams } | { error: string } {
  const p = new URLSearchParams();
  for (const f of ['collection', 'start', 'end', 'target', 'instrument', 'filter'] as const)
    if (s[f].trim()) p.set(f, s[f].trim());
  const cone = [s.ra, s.dec, s.radius].filter((x) => x.trim() !== '').length;
  if (cone !== 0) {
    if (cone !== 3) return { error: 'A cone search needs RA, Dec and radius together.' };
    const ra = parseRa(s.ra);
    const dec = parseDec(s.dec);
    const radius = parseRadius(s.radius);
    if (ra === null) return { error: `RA “${s.ra}” is not degrees (0–360) or hh:mm:ss.` };
    if (dec === null) return { error: `Dec “${s.dec}” is not degrees (−90–90) or ±dd:mm:ss.` };
    if (radius === null)
      return { error: `Radius “${s.radius}” is not degrees, 5' (arcmin) or 30" (arcsec).` };
    p.set('ra', String(ra));
    p.set('dec', String(dec));
    p.set('radius', String(radius));
  }
  const exptime: Partial<Record<'exptime_min' | 'exptime_max', number>> = {};
  for (const f of ['exptime_min', 'exptime_max'] as const) {
    const text = s[f].trim();
    if (!text) continue;
    const v = /^(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text) ? Number(text) : Number.NaN;
    if (!Number.isFinite(v))
      return {
        error: `Exposure ${f === 'exptime_min' ? 'minimum' : 'maximum'} “${text}” is not seconds (0 or more).`,
      };
    exptime[f] = v;
    p.set(f, String(v));
  }
  if (
    exptime.exptime_min !== undefined &&
    exptime.exptime_max !== undefined &&
    exptime.exptime_min > exptime.exptime_max
  )
    return { error: 'The exposure minimum is above the maximum.' };
  const kw = s.kw.map((k) => k.trim()).filter((k) => k !== '');
  if (kw.length > MAX_KW) return { error: `At most ${MAX_KW} keyword conditions.` };
  for (const k of kw) {
    if (!(k.indexOf('=') > 0) || !k.slice(0, k.indexOf('=')).trim())
      return { error: `Keyword condition “${k}” is not KEYWORD=value.` };
    p.append('kw', k);
  }
  return { params: p };
}
