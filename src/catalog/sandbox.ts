import type { Visibility } from './access.ts';
import { fileRule, literal, observationRule } from './access-rule.ts';
import type { Dialect } from './migrations.ts';
import { tokenize } from './sql-tokens.ts';

/**
 * The sandbox a caller's SQL runs in: a view in front of every catalog table, with the same name,
 * holding only the rows the caller may see (the access rule compiled in as literals). Unqualified
 * names find the views first (SQLite searches `temp` before `main`; PostgreSQL `pg_temp` before
 * the search path). What could reach past them is closed per engine:
 * - SQLite: names qualified with `main.`/`temp.` and SQLite's internal tables and table-valued
 *   pragmas are refused (found by tokenizing, never by editing the text);
 * - PostgreSQL: the statement runs as a role with no privilege on any catalog table, only SELECT
 *   on the views (security barriers, so no predicate of the caller's runs before the rule).
 */

export class SandboxError extends Error {
  override name = 'SandboxError';
}

/** Tables whose rows follow an observation or a file; all others are hidden from non-admins. */
export function viewBody(v: Visibility, table: string, base: string): string {
  const obs = `SELECT o.id FROM ${base}observations o WHERE ${observationRule(v, 'o')}`;
  const files = `SELECT f.id FROM ${base}files f WHERE ${fileRule(v, 'f', base)}`;
  const collections = v.collections.length ? v.collections.map(literal).join(', ') : 'NULL';
  const t = `${base}${quoteName(table)}`;
  switch (table) {
    case 'observations':
      return `SELECT * FROM ${t} o WHERE ${observationRule(v, 'o')}`;
    case 'files':
      return `SELECT * FROM ${t} f WHERE ${fileRule(v, 'f', base)}`;
    case 'hdus':
      return `SELECT * FROM ${t} x WHERE x.file_id IN (${files})`;
    case 'artifacts':
    case 'observation_cells':
    case 'observation_links':
      return `SELECT * FROM ${t} x WHERE x.observation_id IN (${obs})`;
    case 'collections':
      return `SELECT * FROM ${t} x WHERE x.name IN (${collections})`;
    case 'keywords': {
      // The inventory aggregates every file of a collection, embargoed ones included: where the
      // caller cannot see them all, counts, examples and times are withheld (as in the REST API).
      const h = `EXISTS (SELECT 1 FROM ${base}observations ho WHERE ho.obs_collection = x.collection AND NOT ${observationRule(v, 'ho')})`;
      return `SELECT x.collection, x.keyword, CASE WHEN ${h} THEN NULL ELSE x.count END AS "count", x.type, CASE WHEN ${h} THEN '[]' ELSE x.examples END AS examples, CASE WHEN ${h} THEN NULL ELSE x.first_seen END AS first_seen, CASE WHEN ${h} THEN NULL ELSE x.last_seen END AS last_seen FROM ${t} x WHERE x.collection IN (${collections})`;
    }
    default:
      // The crawler's typed views (hdr_<collection>) have a file_id; anything else (jobs, events,
      // users, tokens, migrations…) is shown empty, with its columns.
      if (table.startsWith('hdr_')) return `SELECT * FROM ${t} x WHERE x.file_id IN (${files})`;
      return `SELECT * FROM ${t} x WHERE 1 = 0`;
  }
}

export function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Hidden even from admins' SQL: API token hashes, and other users' TAP job queries. */
export const ALWAYS_HIDDEN = ['tokens', 'tap_jobs'];

/**
 * Refuses SQLite statements that name something past the views: a `main.`/`temp.` qualifier
 * (quoted or not), SQLite's own tables and table-valued pragmas, extension loading.
 */
export function checkSqliteNames(text: string): void {
  const tokens = tokenize(text);
  tokens.forEach((t, i) => {
    if (t.type !== 'name') return;
    const name = t.value.toLowerCase();
    const next = tokens[i + 1];
    if (
      (name === 'main' || name === 'temp' || name === 'temporary') &&
      next?.type === 'op' &&
      next.value === '.'
    )
      throw new SandboxError(
        `schema-qualified name ${t.value}.… at character ${t.at + 1}: name tables without a schema`,
      );
    if (name.startsWith('sqlite_') || name.startsWith('pragma_') || name === 'load_extension')
      throw new SandboxError(`${t.value} at character ${t.at + 1} is not available to queries`);
  });
}

/**
 * One statement only: PostgreSQL's simple protocol would run `SELECT 1; RESET ROLE; …` whole.
 * A trailing semicolon is fine.
 */
export function checkSingleStatement(text: string): void {
  const tokens = tokenize(text);
  tokens.forEach((t, i) => {
    if (
      t.type === 'op' &&
      t.value === ';' &&
      tokens.slice(i + 1).some((u) => !(u.type === 'op' && u.value === ';'))
    )
      throw new SandboxError(`one statement per query (a second one starts after character ${t.at + 1})`);
  });
}

/**
 * PostgreSQL functions refused in user SQL. set_config could switch the role back mid-statement
 * (SET ROLE is checked against the session user); the others run SQL text or touch the server's
 * files — the role's missing privileges stop them too, this is the second wall.
 */
const PG_REFUSED =
  /^(set_config|query_to_xml.*|query_to_xmlschema|cursor_to_xml.*|table_to_xml.*|schema_to_xml.*|database_to_xml.*|ts_stat|ts_rewrite|dblink.*|lo_.*|pg_read_.*|pg_ls_.*|pg_stat_file|pg_file_.*|pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile)$/i;

export function checkPostgresNames(text: string): void {
  for (const t of tokenize(text))
    if (t.type === 'name' && PG_REFUSED.test(t.value))
      throw new SandboxError(`${t.value} at character ${t.at + 1} is not available to queries`);
}

/** CREATE statements for the caller's views over the given catalog tables. */
export function sandboxViews(v: Visibility, dialect: Dialect, tables: string[], pgRole?: string): string[] {
  const out: string[] = [];
  for (const table of tables) {
    const body =
      v.all && !ALWAYS_HIDDEN.includes(table)
        ? `SELECT * FROM ${dialect === 'sqlite' ? 'main.' : 'public.'}${quoteName(table)}`
        : ALWAYS_HIDDEN.includes(table)
          ? `SELECT * FROM ${dialect === 'sqlite' ? 'main.' : 'public.'}${quoteName(table)} x WHERE 1 = 0`
          : viewBody(v, table, dialect === 'sqlite' ? 'main.' : 'public.');
    if (dialect === 'sqlite') out.push(`CREATE TEMP VIEW ${quoteName(table)} AS ${body}`);
    else {
      out.push(`CREATE TEMP VIEW ${quoteName(table)} WITH (security_barrier) AS ${body}`);
      if (pgRole) out.push(`GRANT SELECT ON pg_temp.${quoteName(table)} TO ${quoteName(pgRole)}`);
    }
  }
  return out;
}
