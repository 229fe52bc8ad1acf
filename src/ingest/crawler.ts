import { sql, type Transaction } from 'kysely';
import type { Catalog } from '../catalog/catalog.ts';
import type { Dialect } from '../catalog/migrations.ts';
import type { Database } from '../catalog/schema.ts';
import { COMMENTARY_KEYWORDS } from '../fits/card.ts';

/**
 * The schema crawler, as an AWS Glue crawler for headers: it reads the HDUs of the files a
 * collection gained since its last run (a watermark on files.id), keeps an inventory of every
 * header keyword (how many HDUs carry it, its widened type, a few example values, when it was first
 * and last seen) and keeps a typed SQL view over the collection's headers, `hdr_<collection>`, with
 * one column per keyword.
 *
 * Type widening: `undefined` (a keyword with no value) < bool | int | float | string | complex;
 * int and float make float; any other mix makes string. Commentary cards (COMMENT, HISTORY, blank,
 * CONTINUE, END) are not keywords. Only the first card of a keyword in an HDU counts (the one the
 * HDU's keyvalues — and so the view — hold).
 *
 * first_seen / last_seen are the earliest / latest ingestion time (files.created_at) of the crawled
 * files carrying the keyword. The inventory is cumulative, as a Glue crawler's: superseded file
 * versions stay counted, and a file re-extracted in place (same files.id) is not crawled again.
 * The watermark assumes ids become visible in order: a file committed with an id below one already
 * crawled (two ingests racing on PostgreSQL) is not seen.
 */

/** Files read per batch (default): one transaction each (inventory + watermark), so memory stays flat. */
const BATCH_FILES = 500;
/** Distinct example values kept per keyword. */
const MAX_EXAMPLES = 5;
/**
 * Keyword columns in the view, most frequent first (then by name): PostgreSQL allows 1664 columns in
 * a select list (SQLite 2000 by default), so 1000 keywords plus the fixed and path columns fit.
 * The others stay in the inventory and in hdus.keyvalues.
 */
export const MAX_KEYWORD_COLUMNS = 1000;
/** Path-field columns in the view (sorted by name); folder fields are few in practice. */
export const MAX_PATH_COLUMNS = 200;
/** PostgreSQL truncates identifiers beyond 63 bytes (NAMEDATALEN - 1); longer names get no column. */
const MAX_IDENT_BYTES = 63;
const FIXED_COLUMNS = ['file_id', 'key', 'hdu', 'kind'];
const NOT_KEYWORDS = new Set([...COMMENTARY_KEYWORDS, 'CONTINUE', 'END']);

export type KeywordType = 'undefined' | 'bool' | 'int' | 'float' | 'string' | 'complex';

export interface KeywordRow {
  keyword: string;
  /** Number of HDUs carrying the keyword. */
  count: number;
  type: KeywordType;
  /** Up to five distinct values, in the order first seen. */
  examples: unknown[];
  first_seen: string;
  last_seen: string;
}

export interface CrawlResult {
  /** Files read by this run. */
  files: number;
  /** Keywords the inventory did not have before this run, sorted. */
  newKeywords: string[];
  /** Whether the view was (re)created. */
  viewChanged: boolean;
}

/** What crawler_state.view_columns holds. */
interface ViewState {
  /** Every path field (files.path_fields key) seen in the crawled files, sorted. */
  pathFields: string[];
  /** The view's columns after the fixed ones, as last built: [name, 'path' | keyword type]. */
  columns: [string, string][];
}

type Tx = Transaction<Database>;

/**
 * The view of a collection: `hdr_` + the collection name in lower case with every character
 * outside [a-z0-9_] replaced by `_` ('Night-1' → hdr_night_1), cut to 63 characters (PostgreSQL's
 * identifier limit). Two collections that differ only in those characters share a name — the last
 * one crawled owns the view.
 */
