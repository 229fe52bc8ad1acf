// Scale-out: the same code with an S3-compatible bucket as storage (OpenStack Swift + s3api,
// scripts/s3-swift.sh) and PostgreSQL as catalog (scripts/pg.sh), fed from a separate source bucket
// by listing and by S3 event notifications, worked by several separate `fitslake worker` processes.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { sql } from 'kysely';
import { type Catalog, openCatalog } from '../../src/catalog/catalog.ts';
import { main } from '../../src/cli/main.ts';
import { type NightFile, writeSampleNight } from '../../src/demo/sample-night.ts';
import { queueIngest } from '../../src/ingest/sources.ts';
import { Worker } from '../../src/ingest/worker.ts';
import { openLake } from '../../src/lake/lake.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const S3_PORT = 18090;
const PG_PORT = 55438;
const endpoint = `http://127.0.0.1:${S3_PORT}`;
const swiftEnv = {
  ...process.env,
  S3_SWIFT_PORT: String(S3_PORT),
  S3_SWIFT_OBJ_PORT: '16300',
  S3_SWIFT_MEMCACHE_PORT: '11311',
  S3_SWIFT_STATE: '/tmp/fitslake-s3-swift-scale',
};
const pgEnv = {
  ...process.env,
  PG_PORT: String(PG_PORT),
  PG_DATA: `/tmp/fitslake-pg-${PG_PORT}`,
  PG_DB: 'postgres',
};
const credentials = { accessKeyId: 'test:tester', secretAccessKey: 'testing' };
// Every lake command, in this process or a child, gets the S3 secrets from the environment (and
// no stray FITSLAKE_* settings of whoever runs the tests).
for (const k of Object.keys(process.env)) if (k.startsWith('FITSLAKE_')) delete process.env[k];
process.env.FITSLAKE_S3_ACCESS_KEY_ID = credentials.accessKeyId;
process.env.FITSLAKE_S3_SECRET_ACCESS_KEY = credentials.secretAccessKey;
const lakeEnv: NodeJS.ProcessEnv = { ...process.env };

const run = Math.random().toString(36).slice(2, 8);
const SOURCE = `source-${run}`;
const LAKE_BUCKET = `lake-${run}`;
const PREFIX = 'lk/';

const s3 = new S3Client({
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});

const opened: Catalog[] = [];

async function createDatabase(name: string): Promise<void> {
  const admin = openCatalog({
    kind: 'postgres',
    host: '127.0.0.1',
    port: PG_PORT,
    database: 'postgres',
    user: 'postgres',
  });
  try {
    await sql.raw(`CREATE DATABASE ${name}`).execute(admin.db);
  } finally {
    await admin.close();
  }
}

function catalogOf(database: string): Catalog {
  const cat = openCatalog({ kind: 'postgres', host: '127.0.0.1', port: PG_PORT, database, user: 'postgres' });
  opened.push(cat);
  return cat;
}

/** A lake folder whose fitslake.yaml puts storage in an S3 bucket and the catalog in PostgreSQL. */
function lakeDir(database: string, opts: { endpoint?: string; ingest?: string } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-scale-'));
  writeFileSync(
    join(dir, 'fitslake.yaml'),
    [
      'storage:',
      '  kind: s3',
      '  s3:',
      `    endpoint: ${opts.endpoint ?? endpoint}`,
      `    bucket: ${LAKE_BUCKET}`,
      `    prefix: ${PREFIX}`,
      '    forcePathStyle: true',
      'catalog:',
      '  kind: postgres',
      '  postgres:',
      '    host: 127.0.0.1',
      `    port: ${PG_PORT}`,
      `    database: ${database}`,
      '    user: postgres',
      'workers:',
      '  mode: external',
      'ingest:',
      '  previews: true',
      ...(opts.ingest ? [opts.ingest] : []),
      '',
    ].join('\n'),
  );
  return dir;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `fitslake ARGS` as its own process. */
function start(args: string[]): { child: ChildProcess; result: Promise<Ran> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], {
    cwd: ROOT,
    env: lakeEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const result = new Promise<Ran>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, result };
}

