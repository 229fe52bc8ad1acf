import { CompiledQuery, type Kysely } from 'kysely';
import type { Dialect } from './migrations.ts';
import type { Database } from './schema.ts';

/**
 * Hand-written SQL for the ingest hot path. Kysely builds and compiles each query anew, which
 * costs as much as SQLite running it; statements of a fixed shape are written once here, with `?`
 * placeholders turned into `$n` for PostgreSQL (the statements hold no literal `?`).
 */
const pgText = new Map<string, string>();

function forDialect(dialect: Dialect, text: string): string {
  if (dialect === 'sqlite') return text;
  let t = pgText.get(text);
  if (t === undefined) {
    let n = 0;
    t = text.replace(/\?/g, () => `$${++n}`);
    pgText.set(text, t);
  }
  return t;
}

export async function rawQuery<R = Record<string, unknown>>(
  db: Kysely<Database>,
  dialect: Dialect,
  text: string,
  params: readonly unknown[],
): Promise<R[]> {
  return (await db.executeQuery<R>(CompiledQuery.raw(forDialect(dialect, text), params as unknown[]))).rows;
}

/** `(?, ?, …), (?, ?, …)` for `rows` rows of `columns` values. */
export function placeholders(rows: number, columns: number): string {
  const one = `(${Array(columns).fill('?').join(', ')})`;
  return Array(rows).fill(one).join(', ');
}