export function viewName(collection: string): string {
  return ('hdr_' + collection.toLowerCase().replace(/[^a-z0-9_]/g, '_')).slice(0, MAX_IDENT_BYTES);
}

/** A double-quoted SQL identifier (embedded double quotes doubled). */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
/** A single-quoted SQL string literal (embedded single quotes doubled; both engines take no backslash escapes). */
const quoteLiteral = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** The type both values fit: see the widening rule above. */
export function widen(a: string, b: string): KeywordType {
  if (a === b) return a as KeywordType;
  if (a === 'undefined') return b as KeywordType;
  if (b === 'undefined') return a as KeywordType;
  if ((a === 'int' && b === 'float') || (a === 'float' && b === 'int')) return 'float';
  return 'string';
}

const KNOWN = new Set(['undefined', 'bool', 'int', 'float', 'string', 'complex']);
/** A card type as the inventory counts it (an unknown one as string). */
const cardType = (t: string): KeywordType => (KNOWN.has(t) ? (t as KeywordType) : 'string');

interface Agg {
  count: number;
  type: KeywordType;
  examples: Map<string, unknown>;
  first: string;
  last: string;
}

/**
 * Crawls the collection's files added since the last run (ingested, current versions), merges what
 * it finds into the keyword inventory, advances the watermark and (re)creates the view when its
 * columns or their types changed.
 */
export async function crawl(
  cat: Catalog,
  collection: string,
  opts: { batchFiles?: number } = {},
): Promise<CrawlResult> {
  const size = opts.batchFiles ?? BATCH_FILES;
  let files = 0;
  const added = new Set<string>();
  for (;;) {
    const n = await cat.db
      .transaction()
      .execute((tx) => crawlBatch(tx, cat.dialect, collection, size, added));
    files += n;
    if (n < size) break;
  }
  const viewChanged = await cat.db.transaction().execute((tx) => refreshView(tx, cat.dialect, collection));
  return { files, newKeywords: [...added].sort(), viewChanged };
}

/** Takes the collection's crawler lock (its state row), creating the state on the first run. */
async function lockState(tx: Tx, dialect: Dialect, collection: string) {
  // A write first: on SQLite it takes the write lock before anything is read, so two crawlers
  // (processes) cannot read the same watermark; on PostgreSQL the row lock does that.
  await tx
    .insertInto('crawler_state')
    .values({
      collection,
      last_file_id: 0,
      view_columns: JSON.stringify({ pathFields: [], columns: [] } satisfies ViewState),
      updated_at: new Date().toISOString(),
    })
    .onConflict((oc) => oc.column('collection').doNothing())
    .execute();
  let q = tx.selectFrom('crawler_state').selectAll().where('collection', '=', collection);
  if (dialect === 'postgres') q = q.forUpdate();
  const row = await q.executeTakeFirstOrThrow();
  return { lastFileId: Number(row.last_file_id), view: parseViewState(row.view_columns) };
}

function parseViewState(text: string): ViewState {
  const v = JSON.parse(text) as Partial<ViewState>;
  return { pathFields: v.pathFields ?? [], columns: v.columns ?? [] };
}

