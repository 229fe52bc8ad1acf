// Runs one read-only SQLite query off the main thread, so the caller can stop it at its time limit
// (better-sqlite3 runs synchronously and has no interrupt).
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';

const { path, text, maxRows } = workerData as { path: string; text: string; maxRows: number };
try {
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
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
  parentPort?.postMessage({ columns, rows, truncated });
  db.close();
} catch (err) {
  parentPort?.postMessage({ error: (err as Error).message });
}
