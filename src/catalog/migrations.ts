import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Versioned migrations, one definition for both engines (Kysely's schema builder); the only
 * dialect difference is how an auto-increment key is spelled.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  // biome-ignore lint/suspicious/noExplicitAny: migrations run before the typed schema exists
  type Db = Kysely<any>;
  const id = (t: ReturnType<Db['schema']['createTable']>) =>
    dialect === 'postgres'
      ? t.addColumn('id', 'bigserial', (c) => c.primaryKey())
      : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  return {
    '0001_initial': {
      async up(db: Db) {
        await db.schema
          .createTable('collections')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('visibility', 'text', (c) => c.notNull().defaultTo('public'))
          .addColumn('proprietary_days', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('calib_level', 'integer')
          .addColumn('dataproduct_type', 'text')
          .addColumn('settings', 'text', (c) => c.notNull().defaultTo('{}'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await id(db.schema.createTable('files'))
          .addColumn('zone', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('etag', 'text')
          .addColumn('content_type', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('error', 'text')
          .addColumn('collection', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('files_version', ['zone', 'key', 'sha256'])
          .execute();
        await db.schema.createIndex('files_status').on('files').columns(['status']).execute();
        await db.schema.createIndex('files_key').on('files').columns(['zone', 'key']).execute();
        await db.schema
          .createTable('hdus')
          .addColumn('file_id', 'bigint', (c) => c.notNull().references('files.id').onDelete('cascade'))
          .addColumn('idx', 'integer', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('header_offset', 'bigint', (c) => c.notNull())
          .addColumn('data_offset', 'bigint', (c) => c.notNull())
          .addColumn('data_span', 'bigint', (c) => c.notNull())
          .addColumn('shape', 'text', (c) => c.notNull())
          .addColumn('checksum', 'text')
          .addColumn('datasum', 'text')
          .addColumn('cards', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('hdus_pk', ['file_id', 'idx'])
          .execute();
        let obs = id(db.schema.createTable('observations'))
          .addColumn('obs_collection', 'text', (c) => c.notNull())
          .addColumn('obs_id', 'text', (c) => c.notNull());
        const text = [
          'obs_publisher_did',
          'dataproduct_type',
          'access_url',
          'access_format',
          'target_name',
          's_region',
          'o_ucd',
          'pol_states',
          'facility_name',
          'instrument_name',
          'filter',
          'object',
          'observer',
          'site',
          'night',
          'public_date',
          'owner',
          'group_name',
        ];
        const real = [
          's_ra',
          's_dec',
          's_fov',
          's_resolution',
          't_min',
          't_max',
          't_exptime',
          't_resolution',
          'em_min',
          'em_max',
          'em_res_power',
          'airmass',
          'altitude',
          'azimuth',
        ];
        const big = ['access_estsize', 's_xel1', 's_xel2', 't_xel', 'em_xel', 'pol_xel'];
        obs = obs.addColumn('calib_level', 'integer');
        for (const c of text) obs = obs.addColumn(c, 'text');
        for (const c of real) obs = obs.addColumn(c, 'double precision');
        for (const c of big) obs = obs.addColumn(c, 'bigint');
        await obs
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('observations_obs_id', ['obs_collection', 'obs_id'])
          .execute();
        for (const c of ['t_min', 't_max', 'public_date', 'instrument_name', 'filter', 'target_name']) {
          await db.schema.createIndex(`observations_${c}`).on('observations').columns([c]).execute();
        }
        await db.schema
          .createTable('observation_cells')
          .addColumn('observation_id', 'bigint', (c) =>
            c.notNull().references('observations.id').onDelete('cascade'),
          )
          .addColumn('cell', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('observation_cells_pk', ['cell', 'observation_id'])
          .execute();
        await db.schema
          .createTable('artifacts')
          .addColumn('observation_id', 'bigint', (c) =>
            c.notNull().references('observations.id').onDelete('cascade'),
          )
          .addColumn('file_id', 'bigint', (c) => c.notNull().references('files.id').onDelete('cascade'))
          .addColumn('role', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('artifacts_pk', ['observation_id', 'file_id'])
          .execute();
        await db.schema
          .createTable('keywords')
          .addColumn('collection', 'text', (c) => c.notNull())
          .addColumn('keyword', 'text', (c) => c.notNull())
          .addColumn('count', 'bigint', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('examples', 'text', (c) => c.notNull())
          .addColumn('first_seen', 'text', (c) => c.notNull())
          .addColumn('last_seen', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('keywords_pk', ['collection', 'keyword'])
          .execute();
        await id(db.schema.createTable('jobs'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('max_attempts', 'integer', (c) => c.notNull().defaultTo(5))
          .addColumn('lease_owner', 'text')
          .addColumn('lease_until', 'text')
          .addColumn('run_after', 'text', (c) => c.notNull())
          .addColumn('error', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('jobs_claim').on('jobs').columns(['status', 'run_after']).execute();
        await id(db.schema.createTable('events'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('events_created').on('events').columns(['created_at']).execute();
      },
    },
    '0002_lake': {
      // What the lake needs beyond the first schema: the current version of each key, the content
      // kind an extractor found, path columns, a keyword→value map per HDU for the typed views,
      // per-observation product flags, links between observations and the crawler's watermark.
      async up(db: Db) {
        await db.schema
          .alterTable('files')
          .addColumn('current', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema.alterTable('files').addColumn('kind', 'text').execute();
        await db.schema.alterTable('files').addColumn('info', 'text').execute();
        await db.schema.alterTable('files').addColumn('path_fields', 'text').execute();
        await db.schema
          .createIndex('files_current')
          .on('files')
          .columns(['current', 'zone', 'key'])
          .execute();
        await db.schema.alterTable('hdus').addColumn('keyvalues', 'text').execute();
        await db.schema
          .alterTable('observations')
          .addColumn('products', 'text', (c) => c.notNull().defaultTo('{}'))
          .execute();
        await db.schema
          .alterTable('observations')
          .addColumn('status', 'text', (c) => c.notNull().defaultTo('placeholder'))
          .execute();
        await db.schema
          .alterTable('observations')
          .addColumn('meta_rank', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema.alterTable('observations').addColumn('obs_type', 'text').execute();
        await db.schema
          .createTable('observation_links')
          .addColumn('observation_id', 'bigint', (c) =>
            c.notNull().references('observations.id').onDelete('cascade'),
          )
          .addColumn('relation', 'text', (c) => c.notNull())
          .addColumn('target_obs_id', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('observation_links_pk', ['observation_id', 'relation'])
          .execute();
        await db.schema
          .createIndex('observation_links_target')
          .on('observation_links')
          .columns(['target_obs_id'])
          .execute();
        await db.schema.createIndex('artifacts_file').on('artifacts').columns(['file_id']).execute();
        await db.schema
          .createTable('crawler_state')
          .addColumn('collection', 'text', (c) => c.primaryKey())
          .addColumn('last_file_id', 'bigint', (c) => c.notNull())
          .addColumn('view_columns', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0003_cells_by_observation': {
      // Re-indexing an observation replaces its cells: without this, each replacement scans the table.
      async up(db: Db) {
        await db.schema
          .createIndex('observation_cells_observation')
          .on('observation_cells')
          .columns(['observation_id'])
          .execute();
      },
    },
    '0004_accounts': {
      // Who may see what: users with roles and groups, API tokens (only their SHA-256 is kept), and
      // an index for the embargo test that every read path applies.
      async up(db: Db) {
        await db.schema
          .createTable('users')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('roles', 'text', (c) => c.notNull())
          .addColumn('groups', 'text', (c) => c.notNull().defaultTo('[]'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await id(db.schema.createTable('tokens'))
          .addColumn('user_name', 'text', (c) => c.notNull().references('users.name').onDelete('cascade'))
          .addColumn('label', 'text')
          .addColumn('hash', 'text', (c) => c.notNull().unique())
          .addColumn('prefix', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text')
          .addColumn('revoked_at', 'text')
          .addColumn('last_used_at', 'text')
          .execute();
        await db.schema
          .createIndex('observations_collection_public')
          .on('observations')
          .columns(['obs_collection', 'public_date'])
          .execute();
      },
    },
    '0005_tap': {
      // TAP's asynchronous (UWS) jobs: they outlive a restart. A job's result rows live in the
      // derived zone (tap/jobs/<id>/…); the row keeps where, and the job's phase and times.
      async up(db: Db) {
        await db.schema
          .createTable('tap_jobs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('owner', 'text')
          .addColumn('caller', 'text', (c) => c.notNull())
          .addColumn('run_id', 'text')
          .addColumn('phase', 'text', (c) => c.notNull())
          .addColumn('parameters', 'text', (c) => c.notNull())
          .addColumn('base_url', 'text', (c) => c.notNull())
          .addColumn('execution_duration', 'integer', (c) => c.notNull())
          .addColumn('destruction', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('started_at', 'text')
          .addColumn('ended_at', 'text')
          .addColumn('error', 'text')
          .addColumn('result_key', 'text')
          .addColumn('result_type', 'text')
          .addColumn('result_size', 'bigint')
          .addColumn('result_rows', 'bigint')
          .addColumn('overflow', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .createIndex('tap_jobs_owner')
          .on('tap_jobs')
          .columns(['owner', 'created_at'])
          .execute();
        await db.schema.createIndex('tap_jobs_destruction').on('tap_jobs').columns(['destruction']).execute();
        // ADQL's geometry on PostgreSQL: PL/pgSQL functions the translated SQL calls (SQLite
        // registers its JavaScript twins on each query connection). Loaded here, not at the top:
        // the translator's module imports the catalog's.
        if (dialect === 'postgres') {
          const { POSTGRES_GEOMETRY_FUNCTIONS } = await import('../services/tap/adql/geometry.ts');
          for (const f of POSTGRES_GEOMETRY_FUNCTIONS) await sql.raw(f).execute(db);
        }
      },
    },
    '0006_browse': {
      // The bucket browser (GET /api/browse) walks current keys in byte order, as S3 lists them.
      // SQLite compares text bytewise (files_current serves); PostgreSQL compares by the database's
      // locale unless told COLLATE "C", and only an index in that collation serves those ranges.
      async up(db: Db) {
        if (dialect === 'postgres')
          await sql
            .raw('CREATE INDEX files_current_bytes ON files (current, zone, (key COLLATE "C"))')
            .execute(db);
      },
    },
  };
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: async () => migrations(dialect) };
}
