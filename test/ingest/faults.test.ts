// Crash safety of the whole CLI ingest: the process is killed with SIGKILL at random moments while
// it copies and catalogues 1,000 files, restarted, and the lake must converge to a catalog that
// matches storage exactly. Also: two processes ingesting the same key at once record one file.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { encodeImageHdu } from '../../src/fits/write.ts';
import { openLake } from '../../src/lake/lake.ts';
import { smallFrame } from '../util/frames.ts';

const CLI = ['--import', 'tsx', 'src/cli/run.ts'];
const N = 1000;
const NO_PREVIEWS = { FITSLAKE_INGEST_PREVIEWS: 'false' };
/** Far above a normal run (seconds) on a loaded 2-core machine. */
const RUN_LIMIT_MS = 240_000;

function run(
  args: string[],
  env: Record<string, string> = {},
): {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: string | null; out: string }>;
} {
  const child = spawn(process.execPath, [...CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  // A run that hangs fails this test with what it printed, instead of stalling the whole suite.
  const watchdog = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
  const done = new Promise<{ code: number | null; signal: string | null; out: string }>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      resolve({ code, signal, out });
    }),
  );
  return { child, done };
}

/** A seeded generator so a failing kill schedule can be replayed. */
function rng(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

function makeFiles(dir: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (let i = 0; i < N; i++) {
    const sub = `night${i % 4}`;
    mkdirSync(join(dir, sub), { recursive: true });
    const bytes = smallFrame(i);
    const name = `${sub}/frame_${String(i).padStart(4, '0')}.fits`;
    writeFileSync(join(dir, name), bytes);
    sums.set(`f/${name}`, createHash('sha256').update(bytes).digest('hex'));
  }
  return sums;
}

test('SIGKILL at random moments during a 1,000-file ingest, then restart: catalog matches storage exactly', async () => {
  const seed = Number(process.env.FAULT_SEED ?? Date.now() % 100000);
  const rand = rng(seed);
  const lake = mkdtempSync(join(tmpdir(), 'fitslake-faults-'));
  const src = mkdtempSync(join(tmpdir(), 'fitslake-faults-src-'));
  const sums = makeFiles(src);
  const args = ['ingest', src, '--recursive', '--collection', 'f', '--no-progress', '--lake', lake];
  const kills: number[] = [];
  for (let round = 0; round < 4; round++) {
    // Previews off: this is about the catalog converging (previews are covered elsewhere).
    const { child, done } = run(args, NO_PREVIEWS);
    const delay = 300 + Math.floor(rand() * 4000);
    const timer = setTimeout(() => child.kill('SIGKILL'), delay);
    const r = await done;
    clearTimeout(timer);
    if (r.signal === 'SIGKILL') {
      assert.ok(delay < RUN_LIMIT_MS, `round ${round} hung: ${r.out}`);
      kills.push(delay);
    } else assert.equal(r.code, 0, r.out);
  }
  assert.ok(kills.length >= 1, `seed ${seed}: at least one run must have been killed mid-way`);
  const final = await run(args, NO_PREVIEWS).done;
  assert.equal(final.code, 0, `seed ${seed}, kills at ${kills} ms: ${final.out}`);
  const m = /ingested (\d+), unchanged (\d+), failed (\d+)/.exec(final.out);
  assert.ok(m, final.out);
  assert.equal(Number(m[1]) + Number(m[2]), N, final.out);
  assert.equal(Number(m[3]), 0);

  // Helper worker processes of killed runs stop by themselves once their parent is gone.
  const stray = async () => {
    const { readdirSync, readFileSync: read } = await import('node:fs');
    return readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return read(`/proc/${p}/cmdline`, 'utf8').includes(lake);
        } catch {
          return false;
        }
      });
  };
  for (let i = 0; i < 40 && (await stray()).length; i++) await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(await stray(), [], 'no worker process outlives its command');
  const l = await openLake(lake);
  try {
    const db = l.catalog.db;
    // Storage: exactly the source files, byte for byte (no half-written object survives).
    const stored = new Map<string, string>();
    let token: string | undefined;
    do {
      const page = await l.zones.raw.list({ ...(token ? { continuationToken: token } : {}) });
      for (const o of page.objects) stored.set(o.key, o.sha256 ?? o.etag);
      token = page.nextToken;
    } while (token);
    assert.deepEqual([...stored.keys()].sort(), [...sums.keys()].sort());
    for (const [k, sum] of sums) assert.equal(stored.get(k), sum, `${k} stored intact`);
    for (const [k, sum] of sums) {
      const bytes = readFileSync(join(lake, 'data', 'raw', ...k.split('/')));
      assert.equal(createHash('sha256').update(bytes).digest('hex'), sum, `${k} bytes on disk`);
    }
    // Catalog: one current, ingested version per key, with its HDU, observation, artifact and cells.
    const files = await db
      .selectFrom('files')
      .select(['id', 'key', 'sha256', 'status', 'current'])
      .where('zone', '=', 'raw')
      .execute();
    assert.equal(files.length, N, 'no duplicate versions');
    assert.ok(files.every((f) => f.current === 1 && f.status === 'ingested' && f.sha256 === sums.get(f.key)));
    const count = async (table: 'hdus' | 'observations' | 'observation_cells') =>
      Number((await db.selectFrom(table).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
    assert.equal(await count('hdus'), N);
    assert.equal(await count('observations'), N);
    const rawArtifacts = await db
      .selectFrom('artifacts')
      .innerJoin('files', 'files.id', 'artifacts.file_id')
      .select(sql<number>`count(*)`.as('n'))
      .where('files.zone', '=', 'raw')
      .executeTakeFirstOrThrow();
    assert.equal(Number(rawArtifacts.n), N);
    assert.equal(await count('observation_cells'), N, 'one cell per position-only observation');
    const orphans = await db
      .selectFrom('observations')
      .leftJoin('artifacts', 'artifacts.observation_id', 'observations.id')
      .select('observations.id')
      .where('artifacts.file_id', 'is', null)
      .execute();
    assert.equal(orphans.length, 0);
    const created = await db
      .selectFrom('events')
      .select(sql<number>`count(*)`.as('n'))
      .where('kind', '=', 'observation.created')
      .executeTakeFirstOrThrow();
    assert.equal(Number(created.n), N, 'each observation announced exactly once');
    const pending = await db
      .selectFrom('jobs')
      .select(['status', sql<number>`count(*)`.as('n')])
      .where('kind', '=', 'ingest')
      .where('status', 'in', ['queued', 'running', 'failed'])
      .groupBy('status')
      .execute();
    assert.deepEqual(pending, [], 'no ingest job left behind');
    const follow = await db
      .selectFrom('jobs')
      .select(sql<number>`count(*)`.as('n'))
      .where('status', 'in', ['queued', 'running'])
      .executeTakeFirstOrThrow();
    assert.equal(Number(follow.n), 0, 'previews and crawls finished before ingest returned');
  } finally {
    await l.close();
  }
});

