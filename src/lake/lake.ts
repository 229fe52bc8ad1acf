import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Catalog, openCatalog } from '../catalog/catalog.ts';
import type { CollectionSettings, LoadedConfig } from '../config/config.ts';
import { ConfigError, loadConfig } from '../config/config.ts';
import { LocalStore } from '../storage/local-store.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { S3Store } from '../storage/s3-store.ts';

export const ZONES = ['raw', 'derived', 'previews', 'indexes', 'recycle'] as const;
export type Zone = (typeof ZONES)[number];

/** Everything a command needs of one lake: its settings, a store per zone and the catalog. */
export interface Lake {
  dir: string;
  loaded: LoadedConfig;
  zones: Record<Zone, ObjectStore>;
  catalog: Catalog;
  /** Settings of a collection: built-in defaults ← config file ← `fitslake collection set`. */
  collection(name: string): Promise<CollectionSettings>;
  close(): Promise<void>;
}

/**
 * One store per zone. A zone is a prefix of the lake's store ("raw/"), or with S3 its own bucket
 * ("s3://my-source-bucket/prefix/": the classic layout of a bucket the user already has plus one
 * fitslake owns).
 */
export function zoneStores(loaded: LoadedConfig): Record<Zone, ObjectStore> {
  const { storage } = loaded.config;
  const out = {} as Record<Zone, ObjectStore>;
  for (const zone of ZONES) {
    const spec = storage.zones[zone];
    if (storage.kind === 'local') {
      if (spec.startsWith('s3://'))
        throw new ConfigError(`storage.zones.${zone}: s3:// needs storage.kind s3`);
      out[zone] = new LocalStore(`${storage.path}/${spec.replace(/\/+$/, '')}`);
      continue;
    }
    const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(spec);
    const bucket = m ? m[1] : storage.s3.bucket;
    if (!bucket) throw new ConfigError('storage.s3.bucket is required when storage.kind is s3');
    const prefix = m ? m[2] : storage.s3.prefix + spec;
    const { s3AccessKeyId, s3SecretAccessKey } = loaded.secrets;
    out[zone] = new S3Store({
      bucket,
      prefix,
      region: storage.s3.region,
      forcePathStyle: storage.s3.forcePathStyle,
      ...(storage.s3.endpoint ? { endpoint: storage.s3.endpoint } : {}),
      ...(s3AccessKeyId && s3SecretAccessKey
        ? { credentials: { accessKeyId: s3AccessKeyId, secretAccessKey: s3SecretAccessKey } }
        : {}),
    });
  }
  return out;
}

/** Opens the lake in `dir` (or FITSLAKE_LAKE, or the current folder) and brings its catalog up to date. */
export async function openLake(dir?: string, env: NodeJS.ProcessEnv = process.env): Promise<Lake> {
  const loaded = loadConfig(dir, env);
  if (!existsSync(loaded.lake))
    throw new ConfigError(`no lake at ${loaded.lake}: create one with \`fitslake init ${loaded.lake}\``);
  const { catalog: c } = loaded.config;
  if (c.kind === 'sqlite') mkdirSync(dirname(c.sqlite.path), { recursive: true });
  const catalog = openCatalog(
    c.kind === 'sqlite'
      ? { kind: 'sqlite', path: c.sqlite.path }
      : {
          kind: 'postgres',
          ...c.postgres,
          ...(loaded.secrets.postgresPassword ? { password: loaded.secrets.postgresPassword } : {}),
        },
  );
  await catalog.migrate();
  return lakeOf(loaded, catalog);
}

/** A Lake over an already opened catalog (tests and tools that manage the catalog themselves). */
export function lakeOf(loaded: LoadedConfig, catalog: Catalog): Lake {
  const zones = zoneStores(loaded);
  return {
    dir: loaded.lake,
    loaded,
    zones,
    catalog,
    async collection(name) {
      const row = await catalog.db
        .selectFrom('collections')
        .select('settings')
        .where('name', '=', name)
        .executeTakeFirst();
      const stored = row ? (JSON.parse(row.settings) as CollectionSettings) : {};
      return { ...loaded.config.collections[name], ...stored };
    },
    close: () => catalog.close(),
  };
}
