/**
 * ADQL 2.1 for the TAP service: parse (a hand-written recursive-descent parser) and translate to
 * SQL for the catalog's engine (SQLite or PostgreSQL).
 */
export type * from './ast.ts';
export { AdqlError } from './errors.ts';
export { POSTGRES_GEOMETRY_FUNCTIONS, registerSqliteGeometry } from './geometry.ts';
export { parseAdql } from './parser.ts';
export { printAdql } from './print.ts';
export {
  type ColumnMeta,
  type TableResolver,
  type TableSource,
  type TranslateOptions,
  type Translation,
  translateAdql,
  translateQuery,
} from './translate.ts';
