import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { main } from '../../src/cli/main.ts';
import { ConfigError, ConfigSchema, loadConfig } from '../../src/config/config.ts';
import { DEFAULT_CONFIG_TEXT } from '../../src/config/init.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'fitslake-lake-'));
const quiet = { out: () => {}, err: () => {} };

test('fitslake init writes a commented config whose every value is the embedded default', async () => {
  const lake = dir();
  assert.equal(await main(['init', lake], quiet), 0);
  const text = readFileSync(join(lake, 'fitslake.yaml'), 'utf8');
  assert.ok(text.split('\n').filter((l) => l.trimStart().startsWith('#')).length >= 5, 'commented');
  assert.deepEqual(parse(text), parse(DEFAULT_CONFIG_TEXT));
  assert.deepEqual(
    ConfigSchema.parse(parse(text)),
    ConfigSchema.parse({}),
    'the file states exactly the defaults',
  );
  const { config } = loadConfig(lake, {});
  assert.equal(config.storage.kind, 'local');
  assert.equal(config.storage.path, join(lake, 'data'));
  assert.equal(config.catalog.sqlite.path, join(lake, 'catalog.sqlite'));
  assert.equal(config.server.host, '127.0.0.1');
  // A second init refuses to overwrite; --force does.
  let err = '';
  assert.equal(await main(['init', lake], { out: () => {}, err: (t) => void (err += t) }), 1);
  assert.match(err, /already exists/);
  assert.equal(await main(['init', lake, '--force'], quiet), 0);
});

test('environment variables override the file, by setting path', () => {
  const lake = dir();
  writeFileSync(join(lake, 'fitslake.yaml'), 'storage:\n  kind: local\nworkers:\n  concurrency: 4\n');
  const { config, sources } = loadConfig(lake, {
    FITSLAKE_STORAGE_KIND: 's3',
    FITSLAKE_STORAGE_S3_BUCKET: 'lake',
    FITSLAKE_STORAGE_S3_FORCE_PATH_STYLE: 'false',
    FITSLAKE_CATALOG_POSTGRES_PORT: '55432',
  });
  assert.equal(config.storage.kind, 's3');
  assert.equal(config.storage.s3.bucket, 'lake');
  assert.equal(config.storage.s3.forcePathStyle, false);
  assert.equal(config.catalog.postgres.port, 55432);
  assert.equal(config.workers.concurrency, 4);
  assert.equal(sources['storage.s3.forcePathStyle'], 'FITSLAKE_STORAGE_S3_FORCE_PATH_STYLE');
  assert.throws(
    () => loadConfig(lake, { FITSLAKE_STORAGE_NOPE: 'x' }),
    /FITSLAKE_STORAGE_NOPE: no such setting/,
  );
});

test('invalid values are refused with the setting named', () => {
  const lake = dir();
  writeFileSync(join(lake, 'fitslake.yaml'), 'storage:\n  kind: ftp\nserver:\n  port: 99999\n');
  assert.throws(
    () => loadConfig(lake, {}),
    (e: Error) =>
      e instanceof ConfigError && /storage\.kind/.test(e.message) && /server\.port/.test(e.message),
  );
});

test('secrets never come from the config file; a secrets file must be 0600', () => {
  const lake = dir();
  writeFileSync(join(lake, 'fitslake.yaml'), 'catalog:\n  postgres:\n    password: hunter2\n');
  assert.throws(() => loadConfig(lake, {}), /catalog\.postgres\.password looks like a secret/);
  writeFileSync(join(lake, 'fitslake.yaml'), 'catalog:\n  kind: postgres\n');
  const secrets = join(lake, '.fitslake-secrets');
  writeFileSync(
    secrets,
    'FITSLAKE_POSTGRES_PASSWORD=s3cret\nAWS_ACCESS_KEY_ID=AKIA\nAWS_SECRET_ACCESS_KEY="xyz"\n',
  );
  chmodSync(secrets, 0o644);
  assert.throws(() => loadConfig(lake, {}), /readable by others.*chmod 600/);
  chmodSync(secrets, 0o600);
  const { secrets: s } = loadConfig(lake, {});
  assert.deepEqual(s, { postgresPassword: 's3cret', s3AccessKeyId: 'AKIA', s3SecretAccessKey: 'xyz' });
  // The environment wins over the file.
  assert.equal(loadConfig(lake, { PGPASSWORD: 'env' }).secrets.postgresPassword, 's3cret');
  assert.equal(loadConfig(lake, { FITSLAKE_POSTGRES_PASSWORD: 'env' }).secrets.postgresPassword, 'env');
});
