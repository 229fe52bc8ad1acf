import { type Expression, type Selectable, type SelectQueryBuilder, type SqlBool, sql } from 'kysely';
import { observationFilter, type Visibility } from './access.ts';
import type { Catalog } from './catalog.ts';
import type { Dialect } from './migrations.ts';
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
 * Rows come in (t_min, id) order, then the rows without a t_min by id (or all of it reversed with
 * order '-t_min'); paging is keyset (no OFFSET), stable under inserts and as cheap on page 1000 as
 * on page 1. With a `visibility`, every row, count and facet passes through the access rule
 * (observationFilter) in SQL, before any limit, so nothing hidden shapes a page or a number.
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
  /**
   * The sort: 't_min' ascending (ties by id ascending) or '-t_min' descending (ties by id
   * descending); observations without t_min come last either way.
   */
  order?: ObservationOrder;
  /**
   * Header keywords: an observation matches when, for every entry, some HDU of one of its current
   * ingested files has the keyword with that value (see keywordCondition for how values compare).
   */
  keywords?: KeywordMatch[];
  /** What the caller may see (src/catalog/access.ts); absent: everything (the CLI, the operator). */
  visibility?: Visibility;
}

export const ORDERS = ['t_min', '-t_min'] as const;
export type ObservationOrder = (typeof ORDERS)[number];

export interface KeywordMatch {
  keyword: string;
  value: string;
}

export interface ObservationCount {
  value: number;
  /** false: `value` is a lower bound (the count stopped at the cap). */
  exact: boolean;
}

export const FACETS = ['obs_collection', 'instrument_name', 'filter', 'dataproduct_type', 'night'] as const;
export type FacetColumn = (typeof FACETS)[number];
export type Facets = Record<FacetColumn, { value: string | null; count: number }[]>;

export interface ObservationPage {
  rows: ObservationRow[];
  /** Present when more rows follow: pass it as `cursor` with the same query. */
  next?: string;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10000;
/** What an estimated count counts up to before it stops and reports a lower bound. */
export const COUNT_CAP = 10000;
/** Most keyword conditions in one query (each is a correlated subquery). */
export const MAX_KEYWORDS = 10;
/** Most BETWEEN terms per query: neighbouring ranges are merged (more candidates, same answer). */
const MAX_RANGES = 200;
/** Largest batch read per round trip while the exact test filters candidates out. */
const MAX_BATCH = 5000;

/** Position in the (t_min, id) order (or its reverse): t === null is the trailing run without t_min. */
interface Key {
  t: number | null;
  id: number;
}

type ObservationSelect = SelectQueryBuilder<Database, 'observations', ObservationRow>;
// biome-ignore lint/complexity/noBannedTypes: a query with its filters and no selection yet
type FilteredSelect = SelectQueryBuilder<Database, 'observations', {}>;
/** The columns the exact tests read (footprint, target). */
type Testable = Pick<ObservationRow, 's_region' | 's_ra' | 's_dec' | 'target_name'>;

/** Searches observations; see ObservationQuery. Throws RangeError on an invalid query or cursor. */
export async function searchObservations(cat: Catalog, q: ObservationQuery): Promise<ObservationPage> {
  const plan = prepareQuery(q);
  const { limit, region, timeFiltered, order } = plan;
  let key = q.cursor === undefined ? null : decodeCursor(q.cursor, order);
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
      key = { t: null, id: order === 't_min' ? Number.MIN_SAFE_INTEGER : Number.MAX_SAFE_INTEGER };
    }
    batch = Math.min(MAX_BATCH, batch * 2);
  }
  if (rows.length <= limit) return { rows };
  rows.length = limit;
  const last = rows[limit - 1];
  return { rows, next: encodeCursor({ t: last.t_min, id: Number(last.id) }, order) };
}

/**
 * The SQL of the first batch searchObservations runs for this query (or the batch after `cursor`),
 * for EXPLAIN and diagnostics; its rows are candidates, before the exact spatial test.
 */