/** One batch: reads up to `size` files past the watermark; returns how many it read. */
async function crawlBatch(
  tx: Tx,
  dialect: Dialect,
  collection: string,
  size: number,
  added: Set<string>,
): Promise<number> {
  const state = await lockState(tx, dialect, collection);
  const batch = await tx
    .selectFrom('files')
    .select(['id', 'created_at', 'path_fields'])
    .where('collection', '=', collection)
    .where('status', '=', 'ingested')
    .where('current', '=', 1)
    .where('id', '>', state.lastFileId)
    .orderBy('id')
    .limit(size)
    .execute();
  if (!batch.length) return 0;

  const seenAt = new Map<number, string>();
  const paths = new Set(state.view.pathFields);
  for (const f of batch) {
    seenAt.set(Number(f.id), f.created_at);
    if (f.path_fields) for (const k of Object.keys(JSON.parse(f.path_fields) as object)) paths.add(k);
  }
  const hdus = await tx
    .selectFrom('hdus')
    .select(['file_id', 'cards'])
    .where(
      'file_id',
      'in',
      batch.map((f) => Number(f.id)),
    )
    .execute();

  const agg = new Map<string, Agg>();
  for (const h of hdus) {
    const at = seenAt.get(Number(h.file_id))!;
    const seen = new Set<string>();
    for (const [keyword, value, type] of JSON.parse(h.cards) as [string, unknown, string, string][]) {
      if (type === 'commentary' || NOT_KEYWORDS.has(keyword) || seen.has(keyword)) continue;
      seen.add(keyword);
      const t = cardType(type);
      let a = agg.get(keyword);
      if (!a) agg.set(keyword, (a = { count: 0, type: t, examples: new Map(), first: at, last: at }));
      a.count++;
      a.type = widen(a.type, t);
      if (value !== null && a.examples.size < MAX_EXAMPLES) {
        const k = JSON.stringify(value);
        if (!a.examples.has(k)) a.examples.set(k, value);
      }
      if (at < a.first) a.first = at;
      if (at > a.last) a.last = at;
    }
  }

  const keywords = [...agg.keys()];
  const existing = new Map<
    string,
    { count: number; type: string; examples: string; first: string; last: string }
  >();
  for (let i = 0; i < keywords.length; i += 500) {
    const rows = await tx
      .selectFrom('keywords')
      .selectAll()
      .where('collection', '=', collection)
      .where('keyword', 'in', keywords.slice(i, i + 500))
      .execute();
    for (const r of rows)
      existing.set(r.keyword, {
        count: Number(r.count),
        type: r.type,
        examples: r.examples,
        first: r.first_seen,
        last: r.last_seen,
      });
  }
  const upserts = keywords.map((keyword) => {
    const a = agg.get(keyword)!;
    const old = existing.get(keyword);
    if (!old) added.add(keyword);
    const examples = new Map<string, unknown>();
    for (const v of old ? (JSON.parse(old.examples) as unknown[]) : []) examples.set(JSON.stringify(v), v);
    for (const [k, v] of a.examples) if (examples.size < MAX_EXAMPLES && !examples.has(k)) examples.set(k, v);
    return {
      collection,
      keyword,
      count: (old?.count ?? 0) + a.count,
      type: old ? widen(old.type, a.type) : a.type,
      examples: JSON.stringify([...examples.values()]),
      first_seen: old && old.first < a.first ? old.first : a.first,
      last_seen: old && old.last > a.last ? old.last : a.last,
    };
  });
  for (let i = 0; i < upserts.length; i += 500) {
    await tx
      .insertInto('keywords')
      .values(upserts.slice(i, i + 500))
      .onConflict((oc) =>
        oc.columns(['collection', 'keyword']).doUpdateSet((eb) => ({
          count: eb.ref('excluded.count'),
          type: eb.ref('excluded.type'),
          examples: eb.ref('excluded.examples'),
          first_seen: eb.ref('excluded.first_seen'),
          last_seen: eb.ref('excluded.last_seen'),
        })),
      )
      .execute();
  }
  const view: ViewState = { pathFields: [...paths].sort(), columns: state.view.columns };
  await tx
    .updateTable('crawler_state')
    .set({
      last_file_id: Number(batch[batch.length - 1].id),
      view_columns: JSON.stringify(view),
      updated_at: new Date().toISOString(),
    })
    .where('collection', '=', collection)
    .execute();
  return batch.length;
}

/** The collection's keyword inventory, sorted by keyword (code-point order, the same on both engines). */
export async function keywordInventory(cat: Catalog, collection: string): Promise<KeywordRow[]> {
  const rows = await cat.db.selectFrom('keywords').selectAll().where('collection', '=', collection).execute();
  return rows
    .map((r) => ({
      keyword: r.keyword,
      count: Number(r.count),
      type: r.type as KeywordType,
      examples: JSON.parse(r.examples) as unknown[],
      first_seen: r.first_seen,
      last_seen: r.last_seen,
    }))
    .sort((a, b) => (a.keyword < b.keyword ? -1 : a.keyword > b.keyword ? 1 : 0));
}

