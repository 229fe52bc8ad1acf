import { sql } from 'kysely';
import { fileRule, hasRole, literal, type Visibility } from '../../catalog/access.ts';
import type { Catalog } from '../../catalog/catalog.ts';

/** One file that arrived: catalogued (ingested or failed with its reason), or a parked ingest job. */
export interface RecentUpload {
  /** The event id (the paging cursor). */
  id: number;
  time: string;
  status: 'ingested' | 'failed';
  zone: string;
  key: string;
  collection: string | null;
  fileId: number | null;
  /** What the extractor found: fits | image | header | plain. */
  kind: string | null;
  size: number | null;
  observationId: number | null;
  error: string | null;
}

export interface RecentQuery {
  /** Only events with a smaller id (the previous page's `next`). */
  cursor?: number | undefined;
  limit: number;
  collection?: string | undefined;
  ttlHours: number;
  defaultCollection: string;
  now?: Date;
}

type Row = {
  id: number | bigint;
  kind: string;
  payload: string;
  created_at: string;
  file_id: number | bigint | null;
  zone: string | null;
  key: string | null;
  collection: string | null;
  size: number | bigint | null;
  file_kind: string | null;
};

/**
 * The recent-uploads log: `file.ingested` and `ingest.failed` events within the TTL, newest first,
 * paged by event id, filtered in SQL by the file rule (so pages are full and deep pages cheap).
 * Ingest jobs given up on before a file row existed (`job.failed` of kind ingest: the object could
 * not be read) are listed too, for curators and above who see the key's collection — the same
 * rule as on the event stream.
 */
export async function recentUploads(
  cat: Catalog,
  v: Visibility,
  q: RecentQuery,
): Promise<{ items: RecentUpload[]; next: number | null }> {
  const pg = cat.dialect === 'postgres';
  const json = (path: string[]) =>
    pg ? `(e.payload::json #>> '{${path.join(',')}}')` : `json_extract(e.payload, '$.${path.join('.')}')`;
  const fileId = pg ? `${json(['fileId'])}::bigint` : `CAST(${json(['fileId'])} AS INTEGER)`;
  const jobKey = json(['payload', 'key']);
  const fallback = literal(q.defaultCollection);
  // The collection of a raw key is its first folder (worker.ts splitKey).
  const jobCollection = pg
    ? `(CASE WHEN strpos(${jobKey}, '/') > 1 THEN split_part(${jobKey}, '/', 1) ELSE ${fallback} END)`
    : `(CASE WHEN instr(${jobKey}, '/') > 1 THEN substr(${jobKey}, 1, instr(${jobKey}, '/') - 1) ELSE ${fallback} END)`;
  const jobsShown = v.all
    ? '1 = 1'
    : hasRole(v.caller, 'curator') && v.collections.length
      ? `${jobCollection} IN (${v.collections.map(literal).join(', ')})`
      : '1 = 0';
  const cutoff = new Date((q.now ?? new Date()).getTime() - q.ttlHours * 3_600_000).toISOString();
  const where = [
    `e.created_at >= ${literal(cutoff)}`,
    `((e.kind IN ('file.ingested', 'ingest.failed') AND ${fileRule(v, 'f')})
      OR (e.kind = 'job.failed' AND ${json(['kind'])} = 'ingest' AND ${jobKey} IS NOT NULL AND ${jobsShown}))`,
    ...(q.cursor !== undefined ? [`e.id < ${Math.floor(q.cursor)}`] : []),
    ...(q.collection !== undefined
      ? [`COALESCE(f.collection, ${jobCollection}) = ${literal(q.collection)}`]
      : []),
  ];
  // Values are literals (fileRule is SQL text by design), numbers are integers checked above.
  const text = `SELECT e.id, e.kind, e.payload, e.created_at, f.id AS file_id, f.zone, f.key, f.collection,
      f.size, f.kind AS file_kind
    FROM events e LEFT JOIN files f ON e.kind <> 'job.failed' AND f.id = ${fileId}
    WHERE ${where.join(' AND ')}
    ORDER BY e.id DESC LIMIT ${q.limit + 1}`;
  const { rows } = await sql<Row>`${sql.raw(text)}`.execute(cat.db);
  const items = rows.slice(0, q.limit).map((r): RecentUpload => {
    const p = JSON.parse(r.payload) as Record<string, unknown>;
    const inner = (p.payload ?? {}) as Record<string, unknown>;
    const job = r.kind === 'job.failed';
    const key = String(r.key ?? (job ? inner.key : p.key) ?? '');
    return {
      id: Number(r.id),
      time: r.created_at,
      status: r.kind === 'file.ingested' ? 'ingested' : 'failed',
      zone: r.zone ?? String(p.zone ?? 'raw'),
      key,
      collection:
        r.collection ??
        (job ? (key.indexOf('/') > 0 ? key.slice(0, key.indexOf('/')) : q.defaultCollection) : null),
      fileId: r.file_id === null ? null : Number(r.file_id),
      kind: r.file_kind,
      size: r.size === null ? null : Number(r.size),
      observationId: typeof p.observationId === 'number' ? p.observationId : null,
      error: typeof p.error === 'string' ? p.error : null,
    };
  });
  return { items, next: rows.length > q.limit ? (items.at(-1)?.id ?? null) : null };
}