export function searchQuery(cat: Catalog, q: ObservationQuery, batch = 100): ObservationSelect {
  const plan = prepareQuery(q);
  const key = q.cursor === undefined ? null : decodeCursor(q.cursor, plan.order);
  return pageQuery(cat, plan, key, batch);
}

/**
 * How many observations match (the cursor, limit and order do not matter). 'exact' counts every
 * match. 'estimate' stops at `cap` and then says so (exact: false, value = cap, a lower bound): on
 * a large result a full COUNT costs as much as reading every row, and a bounded count answers
 * "more than 10000" in the time of reading 10000 index entries. Planner estimates (PostgreSQL's
 * EXPLAIN rows) were not chosen: they ignore the visibility predicate's and the filters'
 * correlation and can be off by orders of magnitude, and SQLite has none.
 */
export async function countObservations(
  cat: Catalog,
  q: ObservationQuery,
  mode: 'exact' | 'estimate',
  cap = COUNT_CAP,
): Promise<ObservationCount> {
  const plan = prepareQuery(q);
  const limit = mode === 'exact' ? Number.POSITIVE_INFINITY : cap;
  if (plan.exactInSql) {
    let inner = filteredQuery(cat, plan).select('observations.id');
    if (Number.isFinite(limit)) inner = inner.limit(limit + 1);
    const r = await cat.db
      .selectFrom(inner.as('matches'))
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    const n = Number(r.n);
    return n > limit ? { value: cap, exact: false } : { value: n, exact: true };
  }
  let n = 0;
  for await (const _match of scanMatches(cat, plan, [])) if (++n > limit) return { value: cap, exact: false };
  return { value: n, exact: true };
}

/**
 * Counts of the matching observations by collection, instrument, filter, product type and night
 * (the `top` most frequent values of each, then by value; null is a value). Without a region or a
 * non-ASCII target these are GROUP BYs; otherwise the candidates are read once and tested exactly.
 */
export async function observationFacets(cat: Catalog, q: ObservationQuery, top = 100): Promise<Facets> {
  const plan = prepareQuery(q);
  const out = {} as Facets;
  const sorted = (m: Map<string | null, number>) =>
    [...m]
      .map(([value, count]) => ({ value, count }))
      .sort(
        (a, b) =>
          b.count - a.count ||
          (a.value === b.value
            ? 0
            : a.value === null
              ? 1
              : b.value === null
                ? -1
                : a.value < b.value
                  ? -1
                  : 1),
      )
      .slice(0, top);
  if (plan.exactInSql) {
    for (const col of FACETS) {
      const rows = await filteredQuery(cat, plan)
        .select([
          sql<string | null>`${sql.ref(`observations.${col}`)}`.as('value'),
          sql<number>`count(*)`.as('n'),
        ])
        .groupBy(`observations.${col}`)
        .execute();
      out[col] = sorted(new Map(rows.map((r) => [r.value, Number(r.n)])));
    }
    return out;
  }
  const counts = Object.fromEntries(FACETS.map((c) => [c, new Map<string | null, number>()])) as Record<
    FacetColumn,
    Map<string | null, number>
  >;
  for await (const row of scanMatches(cat, plan, FACETS)) {
    for (const col of FACETS) {
      const v = (row as unknown as Record<string, string | null>)[col];
      counts[col].set(v, (counts[col].get(v) ?? 0) + 1);
    }
  }
  for (const col of FACETS) out[col] = sorted(counts[col]);
  return out;
}

/** Every match of a plan that needs the exact tests, read in id order in batches (any order will do). */
async function* scanMatches(
  cat: Catalog,
  plan: Plan,
  extra: readonly FacetColumn[],
): AsyncIterable<Testable> {
  let last = Number.MIN_SAFE_INTEGER;
  for (;;) {
    const batch = await filteredQuery(cat, plan)
      .select(['observations.id', 's_region', 's_ra', 's_dec', 'target_name', ...extra])
      .where('observations.id', '>', last)
      .orderBy('observations.id')
      .limit(MAX_BATCH)
      .execute();
    for (const row of batch) if (plan.matches(row)) yield row;
    if (batch.length < MAX_BATCH) return;
    last = Number(batch[batch.length - 1].id);
  }
}

