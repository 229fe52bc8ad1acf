import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Visibility } from './access.ts';
import type { Catalog } from './catalog.ts';
import {
  checkPostgresNames,
  checkSingleStatement,
  checkSqliteNames,
  SandboxError,
  sandboxViews,
} from './sandbox.ts';
import { SqlSyntaxError } from './sql-tokens.ts';

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
  /** Cancels the query: the SQLite query process is killed, a PostgreSQL backend cancelled. */
  signal?: AbortSignal;
}

export class QueryError extends Error {
  override name = 'QueryError';
  /** not-allowed: the statement names something outside the caller's views. */
  readonly code: 'not-read-only' | 'not-allowed' | 'timeout' | 'aborted' | 'sql';
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
  /** The caller's: the query then sees only its rows (src/catalog/sandbox.ts). None: the operator's CLI. */
  visibility?: Visibility,
): Promise<QueryResult> {
  const timeoutMs = limits.timeoutMs ?? 30_000;
  const maxRows = limits.maxRows ?? 100_000;
  const word = firstWord(text);
  if (!['SELECT', 'WITH', 'VALUES'].includes(word))
    throw new QueryError('not-read-only', `only SELECT queries are allowed (got ${word || 'nothing'})`);
  if (cat.options.kind === 'sqlite') {
    if (visibility) {
      try {
        checkSingleStatement(text);
        checkSqliteNames(text);
      } catch (err) {
        if (err instanceof SandboxError) throw new QueryError('not-allowed', err.message);
        if (err instanceof SqlSyntaxError) throw new QueryError('sql', err.message);
        throw err;
      }
    }
    return sqliteQuery(cat.options.path, text, timeoutMs, maxRows, visibility, limits.signal);
  }
  if (visibility) {
    try {
      checkSingleStatement(text);
      checkPostgresNames(text);
    } catch (err) {
      if (err instanceof SandboxError) throw new QueryError('not-allowed', err.message);
      if (err instanceof SqlSyntaxError) throw new QueryError('sql', err.message);
      throw err;
    }
  }
  const role = visibility ? await queryRole(cat) : undefined;
  return cat.db.connection().execute(async (conn) => {
    await sql`BEGIN`.execute(conn);
    try {
      await sql.raw(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`).execute(conn);
      if (visibility && role) {
        const tables = await sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables
          WHERE table_schema = 'public'`.execute(conn);
        for (const stmt of sandboxViews(
          visibility,
          'postgres',
          tables.rows.map((r) => r.name),
          role,
        ))
          await sql.raw(stmt).execute(conn);
        await sql.raw(`SET LOCAL ROLE ${role}`).execute(conn);
      }
      // Read-only from here on (a transaction may turn read-only at any point, never back).
      await sql`SET TRANSACTION READ ONLY`.execute(conn);
      // A cancel comes from another connection: this one is busy running the query.
      const pid = limits.signal
        ? (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(conn)).rows[0].pid
        : 0;
      const onAbort = () => void sql`SELECT pg_cancel_backend(${pid})`.execute(cat.db).catch(() => {});
      if (limits.signal?.aborted) throw new QueryError('aborted', 'the query was cancelled');
      limits.signal?.addEventListener('abort', onAbort, { once: true });
      const r = await sql
        .raw<Record<string, unknown>>(text)
        .execute(conn)
        .finally(() => limits.signal?.removeEventListener('abort', onAbort));
      const rows = r.rows.slice(0, maxRows);
      // (With no rows, Kysely's raw result does not carry the column names.)
      const columns = rows.length ? Object.keys(rows[0]) : [];
      return { columns, rows, truncated: r.rows.length > maxRows };
    } catch (err) {
      if (err instanceof QueryError) throw err;
      const m = (err as Error).message;
      if (/canceling statement due to user request/i.test(m))
        throw new QueryError('aborted', 'the query was cancelled');
      if (/statement timeout/i.test(m))
        throw new QueryError('timeout', `query ran longer than ${timeoutMs} ms`);
      if (/read-only transaction/i.test(m)) throw new QueryError('not-read-only', m);
      if (/permission denied/i.test(m))
        throw new QueryError('not-allowed', `${m}: query the catalog's tables by their plain names`);
      throw new QueryError('sql', m);
    } finally {
      await sql`ROLLBACK`.execute(conn).catch(() => {});
    }
  });
}

