// End-to-end tests of the lake commands (init, ingest, query, ls, get, rm, status, worker, reindex,
// collection, demo) on the embedded defaults: a temporary lake folder, a SQLite catalog and local storage.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parquetReadObjects } from 'hyparquet';
import { main } from '../../src/cli/main.ts';
import type { Output } from '../../src/cli/output.ts';
import { type NightFile, writeSampleNight } from '../../src/demo/sample-night.ts';

const execFileP = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const RUN_TS = join(REPO, 'src/cli/run.ts');
// An absolute loader URL, so a child process started in another folder still finds tsx.
const TSX = import.meta.resolve('tsx');

interface Result {
  code: number;
  out: string;
  err: string;
  bytes: Buffer;
}

/** Runs the CLI in this process, capturing what it prints. */
async function cli(...args: string[]): Promise<Result> {
  let out = '';
  let err = '';
  const chunks: Uint8Array[] = [];
  const nl = (t: string) => (t.endsWith('\n') ? t : `${t}\n`);
  const io: Output = {
    out: (t) => void (out += nl(t)),
    err: (t) => void (err += nl(t)),
    bytes: (b) => void chunks.push(b),
  };
  const code = await main(args, io);
  return { code, out, err, bytes: Buffer.concat(chunks) };
}

let root = '';
let lake = '';
let night = '';
let files: NightFile[] = [];
let obsIds: string[] = [];
/** The child process of `startRunaway` (see the last test). */
let runaway: Promise<{ code: number | null; signal: string | null; stderr: string; ms: number }>;
let runawayChild: ChildProcess | undefined;

/** `query … --format json`: exactly one JSON array of row objects. */
async function rows<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  const r = await cli('query', sql, '--lake', lake, '--format', 'json');
  assert.equal(r.code, 0, r.err);
  const parsed = JSON.parse(r.out);
  assert.ok(Array.isArray(parsed), `not an array: ${r.out.slice(0, 200)}`);
  return parsed as T[];
}

/** The cards of an observatory header dump (.txt, one 80-character card per line). */
function headerDump(path: string): Record<string, string | number | boolean> {
  const cards: Record<string, string | number | boolean> = {};
  for (const line of readFileSync(path, 'latin1').split('\n')) {
    if (line.slice(8, 10) !== '= ') continue;
    const key = line.slice(0, 8).trim();
    const rest = line.slice(10).trim();
    if (rest.startsWith("'")) {
      const m = /^'((?:[^']|'')*)'/.exec(rest);
      cards[key] = (m?.[1] ?? '').replace(/''/g, "'").trimEnd();
    } else {
      const v = rest.split('/')[0].trim();
      cards[key] = v === 'T' ? true : v === 'F' ? false : Number(v);
    }
  }
  return cards;
}

/**
 * `query --timeout 3` of an aggregate, which SQLite computes inside one step (nothing returns to
 * JavaScript before it ends), on an idle lake of its own, in a child process so that a hang cannot keep
 * this test process alive. Started by the timeout test so it overlaps the tests after it.
 */
async function startRunaway(): Promise<void> {
  const idle = join(root, 'idle');
  assert.equal((await cli('init', idle)).code, 0);
  const t0 = Date.now();
  const child = spawn(
    process.execPath,
    [
      '--import',
      TSX,
      RUN_TS,
      'query',
      'WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000000) SELECT count(*) FROM c',
      '--lake',
      idle,
      '--timeout',
      '3',
    ],
    { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  runawayChild = child;
  let stderr = '';
  child.stderr?.on('data', (d) => void (stderr += d));
  const kill = setTimeout(() => child.kill('SIGKILL'), 45_000);
  runaway = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(kill);
      resolve({ code, signal, stderr, ms: Date.now() - t0 });
    }),
  );
}

const key = (f: NightFile) => `night1/${f.path}`;
const lines = (s: string) => s.split('\n').filter((l) => l.trim());

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'fitslake-lake-cli-'));
  lake = join(root, 'lake');
  night = join(root, 'night');
  files = await writeSampleNight(night, { exposures: 2, size: 64 });
  obsIds = [...new Set(files.map((f) => f.obsId))];
});

