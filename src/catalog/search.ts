import { type Selectable, type SelectQueryBuilder, type SqlBool, sql } from 'kysely';
import type { Catalog } from './catalog.ts';
import type { Database, ObservationTable } from './schema.ts';
import { ALL_SKY, intersects, parseRegion, type Region, regionRanges, STORE_ORDER, vec } from './sky.ts';

/**
 * Observation search: the filters ObsCore clients ask for (collection, a sky region, a time range,
 * instrument, filter, target, exposure time) over the catalog, on SQLite and PostgreSQL alike.
 *
 * Spatial search is two-stage. The region's HEALPix cells at STORE_ORDER become `cell BETWEEN a AND b`
 * terms on observation_cells' (cell, observation_id) B-tree, giving candidates (plus every
 * observation too large to index, under ALL_SKY); then each candidate's footprint (its s_region, or
 * its position) is tested exactly against the region here, in JS. Because that test removes rows
 * after SQL's LIMIT, the search reads batches until it has enough exact matches, and its keyset
 * cursor records the last row it actually returned, so the next page resumes right after it.
 *
 * Rows come in (t_min, id) order, then the rows without a t_min by id; paging is keyset (no OFFSET),
 * stable under inserts and as cheap on page 1000 as on page 1.
 */

export type ObservationRow = Selectable<ObservationTable>;

export interface ObservationQuery {
  /** obs_collection, exactly. */
  collection?: string;
  /**
   * Sky region (ICRS degrees): a cone `{ type: 'circle', ra, dec, radius }`, a box (`boxRegion`) or a
   * polygon with great-circle edges, smaller than a hemisphere. An observation matches when its
   * footprint (s_region, else its position s_ra/s_dec) touches the region.
   */
  region?: Region;
  /** MJD. An observation matches when [t_min, t_max] (t_max missing: t_min) overlaps [start, end]. */
  start?: number;
  end?: number;
  /** instrument_name, exactly. */
  instrument?: string;
  /** filter, exactly. */
  filter?: string;
  /** A case-insensitive substring of target_name. */
  target?: string;
  /** Exposure time bounds (seconds, inclusive) on t_exptime. */
  exptimeMin?: number;
  exptimeMax?: number;
  /** Rows per page: default 100, at most MAX_LIMIT (larger values are reduced to it). */
  limit?: number;
  /** The `next` of the previous page, to continue the same query. */
  cursor?: string;
  /** The sort: t_min ascending (ties by id; observations without t_min last). The only one so far. */
  order?: 't_min';
}

