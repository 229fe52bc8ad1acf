import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { type Expression, sql } from 'kysely';
import { z } from 'zod';
import { fileFilter, observationFilter, type Visibility } from '../../catalog/access.ts';
import type { Catalog } from '../../catalog/catalog.ts';
import { StorageError } from '../../storage/errors.ts';
import { validatePrefix } from '../../storage/keys.ts';
import { HttpError } from '../http/errors.ts';
import { errorSchema, type ServerContext } from '../http/server.ts';
import { fileUrl } from './observations.ts';

/**
 * The bucket browser: `GET /api/browse` lists one folder of a zone — the distinct next path segment
 * under `prefix` as folders (S3 delimiter "/" semantics) and the files directly in it — and
 * `GET /api/browse/zones` lists the zones with their file counts and bytes.
 *
 * Everything is computed from the catalog's current file rows (not by listing the store), through
 * the very predicate a download passes (`current = 1 AND fileFilter`, as GET /api/files/{key}): a
 * caller sees exactly the files it may download, and a folder's count and bytes are of those files
 * only, so a folder holding nothing visible does not exist for that caller.
 *
 * Keys are compared in byte order (SQLite's BINARY collation; `COLLATE "C"` on PostgreSQL, whatever
 * the database's locale, on the index migration 0006 adds). A folder `p/` holds exactly the keys in
 * [`p/`, `p0`): "0" is the character after "/". Paging is by keyset over the listing's entries
 * (folders and files in key order): the cursor names the last entry returned; a page skips a whole
 * folder with one index seek, so a folder of a million files costs the page listing it one count.
 */

/** The zones the catalog holds files of (each downloadable at GET /api/files/{key}?zone=). */
export const BROWSE_ZONES = ['raw', 'derived', 'previews', 'mounted'] as const;
export type BrowseZone = (typeof BROWSE_ZONES)[number];

export const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 100;

const folderSchema = z.object({
  name: z.string().describe('the folder’s own name (one path segment, no slash)'),
  prefix: z.string().describe('its full prefix, ending in "/": the `prefix` that lists it'),
  files: z.number().int().describe('files under it (at any depth) that the caller may download'),
  bytes: z.number().describe('their total size'),
});

const fileSchema = z.object({
  key: z.string(),
  name: z.string().describe('the last segment of the key'),
  size: z.number(),
  modified: z.string().describe('when this version of the file was catalogued (ISO 8601)'),
  kind: z.string().nullable().describe('fits | header | image | plain, by content'),
  status: z.string().describe('pending | ingested | failed'),
  url: z.string().describe('its download URL (GET /api/files/{key}, with ?zone= outside raw)'),
  observationId: z.number().int().nullable().describe('the observation it belongs to (the first, by id)'),
});

const listingSchema = z.object({
  zone: z.string(),
  prefix: z.string(),
  folders: z.array(folderSchema),
  files: z.array(fileSchema),
  next: z
    .string()
    .nullable()
    .describe('pass as `cursor` (same zone and prefix) for the entries after this page'),
});

const zonesSchema = z.object({
  zones: z.array(
    z.object({
      zone: z.string(),
      files: z.number().int().describe('files of the zone the caller may download'),
      bytes: z.number(),
    }),
  ),
});

const browseQuery = z.object({
  zone: z.enum(BROWSE_ZONES).default('raw').describe('the zone to list (raw by default)'),
  prefix: z
    .string()
    .max(1025)
    .default('')
    .describe('the folder to list: empty (the zone’s top) or a path ending in "/", e.g. night1/kb001ms/'),
  cursor: z.string().max(4096).optional().describe('the `next` of the previous page'),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_LIMIT)
    .default(DEFAULT_LIMIT)
    .describe('entries (folders and files together) per page'),
});

export interface BrowseFolder {
  name: string;
  prefix: string;
  files: number;
  bytes: number;
}
export interface BrowseFile {
  key: string;
  name: string;
  size: number;
  modified: string;
  kind: string | null;
  status: string;
  url: string;
  observationId: number | null;
}
export interface BrowseListing {
  zone: BrowseZone;
  prefix: string;
  folders: BrowseFolder[];
  files: BrowseFile[];
  next: string | null;
}

const bad = (code: string, message: string) => new HttpError(400, code, message);