const byteLength = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * The view's columns after file_id, key, hdu, kind: the path fields, then the keywords. Names are
 * compared case-insensitively, as SQLite does, so a name equal to an earlier column (a keyword
 * NIGHT after a path field night, a path field kind) gets no column of its own. Keywords holding a
 * double quote, a backslash or a control character (possible only in HIERARCH cards) or longer
 * than 63 bytes get none either. All stay in the inventory.
 */
function viewColumns(pathFields: string[], inventory: { keyword: string; count: number; type: string }[]) {
  const taken = new Set(FIXED_COLUMNS);
  const columns: [string, string][] = [];
  const ok = (name: string) =>
    name.length > 0 &&
    byteLength(name) <= MAX_IDENT_BYTES &&
    !/["\\\x00-\x1f\x7f]/.test(name) &&
    !taken.has(name.toLowerCase());
  for (const p of [...pathFields].sort()) {
    if (columns.length >= MAX_PATH_COLUMNS) break;
    if (!ok(p)) continue;
    taken.add(p.toLowerCase());
    columns.push([p, 'path']);
  }
  const kws: [string, string][] = [];
  const ranked = [...inventory].sort(
    (a, b) => b.count - a.count || (a.keyword < b.keyword ? -1 : a.keyword > b.keyword ? 1 : 0),
  );
  for (const k of ranked) {
    if (kws.length >= MAX_KEYWORD_COLUMNS) break;
    if (!ok(k.keyword)) continue;
    taken.add(k.keyword.toLowerCase());
    kws.push([k.keyword, k.type]);
  }
  kws.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return [...columns, ...kws];
}

/** Recreates the view if its columns changed (or it is missing); returns whether it did. */
async function refreshView(tx: Tx, dialect: Dialect, collection: string): Promise<boolean> {
  const state = await lockState(tx, dialect, collection);
  const inventory = await tx
    .selectFrom('keywords')
    .select(['keyword', 'count', 'type'])
    .where('collection', '=', collection)
    .execute();
  const columns = viewColumns(
    state.view.pathFields,
    inventory.map((r) => ({ keyword: r.keyword, count: Number(r.count), type: r.type })),
  );
  const name = viewName(collection);
  const exists =
    dialect === 'postgres'
      ? await sql`SELECT 1 AS x FROM pg_views WHERE schemaname = current_schema() AND viewname = ${name}`.execute(
          tx,
        )
      : await sql`SELECT 1 AS x FROM sqlite_master WHERE type = 'view' AND name = ${name}`.execute(tx);
  if (exists.rows.length && JSON.stringify(columns) === JSON.stringify(state.view.columns)) return false;
  await sql.raw(`DROP VIEW IF EXISTS ${quoteIdent(name)}`).execute(tx);
  await sql.raw(createViewSql(dialect, name, collection, columns)).execute(tx);
  await tx
    .updateTable('crawler_state')
    .set({
      view_columns: JSON.stringify({ pathFields: state.view.pathFields, columns } satisfies ViewState),
      updated_at: new Date().toISOString(),
    })
    .where('collection', '=', collection)
    .execute();
  return true;
}

/**
 * The view: one row per HDU of the collection's current ingested files. A keyword's value is the
 * HDU's own, else the primary HDU's (FITS INHERIT, applied to every extension), read from
 * hdus.keyvalues and typed by the inventory: float → double precision (SQLite REAL), int → bigint
 * (INTEGER), bool → boolean (SQLite 0/1), anything else → text. A value that does not fit the
 * column's type (a file ingested after the crawl, with a string where the inventory says float)
 * reads as NULL rather than breaking the query.
 */
export function createViewSql(
  dialect: Dialect,
  name: string,
  collection: string,
  columns: [string, string][],
) {
  const select = ['h.file_id AS file_id', 'f.key AS key', 'h.idx AS hdu', 'h.kind AS kind'];
  const keywords = columns.filter(([, t]) => t !== 'path');
  for (const [col, type] of columns) {
    const q = quoteIdent(col);
    let expr: string;
    if (dialect === 'postgres') {
      if (type === 'path') expr = `(f.path_fields::jsonb ->> ${quoteLiteral(col)})`;
      else expr = pgTyped(`COALESCE(hk.${q}, pk.${q})`, type);
    } else {
      const path = quoteLiteral(`$.${quoteIdent(col)}`);
      if (type === 'path') expr = `json_extract(f.path_fields, ${path})`;
      else
        expr = `CASE WHEN json_extract(h.keyvalues, ${path}) IS NOT NULL THEN ${sqliteTyped('h.keyvalues', path, type)} ELSE ${sqliteTyped('p.keyvalues', path, type)} END`;
    }
    select.push(`${expr} AS ${q}`);
  }
  let from = `hdus h
  JOIN files f ON f.id = h.file_id
  LEFT JOIN hdus p ON p.file_id = h.file_id AND p.idx = 0`;
  if (dialect === 'postgres' && keywords.length) {
    // Each keyvalues document is parsed once per row (not once per column) into jsonb fields.
    const defs = keywords.map(([k]) => `${quoteIdent(k)} jsonb`).join(', ');
    from += `
  LEFT JOIN LATERAL jsonb_to_record(h.keyvalues::jsonb) AS hk(${defs}) ON true
  LEFT JOIN LATERAL jsonb_to_record(p.keyvalues::jsonb) AS pk(${defs}) ON true`;
  }
  return `CREATE VIEW ${quoteIdent(name)} AS
SELECT ${select.join(',\n  ')}
FROM ${from}
WHERE f.collection = ${quoteLiteral(collection)} AND f.status = 'ingested' AND f.current = 1`;
}

/** A jsonb value as the column's type; NULL when it does not fit. */
function pgTyped(v: string, type: string): string {
  switch (type) {
    case 'float':
      return `CASE WHEN jsonb_typeof(${v}) = 'number' THEN (${v})::double precision END`;
    case 'int':
      // Integers beyond 2^53 are stored as strings; 18 digits always fit a bigint.
      return `CASE WHEN jsonb_typeof(${v}) IN ('number', 'string') AND (${v} #>> '{}') ~ '^[-+]?[0-9]{1,18}$' THEN (${v} #>> '{}')::bigint END`;
    case 'bool':
      return `CASE WHEN jsonb_typeof(${v}) = 'boolean' THEN (${v})::boolean END`;
    default:
      return `(${v} #>> '{}')`;
  }
}

/** A keyvalues member as the column's type; NULL when it does not fit. */
function sqliteTyped(doc: string, path: string, type: string): string {
  const v = `json_extract(${doc}, ${path})`;
  const t = `json_type(${doc}, ${path})`;
  switch (type) {
    case 'float':
      return `CASE ${t} WHEN 'real' THEN ${v} WHEN 'integer' THEN CAST(${v} AS REAL) END`;
    case 'int': {
      const digits = `ltrim(${v}, '+-')`;
      return `CASE ${t} WHEN 'integer' THEN ${v} WHEN 'text' THEN CASE WHEN length(${digits}) BETWEEN 1 AND 18 AND ${digits} NOT GLOB '*[^0-9]*' AND length(${v}) - length(${digits}) <= 1 THEN CAST(${v} AS INTEGER) END END`;
    }
    case 'bool':
      return `CASE ${t} WHEN 'true' THEN 1 WHEN 'false' THEN 0 END`;
    default:
      return `CASE ${t} WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(${v} AS TEXT) END`;
  }
}