/** Runs `fitslake ARGS` as its own process, to its end. */
const cli = (args: string[]): Promise<Ran> => start(args).result;

/** Runs `fitslake ARGS` in this process (the same command code, without a process start). */
async function fitslake(args: string[]): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    out: (t) => {
      stdout += t;
    },
    err: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

function ok(r: Ran, what: string): Ran {
  assert.equal(r.code, 0, `${what} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

async function listAll(bucket: string, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) out.set(o.Key ?? '', o.Size ?? 0);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

const sh = promisify(execFile);

// The sample night is written while the servers start.
const nightDir = mkdtempSync(join(tmpdir(), 'fitslake-scale-night-'));
let night: NightFile[] = [];

before(async () => {
  const [swift, pg, files] = await Promise.allSettled([
    sh('bash', ['scripts/s3-swift.sh'], { cwd: ROOT, env: swiftEnv }),
    sh('bash', ['scripts/pg.sh'], { cwd: ROOT, env: pgEnv }),
    writeSampleNight(nightDir, { exposures: 2, size: 64 }),
  ]);
  for (const r of [swift, pg, files]) if (r.status === 'rejected') throw r.reason;
  night = (files as PromiseFulfilledResult<NightFile[]>).value;
  await s3.send(new CreateBucketCommand({ Bucket: SOURCE }));
  await s3.send(new CreateBucketCommand({ Bucket: LAKE_BUCKET }));
});

after(async () => {
  for (const c of opened) await c.close().catch(() => {});
  s3.destroy();
  // Also after a failed start: both scripts stop only what their own state folders name.
  await Promise.all([
    sh('bash', ['scripts/s3-swift-stop.sh'], { cwd: ROOT, env: { ...swiftEnv, S3_SWIFT_WIPE: '1' } }),
    sh('bash', ['scripts/pg.sh', 'stop'], { cwd: ROOT, env: { ...pgEnv, PG_WIPE: '1' } }),
  ]);
});

// The shared lake of tests 1–3 (they run in order and build on each other).
const DB = `scale_${process.pid}`;
let lake = '';
let cat: Catalog;

test('scale-out: a listed source bucket is ingested exactly once by two separate worker processes', async (t) => {
  // 3 instruments × (bias, dark, flat + 2 exposures × 5 products)
  assert.equal(night.length, 39);
  const sizes = new Map<string, number>();
  const upload = async (files: NightFile[]) => {
    for (const f of files) {
      const bytes = readFileSync(join(nightDir, f.path));
      sizes.set(f.path, bytes.length);
      await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key: `night/${f.path}`, Body: bytes }));
    }
  };
  await Promise.all([
    createDatabase(DB),
    ...[0, 1, 2, 3, 4, 5].map((i) => upload(night.filter((_, j) => j % 6 === i))),
  ]);
  lake = lakeDir(DB);
  cat = catalogOf(DB);

  const queued = ok(
    await cli([
      'ingest',
      `s3://${SOURCE}/night/`,
      '--collection',
      'n1',
      '--no-wait',
      '--no-progress',
      '--lake',
      lake,
    ]),
    'ingest',
  );
  assert.match(queued.stdout, /^queued 39 file\(s\)/);
  // workers.mode external: nothing ran in-process, every job is still waiting.
  const before = await cat.db
    .selectFrom('jobs')
    .select(['kind', 'status', sql<number>`count(*)`.as('n')])
    .groupBy(['kind', 'status'])
    .execute();
  assert.deepEqual(
    before.map((r) => ({ kind: r.kind, status: r.status, n: Number(r.n) })),
    [{ kind: 'ingest', status: 'queued', n: 39 }],
  );
  assert.equal(
    Number(
      (await cat.db.selectFrom('files').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n,
    ),
    0,
  );

  // Two separate worker processes at once, sharing nothing but the bucket and the PostgreSQL queue.
  const workers = await Promise.all([
    cli(['worker', '--until-idle', '--concurrency', '2', '--lake', lake]),
    cli(['worker', '--until-idle', '--concurrency', '2', '--lake', lake]),
  ]);
  const perWorker = workers.map((w, i) => {
    ok(w, `worker ${i + 1}`);
    const m = /stopped after (\d+) job\(s\)/.exec(w.stderr);
    assert.ok(m, `worker ${i + 1} stderr: ${w.stderr}`);
    return Number(m[1]);
  });

  // Every object catalogued exactly once, all ingested.
  const q = await fitslake([
    'query',
    "SELECT key, count(*) AS n, min(status) AS status FROM files WHERE zone = 'raw' GROUP BY key ORDER BY key",
    '--format',
    'json',
    '--lake',
    lake,
  ]);
  ok(q, 'query');
  const rows = JSON.parse(q.stdout) as { key: string; n: number; status: string }[];
  assert.deepEqual(
    rows.map((r) => r.key),
    night.map((f) => `n1/night/${f.path}`).sort(),
  );
  for (const r of rows) {
    assert.equal(Number(r.n), 1, `${r.key} catalogued ${r.n} times`);
    assert.equal(r.status, 'ingested', r.key);
  }
  const current = await cat.db
    .selectFrom('files')
    .select(['key', 'size'])
    .where('zone', '=', 'raw')
    .where('current', '=', 1)
    .execute();
  assert.equal(current.length, 39);
  for (const f of current) assert.equal(Number(f.size), sizes.get(f.key.slice('n1/night/'.length)), f.key);

  // Each observation holds all its products, under the right roles.
  const expected = new Map<string, Record<string, string>>();
  for (const f of night) {
    const p = expected.get(f.obsId) ?? {};
    p[f.role] = `n1/night/${f.path}`;
    expected.set(f.obsId, p);
  }
  const obs = await cat.db
    .selectFrom('observations')
    .select(['obs_id', 'obs_collection', 'status', 'products'])
    .orderBy('obs_id')
    .execute();
  assert.equal(obs.length, 15); // 9 calibration frames + 6 exposures
  for (const o of obs) {
    assert.equal(o.obs_collection, 'n1');
    assert.equal(o.status, 'complete', o.obs_id);
    assert.deepEqual(JSON.parse(o.products), expected.get(o.obs_id), o.obs_id);
  }
  const artifacts = await cat.db
    .selectFrom('artifacts')
    .innerJoin('files', 'files.id', 'artifacts.file_id')
    .select(sql<number>`count(*)`.as('n'))
    .where('files.zone', '=', 'raw')
    .executeTakeFirstOrThrow();
  assert.equal(Number(artifacts.n), 39);
  // The science frames of the exposures are linked to their bias, dark and flat.
  const links = await cat.db
    .selectFrom('observation_links')
    .select(sql<number>`count(*)`.as('n'))
    .executeTakeFirstOrThrow();
  assert.equal(Number(links.n), 6 * 3);

  // The raw zone of the LAKE bucket holds the copies (byte-for-byte sizes), nothing else under raw/.
  const raw = await listAll(LAKE_BUCKET, `${PREFIX}raw/`);
  assert.deepEqual([...raw.keys()].sort(), night.map((f) => `${PREFIX}raw/n1/night/${f.path}`).sort());
  for (const f of night) assert.equal(raw.get(`${PREFIX}raw/n1/night/${f.path}`), sizes.get(f.path));
  // The source bucket is untouched; previews went to their own zone of the lake bucket.
  assert.equal((await listAll(SOURCE, '')).size, 39);
  assert.ok((await listAll(LAKE_BUCKET, `${PREFIX}previews/`)).size > 0, 'previews zone is empty');

  // status --json: no ingest job left waiting, every one done, none parked.
  const status = JSON.parse(ok(await fitslake(['status', '--json', '--lake', lake]), 'status').stdout) as {
    catalog: string;
    storage: string;
    files: { zone: string; status: string; count: number }[];
    jobs: { kind: string; status: string; count: number }[];
    parkedJobs: unknown[];
  };
  assert.equal(status.catalog, 'postgres');
  assert.equal(status.storage, 's3');
  assert.deepEqual(
    status.jobs.filter((j) => j.kind === 'ingest'),
    [{ kind: 'ingest', status: 'done', count: 39 }],
  );
  assert.deepEqual(
    status.jobs.filter((j) => j.status !== 'done'),
    [],
    'jobs left queued, running or failed',
  );
  assert.deepEqual(status.parkedJobs, []);
  assert.deepEqual(
    status.files.find((f) => f.zone === 'raw'),
    { zone: 'raw', status: 'ingested', count: 39, bytes: [...sizes.values()].reduce((a, b) => a + b) },
  );
  // A preview job for every FITS and JPEG (not the 6 header dumps), all done.
  assert.deepEqual(
    status.jobs.filter((j) => j.kind === 'preview'),
    [{ kind: 'preview', status: 'done', count: 33 }],
  );
  // The two workers between them ran every job exactly once: no job claimed twice, none retried.
  const done = status.jobs.reduce((s, j) => s + j.count, 0);
  assert.equal(perWorker[0] + perWorker[1], done);
  const attempts = await cat.db
    .selectFrom('jobs')
    .select(['attempts', sql<number>`count(*)`.as('n')])
    .groupBy('attempts')
    .execute();
  assert.deepEqual(
    attempts.map((a) => ({ attempts: Number(a.attempts), n: Number(a.n) })),
    [{ attempts: 1, n: done }],
  );
  // How the work split depends on claim batch size and start-up timing: reported, not asserted.
  t.diagnostic(`jobs per worker: ${perWorker.join(' + ')} = ${done}`);
});