export interface ObservationPage {
  rows: ObservationRow[];
  /** Present when more rows follow: pass it as `cursor` with the same query. */
  next?: string;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10000;
/** Most BETWEEN terms per query: neighbouring ranges are merged (more candidates, same answer). */
const MAX_RANGES = 200;
/** Largest batch read per round trip while the exact test filters candidates out. */
const MAX_BATCH = 5000;

/** Position in the (t_min, id) order: t === null is the trailing run of rows without t_min. */
interface Key {
  t: number | null;
  id: number;
}

type ObservationSelect = SelectQueryBuilder<Database, 'observations', ObservationRow>;

/** Searches observations; see ObservationQuery. Throws RangeError on an invalid query or cursor. */
export async function searchObservations(cat: Catalog, q: ObservationQuery): Promise<ObservationPage> {
  const plan = prepareQuery(q);
  const { limit, region, timeFiltered } = plan;
  let key = q.cursor === undefined ? null : decodeCursor(q.cursor);
  const rows: ObservationRow[] = [];
  // One row beyond the page tells whether a next page exists. Without a region every row SQL
  // returns matches; with one, some candidates fail the exact test, so read more and grow.
  let batch = Math.min(MAX_BATCH, region ? Math.max(64, 2 * (limit + 1)) : limit + 1);
  while (rows.length <= limit) {
    if (key?.t === null && timeFiltered) break; // rows without t_min never match a time range
    const page = await pageQuery(cat, plan, key, batch).execute();
    for (const row of page) {
      key = { t: row.t_min, id: Number(row.id) };
      if (plan.matches(row)) {
        rows.push(row);
        if (rows.length > limit) break;
      }
    }
    if (rows.length > limit) break;
    if (page.length < batch) {
      // This run is exhausted: after the rows with t_min come those without (unless time-filtered).
      if (key?.t === null || timeFiltered) break;
      key = { t: null, id: Number.MIN_SAFE_INTEGER };
    }
    batch = Math.min(MAX_BATCH, batch * 2);
  }
  if (rows.length <= limit) return { rows };
  rows.length = limit;
  const last = rows[limit - 1];
  return { rows, next: encodeCursor({ t: last.t_min, id: Number(last.id) }) };
}

/**
 * The SQL of the first batch searchObservations runs for this query (or the batch after `cursor`),
 * for EXPLAIN and diagnostics; its rows are candidates, before the exact spatial test.
 */
export function searchQuery(cat: Catalog, q: ObservationQuery, batch = 100): ObservationSelect {
  const key = q.cursor === undefined ? null : decodeCursor(q.cursor);
  return pageQuery(cat, prepareQuery(q), key, batch);
}

interface Plan {
  q: ObservationQuery;
  limit: number;
  region: Region | null;
  /** [first, last] cell ranges at STORE_ORDER for the candidate lookup. */
  ranges: [number, number][];
  timeFiltered: boolean;
  /** The lower-cased target, when it is ASCII (and so SQL's lower() agrees with JS's). */
  targetSql: string | null;
  /** The exact tests SQL cannot do: the footprint against the region, a non-ASCII target. */
  matches: (row: ObservationRow) => boolean;
}

function prepareQuery(q: ObservationQuery): Plan {
  const limit = q.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a positive integer: ${q.limit}`);
  if (q.order !== undefined && q.order !== 't_min') throw new RangeError(`unknown order: ${q.order}`);
  for (const k of ['start', 'end', 'exptimeMin', 'exptimeMax'] as const) {
    const v = q[k];
    if (v !== undefined && (typeof v !== 'number' || Number.isNaN(v)))
      throw new RangeError(`${k} must be a number: ${v}`);
  }
  const region = q.region ?? null;
  if (region) checkRegion(region);
  const target = q.target?.toLowerCase() ?? null;
  const targetSql = target !== null && /^[\x00-\x7f]*$/.test(target) ? target : null;
  const needle = target !== null && targetSql === null ? target : null;
  return {
    q,
    limit: Math.min(limit, MAX_LIMIT),
    region,
    ranges: region ? candidateRanges(region) : [],
    timeFiltered: q.start !== undefined || q.end !== undefined,
    targetSql,
    matches: (row) => {
      if (needle !== null && !row.target_name?.toLowerCase().includes(needle)) return false;
      if (!region) return true;
      const fp = footprint(row);
      return fp !== null && intersects(region, fp);
    },
  };
}

/** An observation's footprint: its s_region, else its position (as observationCells indexes it). */
function footprint(row: ObservationRow): Region | null {
  const r = row.s_region ? parseRegion(row.s_region) : null;
  if (r) return r;
  if (row.s_ra !== null && row.s_dec !== null)
    return { type: 'circle', ra: row.s_ra, dec: row.s_dec, radius: 0 };
  return null;
}

/** One batch: the filters, the spatial candidates, the rows after `key` in (t_min, id) order. */
function pageQuery(cat: Catalog, plan: Plan, key: Key | null, batch: number): ObservationSelect {
  const { q } = plan;
  let qb: ObservationSelect = cat.db.selectFrom('observations').selectAll();
  if (q.collection !== undefined) qb = qb.where('obs_collection', '=', q.collection);
  if (q.instrument !== undefined) qb = qb.where('instrument_name', '=', q.instrument);
  if (q.filter !== undefined) qb = qb.where('filter', '=', q.filter);
  if (q.exptimeMin !== undefined) qb = qb.where('t_exptime', '>=', q.exptimeMin);
  if (q.exptimeMax !== undefined) qb = qb.where('t_exptime', '<=', q.exptimeMax);
  // Overlap of [t_min, coalesce(t_max, t_min)] with [start, end], spelt so both engines can use the
  // t_min and t_max indexes.
  if (q.end !== undefined) qb = qb.where('t_min', '<=', q.end);
  const start = q.start;
  if (start !== undefined)
    qb = qb.where((eb) =>
      eb.or([eb('t_max', '>=', start), eb.and([eb('t_max', 'is', null), eb('t_min', '>=', start)])]),
    );
  if (plan.targetSql !== null) {
    const pattern = `%${plan.targetSql.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    qb = qb.where(sql<SqlBool>`lower(${sql.ref('target_name')}) like ${pattern} escape '\\'`);
  }
  if (plan.region) {
    const ranges = plan.ranges;
    qb = qb.where('id', 'in', (eb) =>
      eb
        .selectFrom('observation_cells')
        .select('observation_cells.observation_id')
        .where((c) =>
          c.or([
            ...ranges.map(([a, b]) => c.between('observation_cells.cell', a, b)),
            c('observation_cells.cell', '=', ALL_SKY),
          ]),
        ),
    );
  }
  if (key === null || key.t !== null) {
    qb = qb.where('t_min', 'is not', null);
    if (key !== null) {
      const { t, id } = key as { t: number; id: number };
      // The redundant t_min >= t lets either engine start its index scan at the cursor.
      qb = qb.where('t_min', '>=', t).where((eb) => eb.or([eb('t_min', '>', t), eb('id', '>', id)]));
    }
    qb = qb.orderBy('t_min').orderBy('id');
  } else {
    qb = qb.where('t_min', 'is', null).where('id', '>', key.id).orderBy('id');
  }
  return qb.limit(batch);
}

/** Recent regions' ranges: paging through a large region computes its cells once, not per page. */
const rangeCache = new Map<string, [number, number][]>();

function candidateRanges(region: Region): [number, number][] {
  const key = JSON.stringify(region);
  let ranges = rangeCache.get(key);
  if (ranges) rangeCache.delete(key);
  else ranges = coarsen(regionRanges(STORE_ORDER, region), MAX_RANGES);
  rangeCache.set(key, ranges);
  if (rangeCache.size > 64) rangeCache.delete(rangeCache.keys().next().value as string);
  return ranges;
}

/**
 * Merges the ranges across the smallest gaps until at most `max` remain: a superset of the cells, so
 * the candidates still include every match, in a statement of bounded size.
 */
export function coarsen(ranges: [number, number][], max: number): [number, number][] {
  if (ranges.length <= max) return ranges;
  const gaps = ranges
    .slice(1)
    .map(([a], i) => a - ranges[i][1])
    .sort((x, y) => x - y);
  const cut = gaps[ranges.length - max - 1]; // merge every gap up to this size
  const out: [number, number][] = [[ranges[0][0], ranges[0][1]]];
  for (const [a, b] of ranges.slice(1)) {
    const last = out[out.length - 1];
    if (a - last[1] <= cut) last[1] = b;
    else out.push([a, b]);
  }
  return out;
}

/** Rejects regions the geometry cannot answer for (non-finite numbers, polygons of a hemisphere or more). */
function checkRegion(r: Region): void {
  if (r.type === 'circle') {
    if (![r.ra, r.dec, r.radius].every(Number.isFinite) || r.radius < 0 || Math.abs(r.dec) > 90)
      throw new RangeError(`invalid cone: ${r.ra}, ${r.dec}, ${r.radius}`);
    return;
  }
  if (r.type !== 'polygon' || !Array.isArray(r.vertices) || r.vertices.length < 3)
    throw new RangeError('a polygon needs at least 3 vertices');
  if (!r.vertices.every(([ra, dec]) => Number.isFinite(ra) && Number.isFinite(dec) && Math.abs(dec) <= 90))
    throw new RangeError('polygon vertices must be finite RA, Dec in degrees');
  const v = r.vertices.map(([ra, dec]) => vec(ra, dec));
  const s = v.reduce((acc, x) => [acc[0] + x[0], acc[1] + x[1], acc[2] + x[2]], [0, 0, 0]);
  const n = Math.hypot(s[0], s[1], s[2]);
  // Every vertex well within 90° of the vertices' mean direction (sky.ts's tests assume less than a hemisphere).
  if (!(n > 1e-9) || v.some((x) => (x[0] * s[0] + x[1] * s[1] + x[2] * s[2]) / n < 1e-6))
    throw new RangeError('polygon must be smaller than a hemisphere');
}

function encodeCursor(k: Key): string {
  return Buffer.from(JSON.stringify([k.t, k.id])).toString('base64url');
}

function decodeCursor(cursor: string): Key {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    v = null;
  }
  if (
    !Array.isArray(v) ||
    v.length !== 2 ||
    !(v[0] === null || (typeof v[0] === 'number' && Number.isFinite(v[0]))) ||
    !Number.isSafeInteger(v[1])
  )
    throw new RangeError('invalid cursor');
  return { t: v[0], id: v[1] };
}