after(() => {
  if (runawayChild && runawayChild.exitCode === null && runawayChild.signalCode === null)
    runawayChild.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

test('init, then ingest a night recursively; ingesting again changes nothing', async () => {
  const init = await cli('init', lake);
  assert.equal(init.code, 0, init.err);
  assert.match(init.out, new RegExp(`wrote ${join(lake, 'fitslake.yaml')}`));
  assert.ok(statSync(join(lake, 'fitslake.yaml')).isFile());
  // A second init refuses to overwrite the config.
  assert.notEqual((await cli('init', lake)).code, 0);

  assert.equal(files.length, 39); // per instrument: 3 calibrations + 2 exposures × 5 files
  const args = ['ingest', night, '--lake', lake, '--recursive', '--collection', 'night1', '--no-progress'];
  const first = await cli(...args);
  assert.equal(first.code, 0, first.out + first.err);
  assert.deepEqual(lines(first.out), [`ingested ${files.length}, unchanged 0, failed 0`]);

  const again = await cli(...args);
  assert.equal(again.code, 0, again.out + again.err);
  assert.deepEqual(lines(again.out), [`ingested 0, unchanged ${files.length}, failed 0`]);
});

test('query --format json: one observation per base name with the header metadata and every product', async () => {
  type Obs = {
    obs_id: string;
    obs_type: string;
    filter: string;
    target_name: string | null;
    s_ra: number | null;
    s_dec: number | null;
    t_min: number;
    t_exptime: number;
    products: string;
    status: string;
    instrument_name: string;
  };
  const obs = await rows<Obs>(
    `SELECT obs_id, obs_type, filter, target_name, s_ra, s_dec, t_min, t_exptime, products, status,
            instrument_name
       FROM observations WHERE obs_collection = 'night1' ORDER BY obs_id`,
  );
  assert.deepEqual(
    obs.map((o) => o.obs_id),
    [...obsIds].sort(),
  );
  const exposures = obs.filter((o) => o.obs_type === 'EXPOSE');
  assert.equal(exposures.length, 6);
  for (const o of exposures) {
    const mine = files.filter((f) => f.obsId === o.obs_id);
    const dump = headerDump(join(night, mine.find((f) => f.role === 'header')!.path));
    assert.equal(o.status, 'complete');
    assert.equal(o.filter, dump.FILTER);
    assert.equal(o.target_name, dump.OBJECT);
    assert.equal(o.instrument_name, dump.INSTRUME);
    assert.equal(o.t_exptime, dump.EXPTIME);
    assert.ok(Math.abs(o.t_min - (dump['MJD-OBS'] as number)) < 1e-6, `${o.t_min} vs ${dump['MJD-OBS']}`);
    // The frame centre is the reference pixel, so the pointing is CRVAL1/CRVAL2.
    assert.ok(Math.abs((o.s_ra as number) - (dump.CRVAL1 as number)) < 1e-3, `${o.s_ra} vs ${dump.CRVAL1}`);
    assert.ok(Math.abs((o.s_dec as number) - (dump.CRVAL2 as number)) < 1e-3, `${o.s_dec} vs ${dump.CRVAL2}`);
    assert.deepEqual(JSON.parse(o.products), Object.fromEntries(mine.map((f) => [f.role, key(f)])));
    assert.deepEqual(Object.keys(JSON.parse(o.products)).sort(), [
      'header',
      'preview',
      'science',
      'small',
      'thumbnail',
    ]);
  }
  const calibrations = obs.filter((o) => o.obs_type !== 'EXPOSE');
  assert.deepEqual(calibrations.map((o) => o.obs_type).sort(), [
    'BIAS',
    'BIAS',
    'BIAS',
    'DARK',
    'DARK',
    'DARK',
    'SKYFLAT',
    'SKYFLAT',
    'SKYFLAT',
  ]);
  for (const o of calibrations) {
    assert.equal(o.status, 'complete');
    assert.deepEqual(Object.keys(JSON.parse(o.products)), ['science']);
  }
});

test('query --format csv, votable and parquet', async () => {
  const sql =
    "SELECT obs_id, filter, t_exptime FROM observations WHERE obs_collection = 'night1' ORDER BY obs_id";
  const csv = await cli('query', sql, '--lake', lake, '--format', 'csv');
  assert.equal(csv.code, 0, csv.err);
  const csvLines = lines(csv.out);
  assert.equal(csvLines[0], 'obs_id,filter,t_exptime');
  assert.equal(csvLines.length, 1 + obsIds.length);
  assert.equal(csvLines[1].split(',')[0], [...obsIds].sort()[0]);

  const vot = await cli('query', sql, '--lake', lake, '--format', 'votable');
  assert.equal(vot.code, 0, vot.err);
  assert.match(vot.out, /^(<\?xml|<VOTABLE)/);
  assert.match(vot.out, /<\/VOTABLE>\s*$/);
  assert.equal(vot.out.match(/<TR>/g)?.length, obsIds.length);

  const pq = await cli('query', sql, '--lake', lake, '--format', 'parquet');
  assert.equal(pq.code, 0, pq.err);
  assert.equal(pq.out, '');
  assert.equal(pq.bytes.subarray(0, 4).toString('latin1'), 'PAR1');
  assert.equal(pq.bytes.subarray(-4).toString('latin1'), 'PAR1');
  const back = await parquetReadObjects({
    file: pq.bytes.buffer.slice(pq.bytes.byteOffset, pq.bytes.byteOffset + pq.bytes.length) as ArrayBuffer,
  });
  assert.deepEqual(
    back.map((r) => r.obs_id),
    [...obsIds].sort(),
  );
});

test('query refuses writes and ATTACH and leaves the catalog as it was', async () => {
  const before = await rows<{ n: number }>(
    "SELECT count(*) AS n FROM files WHERE zone = 'raw' AND current = 1",
  );
  assert.equal(before[0].n, files.length);
  for (const sql of ['DELETE FROM files', "ATTACH DATABASE '/tmp/fitslake-evil.db' AS evil"]) {
    const r = await cli('query', sql, '--lake', lake);
    assert.notEqual(r.code, 0, sql);
    assert.match(r.err, /only SELECT/i, r.err);
  }
  // A write behind a WITH passes the first-word check but not the read-only connection.
  const cte = await cli('query', 'WITH x AS (SELECT 1) DELETE FROM files', '--lake', lake);
  assert.notEqual(cte.code, 0);
  assert.match(cte.err, /SELECT/);
  const afterRows = await rows<{ n: number }>(
    "SELECT count(*) AS n FROM files WHERE zone = 'raw' AND current = 1",
  );
  assert.equal(afterRows[0].n, files.length);
});

test('query --timeout stops a query that runs too long', async () => {
  await startRunaway();
  const t0 = Date.now();
  const r = await cli(
    'query',
    'WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000000) SELECT n FROM c WHERE n % 1000 = 0',
    '--lake',
    lake,
    '--timeout',
    '1',
    '--max-rows',
    '1000000000',
  );
  const ms = Date.now() - t0;
  assert.notEqual(r.code, 0);
  assert.match(r.err, /longer than 1000 ms/);
  assert.ok(ms < 8000, `took ${ms} ms`);
});

test('the typed header view of a collection, after the crawl', async () => {
  const w = await cli('worker', '--lake', lake, '--until-idle');
  assert.equal(w.code, 0, w.err);
  assert.match(w.err, /stopped after \d+ job\(s\)/);
  const got = await rows<{ FILTER: string; AIRMASS: number }>(
    'SELECT "FILTER", "AIRMASS" FROM hdr_night1 WHERE "AIRMASS" < 1.5',
  );
  assert.ok(got.length > 0);
  for (const r of got) {
    assert.equal(typeof r.AIRMASS, 'number');
    assert.ok(r.AIRMASS < 1.5);
  }
  // The same (filter, airmass) pairs as the exposures' own headers say.
  const expected = new Set<string>();
  for (const f of files.filter((f) => f.role === 'header')) {
    const d = headerDump(join(night, f.path));
    if ((d.AIRMASS as number) < 1.5) expected.add(`${d.FILTER} ${d.AIRMASS}`);
  }
  assert.ok(expected.size > 0);
  assert.deepEqual(new Set(got.map((r) => `${r.FILTER} ${r.AIRMASS}`)), expected);
});

test('status --json counts files by zone and status, observations and jobs', async () => {
  const r = await cli('status', '--lake', lake, '--json');
  assert.equal(r.code, 0, r.err);
  assert.equal(lines(r.out).length, 1);
  const s = JSON.parse(r.out);
  assert.equal(s.lake, lake);
  assert.equal(s.catalog, 'sqlite');
  assert.equal(s.storage, 'local');
  const raw = s.files.filter((f: { zone: string }) => f.zone === 'raw');
  const bytes = files.reduce((n, f) => n + statSync(join(night, f.path)).size, 0);
  assert.deepEqual(raw, [{ zone: 'raw', status: 'ingested', count: files.length, bytes }]);
  assert.ok(s.files.some((f: { zone: string; count: number }) => f.zone === 'previews' && f.count > 0));
  assert.deepEqual(s.observations, [{ collection: 'night1', status: 'complete', count: obsIds.length }]);
  const jobs = new Map<string, number>(
    s.jobs.map((j: { kind: string; status: string; count: number }) => [`${j.kind}/${j.status}`, j.count]),
  );
  // Local files are stored and catalogued in one pass (no ingest job); the crawl and previews ran as
  // jobs; nothing is left or failed.
  assert.equal(jobs.get('ingest/done'), undefined);
  assert.ok((jobs.get('crawl/done') ?? 0) >= 1);
  assert.ok((jobs.get('preview/done') ?? 0) >= 1);
  assert.deepEqual(
    [...jobs.keys()].filter((k) => !k.endsWith('/done')),
    [],
  );
  assert.deepEqual(s.failures, []);
  assert.deepEqual(s.parkedJobs, []);
});

test('ls lists folders and objects; get -o writes the exact bytes', async () => {
  const top = await cli('ls', '--lake', lake);
  assert.equal(top.code, 0, top.err);
  assert.deepEqual(
    lines(top.out).map((l) => l.trim()),
    ['night1/'],
  );

  const folders = await cli('ls', 'night1/', '--lake', lake, '--json');
  assert.equal(folders.code, 0, folders.err);
  assert.deepEqual(
    lines(folders.out).map((l) => JSON.parse(l)),
    [{ prefix: 'night1/ep003ms/' }, { prefix: 'night1/fa002ms/' }, { prefix: 'night1/kb001ms/' }],
  );

  const all = await cli('ls', 'night1/', '--lake', lake, '--recursive', '--json');
  assert.equal(all.code, 0, all.err);
  const listed = lines(all.out).map((l) => JSON.parse(l) as { key: string; size: number });
  assert.deepEqual(listed.map((o) => o.key).sort(), files.map(key).sort());
  for (const o of listed) assert.equal(o.size, statSync(join(night, o.key.slice('night1/'.length))).size);

  const plain = await cli('ls', 'night1/kb001ms/', '--lake', lake, '--recursive');
  const oneFile = files.find((f) => f.path.startsWith('kb001ms/') && f.role === 'small')!;
  assert.ok(
    lines(plain.out).some((l) => l.trim() === `${statSync(join(night, oneFile.path)).size}  ${key(oneFile)}`),
  );

  for (const f of [files.find((f) => f.role === 'science')!, files.find((f) => f.role === 'preview')!]) {
    const dest = join(root, `got-${f.path.replace(/\//g, '_')}`);
    const g = await cli('get', key(f), '--lake', lake, '-o', dest);
    assert.equal(g.code, 0, g.err);
    assert.ok(readFileSync(dest).equals(readFileSync(join(night, f.path))));
  }
  const missing = await cli('get', 'night1/nope.fits', '--lake', lake, '-o', join(root, 'nope'));
  assert.equal(missing.code, 1);
  assert.match(missing.err, /night1\/nope\.fits: no such object/);
});

test('a corrupt file fails (exit 2) but is kept; the rest is ingested; a plain file has no observation', async () => {
  const extra = join(root, 'extra');
  mkdirSync(extra);
  const junk = 'this is not a FITS file, just text\n';
  writeFileSync(join(extra, 'junk.fits'), junk);
  writeFileSync(join(extra, 'notes.csv'), 'target,filter\nM 51,V\n');
  const good = files.find((f) => f.role === 'small')!;
  copyFileSync(join(night, good.path), join(extra, 'good-small.fits'));

  const r = await cli('ingest', extra, '--lake', lake, '--collection', 'misc', '--no-progress');
  assert.equal(r.code, 2, r.out + r.err);
  const out = lines(r.out);
  assert.equal(out[0], 'ingested 2, unchanged 0, failed 1');
  assert.equal(out.length, 2);
  assert.match(out[1], /^\s+failed misc\/junk\.fits: .*does not start with SIMPLE/);

  // The bytes of the failed file stay in storage.
  const dest = join(root, 'junk-back');
  assert.equal((await cli('get', 'misc/junk.fits', '--lake', lake, '-o', dest)).code, 0);
  assert.equal(readFileSync(dest, 'utf8'), junk);

  const catalogued = await rows<{ key: string; kind: string; status: string; error: string | null }>(
    "SELECT key, kind, status, error FROM files WHERE zone = 'raw' AND collection = 'misc' ORDER BY key",
  );
  assert.deepEqual(
    catalogued.map((f) => [f.key, f.kind, f.status]),
    [
      ['misc/good-small.fits', 'fits', 'ingested'],
      ['misc/junk.fits', 'fits', 'failed'],
      ['misc/notes.csv', 'plain', 'ingested'],
    ],
  );
  assert.match(catalogued[1].error ?? '', /does not start with SIMPLE/);

  const linked = await rows<{ key: string; obs_id: string }>(
    `SELECT f.key, o.obs_id FROM artifacts a JOIN files f ON f.id = a.file_id
       JOIN observations o ON o.id = a.observation_id WHERE f.collection = 'misc' AND f.zone = 'raw'`,
  );
  assert.deepEqual(
    linked.map((l) => l.key),
    ['misc/good-small.fits'],
  );
  const misc = await rows<{ products: string }>(
    "SELECT products FROM observations WHERE obs_collection = 'misc'",
  );
  assert.equal(misc.length, 1);
  assert.deepEqual(JSON.parse(misc[0].products), { small: 'misc/good-small.fits' });
});

test('collection create/set with reindex sets calib_level and the proprietary period', async () => {
  const c = await cli(
    'collection',
    'create',
    'c2',
    '--lake',
    lake,
    '--calib-level',
    '2',
    '--proprietary-days',
    '365',
    '--map',
    't_exptime=EXPTIME',
  );
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /created collection c2/);

  const science = files.find(
    (f) => f.role === 'science' && f.path.startsWith('fa002ms/') && /-ex10/.test(f.path),
  )!;
  const ing = await cli(
    'ingest',
    join(night, science.path),
    '--lake',
    lake,
    '--collection',
    'c2',
    '--no-progress',
  );
  assert.equal(ing.code, 0, ing.out + ing.err);
  assert.deepEqual(lines(ing.out), ['ingested 1, unchanged 0, failed 0']);

  type Obs = { obs_id: string; calib_level: number; t_min: number; t_exptime: number; public_date: string };
  const sql =
    "SELECT obs_id, calib_level, t_min, t_exptime, public_date FROM observations WHERE obs_collection = 'c2'";
  const [o] = await rows<Obs>(sql);
  assert.equal(o.obs_id, science.obsId);
  assert.equal(o.calib_level, 2);
  assert.equal(o.t_exptime, headerDump(join(night, science.path.replace('.fits.bz2', '.txt'))).EXPTIME);
  // public_date = t_min (MJD) + 365 days.
  const publicMjd = Date.parse(o.public_date) / 86_400_000 + 40_587;
  assert.ok(Math.abs(publicMjd - o.t_min - 365) < 1e-6, `${o.public_date} vs MJD ${o.t_min}`);

  const set = await cli('collection', 'set', 'c2', '--lake', lake, '--calib-level', '3');
  assert.equal(set.code, 0, set.err);
  assert.match(set.out, /updated collection c2: .*"calibLevel":3/);
  const re = await cli('reindex', '--lake', lake, '--prefix', 'c2/');
  assert.equal(re.code, 0, re.out + re.err);
  assert.deepEqual(lines(re.out), ['re-extracted 1, failed 0']);
  const [o3] = await rows<Obs>(sql);
  assert.equal(o3.calib_level, 3);
  assert.equal(o3.public_date, o.public_date);
  // Other collections are untouched.
  const n1 = await rows<{ calib_level: number }>(
    "SELECT DISTINCT calib_level FROM observations WHERE obs_collection = 'night1'",
  );
  assert.deepEqual(n1, [{ calib_level: 1 }]);

  const dup = await cli('collection', 'create', 'c2', '--lake', lake);
  assert.notEqual(dup.code, 0);
  assert.match(dup.err, /collection c2 exists/);
});

test('rm moves the object to the recycle zone, marks it deleted and drops its lone observation', async () => {
  const bias = files.find((f) => f.path.startsWith('kb001ms/') && /-bi11\.fits\.bz2$/.test(f.path))!;
  const k = key(bias);
  assert.equal((await rows(`SELECT id FROM observations WHERE obs_id = '${bias.obsId}'`)).length, 1);

  const r = await cli('rm', k, '--lake', lake);
  assert.equal(r.code, 0, r.err);
  const stamp = new RegExp(
    `^removed ${k.replace(/[.]/g, '\\.')} \\(kept in the recycle zone as (\\S+)/${k.replace(/[.]/g, '\\.')}\\)$`,
  );
  assert.match(lines(r.out)[0], stamp);

  const ls = await cli('ls', 'night1/kb001ms/', '--lake', lake, '--recursive');
  assert.ok(!ls.out.includes(k));
  assert.equal(lines(ls.out).length, files.filter((f) => f.path.startsWith('kb001ms/')).length - 1);

  const recycled = await cli('ls', '--lake', lake, '--zone', 'recycle', '--recursive', '--json');
  const objects = lines(recycled.out).map((l) => JSON.parse(l) as { key: string; size: number });
  assert.equal(objects.length, 1);
  assert.ok(objects[0].key.endsWith(`/${k}`), objects[0].key);
  assert.equal(objects[0].size, statSync(join(night, bias.path)).size);
  const dest = join(root, 'recycled');
  assert.equal((await cli('get', objects[0].key, '--lake', lake, '--zone', 'recycle', '-o', dest)).code, 0);
  assert.ok(readFileSync(dest).equals(readFileSync(join(night, bias.path))));

  const versions = await rows<{ status: string; current: number }>(
    `SELECT status, current FROM files WHERE zone = 'raw' AND key = '${k}'`,
  );
  assert.deepEqual(versions, [{ status: 'deleted', current: 0 }]);
  assert.deepEqual(await rows(`SELECT id FROM observations WHERE obs_id = '${bias.obsId}'`), []);
  const left = await rows<{ n: number }>(
    "SELECT count(*) AS n FROM observations WHERE obs_collection = 'night1'",
  );
  assert.equal(left[0].n, obsIds.length - 1);

  const again = await cli('rm', k, '--lake', lake);
  assert.equal(again.code, 1);
  assert.match(again.err, /no such object/);
});

test('--lake wins over FITSLAKE_LAKE; FITSLAKE_LAKE selects the lake from another folder (get to stdout)', async () => {
  const saved = process.env.FITSLAKE_LAKE;
  process.env.FITSLAKE_LAKE = join(root, 'no-lake-here');
  try {
    const r = await cli('status', '--lake', lake, '--json');
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).lake, lake);
  } finally {
    if (saved === undefined) delete process.env.FITSLAKE_LAKE;
    else process.env.FITSLAKE_LAKE = saved;
  }

  const elsewhere = join(root, 'elsewhere');
  mkdirSync(elsewhere);
  const science = files.find((f) => f.role === 'science' && /-ex10/.test(f.path))!;
  const { stdout } = await execFileP(process.execPath, ['--import', TSX, RUN_TS, 'get', key(science)], {
    cwd: elsewhere,
    env: { ...process.env, FITSLAKE_LAKE: lake },
    encoding: 'buffer',
    maxBuffer: 1 << 26,
  });
  assert.ok(stdout.equals(readFileSync(join(night, science.path))));
});