/** The prefix of a request, canonical (NFC) and validated like an object key; 400 otherwise. */
export function checkPrefix(prefix: string): string {
  if (prefix === '') return '';
  if (!prefix.endsWith('/'))
    throw bad('invalid-prefix', `prefix ${JSON.stringify(prefix)} must be empty or end with "/"`);
  try {
    return validatePrefix(prefix);
  } catch (err) {
    if (err instanceof StorageError)
      throw bad('invalid-prefix', `prefix ${JSON.stringify(prefix)}: ${err.message}`);
    throw err;
  }
}

/** The first string after every string that starts with `folder` (which ends in "/"), in byte order. */
const pastFolder = (folder: string) => `${folder.slice(0, -1)}0`;

interface CursorBody {
  z: string;
  p: string;
  /** The last entry returned: a folder's prefix (ends in "/") or a file's key. */
  a: string;
}

function encodeCursor(zone: string, prefix: string, last: string): string {
  return Buffer.from(JSON.stringify({ z: zone, p: prefix, a: last } satisfies CursorBody)).toString(
    'base64url',
  );
}

function decodeCursor(cursor: string, zone: string, prefix: string): string {
  let c: Partial<CursorBody>;
  try {
    c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<CursorBody>;
  } catch {
    throw bad('invalid-cursor', 'invalid cursor');
  }
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.a !== 'string' ||
    c.z !== zone ||
    c.p !== prefix ||
    !c.a.startsWith(prefix) ||
    c.a.length === prefix.length
  )
    throw bad('invalid-cursor', 'invalid cursor (it continues another zone or prefix)');
  return c.a;
}

/** `files.key` compared in byte order on either engine. */
function keyExpr(cat: Catalog): Expression<string> {
  return cat.dialect === 'postgres' ? sql<string>`"files"."key" COLLATE "C"` : sql<string>`"files"."key"`;
}

/** The caller's current files of a zone: the download route's predicate. */
function visibleFiles(cat: Catalog, v: Visibility, zone: string) {
  return cat.db
    .selectFrom('files')
    .where('files.zone', '=', zone)
    .where('files.current', '=', 1)
    .where(fileFilter(v, 'files'));
}

/**
 * One page of the listing of `prefix` in `zone` as the caller sees it (`prefix` already checked
 * with checkPrefix). Throws HttpError 400 for a cursor of another listing.
 */
export async function browse(
  cat: Catalog,
  v: Visibility,
  zone: BrowseZone,
  prefix: string,
  limit: number,
  cursor?: string,
): Promise<BrowseListing> {
  const K = keyExpr(cat);
  const upper = prefix === '' ? null : pastFolder(prefix);
  // Where the next entry may start: after a file's key, or at the end of a folder.
  let pos: { op: '>' | '>='; at: string };
  if (cursor === undefined) pos = { op: '>=', at: prefix };
  else {
    const last = decodeCursor(cursor, zone, prefix);
    pos = last.endsWith('/') ? { op: '>=', at: pastFolder(last) } : { op: '>', at: last };
  }
  type Row = {
    id: number;
    key: string;
    size: number;
    created_at: string;
    kind: string | null;
    status: string;
  };
  type Entry = { folder: string } | { file: Row };
  const entries: Entry[] = [];
  // One entry more than the page: it says whether another page follows.
  const want = limit + 1;
  scan: while (entries.length < want) {
    const batchSize = want - entries.length;
    let q = visibleFiles(cat, v, zone)
      .select(['files.id', 'files.key', 'files.size', 'files.created_at', 'files.kind', 'files.status'])
      .where(K, pos.op, pos.at);
    if (upper !== null) q = q.where(K, '<', upper);
    const rows = await q.orderBy(K).limit(batchSize).execute();
    for (const r of rows) {
      const rest = r.key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash < 0) {
        entries.push({ file: { ...r, id: Number(r.id), size: Number(r.size) } });
        pos = { op: '>', at: r.key };
        if (entries.length >= want) break scan;
        continue;
      }
      // A deeper key: its folder is the entry, and the scan jumps past everything under it.
      const folder = prefix + rest.slice(0, slash + 1);
      entries.push({ folder });
      pos = { op: '>=', at: pastFolder(folder) };
      continue scan;
    }
    if (rows.length < batchSize) break;
  }
  const page = entries.slice(0, limit);
  const next =
    entries.length > limit
      ? encodeCursor(
          zone,
          prefix,
          (() => {
            const e = page[page.length - 1];
            return 'folder' in e ? e.folder : e.file.key;
          })(),
        )
      : null;

  const folders: BrowseFolder[] = [];
  for (const e of page) {
    if (!('folder' in e)) continue;
    const agg = await visibleFiles(cat, v, zone)
      .select([
        sql<number | string>`count(*)`.as('n'),
        sql<number | string | null>`sum(files.size)`.as('bytes'),
      ])
      .where(K, '>=', e.folder)
      .where(K, '<', pastFolder(e.folder))
      .executeTakeFirstOrThrow();
    folders.push({
      name: e.folder.slice(prefix.length, -1),
      prefix: e.folder,
      files: Number(agg.n),
      bytes: Number(agg.bytes ?? 0),
    });
  }

  const rows = page.flatMap((e) => ('file' in e ? [e.file] : []));
  const owners = new Map<number, number>();
  if (rows.length) {
    const links = await cat.db
      .selectFrom('artifacts')
      .innerJoin('observations', 'observations.id', 'artifacts.observation_id')
      .select(['artifacts.file_id', sql<number | string>`min(artifacts.observation_id)`.as('obs')])
      .where(
        'artifacts.file_id',
        'in',
        rows.map((r) => r.id),
      )
      .where(observationFilter(v, 'observations'))
      .groupBy('artifacts.file_id')
      .execute();
    for (const l of links) owners.set(Number(l.file_id), Number(l.obs));
  }
  const files: BrowseFile[] = rows.map((r) => ({
    key: r.key,
    name: r.key.slice(r.key.lastIndexOf('/') + 1),
    size: r.size,
    modified: r.created_at,
    kind: r.kind,
    status: r.status,
    url: fileUrl(zone, r.key),
    observationId: owners.get(r.id) ?? null,
  }));
  return { zone, prefix, folders, files, next };
}

