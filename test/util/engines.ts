// Real catalog engines for tests: a SQLite file in a temp folder, and a throw-away PostgreSQL
// (scripts/pg.sh) on its own port and data folder per test file, so files can run in parallel.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { sql } from 'kysely';
import { type Catalog, openCatalog } from '../../src/catalog/catalog.ts';

export type Engine = 'sqlite' | 'postgres';
export const ENGINES: Engine[] = ['sqlite', 'postgres'];

export function useEngines(
  port: number,
): (engine: Engine) => Promise<{ cat: Catalog; reopen: () => Catalog }> {
  const env = {
    ...process.env,
    PG_PORT: String(port),
    PG_DATA: `/tmp/fitslake-pg-${port}`,
    PG_DB: 'postgres',
  };
  let started = false;
  before(() => {
    execFileSync('bash', ['scripts/pg.sh'], { env, stdio: 'inherit' });
    started = true;
  });
  after(() => {
    if (started) execFileSync('bash', ['scripts/pg.sh', 'stop'], { env: { ...env, PG_WIPE: '1' } });
  });
  let n = 0;
  return async (engine) => {
    if (engine === 'sqlite') {
      const path = join(mkdtempSync(join(tmpdir(), 'fitslake-cat-')), 'catalog.sqlite');
      // Several connections in one process: a blocking wait for the lock would stall the holder too.
      const reopen = () => openCatalog({ kind: 'sqlite', path, busyTimeoutMs: 50 });
      return { cat: reopen(), reopen };
    }
    const database = `cat_${process.pid}_${++n}`;
    const admin = openCatalog({
      kind: 'postgres',
      host: '127.0.0.1',
      port,
      database: 'postgres',
      user: 'postgres',
    });
    await sql.raw(`CREATE DATABASE ${database}`).execute(admin.db);
    await admin.close();
    const reopen = () =>
      openCatalog({ kind: 'postgres', host: '127.0.0.1', port, database, user: 'postgres' });
    return { cat: reopen(), reopen };
  };
}