test('scale-out: listing the source bucket again copies and queues nothing (source ETags remembered)', async () => {
  assert.ok(lake, 'needs the first test');
  const raw = await listAll(LAKE_BUCKET, `${PREFIX}raw/`);
  const again = ok(
    await fitslake([
      'ingest',
      `s3://${SOURCE}/night/`,
      '--collection',
      'n1',
      '--no-wait',
      '--no-progress',
      '--lake',
      lake,
    ]),
    'ingest again',
  );
  assert.match(again.stdout, /^queued 0 file\(s\)/);
  const jobs = await cat.db
    .selectFrom('jobs')
    .select(sql<number>`count(*)`.as('n'))
    .where('kind', '=', 'ingest')
    .executeTakeFirstOrThrow();
  assert.equal(Number(jobs.n), 39);
  // Nothing was rewritten in the lake bucket either.
  assert.deepEqual(await listAll(LAKE_BUCKET, `${PREFIX}raw/`), raw);
});

test('scale-out: an S3 event notification for a key with a space brings that object in', async () => {
  assert.ok(lake, 'needs the first test');
  // A new object in the source bucket (a small FITS of the night under a new name).
  const bytes = readFileSync(join(nightDir, night.find((f) => f.role === 'small')!.path));
  const put = await s3.send(
    new PutObjectCommand({ Bucket: SOURCE, Key: 'night/extra file.fits', Body: bytes }),
  );
  const event = {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: new Date().toISOString(),
        eventName: 'ObjectCreated:Put',
        s3: {
          s3SchemaVersion: '1.0',
          bucket: { name: SOURCE, arn: `arn:aws:s3:::${SOURCE}` },
          object: {
            key: 'night/extra%20file.fits',
            size: bytes.length,
            eTag: (put.ETag ?? '').replace(/"/g, ''),
            sequencer: '0055AED6DCD90281E5',
          },
        },
      },
    ],
  };
  const file = join(lake, `event-${randomUUID().slice(0, 8)}.json`);
  writeFileSync(file, JSON.stringify(event));
  // `ingest` waits (the default) while a separate, long-running worker process does the work;
  // once the file is in, the worker is stopped the way a service manager does (SIGTERM).
  const worker = start(['worker', '--lake', lake]);
  const ingest = start(['ingest', file, '--s3-event', '--collection', 'n1', '--no-progress', '--lake', lake]);
  const first = await Promise.race([
    ingest.result.then((r) => ({ who: 'ingest', r })),
    worker.result.then((r) => ({ who: 'worker', r })),
  ]);
  if (first.who === 'worker') {
    ingest.child.kill('SIGTERM');
    assert.fail(`the worker exited before the ingest was done: ${first.r.code} ${first.r.stderr}`);
  }
  worker.child.kill('SIGTERM');
  assert.equal(ok(first.r, 'ingest --s3-event').stdout, 'ingested 1, unchanged 0, failed 0\n');
  const w = ok(await worker.result, 'worker');
  assert.match(w.stderr, /stopped after [1-9]\d* job\(s\)/);

  // An event's key is the object's whole key under the collection.
  const key = 'n1/night/extra file.fits';
  const rows = await cat.db
    .selectFrom('files')
    .select(['key', 'status', 'size', 'kind', 'current'])
    .where('zone', '=', 'raw')
    .where('key', '=', key)
    .execute();
  assert.deepEqual(
    rows.map((r) => ({ ...r, size: Number(r.size), current: Number(r.current) })),
    [{ key, status: 'ingested', size: bytes.length, kind: 'fits', current: 1 }],
  );
  const hdus = await cat.db
    .selectFrom('hdus')
    .innerJoin('files', 'files.id', 'hdus.file_id')
    .select(sql<number>`count(*)`.as('n'))
    .where('files.key', '=', key)
    .executeTakeFirstOrThrow();
  assert.equal(Number(hdus.n), 1);
  const raw = await listAll(LAKE_BUCKET, `${PREFIX}raw/${key}`);
  assert.deepEqual([...raw.entries()], [[`${PREFIX}raw/${key}`, bytes.length]]);
  const total = await cat.db
    .selectFrom('files')
    .select(sql<number>`count(*)`.as('n'))
    .where('zone', '=', 'raw')
    .where('current', '=', 1)
    .executeTakeFirstOrThrow();
  assert.equal(Number(total.n), 40);
  const ingestJobs = await cat.db
    .selectFrom('jobs')
    .select(['status', sql<number>`count(*)`.as('n')])
    .where('kind', '=', 'ingest')
    .groupBy('status')
    .execute();
  assert.deepEqual(
    ingestJobs.map((j) => ({ status: j.status, n: Number(j.n) })),
    [{ status: 'done', n: 40 }],
  );
});

