// What a caller's TAP service publishes: ivoa.obscore, the keyword view of every collection it may
// see, and TAP_SCHEMA describing them — each a derived table (FROM-able SQL over the catalog's
// plain table names, or VALUES), so it needs no stored table and inherits the caller's visibility.
import { literal } from '../../catalog/access-rule.ts';
import type { Visibility } from '../../catalog/access.ts';
import type { Catalog } from '../../catalog/catalog.ts';
import { quoteIdent, viewName } from '../../ingest/crawler.ts';
import type { TableResolver, TableSource } from './adql/index.ts';
import type { TapColumn } from './columns.ts';
import { OBSCORE_ID_COLUMN, obscoreMeta, obscoreSql } from './obscore.ts';

export interface TapTable {
  schema: string;
  /** Qualified name as TAP_SCHEMA lists it (ivoa.obscore, lake.hdr_night, TAP_SCHEMA.tables). */
  name: string;
  type: 'table' | 'view';
  description: string;
  utype?: string;
  columns: TapColumn[];
  /** FROM-able SQL. */
  sql: string;
  spatial?: TableSource['spatial'];
}

export interface TapSchema {
  name: string;
  description: string;
  utype?: string;
}

export interface TapKey {
  id: string;
  from: string;
  target: string;
  description: string;
  columns: [from: string, target: string][];
}

export interface TapMetadata {
  schemas: TapSchema[];
  tables: TapTable[];
  keys: TapKey[];
  resolve: TableResolver;
  /** A table by its qualified name (case-insensitive), or by its bare name when unique. */
  find(name: string): TapTable | undefined;
}

export const KEYWORD_SCHEMA = 'lake';

const SCHEMAS: TapSchema[] = [
  { name: 'ivoa', description: 'IVOA data models: ObsCore 1.1 (ivoa.obscore)' },
  {
    name: KEYWORD_SCHEMA,
    description:
      "fitslake's keyword views: one per collection (hdr_<collection>), one row per HDU of the current files, one column per FITS keyword",
  },
  { name: 'TAP_SCHEMA', description: 'Metadata of the tables this service publishes (TAP 1.1)' },
];

const c = (
  name: string,
  datatype: TapColumn['datatype'],
  description: string,
  extra: Partial<TapColumn> = {},
): TapColumn => ({
  name,
  datatype,
  ...(datatype === 'char' ? { arraysize: '*' } : {}),
  description,
  std: true,
  principal: true,
  ...extra,
});

/** TAP_SCHEMA's own tables (TAP 1.1 §4), with the columns the standard defines. */
const TAP_SCHEMA_COLUMNS: Record<string, [string, TapColumn[]]> = {
  schemas: [
    'Schemas published by this service',
    [
      c('schema_name', 'char', 'Schema name, for reference in TAP_SCHEMA'),
      c('utype', 'char', 'Data model utype of the schema'),
      c('description', 'char', 'Brief description of the schema'),
      c('schema_index', 'int', 'Recommended sort order when listing schemas'),
    ],
  ],
  tables: [
    'Tables published by this service',
    [
      c('schema_name', 'char', 'The schema this table belongs to'),
      c('table_name', 'char', 'Fully qualified table name'),
      c('table_type', 'char', 'table or view'),
      c('utype', 'char', 'Data model utype of the table'),
      c('description', 'char', 'Brief description of the table'),
      c('table_index', 'int', 'Recommended sort order when listing tables'),
    ],
  ],
  columns: [
    'Columns of the published tables',
    [
      c('table_name', 'char', 'Fully qualified name of the table'),
      c('column_name', 'char', 'Column name'),
      c('utype', 'char', 'Data model utype of the column'),
      c('ucd', 'char', 'UCD of the column'),
      c('unit', 'char', 'Unit (VOUnit)'),
      c('description', 'char', 'Brief description of the column'),
      c('datatype', 'char', 'VOTable datatype of the column'),
      c('arraysize', 'char', 'VOTable arraysize'),
      c('xtype', 'char', 'VOTable/DALI extended type'),
      c('size', 'int', 'Deprecated: the length of fixed-length arrays'),
      c('principal', 'int', '1: a principal column, 0 otherwise'),
      c('indexed', 'int', '1: the column is indexed, 0 otherwise'),
      c('std', 'int', '1: the column is defined by a standard, 0 otherwise'),
      c('column_index', 'int', 'Recommended sort order when listing columns'),
    ],
  ],
  keys: [
    'Foreign keys between published tables',
    [
      c('key_id', 'char', 'Key identifier'),
      c('from_table', 'char', 'Fully qualified table name of the key'),
      c('target_table', 'char', 'Fully qualified table name the key refers to'),
      c('utype', 'char', 'Data model utype of the key'),
      c('description', 'char', 'Brief description of the key'),
    ],
  ],
  key_columns: [
    'Columns of the foreign keys',
    [
      c('key_id', 'char', 'Key identifier'),
      c('from_column', 'char', 'Column in the from_table'),
      c('target_column', 'char', 'Column in the target_table'),
    ],
  ],
};