/** Every zone of BROWSE_ZONES with the caller's file count and bytes (zeros included). */
export async function browseZones(
  cat: Catalog,
  v: Visibility,
): Promise<{ zone: BrowseZone; files: number; bytes: number }[]> {
  const rows = await cat.db
    .selectFrom('files')
    .select([
      'files.zone',
      sql<number | string>`count(*)`.as('n'),
      sql<number | string | null>`sum(files.size)`.as('bytes'),
    ])
    .where('files.current', '=', 1)
    .where('files.zone', 'in', [...BROWSE_ZONES])
    .where(fileFilter(v, 'files'))
    .groupBy('files.zone')
    .execute();
  const by = new Map(rows.map((r) => [r.zone, r]));
  return BROWSE_ZONES.map((zone) => {
    const r = by.get(zone);
    return { zone, files: Number(r?.n ?? 0), bytes: Number(r?.bytes ?? 0) };
  });
}

export async function restBrowse(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { lake } = ctx;
  const typed = app.withTypeProvider<ZodTypeProvider>();

  typed.get(
    '/api/browse',
    {
      schema: {
        summary: 'List one folder of a zone: its sub-folders (with counts and bytes) and its files',
        description:
          'Like an S3 listing with delimiter "/": `folders` are the distinct next path segments under ' +
          '`prefix`, `files` the files directly in it, both in key order and paged together (`limit` ' +
          'entries per page; pass `next` back as `cursor`). Computed from the catalog’s current files ' +
          'with the download rule: only files the caller may download appear, and folder counts and ' +
          'bytes are of those files only. A folder with nothing visible answers like one that does not ' +
          'exist: an empty listing.',
        querystring: browseQuery,
        response: { 200: listingSchema, 400: errorSchema, 401: errorSchema },
      },
    },
    async (request) => {
      const { zone, limit, cursor } = request.query;
      const prefix = checkPrefix(request.query.prefix);
      return browse(lake.catalog, await request.visibility(), zone, prefix, limit, cursor);
    },
  );

  typed.get(
    '/api/browse/zones',
    {
      schema: {
        summary: 'The zones the catalog holds files of, with the caller’s file counts and bytes',
        description: `Always ${BROWSE_ZONES.join(', ')} (zeros included); counts and bytes are of the files the caller may download.`,
        response: { 200: zonesSchema, 401: errorSchema },
      },
    },
    async (request) => ({ zones: await browseZones(lake.catalog, await request.visibility()) }),
  );
}
