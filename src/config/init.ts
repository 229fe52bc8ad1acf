import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CONFIG_FILE, ConfigError, SECRETS_FILE } from './config.ts';

/** The commented configuration `fitslake init` writes: every setting with its embedded default. */
export const DEFAULT_CONFIG_TEXT = `# fitslake configuration. Every setting below shows its default; delete what you do not change.
# Each can also be set by an environment variable named after its path, e.g.
#   FITSLAKE_STORAGE_KIND=s3  FITSLAKE_CATALOG_POSTGRES_HOST=db.example.org  FITSLAKE_WORKERS_CONCURRENCY=8
# Secrets never go here (this file is meant to be committed). Put them in the environment or in
# ${SECRETS_FILE} next to this file, readable only by you (chmod 600):
#   FITSLAKE_S3_ACCESS_KEY_ID / FITSLAKE_S3_SECRET_ACCESS_KEY (or the standard AWS credential chain)
#   FITSLAKE_POSTGRES_PASSWORD (or PGPASSWORD)

storage:
  kind: local          # local: a folder (the embedded default) | s3: any S3-compatible bucket
  path: data           # the local folder, relative to this file
  s3:
    # endpoint: http://127.0.0.1:9000   # omit for AWS itself
    region: us-east-1
    # bucket: my-fitslake-bucket
    prefix: ""
    forcePathStyle: true  # most S3-compatible servers need path-style URLs
  zones:               # where each kind of object lives (prefixes inside the store)
    raw: raw/
    derived: derived/
    previews: previews/
    indexes: indexes/
    recycle: recycle/

catalog:
  kind: sqlite         # sqlite: one file (the embedded default) | postgres: the scale-out catalog
  sqlite:
    path: catalog.sqlite
  postgres:
    host: 127.0.0.1
    port: 5432
    database: fitslake
    user: fitslake

workers:
  mode: in-process     # in-process: inside the server/CLI | external: run \`fitslake worker\` processes
  concurrency: 2

server:
  host: 127.0.0.1      # loopback by default; another interface needs accounts configured
  port: 8080
  rateLimit: 6000      # requests per minute per client address (0: no limit)
  maxUploadBytes: 0    # largest upload (0: no limit; uploads stream, never held in memory)
  eventTtlHours: 72    # how long the live event history and recent-uploads log are kept
  sqlTimeoutMs: 30000  # user SQL: longest run time
  sqlMaxRows: 100000   # user SQL: most rows returned
`;

/** Creates a lake folder with a commented config (refuses to overwrite one unless forced). */
export function initLake(dir: string, opts: { force?: boolean } = {}): string {
  const lake = resolve(dir);
  mkdirSync(lake, { recursive: true });
  const file = join(lake, CONFIG_FILE);
  if (existsSync(file) && !opts.force) {
    throw new ConfigError(`${file} already exists (use --force to overwrite it)`);
  }
  writeFileSync(file, DEFAULT_CONFIG_TEXT);
  mkdirSync(join(lake, 'data'), { recursive: true });
  return file;
}