/** A keyword view's declared columns (the crawler's state): name and keyword type, path fields typed "path". */
interface ViewState {
  pathFields?: string[];
  columns?: [string, string][];
}

const KEYWORD_TYPES: Record<string, TapColumn['datatype']> = {
  float: 'double',
  int: 'long',
  bool: 'boolean',
};

function keywordViewColumns(state: ViewState): TapColumn[] {
  const cols: TapColumn[] = [
    {
      name: 'file_id',
      datatype: 'long',
      ucd: 'meta.id',
      description: 'Catalog id of the file',
      principal: true,
      indexed: true,
    },
    {
      name: 'key',
      datatype: 'char',
      arraysize: '*',
      ucd: 'meta.id;meta.file',
      description: 'Key of the file in the raw zone (download: /api/files/<key>)',
      principal: true,
    },
    {
      name: 'hdu',
      datatype: 'int',
      ucd: 'meta.number',
      description: 'HDU index (0: primary)',
      principal: true,
    },
    {
      name: 'kind',
      datatype: 'char',
      arraysize: '*',
      ucd: 'meta.code',
      description: 'HDU kind: image, table, bintable...',
    },
  ];
  for (const [name, type] of state.columns ?? []) {
    const datatype = KEYWORD_TYPES[type] ?? 'char';
    cols.push({
      name,
      datatype,
      ...(datatype === 'char' ? { arraysize: '*' } : {}),
      description:
        type === 'path' ? `Field ${name} of the file's key (path template)` : `FITS keyword ${name}`,
    });
  }
  return cols;
}

