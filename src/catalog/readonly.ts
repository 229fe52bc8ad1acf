import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Catalog } from './catalog.ts';

/** A user's SQL: read-only, time-limited, row-limited, one statement. */
export interface QueryResult {
  columns: string[];
  rows: Record<string, unknown>[];
  /** More rows existed than maxRows. */
  truncated: boolean;
}

export interface QueryLimits {
  timeoutMs?: number;
  maxRows?: number;
}

export class QueryError extends Error {
  override name = 'QueryError';
  readonly code: 'not-read-only' | 'timeout' | 'sql';
  constructor(code: QueryError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

/** Comments stripped, so the first word is the statement's. */
function firstWord(text: string): string {
  const s = text.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, ' ').trim();
  return (/^[a-z]+/i.exec(s)?.[0] ?? '').toUpperCase();
}

/**
 * Runs SQL from a user against the catalog. Only SELECT/WITH/VALUES statements pass (so no ATTACH,
 * PRAGMA or writes); SQLite runs them on a separate read-only, query_only connection in a child
 * process that is killed at the time limit; PostgreSQL in a READ ONLY transaction with a
 * statement_timeout, rolled back afterwards.
 */
export async function readOnlyQuery(
  cat: Catalog,
  text: string,
  limits: QueryLimits = {},
): Promise<QueryResult> {
  const timeoutMs = limits.timeoutMs ?? 30_000;
  const maxRows = limits.maxRows ?? 100_000;
  const word = firstWord(text);
  if (!['SELECT', 'WITH', 'VALUES'].includes(word))
    throw new QueryError('not-read-only', `only SELECT queries are allowed (got ${word || 'nothing'})`);
  if (cat.options.kind === 'sqlite') return sqliteQuery(cat.options.path, text, timeoutMs, maxRows);
  return cat.db.connection().execute(async (conn) => {
    await sql`BEGIN TRANSACTION READ ONLY`.execute(conn);
    try {
      await sql.raw(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`).execute(conn);
      const r = await sql.raw<Record<string, unknown>>(text).execute(conn);
      const rows = r.rows.slice(0, maxRows);
      // (With no rows, Kysely's raw result does not carry the column names.)
      const columns = rows.length ? Object.keys(rows[0]) : [];
      return { columns, rows, truncated: r.rows.length > maxRows };
    } catch (err) {
      const m = (err as Error).message;
      if (/statement timeout/i.test(m))
        throw new QueryError('timeout', `query ran longer than ${timeoutMs} ms`);
      if (/read-only transaction/i.test(m)) throw new QueryError('not-read-only', m);
      throw new QueryError('sql', m);
    } finally {
      await sql`ROLLBACK`.execute(conn).catch(() => {});
    }
  });
}

function sqliteQuery(path: string, text: string, timeoutMs: number, maxRows: number): Promise<QueryResult> {
  const ts = import.meta.url.endsWith('.ts');
  const file = fileURLToPath(new URL(`./query-child.${ts ? 'ts' : 'js'}`, import.meta.url));
  // Under tsx (tests, development) the child needs tsx, found from here rather than the cwd.
  const args = ts ? ['--import', import.meta.resolve('tsx'), file] : [file];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(JSON.stringify({ path, text, maxRows }));
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new QueryError('sql', `cannot run the query process: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) return reject(new QueryError('timeout', `query ran longer than ${timeoutMs} ms`));
      let m: QueryResult & { error?: string };
      try {
        m = JSON.parse(Buffer.concat(out).toString('utf8'));
      } catch {
        return reject(
          new QueryError('sql', `query process failed (exit ${code}): ${err.trim().slice(0, 500)}`),
        );
      }
      if (m.error)
        reject(
          new QueryError(
            /readonly|read-only|only statements/i.test(m.error) ? 'not-read-only' : 'sql',
            m.error,
          ),
        );
      else resolve(m);
    });
  });
}
