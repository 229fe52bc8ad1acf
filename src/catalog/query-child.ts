// Runs one read-only SQLite query in a child process, so the caller can kill it at its time limit:
// better-sqlite3 runs a statement to completion without returning to JavaScript, so neither a
// timer nor a worker thread's terminate() can stop a long aggregate. Input: JSON on stdin.
import BetterSqlite3 from 'better-sqlite3';
import type { Visibility } from './access.ts';
import { sandboxViews } from './sandbox.ts';
import { registerSqliteGeometry } from './sql-geometry.ts';

// Loaded: the parent starts the query's clock now.
process.stdout.write('R');
const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
// A spare process whose parent went away before it got a query.
if (!chunks.length) process.exit(0);
const { path, text, maxRows, visibility } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
  path: string;
  text: string;
  maxRows: number;
  /** The caller's: its views (src/catalog/sandbox.ts) shadow every table in this connection. */
  visibility?: Visibility;
};
let result: unknown;
try {
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  // The exact geometry tests ADQL translations call (adql_intersects, adql_contains, adql_area).
  registerSqliteGeometry(db);
  if (visibility) {
    // One read transaction: the tables listed are the tables the query sees (a view the crawler
    // creates meanwhile cannot slip in unshadowed).
    db.exec('BEGIN');
    const tables = db
      .prepare(
        `SELECT name FROM main.sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite!_%' ESCAPE '!'`,
      )
      .pluck()
      .all() as string[];
    for (const v of sandboxViews(visibility, 'sqlite', tables)) db.exec(v);
  }
  db.pragma('query_only = ON');
  const stmt = db.prepare(text);
  if (!stmt.reader || !stmt.readonly) throw new Error('only statements that read (SELECT) are allowed');
  const columns = stmt.columns().map((c) => c.name);
  const rows: unknown[] = [];
  let truncated = false;
  for (const row of stmt.iterate() as Iterable<unknown>) {
    if (rows.length === maxRows) {
      truncated = true;
      break;
    }
    rows.push(row);
  }
  db.close();
  result = { columns, rows, truncated };
} catch (err) {
  result = { error: (err as Error).message };
}
process.stdout.write(JSON.stringify(result));