// ADQL 2.1 §2.1.2 reserved words (ADQL's own and SQL-92's): a column so named is published delimited.
const RESERVED = new Set(
  (
    'ABS ACOS AREA ASIN ATAN ATAN2 BIGINT BOX CEILING CENTROID CIRCLE CONTAINS COORD1 COORD2 COORDSYS COS COT ' +
    'DEGREES DISTANCE EXP FLOOR ILIKE INTERSECTS IN_UNIT LOG LOG10 MOD OFFSET PI POINT POLYGON POWER RADIANS REGION ' +
    'RAND ROUND SIN SQRT TOP TAN TRUNCATE ABSOLUTE ACTION ADD ALL ALLOCATE ALTER AND ANY ARE AS ASC ASSERTION AT ' +
    'AUTHORIZATION AVG BEGIN BETWEEN BIT BIT_LENGTH BOTH BY CASCADE CASCADED CASE CAST CATALOG CHAR CHARACTER ' +
    'CHAR_LENGTH CHARACTER_LENGTH CHECK CLOSE COALESCE COLLATE COLLATION COLUMN COMMIT CONNECT CONNECTION CONSTRAINT ' +
    'CONSTRAINTS CONTINUE CONVERT CORRESPONDING COUNT CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME ' +
    'CURRENT_TIMESTAMP CURRENT_USER CURSOR DATE DAY DEALLOCATE DECIMAL DECLARE DEFAULT DEFERRABLE DEFERRED DELETE ' +
    'DESC DESCRIBE DESCRIPTOR DIAGNOSTICS DISCONNECT DISTINCT DOMAIN DOUBLE DROP ELSE END END-EXEC ESCAPE EXCEPT ' +
    'EXCEPTION EXEC EXECUTE EXISTS EXTERNAL EXTRACT FALSE FETCH FIRST FLOAT FOR FOREIGN FOUND FROM FULL GET GLOBAL ' +
    'GO GOTO GRANT GROUP HAVING HOUR IDENTITY IMMEDIATE IN INDICATOR INITIALLY INNER INPUT INSENSITIVE INSERT INT ' +
    'INTEGER INTERSECT INTERVAL INTO IS ISOLATION JOIN KEY LANGUAGE LAST LEADING LEFT LEVEL LIKE LOCAL LOWER MATCH ' +
    'MAX MIN MINUTE MODULE MONTH NAMES NATIONAL NATURAL NCHAR NEXT NO NOT NULL NULLIF NUMERIC OCTET_LENGTH OF ON ' +
    'ONLY OPEN OPTION OR ORDER OUTER OUTPUT OVERLAPS PAD PARTIAL POSITION PRECISION PREPARE PRESERVE PRIMARY PRIOR ' +
    'PRIVILEGES PROCEDURE PUBLIC READ REAL REFERENCES RELATIVE RESTRICT REVOKE RIGHT ROLLBACK ROWS SCHEMA SCROLL ' +
    'SECOND SECTION SELECT SESSION SESSION_USER SET SIZE SMALLINT SOME SPACE SQL SQLCODE SQLERROR SQLSTATE ' +
    'SUBSTRING SUM SYSTEM_USER TABLE TEMPORARY THEN TIME TIMESTAMP TIMEZONE_HOUR TIMEZONE_MINUTE TO TRAILING ' +
    'TRANSACTION TRANSLATE TRANSLATION TRIM TRUE UNION UNIQUE UNKNOWN UPDATE UPPER USAGE USER USING VALUE VALUES ' +
    'VARCHAR VARYING VIEW WHEN WHENEVER WHERE WITH WORK WRITE YEAR ZONE'
  ).split(' '),
);

/**
 * A column name as ADQL must write it, and so as TAP_SCHEMA and /tables publish it: a regular
 * identifier as it is, anything else (DATE-OBS, key, size) delimited ("DATE-OBS").
 */
export function adqlName(name: string): string {
  return /^[A-Za-z][A-Za-z0-9_]*$/.test(name) && !RESERVED.has(name.toUpperCase())
    ? name
    : `"${name.replace(/"/g, '""')}"`;
}

/** Rows as FROM-able SQL: VALUES named column1… on both engines, renamed; an empty table when no rows. */
function valuesSql(columns: TapColumn[], rows: (string | number | null)[][]): string {
  const lit = (v: string | number | null) =>
    v === null ? 'NULL' : typeof v === 'number' ? String(Math.trunc(v)) : literal(v);
  const names = columns.map((col, i) => `column${i + 1} AS ${quoteIdent(col.name)}`).join(', ');
  if (!rows.length) {
    const nulls = columns.map((col) =>
      col.datatype === 'char' ? 'CAST(NULL AS VARCHAR(1))' : 'CAST(NULL AS INTEGER)',
    );
    return `(SELECT ${names} FROM (VALUES (${nulls.join(', ')})) AS v WHERE 1 = 0)`;
  }
  return `(SELECT ${names} FROM (VALUES ${rows.map((r) => `(${r.map(lit).join(', ')})`).join(', ')}) AS v)`;
}

/**
 * The tables the caller may query. `base` is the service's absolute URL (ObsCore access_url).
 * Keyword views are listed for the collections the caller may see that have been crawled.
 */