test('two processes ingesting the same key at once record one file version', async () => {
  const lake = mkdtempSync(join(tmpdir(), 'fitslake-race-'));
  const src = mkdtempSync(join(tmpdir(), 'fitslake-race-src-'));
  writeFileSync(join(src, 'same.fits'), encodeImageHdu(new Int16Array(16), [4, 4], [['OBJECT', 'M 1']]));
  const args = ['ingest', join(src, 'same.fits'), '--collection', 'r', '--no-progress', '--lake', lake];
  // Create the lake first so both processes do not race to run the first migration.
  assert.equal((await run(['status', '--lake', lake]).done).code, 0);
  const results = await Promise.all([run(args).done, run(args).done, run(args).done]);
  for (const r of results) assert.equal(r.code, 0, r.out);
  const l = await openLake(lake);
  try {
    const files = await l.catalog.db.selectFrom('files').selectAll().where('zone', '=', 'raw').execute();
    assert.equal(files.length, 1, JSON.stringify(files));
    assert.equal((await l.catalog.db.selectFrom('observations').selectAll().execute()).length, 1);
    assert.equal((await l.catalog.db.selectFrom('hdus').selectAll().execute()).length, 1);
  } finally {
    await l.close();
  }
});

test('a helper worker whose parent is already gone stops at once (it used to poll forever)', async () => {
  const lake = mkdtempSync(join(tmpdir(), 'fitslake-orphan-'));
  assert.equal((await run(['status', '--lake', lake]).done).code, 0);
  // The pid of a process that has ended: as if the command was killed before its helper started.
  const gone = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => gone.on('exit', r));
  const t0 = Date.now();
  const r = await run(['worker', '--no-reconcile', '--parent-pid', String(gone.pid), '--lake', lake]).done;
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /stopped after 0 job\(s\)/);
  assert.ok(Date.now() - t0 < RUN_LIMIT_MS);
});
