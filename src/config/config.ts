import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

/**
 * fitslake's configuration: one typed schema, filled from the config file (committed by users, so it
 * never holds secrets), then FITSLAKE_* environment variables, then secrets from the environment or
 * a 0600 secrets file. Validated at start-up with messages that name the setting.
 */
const zones = z.object({
  raw: z.string().default('raw/'),
  derived: z.string().default('derived/'),
  previews: z.string().default('previews/'),
  indexes: z.string().default('indexes/'),
  recycle: z.string().default('recycle/'),
});

/** What a collection may set; every field optional (unset = the built-in default). */
export const CollectionSettingsSchema = z
  .object({
    visibility: z.enum(['public', 'private', 'shared']).optional(),
    /** Groups that see a shared collection (and a private one's embargoed data, with its owner). */
    groups: z.array(z.string()).optional(),
    /** Owner and group given to its observations (who sees them before their public date). */
    owner: z.string().optional(),
    group: z.string().optional(),
    calibLevel: z.number().int().min(-1).max(4).optional(),
    dataproductType: z.string().optional(),
    proprietaryDays: z.number().min(0).optional(),
    /** Observation column → header keywords tried in order (e.g. t_exptime: [EXPTIME, ITIME]). */
    mapping: z.record(z.string(), z.array(z.string())).optional(),
    /** A regular expression over the file name whose named group `base` names the observation. */
    grouping: z.string().optional(),
    /** Role of each file of a group: [regular expression over the file name, role] in order. */
    roles: z.array(z.tuple([z.string(), z.string()])).optional(),
    /** Header keyword → relation linking to the observation it names (L1IDBIAS: bias). */
    related: z.record(z.string(), z.string()).optional(),
    /** Key template such as "{instrument}/{night}/{file}" whose fields become columns. */
    pathTemplate: z.string().optional(),
    /** Write a range-readable tile-compressed copy of each whole-file .gz/.bz2 FITS after ingest. */
    optimize: z.boolean().optional(),
    /** A mounted cloud index (`fitslake mount`): the collection's files live at its data URLs, read-only. */
    mount: z.object({ index: z.string() }).strict().optional(),
  })
  .strict();

export type CollectionSettings = z.infer<typeof CollectionSettingsSchema>;