interface Plan {
  q: ObservationQuery;
  limit: number;
  region: Region | null;
  /** [first, last] cell ranges at STORE_ORDER for the candidate lookup. */
  ranges: [number, number][];
  timeFiltered: boolean;
  order: ObservationOrder;
  /** True when SQL alone decides every match (no region, no non-ASCII target). */
  exactInSql: boolean;
  /** The lower-cased target, when it is ASCII (and so SQL's lower() agrees with JS's). */
  targetSql: string | null;
  /** The exact tests SQL cannot do: the footprint against the region, a non-ASCII target. */
  matches: (row: Testable) => boolean;
}

function prepareQuery(q: ObservationQuery): Plan {
  const limit = q.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a positive integer: ${q.limit}`);
  if (q.order !== undefined && !ORDERS.includes(q.order))
    throw new RangeError(`unknown order: ${q.order} (one of ${ORDERS.join(', ')})`);
  for (const k of q.keywords ?? []) checkKeyword(k);
  if ((q.keywords?.length ?? 0) > MAX_KEYWORDS)
    throw new RangeError(`at most ${MAX_KEYWORDS} keyword conditions (got ${q.keywords?.length})`);
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
    order: q.order ?? 't_min',
    exactInSql: !region && needle === null,
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
function footprint(row: Testable): Region | null {
  const r = row.s_region ? parseRegion(row.s_region) : null;
  if (r) return r;
  if (row.s_ra !== null && row.s_dec !== null)
    return { type: 'circle', ra: row.s_ra, dec: row.s_dec, radius: 0 };
  return null;
}

/** The query with every filter of the plan (the caller's visibility included), nothing selected. */
function filteredQuery(cat: Catalog, plan: Plan): FilteredSelect {
  const { q } = plan;
  let qb: FilteredSelect = cat.db.selectFrom('observations');
  if (q.visibility) qb = qb.where(observationFilter(q.visibility, 'observations'));
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
  for (const k of q.keywords ?? []) qb = qb.where(keywordCondition(cat.dialect, k));
  if (plan.region) {
    const ranges = plan.ranges;
    qb = qb.where('observations.id', 'in', (eb) =>
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
  return qb;
}

/** One batch: the filters, the spatial candidates, the rows after `key` in the plan's order. */
function pageQuery(cat: Catalog, plan: Plan, key: Key | null, batch: number): ObservationSelect {
  let qb: ObservationSelect = filteredQuery(cat, plan).selectAll('observations');
  const asc = plan.order === 't_min';
  const dir = asc ? 'asc' : 'desc';
  if (key === null || key.t !== null) {
    qb = qb.where('t_min', 'is not', null);
    if (key !== null) {
      const { t, id } = key as { t: number; id: number };
      // The redundant t_min >= t (<= t) lets either engine start its index scan at the cursor.
      qb = asc
        ? qb
            .where('t_min', '>=', t)
            .where((eb) => eb.or([eb('t_min', '>', t), eb('observations.id', '>', id)]))
        : qb
            .where('t_min', '<=', t)
            .where((eb) => eb.or([eb('t_min', '<', t), eb('observations.id', '<', id)]));
    }
    qb = qb.orderBy('t_min', dir).orderBy('observations.id', dir);
  } else {
    qb = qb
      .where('t_min', 'is', null)
      .where('observations.id', asc ? '>' : '<', key.id)
      .orderBy('observations.id', dir);
  }
  return qb.limit(batch);
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function checkKeyword(k: KeywordMatch): void {
  // The keyword becomes a JSON path on SQLite ($."KW"): no quote or backslash may end it early.
  if (typeof k.keyword !== 'string' || !/^[^"\\\x00-\x1f\x7f]{1,68}$/.test(k.keyword))
    throw new RangeError(`kw: invalid keyword ${JSON.stringify(k.keyword)}`);
  if (typeof k.value !== 'string' || k.value.length > 1000)
    throw new RangeError(`kw: invalid value for ${k.keyword}`);
}

/**
 * "Some HDU of one of the observation's current, ingested files has KEYWORD = value", read from
 * hdus.keyvalues (json_extract on SQLite, ->> on PostgreSQL) rather than the crawler's typed views:
 * keyvalues is written in the ingest transaction itself, so a file is searchable the moment it is
 * catalogued, whereas a view exists only per collection, after a crawl, and holds at most 1000
 * keyword columns; a search across collections would need a UNION of every view.
 *
 * Values compare as FITS means them: a string value equals the text; a number equals any spelling
 * of it (EXPTIME=60 matches 60.0); T/F (or true/false) match a logical. The primary HDU is one of
 * the HDUs, so keywords an extension inherits from it match too.
 */
function keywordCondition(dialect: Dialect, k: KeywordMatch): Expression<SqlBool> {
  const num = NUMBER.test(k.value.trim()) ? Number(k.value.trim()) : null;
  const bool = /^(t|true)$/i.test(k.value) ? true : /^(f|false)$/i.test(k.value) ? false : null;
  let test: ReturnType<typeof sql<SqlBool>>;
  if (dialect === 'postgres') {
    const j = sql`(kh.keyvalues::jsonb -> ${k.keyword}::text)`;
    const terms = [sql<SqlBool>`(jsonb_typeof(${j}) = 'string' AND ${j} #>> '{}' = ${k.value}::text)`];
    if (num !== null)
      terms.push(
        sql<SqlBool>`(CASE WHEN jsonb_typeof(${j}) = 'number' THEN (${j} #>> '{}')::double precision = ${num}::double precision ELSE false END)`,
      );
    if (bool !== null) terms.push(sql<SqlBool>`(${j} = ${bool ? 'true' : 'false'}::jsonb)`);
    test = sql<SqlBool>`(${sql.join(terms, sql` OR `)})`;
  } else {
    const path = `$."${k.keyword}"`;
    const type = sql`json_type(kh.keyvalues, ${path})`;
    const value = sql`json_extract(kh.keyvalues, ${path})`;
    const terms = [sql<SqlBool>`(${type} = 'text' AND ${value} = ${k.value})`];
    if (num !== null) terms.push(sql<SqlBool>`(${type} IN ('integer', 'real') AND ${value} = ${num})`);
    if (bool !== null) terms.push(sql<SqlBool>`(${type} = ${bool ? 'true' : 'false'})`);
    test = sql<SqlBool>`(${sql.join(terms, sql` OR `)})`;
  }
  return sql<SqlBool>`EXISTS (SELECT 1 FROM artifacts ka JOIN files kf ON kf.id = ka.file_id JOIN hdus kh ON kh.file_id = kf.id WHERE ka.observation_id = observations.id AND kf.current = 1 AND kf.status = 'ingested' AND ${test})`;
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

/** The cursor names its sort, so one from another sort is refused rather than skipping rows. */
function encodeCursor(k: Key, order: ObservationOrder): string {
  return Buffer.from(JSON.stringify([k.t, k.id, order])).toString('base64url');
}

function decodeCursor(cursor: string, order: ObservationOrder): Key {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    v = null;
  }
  if (
    !Array.isArray(v) ||
    v.length !== 3 ||
    !(v[0] === null || (typeof v[0] === 'number' && Number.isFinite(v[0]))) ||
    !Number.isSafeInteger(v[1])
  )
    throw new RangeError('invalid cursor');
  if (v[2] !== order) throw new RangeError(`cursor: it continues sort ${v[2]}, not ${order}`);
  return { t: v[0], id: v[1] };
}