/** The PostgreSQL role user SQL runs as: no privileges of its own, SELECT on the caller's views only. */
export const QUERY_ROLE = 'fitslake_query';
let roleReady: Promise<string> | undefined;

async function queryRole(cat: Catalog): Promise<string> {
  roleReady ??= (async () => {
    try {
      await sql
        .raw(`DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${QUERY_ROLE}') THEN CREATE ROLE ${QUERY_ROLE} NOLOGIN; END IF;
        END $$`)
        .execute(cat.db);
    } catch (err) {
      // Another process created it at the same moment.
      if (!/already exists|duplicate key/i.test((err as Error).message)) {
        roleReady = undefined;
        throw new QueryError(
          'sql',
          `SQL for accounts needs a PostgreSQL role ${QUERY_ROLE} the catalog user can switch to ` +
            `(CREATE ROLE ${QUERY_ROLE} NOLOGIN; GRANT ${QUERY_ROLE} TO <catalog user>): ${(err as Error).message}`,
        );
      }
    }
    await sql
      .raw(`GRANT ${QUERY_ROLE} TO CURRENT_USER`)
      .execute(cat.db)
      .catch(() => {});
    return QUERY_ROLE;
  })();
  return roleReady;
}

function spawnChild(): ChildProcessWithoutNullStreams {
  const ts = import.meta.url.endsWith('.ts');
  const file = fileURLToPath(new URL(`./query-child.${ts ? 'ts' : 'js'}`, import.meta.url));
  // Under tsx (tests, development) the child needs tsx, found from here rather than the cwd.
  const args = ts ? ['--import', import.meta.resolve('tsx'), file] : [file];
  return spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
}

type Handle = { ref?(): void; unref?(): void };
const setRef = (c: ChildProcessWithoutNullStreams, on: boolean) => {
  for (const h of [c, c.stdin, c.stdout, c.stderr] as Handle[]) (on ? h.ref : h.unref)?.call(h);
};

/**
 * A query process started ahead (starting Node costs 0.1–1 s, more than most queries): it waits
 * for its query on stdin, holding nothing open, and never keeps this process alive.
 */
let spare: ChildProcessWithoutNullStreams | undefined;
let keepSpare = false;

/** Servers keep a query process started ahead; one-shot commands do not (it would only compete). */
export function keepQueryProcessWarm(): void {
  keepSpare = true;
  spare ??= startSpare();
}

function startSpare(): ChildProcessWithoutNullStreams {
  const c = spawnChild();
  c.on('error', () => {});
  setRef(c, false);
  return c;
}

function takeChild(): ChildProcessWithoutNullStreams {
  const ready = spare && spare.exitCode === null && !spare.killed ? spare : spawnChild();
  spare = undefined;
  setRef(ready, true);
  if (keepSpare) spare = startSpare();
  return ready;
}

function sqliteQuery(
  path: string,
  text: string,
  timeoutMs: number,
  maxRows: number,
  visibility: Visibility | undefined,
  signal?: AbortSignal,
): Promise<QueryResult> {
  if (signal?.aborted) return Promise.reject(new QueryError('aborted', 'the query was cancelled'));
  const child = takeChild();
  child.stdin.end(JSON.stringify({ path, text, maxRows, visibility }));
  const out: Buffer[] = [];
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d));
  return new Promise((resolve, reject) => {
    let timedOut = false;
    let cancelled = false;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      cancelled = true;
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // The time limit counts from the child's "R" (loaded, reading its query): starting Node is
    // not the query's time.
    child.stdout.on('data', (d: Buffer) => {
      if (timer === undefined && d.length && d[0] === 0x52) {
        timer = setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, timeoutMs);
        d = d.subarray(1);
      }
      out.push(d);
    });
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new QueryError('sql', `cannot run the query process: ${e.message}`));
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (cancelled) return reject(new QueryError('aborted', 'the query was cancelled'));
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