export const ConfigSchema = z.object({
  storage: z
    .object({
      kind: z.enum(['local', 's3']).default('local'),
      /** Local store root (relative to the lake folder). */
      path: z.string().default('data'),
      s3: z
        .object({
          endpoint: z.string().url().optional(),
          region: z.string().default('us-east-1'),
          bucket: z.string().optional(),
          prefix: z.string().default(''),
          forcePathStyle: z.boolean().default(true),
        })
        .prefault({}),
      zones: zones.prefault({}),
    })
    .prefault({}),
  catalog: z
    .object({
      kind: z.enum(['sqlite', 'postgres']).default('sqlite'),
      sqlite: z.object({ path: z.string().default('catalog.sqlite') }).prefault({}),
      postgres: z
        .object({
          host: z.string().default('127.0.0.1'),
          port: z.number().int().min(1).max(65535).default(5432),
          database: z.string().default('fitslake'),
          user: z.string().default('fitslake'),
        })
        .prefault({}),
    })
    .prefault({}),
  workers: z
    .object({
      mode: z.enum(['in-process', 'external']).default('in-process'),
      concurrency: z.number().int().min(1).max(256).default(2),
      /**
       * Worker processes a command may add for a large batch (in-process mode). Default: one per
       * CPU beyond the first, up to 3. They start only once a batch is big enough to repay their
       * start, and stop with the command (or when it dies).
       */
      extraProcesses: z.number().int().min(0).max(64).optional(),
    })
    .prefault({}),
  ingest: z
    .object({
      /** Collection for files that name none (no --collection, no collection in the path template). */
      defaultCollection: z.string().default('default'),
      /** Make previews and thumbnails of images while ingesting. */
      previews: z.boolean().default(true),
      /** Tries before a job is parked as failed. */
      maxAttempts: z.number().int().min(1).max(100).default(5),
      /** First retry delay; doubles with each try. */
      backoffMs: z.number().int().min(1).default(2000),
      /** Seconds between listings of a watched bucket or folder. */
      pollSeconds: z.number().min(0.1).default(30),
      /** Threads that read, store and parse local files in `fitslake ingest` (default: the CPUs + 1). */
      threads: z.number().int().min(1).max(64).optional(),
    })
    .prefault({}),
  /** Per-collection settings (also settable with `fitslake collection create|set`). */
  collections: z.record(z.string(), CollectionSettingsSchema).default({}),
  server: z
    .object({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      /** Requests per minute per client address (0: no limit). */
      rateLimit: z.number().int().min(0).default(6000),
      /** Largest upload in bytes (0: no limit; uploads stream to storage, never into memory). */
      maxUploadBytes: z.number().int().min(0).default(0),
      /** How long events (the live stream's history and the recent-uploads log) are kept, in hours. */
      eventTtlHours: z.number().min(0.001).default(72),
      /** Longest a user's SQL query may run, and most rows it returns. */
      sqlTimeoutMs: z.number().int().min(1).default(30_000),
      sqlMaxRows: z.number().int().min(1).default(100_000),
    })
    .prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;

/** Secrets never come from the config file. */
export interface Secrets {
  s3AccessKeyId?: string;
  s3SecretAccessKey?: string;
  postgresPassword?: string;
}

export interface LoadedConfig {
  config: Config;
  secrets: Secrets;
  /** The lake folder (where the config file is, or the given folder). */
  lake: string;
  /** Where each setting came from when not the default: 'file' or the variable's name. */
  sources: Record<string, string>;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const CONFIG_FILE = 'fitslake.yaml';
export const SECRETS_FILE = '.fitslake-secrets';

const SECRET_WORDS = /(password|secret|token|credential|access_?key)/i;

/** The object shape under defaults/optionals, or undefined for a leaf setting. */
function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  let s = schema as unknown as {
    _zod: { def: { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType> } };
  };
  while (s._zod.def.innerType) s = s._zod.def.innerType as unknown as typeof s;
  return s._zod.def.type === 'object' ? s._zod.def.shape : undefined;
}

/** FITSLAKE_STORAGE_S3_FORCE_PATH_STYLE → ['storage', 's3', 'forcePathStyle'] when that setting exists. */
function envPath(name: string): string[] | undefined {
  const parts = name
    .replace(/^FITSLAKE_/, '')
    .toLowerCase()
    .split('_');
  const walk = (schema: z.ZodType, rest: string[], path: string[]): string[] | undefined => {
    const shape = shapeOf(schema);
    if (rest.length === 0) return shape ? undefined : path;
    if (!shape) return undefined;
    // Settings are camelCase (forcePathStyle): try every way of joining the next words.
    for (let n = rest.length; n >= 1; n--) {
      const camel = rest
        .slice(0, n)
        .map((w, i) => (i === 0 ? w : w[0].toUpperCase() + w.slice(1)))
        .join('');
      if (camel in shape) {
        const found = walk(shape[camel], rest.slice(n), [...path, camel]);
        if (found) return found;
      }
    }
    return undefined;
  };
  return walk(ConfigSchema, parts, []);
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let node = obj;
  for (const p of path.slice(0, -1)) {
    node[p] = (node[p] as Record<string, unknown>) ?? {};
    node = node[p] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}

function coerce(text: string): unknown {
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

function findSecretKeys(node: unknown, path: string[] = []): string[] {
  if (!node || typeof node !== 'object') return [];
  return Object.entries(node as Record<string, unknown>).flatMap(([k, v]) =>
    SECRET_WORDS.test(k) ? [[...path, k].join('.')] : findSecretKeys(v, [...path, k]),
  );
}

/** Reads a KEY=VALUE secrets file, refusing one that others can read. */
export function readSecretsFile(path: string): Record<string, string> {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    return {};
  }
  if (mode & 0o077) {
    throw new ConfigError(
      `${path}: secrets file is readable by others (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${path}`,
    );
  }
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m && !line.trimStart().startsWith('#')) out[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

/**
 * Loads the configuration of the lake in `dir` (or FITSLAKE_LAKE, or the current folder): file,
 * then environment, then secrets. Missing file = all defaults (the embedded setup).
 */
export function loadConfig(dir?: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const lake = resolve(dir ?? env.FITSLAKE_LAKE ?? '.');
  const file = resolve(lake, CONFIG_FILE);
  const sources: Record<string, string> = {};
  let raw: Record<string, unknown> = {};
  try {
    raw = (parse(readFileSync(file, 'utf8')) as Record<string, unknown>) ?? {};
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new ConfigError(`${file}: ${(err as Error).message}`);
  }
  const secretKeys = findSecretKeys(raw);
  if (secretKeys.length) {
    throw new ConfigError(
      `${file}: ${secretKeys.join(', ')} looks like a secret; secrets go in the environment or ${SECRETS_FILE} (mode 0600), never in the config file`,
    );
  }
  for (const [k, v] of Object.entries(env)) {
    if (
      !k.startsWith('FITSLAKE_') ||
      v === undefined ||
      k === 'FITSLAKE_LAKE' ||
      k === 'FITSLAKE_SECRETS_FILE'
    )
      continue;
    if (SECRET_WORDS.test(k)) continue;
    const path = envPath(k);
    if (!path) throw new ConfigError(`${k}: no such setting (see ${CONFIG_FILE} for the names)`);
    setPath(raw, path, coerce(v));
    sources[path.join('.')] = k;
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration (${file} and FITSLAKE_* variables): ${issues}`);
  }
  const fileSecrets = readSecretsFile(env.FITSLAKE_SECRETS_FILE ?? resolve(lake, SECRETS_FILE));
  const pick = (...names: string[]) => {
    for (const n of names) {
      const v = env[n] ?? fileSecrets[n];
      if (v) return v;
    }
    return undefined;
  };
  const secrets: Secrets = {};
  const id = pick('FITSLAKE_S3_ACCESS_KEY_ID', 'AWS_ACCESS_KEY_ID');
  const secret = pick('FITSLAKE_S3_SECRET_ACCESS_KEY', 'AWS_SECRET_ACCESS_KEY');
  const pg = pick('FITSLAKE_POSTGRES_PASSWORD', 'PGPASSWORD');
  if (id) secrets.s3AccessKeyId = id;
  if (secret) secrets.s3SecretAccessKey = secret;
  if (pg) secrets.postgresPassword = pg;
  const config = parsed.data;
  // Relative local paths are relative to the lake folder, wherever the command runs.
  if (!isAbsolute(config.storage.path)) config.storage.path = resolve(lake, config.storage.path);
  if (!isAbsolute(config.catalog.sqlite.path))
    config.catalog.sqlite.path = resolve(lake, config.catalog.sqlite.path);
  return { config, secrets, lake: dirname(file), sources };
}