export async function tapMetadata(cat: Catalog, v: Visibility, base: string): Promise<TapMetadata> {
  const tables: TapTable[] = [
    {
      schema: 'ivoa',
      name: 'ivoa.obscore',
      type: 'view',
      description: 'ObsCore 1.1: one row per observation (science frame, calibration frame...) of the lake',
      utype: 'ivo://ivoa.net/std/obscore#table-1.1',
      columns: obscoreMeta(base),
      sql: obscoreSql(base),
      spatial: { ra: 's_ra', dec: 's_dec', region: 's_region', idColumn: OBSCORE_ID_COLUMN },
    },
  ];
  let q = cat.db.selectFrom('crawler_state').select(['collection', 'view_columns']).orderBy('collection');
  if (!v.all) q = q.where('collection', 'in', v.collections.length ? v.collections : ['\u0000none']);
  const seen = new Set<string>();
  for (const row of await q.execute()) {
    const view = viewName(row.collection);
    if (seen.has(view)) continue;
    seen.add(view);
    let state: ViewState = {};
    try {
      state = JSON.parse(row.view_columns) as ViewState;
    } catch {}
    tables.push({
      schema: KEYWORD_SCHEMA,
      name: `${KEYWORD_SCHEMA}.${view}`,
      type: 'view',
      description: `FITS keywords of collection ${row.collection}: one row per HDU of its current files`,
      columns: keywordViewColumns(state),
      sql: quoteIdent(view),
    });
  }
  // TAP_SCHEMA's own foreign keys (TAP 1.1 §4.5); the published tables have none between them.
  const keys: TapKey[] = [
    ['tables_schema', 'TAP_SCHEMA.tables', 'TAP_SCHEMA.schemas', 'schema_name', 'schema_name'],
    ['columns_table', 'TAP_SCHEMA.columns', 'TAP_SCHEMA.tables', 'table_name', 'table_name'],
    ['keys_from', 'TAP_SCHEMA.keys', 'TAP_SCHEMA.tables', 'from_table', 'table_name'],
    ['keys_target', 'TAP_SCHEMA.keys', 'TAP_SCHEMA.tables', 'target_table', 'table_name'],
    ['key_columns_key', 'TAP_SCHEMA.key_columns', 'TAP_SCHEMA.keys', 'key_id', 'key_id'],
  ].map(([id, from, target, f, t]) => ({
    id: `TAP_SCHEMA.${id}`,
    from,
    target,
    description: `${from}.${f} refers to ${target}.${t}`,
    columns: [[f, t]] as [string, string][],
  }));
  // TAP_SCHEMA itself: its rows describe every table above and its own five.
  const schemaTables: TapTable[] = Object.entries(TAP_SCHEMA_COLUMNS).map(
    ([name, [description, columns]]) => ({
      schema: 'TAP_SCHEMA',
      name: `TAP_SCHEMA.${name}`,
      type: 'table',
      description,
      columns,
      sql: '',
    }),
  );
  const all = [...tables, ...schemaTables];
  const rows: Record<string, (string | number | null)[][]> = {
    schemas: SCHEMAS.map((s, i) => [s.name, s.utype ?? null, s.description, i]),
    tables: all.map((t, i) => [t.schema, t.name, t.type, t.utype ?? null, t.description, i]),
    columns: all.flatMap((t) =>
      t.columns.map((col, i) => [
        t.name,
        adqlName(col.name),
        col.utype ?? null,
        col.ucd ?? null,
        col.unit ?? null,
        col.description ?? null,
        col.datatype,
        col.arraysize ?? null,
        col.xtype ?? null,
        null,
        col.principal ? 1 : 0,
        col.indexed ? 1 : 0,
        col.std ? 1 : 0,
        i,
      ]),
    ),
    keys: keys.map((k) => [k.id, k.from, k.target, null, k.description]),
    key_columns: keys.flatMap((k) => k.columns.map(([f, t]) => [k.id, f, t])),
  };
  for (const t of schemaTables) t.sql = valuesSql(t.columns, rows[t.name.slice('TAP_SCHEMA.'.length)]);

  const byName = new Map(all.map((t) => [t.name.toLowerCase(), t]));
  const find = (name: string): TapTable | undefined => {
    const hit = byName.get(name.toLowerCase());
    if (hit) return hit;
    const bare = all.filter((t) => t.name.toLowerCase().endsWith(`.${name.toLowerCase()}`));
    return bare.length === 1 ? bare[0] : undefined;
  };
  const resolve: TableResolver = (schema, name) => {
    const t = schema === undefined ? find(name) : byName.get(`${schema}.${name}`.toLowerCase());
    if (!t) return undefined;
    return { sql: t.sql, columns: t.columns, ...(t.spatial ? { spatial: t.spatial } : {}) };
  };
  return { schemas: SCHEMAS, tables: all, keys, resolve, find };
}
