import type { Visibility } from './access.ts';

/**
 * The access rule as SQL text (literal values, no parameters, no query builder): compiled into the
 * views user SQL runs against, and wrapped by the Kysely filters in access.ts. Kept apart so the
 * query process that builds those views loads no more than it needs.
 */

/** SQL text of a literal (the predicate is compiled into views for user SQL, so it holds values). */
export function literal(value: string): string {
  if (value.includes('\0')) throw new RangeError('NUL in an SQL literal');
  return `'${value.replace(/'/g, "''")}'`;
}

function list(values: readonly string[]): string {
  return values.length ? values.map(literal).join(', ') : 'NULL';
}

/**
 * The rule as SQL text over observation columns `alias.x` (literal values, no parameters): used in
 * the views that user SQL runs against and inside the Kysely filters below.
 */
export function observationRule(v: Visibility, alias: string): string {
  if (v.all) return '1 = 1';
  const { user, groups } = v.caller;
  const embargo = [
    `${alias}.public_date IS NULL`,
    `${alias}.public_date <= ${literal(v.now)}`,
    ...(user !== null ? [`${alias}.owner = ${literal(user)}`] : []),
    ...(groups.length ? [`${alias}.group_name IN (${list(groups)})`] : []),
  ].join(' OR ');
  return `(${alias}.obs_collection IN (${list(v.collections)}) AND (${embargo}))`;
}

/**
 * The rule over files `alias.x`: its collection is visible and no observation it belongs to is
 * hidden (an embargoed observation hides its files, previews included). `schema` qualifies the
 * tables it reads ("main.") where views of the same names shadow them.
 */
export function fileRule(v: Visibility, alias: string, schema = ''): string {
  if (v.all) return '1 = 1';
  return `(${alias}.collection IN (${list(v.collections)}) AND NOT EXISTS (SELECT 1 FROM ${schema}artifacts fa JOIN ${schema}observations fo ON fo.id = fa.observation_id WHERE fa.file_id = ${alias}.id AND NOT ${observationRule(v, 'fo')}))`;
}
