import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { type Dialect, migrationProvider } from './migrations.ts';
import type { Database } from './schema.ts';

export type CatalogOptions =
  | { kind: 'sqlite'; path: string }
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
    sqlite.pragma('busy_timeout = 5000');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
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