test('demo creates a lake with a night of three instruments and summarises it', async () => {
  const dir = join(root, 'demo');
  const r = await cli('demo', dir, '--exposures', '2', '--size', '64', '--no-serve');
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /39 files written/);
  assert.match(r.out, /^ingested 39, unchanged 0, failed 0$/m);
  const table = r.out.split('observations by instrument and frame type:\n')[1].split('science exposures')[0];
  const rowsByInst = lines(table).map((l) => l.trim().split(/\s+/));
  assert.deepEqual([...new Set(rowsByInst.map((c) => c[0]))], ['ep003ms', 'fa002ms', 'kb001ms']);
  for (const inst of ['ep003ms', 'fa002ms', 'kb001ms'])
    assert.deepEqual(
      rowsByInst
        .filter((c) => c[0] === inst)
        .map((c) => c.slice(1))
        .sort((a, b) => a[0].localeCompare(b[0])),
      [
        ['BIAS', 'complete', '1'],
        ['DARK', 'complete', '1'],
        ['EXPOSE', 'complete', '2'],
        ['SKYFLAT', 'complete', '1'],
      ],
    );
  assert.match(r.out, /storage: .*raw 39 files/);
  assert.match(r.out, /calibration links \(bias\/dark\/flat\): 18$/m);
});

test('query --timeout also ends the process when one step of SQLite runs long (an aggregate)', async () => {
  const r = await runaway;
  assert.equal(r.signal, null, `killed after ${r.ms} ms: the process did not exit on its own`);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /longer than 3000 ms/);
  // Counting to 1e9 takes minutes: ending well before that is the time limit at work (loose, as CI may be busy).
  assert.ok(r.ms < 40_000, `took ${r.ms} ms`);
});
