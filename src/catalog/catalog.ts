import BetterSqlite3 from 'better-sqlite3';
import { type DialectAdapter, Kysely, Migrator, PostgresDialect, SqliteAdapter, SqliteDialect } from 'kysely';
import pg from 'pg';
import { type Dialect, migrationProvider } from './migrations.ts';
import type { Database } from './schema.ts';

/**
 * SQLite's DDL is transactional, but Kysely assumes not and runs migrations step by step: a crash
 * in the middle of one left it half applied ("duplicate column" on restart). Saying so runs all
 * pending migrations in one transaction, so a crash leaves all of them or none.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}
class TransactionalDdlSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

export type CatalogOptions =
  | { kind: 'sqlite'; path: string; busyTimeoutMs?: number }
  | { kind: 'postgres'; host: string; port: number; database: string; user: string; password?: string };

export interface Catalog {
  db: Kysely<Database>;
  dialect: Dialect;
  /** How it was opened (read-only query connections open the same catalog again). */
  options: CatalogOptions;
  /** Applies every pending migration; returns the names applied now (none when up to date). */
  migrate(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Opens the catalog: SQLite (better-sqlite3, WAL, the embedded default) or PostgreSQL (node-postgres,
 * the scale-out catalog), both behind the same typed Kysely database.
 */
export function openCatalog(opts: CatalogOptions): Catalog {
  let db: Kysely<Database>;
  if (opts.kind === 'sqlite') {
    const sqlite = new BetterSqlite3(opts.path);
    // WAL lets readers (the server) run while a writer (ingest) commits; NORMAL sync is safe with WAL.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    // Statement journals (multi-row writes inside a transaction) in memory, not in temporary files:
    // on disk they were three of every four writes of an ingest (a 4-byte page number, then the page).
    sqlite.pragma('temp_store = MEMORY');
    // How long a writer waits (blocking) for another process's write lock before SQLITE_BUSY;
    // callers retry BUSY asynchronously, so connections sharing one process can also make progress.
    sqlite.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    // Kysely prepares every query anew; preparing costs as much as running a small statement, so
    // keep the most recent statements (the ingest path repeats a few dozen shapes).
    const cache = new Map<string, BetterSqlite3.Statement>();
    const prepare = (text: string) => {
      let stmt = cache.get(text);
      if (stmt) {
        cache.delete(text);
      } else {
        stmt = sqlite.prepare(text);
        if (cache.size >= 500) cache.delete(cache.keys().next().value as string);
      }
      cache.set(text, stmt);
      return stmt;
    };
    db = new Kysely<Database>({
      dialect: new TransactionalDdlSqliteDialect({ database: { prepare, close: () => sqlite.close() } }),
    });
  } else {
    // bigint columns come back as numbers (all ours are far below 2^53).
    pg.types.setTypeParser(20, (v) => Number(v));
    const pool = new pg.Pool({
      host: opts.host,
      port: opts.port,
      database: opts.database,
      user: opts.user,
      ...(opts.password ? { password: opts.password } : {}),
      max: 10,
    });
    // An idle connection the server drops (a restart, a failover, pg_terminate_backend) is an
    // 'error' on the pool: without a listener Node would crash the process. The pool discards that
    // connection and the next query opens a new one.
    pool.on('error', () => {});
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }
  const dialect: Dialect = opts.kind;
  return {
    db,
    dialect,
    options: opts,
    async migrate() {
      const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
      const { error, results } = await migrator.migrateToLatest();
      if (error) throw error;
      return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    },
    close: () => db.destroy(),
  };
}