test('scale-out: storage errors are retried with backoff, then the job is parked with the error', async () => {
  const db = `scale_${process.pid}_down`;
  await createDatabase(db);
  const dir = lakeDir(db, {
    endpoint: 'http://127.0.0.1:1',
    ingest: '  maxAttempts: 2\n  backoffMs: 50',
  });
  const l = await openLake(dir, lakeEnv);
  try {
    const [id] = await queueIngest(l, ['n1/unreachable.fits']);
    const deadline = Date.now() + 30_000;
    let job: { status: string; attempts: number; error: string | null } | undefined;
    for (;;) {
      await new Worker(l).run({ untilIdle: true, pollMs: 20 });
      job = await l.catalog.db
        .selectFrom('jobs')
        .select(['status', 'attempts', 'error'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      if (job.status === 'failed') break;
      assert.ok(Date.now() < deadline, `job still ${job.status} after ${job.attempts} attempt(s)`);
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(job.status, 'failed');
    assert.equal(Number(job.attempts), 2);
    assert.match(job.error ?? '', /n1\/unreachable\.fits/);
    assert.match(job.error ?? '', /ECONNREFUSED/);
    const events = await l.catalog.db
      .selectFrom('events')
      .select(['kind', 'payload'])
      .where('kind', '=', 'job.failed')
      .execute();
    assert.equal(events.length, 1);
    const payload = JSON.parse(events[0].payload);
    assert.equal(payload.job, id);
    assert.equal(payload.kind, 'ingest');
    assert.deepEqual(payload.payload, { zone: 'raw', key: 'n1/unreachable.fits' });
    assert.equal(payload.error, job.error);
    // Nothing was catalogued for it.
    const files = await l.catalog.db
      .selectFrom('files')
      .select(sql<number>`count(*)`.as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(files.n), 0);
  } finally {
    await l.close();
  }
});
