// Runs one read-only SQLite query in a child process, so the caller can kill it at its time limit:
// better-sqlite3 runs a statement to completion without returning to JavaScript, so neither a
// timer nor a worker thread's terminate() can stop a long aggregate. Input: JSON on stdin.
import BetterSqlite3 from 'better-sqlite3';

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const { path, text, maxRows } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
  path: string;
  text: string;
  maxRows: number;
};
let result: unknown;
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
  db.close();
  result = { columns, rows, truncated };
} catch (err) {
  result = { error: (err as Error).message };
}
process.stdout.write(JSON.stringify(result));
