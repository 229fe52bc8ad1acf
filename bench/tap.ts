// (g) TAP sync latency on N observations (1,000,000 by default): a fixed query set — count, a cone in
// a dense field and in a sparse one, a time range, TOP 100 sorted, GROUP BY instrument, a join of
// ivoa.obscore with a keyword view — sent to /tap/sync of a server in its own process, on loopback,
// one request at a time: warm-up runs, then --runs timed runs (p50 and p95, rows returned).
//
// Peers in the same run, for ratios (each sees the same lake, page cache warm for all):
//   engine   the query's translated SQL (translateAdql, as the service translates it, LIMIT MAXREC+1)
//            run directly on the catalog in-process: a read-only better-sqlite3 connection with the
//            ADQL geometry functions, every row read (PostgreSQL: the catalog's own pool);
//   runQuery the service's query function in-process (src/services/tap/query.ts): metadata +
//            translation + the sandboxed query process + the VOTable — everything but HTTP
//            (back to back, up to 10 runs);
//   pyvo     Debian's python3-pyvo (TAPService.run_sync, which parses the VOTable with astropy)
//            against the same server, 5 runs --pause s apart, compared with HTTP runs as far apart:
//            what a client pays on top.
//
// Back-to-back requests and requests --pause s apart are both measured: the service runs each
// SQLite query in a fresh sandboxed process and keeps one spare started ahead, which a request
// that follows the previous one at once finds still starting.
//
// The lake is bench/make-observations.ts's (cached under bench/data/lake-N); the keyword views
// (`hdr_<collection>`, lake.hdr_<collection> in TAP) are made by running the schema crawler on every
// collection once, as the worker would after ingest. The server is `fitslake serve` when it mounts
// /tap (GET /tap/availability answers), else a small script with buildServer({ plugins:
// [...servicePlugins, tapPlugin()] }) — the same server as `serve`, TAP added.
//
// Usage: node --import tsx bench/tap.ts [--n 1000000] [--runs 20] [--warmup 2] [--budget 60]
//          [--pg] [--built] [--pause 2] [--no-pyvo] [--only count,cone-dense,…] [--wait-load 2.5]
//   --budget: seconds of timed runs per query and peer at most (slow queries get fewer runs, at least 3)
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import type { Visibility } from '../src/catalog/access.ts';
import { keepQueryProcessWarm } from '../src/catalog/readonly.ts';
import { registerSqliteGeometry } from '../src/catalog/sql-geometry.ts';
import { crawl } from '../src/ingest/crawler.ts';
import { openLake } from '../src/lake/lake.ts';
import { translateAdql } from '../src/services/tap/adql/index.ts';
import { tapMetadata } from '../src/services/tap/metadata.ts';
import { checkParams, runQuery } from '../src/services/tap/query.ts';
import { waitForUrl } from './child.ts';
import { makeObservationLake } from './make-observations.ts';

// ---------------------------------------------------------------- options

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
};
const N = Number(arg('n', '1000000'));
const RUNS = Number(arg('runs', '20'));
const WARMUP = Number(arg('warmup', '2'));
const BUDGET_MS = Number(arg('budget', '60')) * 1000;
const PG = process.argv.includes('--pg');
const PYVO = !process.argv.includes('--no-pyvo');
/** The server from dist/ (plain Node, its query processes too) rather than the source through tsx. */
const BUILT = process.argv.includes('--built');
/** Runs with this pause (s) before each, so the server's spare query process is ready: 0 skips them. */
const PAUSE_MS = Number(arg('pause', '2')) * 1000;
const WAIT_LOAD = Number(arg('wait-load', '0'));
const LAKE = resolve(`bench/data/lake-${N}${PG ? '-pg' : ''}`);
const MAXREC = 10_000; // the service's default MAXREC (min(10,000, server.sqlMaxRows))
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const log = (s: string) => process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------- the query set

const CONE = (ra: number, dec: number, r: number) =>
  `CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', ${ra}, ${dec}, ${r})) = 1`;

interface Query {
  id: string;
  name: string;
  adql: string;
  /** Also measured with FORMAT=csv. */
  csv?: boolean;
}

const QUERIES: Query[] = [
  { id: 'count', name: 'count(*)', adql: 'SELECT COUNT(*) AS n FROM ivoa.obscore' },
  {
    id: 'cone-dense',
    name: 'cone 0.5°, dense field (COSMOS), SELECT *',
    adql: `SELECT * FROM ivoa.obscore WHERE ${CONE(150.1192, 2.2058, 0.5)}`,
    csv: true,
  },
  {
    id: 'cone-sparse',
    name: 'cone 0.5°, sparse sky, SELECT *',
    adql: `SELECT * FROM ivoa.obscore WHERE ${CONE(120.0, 30.0, 0.5)}`,
  },
  {
    id: 'time',
    name: 'time range: overlap of 10 nights, 5 columns',
    adql:
      'SELECT obs_id, t_min, t_max, instrument_name, filter FROM ivoa.obscore ' +
      'WHERE t_min <= 59010.0 AND t_max >= 59000.0',
  },
  {
    id: 'top',
    name: 'TOP 100 * ORDER BY t_min DESC',
    adql: 'SELECT TOP 100 * FROM ivoa.obscore ORDER BY t_min DESC',
  },
  {
    id: 'group',
    name: 'GROUP BY instrument_name, count',
    adql: 'SELECT instrument_name, COUNT(*) AS n FROM ivoa.obscore GROUP BY instrument_name ORDER BY n DESC',
  },
  {
    // ivoa.obscore publishes the science file's catalog id; the keyword view is keyed by file_id.
    id: 'join',
    name: 'obscore ⋈ lake.hdr_survey on science_file_id, cone 0.5° COSMOS',
    adql:
      'SELECT o.obs_id, o.t_min, o.filter, h.SEEING, h.AIRMASS, h.EXPTIME ' +
      'FROM ivoa.obscore AS o JOIN lake.hdr_survey AS h ON h.file_id = o.science_file_id ' +
      `WHERE h.hdu = 0 AND ${CONE(150.1192, 2.2058, 0.5).replace(/s_ra|s_dec/g, (c) => `o.${c}`)}`,
  },
];
const ONLY = arg('only', QUERIES.map((q) => q.id).join(',')).split(',');
const queries = QUERIES.filter((q) => ONLY.includes(q.id));

// ---------------------------------------------------------------- the lake and its keyword views

log(`load average at start: ${loadavg()}`);
const manifest = await makeObservationLake(LAKE, N, { pg: PG, log });
const lake = await openLake(LAKE);
const cat = lake.catalog;
{
  const collections = (await cat.db.selectFrom('collections').select('name').execute()).map((r) => r.name);
  const crawled = new Set(
    (await cat.db.selectFrom('crawler_state').select('collection').execute()).map((r) => r.collection),
  );
  for (const c of collections.filter((x) => !crawled.has(x))) {
    const t = performance.now();
    const r = await crawl(cat, c);
    log(
      `  crawled ${c}: ${r.files.toLocaleString('en')} files in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
  }
  if (cat.dialect === 'postgres') await sql`ANALYZE`.execute(cat.db);
}
log(
  `lake: ${LAKE} (${manifest.dialect}; ${manifest.n.toLocaleString('en')} observations, ${manifest.hdus.toLocaleString('en')} HDUs)`,
);

const admin: Visibility = {
  caller: { user: null, roles: ['admin'] } as unknown as Visibility['caller'],
  all: true,
  collections: [],
  now: new Date().toISOString(),
};

// ---------------------------------------------------------------- timing

interface Stat {
  runs: number;
  p50: number;
  p95: number;
  rows?: number;
  bytes?: number;
}

const quantile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
};

/** Warm-up, then up to RUNS timed runs within the budget (at least 3). */
async function timed(f: () => Promise<{ rows?: number; bytes?: number }>, runs = RUNS): Promise<Stat> {
  let last: { rows?: number; bytes?: number } = {};
  for (let i = 0; i < WARMUP; i++) last = await f();
  const lat: number[] = [];
  let spent = 0;
  while (lat.length < runs && (lat.length < 3 || spent < BUDGET_MS)) {
    const t = performance.now();
    last = await f();
    const dt = performance.now() - t;
    lat.push(dt);
    spent += dt;
  }
  return { runs: lat.length, p50: quantile(lat, 0.5), p95: quantile(lat, 0.95), ...last };
}

// ---------------------------------------------------------------- peers in-process

const meta = await tapMetadata(cat, admin, 'http://127.0.0.1');
const translated = new Map(
  queries.map((q) => [
    q.id,
    translateAdql(q.adql, { dialect: cat.dialect, resolve: meta.resolve, maxrec: MAXREC }).sql,
  ]),
);

/** The engine alone: the translated SQL on a read-only connection, every row read. */
let engineDb: BetterSqlite3.Database | undefined;
async function engine(q: Query): Promise<{ rows: number }> {
  const text = translated.get(q.id) as string;
  if (cat.options.kind === 'sqlite') {
    if (!engineDb) {
      engineDb = new BetterSqlite3(cat.options.path, { readonly: true, fileMustExist: true });
      registerSqliteGeometry(engineDb);
    }
    return { rows: engineDb.prepare(text).all().length };
  }
  const r = await sql.raw(text).execute(cat.db);
  return { rows: r.rows.length };
}

/** Translation alone (metadata of the caller's tables, then ADQL → SQL), as runQuery does it. */
async function translation(q: Query): Promise<{ rows?: number }> {
  const m = await tapMetadata(cat, admin, 'http://127.0.0.1');
  translateAdql(q.adql, { dialect: cat.dialect, resolve: m.resolve, maxrec: MAXREC });
  return {};
}

if (cat.dialect === 'sqlite') keepQueryProcessWarm();
const timeoutMs = lake.loaded.config.server.sqlTimeoutMs;
async function inService(q: Query, format: string): Promise<{ rows: number; bytes: number }> {
  const checked = checkParams(
    { LANG: 'ADQL', QUERY: q.adql, FORMAT: format },
    {
      defaultMaxrec: MAXREC,
      hardMaxrec: lake.loaded.config.server.sqlMaxRows,
    },
  );
  const r = await runQuery(checked, { catalog: cat, visibility: admin, base: 'http://127.0.0.1', timeoutMs });
  return { rows: r.rows, bytes: r.body.length };
}

// ---------------------------------------------------------------- the server

const ENV = { ...process.env, UV_THREADPOOL_SIZE: '16', FITSLAKE_SERVER_RATE_LIMIT: '1000000000' };

/** `fitslake serve` from the source (as bench/server.ts starts it). */
async function startServe(): Promise<{ child: ChildProcess; url: string }> {
  const serve = ['serve', '--lake', LAKE, '--port', '0', '--quiet', '--no-worker'];
  const child = spawn(
    process.execPath,
    BUILT
      ? ['bin/fitslake.js', ...serve]
      : [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          "const { main } = await import('./src/cli/main.ts'); process.exitCode = await main(process.argv.slice(1));",
          ...serve,
        ],
    { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return {
    child,
    url: await waitForUrl(child, /fitslake serving (http:\/\/\S+)/, 'fitslake serve', 120_000),
  };
}

/** The same server with TAP added, for when `serve` does not mount it yet. */
const WITH_TAP = `const { openLake } = await import('./src/lake/lake.ts');
const { buildServer } = await import('./src/services/http/server.ts');
const { servicePlugins } = await import('./src/services/index.ts');
const { tapPlugin } = await import('./src/services/tap/routes.ts');
const lake = await openLake(process.argv[1]);
const app = await buildServer({ lake, plugins: [...servicePlugins, tapPlugin()], rateLimit: 0, logger: false });
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write('tap serving http://127.0.0.1:' + app.server.address().port + '\\n');
process.once('SIGTERM', () => app.close().then(() => lake.close()).then(() => process.exit(0)));`;

async function startWithTap(): Promise<{ child: ChildProcess; url: string }> {
  const script = BUILT ? WITH_TAP.replace(/'\.\/src\/(.*?)\.ts'/g, "'./dist/$1.js'") : WITH_TAP;
  const loader = BUILT ? [] : ['--import', 'tsx'];
  const child = spawn(process.execPath, [...loader, '--input-type=module', '-e', script, LAKE], {
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { child, url: await waitForUrl(child, /tap serving (http:\/\/\S+)/, 'TAP server', 120_000) };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
}

let server = await startServe();
let serverKind = '`fitslake serve`';
if ((await fetch(`${server.url}/tap/availability`)).status !== 200) {
  await stop(server.child);
  server = await startWithTap();
  serverKind = 'buildServer with servicePlugins + tapPlugin() (serve did not mount /tap yet)';
}
log(`server: ${serverKind} at ${server.url}`);

const syncUrl = (q: Query, format: string) =>
  `${server.url}/tap/sync?${new URLSearchParams({ REQUEST: 'doQuery', LANG: 'ADQL', FORMAT: format, QUERY: q.adql })}`;

async function http(q: Query, format: string): Promise<{ bytes: number }> {
  const res = await fetch(syncUrl(q, format));
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200)
    throw new Error(`${q.id} ${format}: HTTP ${res.status}: ${body.toString().slice(0, 500)}`);
  return { bytes: body.length };
}

/** Data rows of a CSV answer (a header line; quoted fields may hold newlines). */
function csvRows(text: string): number {
  let rows = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    else if (ch === '\n' && !quoted) rows++;
  }
  return rows - 1;
}

// ---------------------------------------------------------------- pyvo

const PYVO_SCRIPT = `
import json, sys, time, warnings
warnings.simplefilter('ignore')
import pyvo
url, runs, warmup, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
svc = pyvo.dal.TAPService(url + '/tap')
out = {}
for qid, q in json.loads(sys.stdin.read()):
    for _ in range(warmup):
        svc.run_sync(q, maxrec=${MAXREC})
    lat, rows = [], 0
    while len(lat) < runs:
        time.sleep(pause)
        t = time.perf_counter()
        r = svc.run_sync(q, maxrec=${MAXREC})
        rows = len(r)
        lat.append((time.perf_counter() - t) * 1000)
    out[qid] = {'lat': lat, 'rows': rows}
print(json.dumps(out))
`;

function pyvo(): Record<string, Stat> {
  const r = spawnSync(
    '/usr/bin/python3',
    ['-c', PYVO_SCRIPT, server.url, '5', String(WARMUP), String(PAUSE_MS / 1000)],
    {
      input: JSON.stringify(queries.filter((q) => !failed[q.id]).map((q) => [q.id, q.adql])),
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    },
  );
  if (r.status !== 0) {
    log(`  pyvo failed (${r.status}): ${r.stderr.slice(-1000)}`);
    return {};
  }
  const got = JSON.parse(r.stdout) as Record<string, { lat: number[]; rows: number }>;
  return Object.fromEntries(
    Object.entries(got).map(([k, v]) => [
      k,
      { runs: v.lat.length, p50: quantile(v.lat, 0.5), p95: quantile(v.lat, 0.95), rows: v.rows },
    ]),
  );
}

// ---------------------------------------------------------------- the run

if (WAIT_LOAD > 0) {
  const until = Date.now() + 600_000;
  while (Number(loadavg().split(' ')[0]) > WAIT_LOAD && Date.now() < until)
    await new Promise((r) => setTimeout(r, 5000));
}
const loads = [loadavg()];
log(`measuring (load average ${loads[0]})`);
const results: Record<string, Record<string, Stat>> = {};
/** Queries the service gave up on (its sync time limit): the error, and the peers are skipped. */
const failed: Record<string, string> = {};
try {
  for (const q of queries) {
    const r: Record<string, Stat> = {};
    // Over HTTP first: a query the service cannot finish within its limit is reported as such.
    const first = await fetch(syncUrl(q, 'votable'));
    const firstBody = await first.text();
    if (first.status !== 200) {
      failed[q.id] =
        `HTTP ${first.status}: ${/<INFO name="QUERY_STATUS" value="ERROR">([^<]*)/.exec(firstBody)?.[1]?.trim() ?? firstBody.slice(0, 200)}`;
      log(`  ${q.id}: ${failed[q.id]}`);
      continue;
    }
    r.http = await timed(() => http(q, 'votable'));
    log(
      `  ${q.id} HTTP votable: p50 ${r.http.p50.toFixed(1)} ms, p95 ${r.http.p95.toFixed(1)} ms (${r.http.runs} runs, load ${loadavg()})`,
    );
    if (PAUSE_MS > 0) {
      const lat: number[] = [];
      for (let i = 0; i < 5; i++) {
        await new Promise((res) => setTimeout(res, PAUSE_MS));
        const t0 = performance.now();
        await http(q, 'votable');
        lat.push(performance.now() - t0);
      }
      r.paced = { runs: lat.length, p50: quantile(lat, 0.5), p95: quantile(lat, 0.95) };
      log(`  ${q.id} HTTP votable, ${PAUSE_MS / 1000} s apart: p50 ${r.paced.p50.toFixed(1)} ms`);
    }
    if (q.csv) {
      r.csv = await timed(() => http(q, 'csv'));
      log(`  ${q.id} HTTP csv: p50 ${r.csv.p50.toFixed(1)} ms`);
    }
    r.engine = await timed(() => engine(q));
    log(`  ${q.id} engine: ${r.engine.rows} rows, p50 ${r.engine.p50.toFixed(1)} ms (${r.engine.runs} runs)`);
    r.translate = await timed(() => translation(q));
    r.service = await timed(() => inService(q, 'votable'), Math.min(RUNS, 10));
    log(`  ${q.id} runQuery: p50 ${r.service.p50.toFixed(1)} ms, ${r.service.bytes} B`);
    // The engine reads MAXREC + 1 rows, as the service does: one more means an overflow.
    const expected = Math.min(r.engine.rows as number, MAXREC);
    if (r.service.rows !== expected)
      throw new Error(`${q.id}: runQuery returned ${r.service.rows} rows, the engine ${r.engine.rows}`);
    // Rows through HTTP: counted in a CSV answer.
    const text = await (await fetch(syncUrl(q, 'csv'))).text();
    if (csvRows(text) !== expected)
      throw new Error(`${q.id}: ${csvRows(text)} CSV rows over HTTP, ${r.engine.rows} from the engine`);
    results[q.id] = r;
  }
  if (PYVO) {
    log(`  pyvo (load ${loadavg()})`);
    for (const [k, s] of Object.entries(pyvo())) {
      results[k].pyvo = s;
      if (s.rows !== Math.min(results[k].engine.rows as number, MAXREC))
        log(`  ${k}: pyvo read ${s.rows} rows, the engine ${results[k].engine.rows}`);
    }
  }
} finally {
  await stop(server.child);
  engineDb?.close();
  await lake.close();
}
loads.push(loadavg());

// ---------------------------------------------------------------- the table

const ms = (x: number | undefined) =>
  x === undefined ? '–' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x).toLocaleString('en');
const pair = (s: Stat | undefined) => (s ? `${ms(s.p50)} / ${ms(s.p95)}` : '–');
const ratio = (a: Stat | undefined, b: Stat | undefined) => (a && b ? `${(a.p50 / b.p50).toFixed(1)}x` : '–');
const rowsOf = (s: Stat) =>
  (s.rows ?? 0) > MAXREC ? `${MAXREC.toLocaleString('en')} (overflow)` : (s.rows ?? 0).toLocaleString('en');
const kb = (b: number | undefined) => (b === undefined ? '–' : `${(b / 1024).toFixed(1)}`);
const lines = [
  `| query | rows | HTTP sync VOTable p50 / p95 ms | same, ${PAUSE_MS / 1000} s apart, p50 | VOTable kB | engine p50 / p95 ms | translate p50 ms | runQuery p50 / p95 ms | HTTP vs engine | pyvo, apart, p50 / p95 ms | pyvo vs HTTP apart | runs |`,
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];
for (const q of queries) {
  const r = results[q.id];
  if (!r) {
    lines.push(`| ${q.name} | – | ${failed[q.id] ?? '–'} | – | – | – | – | – | – | – | – | – |`);
    continue;
  }
  lines.push(
    `| ${q.name} | ${rowsOf(r.engine)} | ${pair(r.http)} | ${ms(r.paced?.p50)} | ${kb(r.service.bytes)} | ${pair(r.engine)} | ${ms(r.translate.p50)} | ${pair(r.service)} | ${ratio(r.http, r.engine)} | ${pair(r.pyvo)} | ${ratio(r.pyvo, r.paced ?? r.http)} | ${r.http.runs} |`,
  );
  if (r.csv)
    lines.push(
      `| ${q.name}, FORMAT=csv | ${rowsOf(r.engine)} | ${pair(r.csv)} | – | ${kb(r.csv.bytes)} | ${pair(r.engine)} | – | – | ${ratio(r.csv, r.engine)} | – | – | ${r.csv.runs} |`,
    );
}
console.log(
  `\n${manifest.dialect}, ${N.toLocaleString('en')} observations, server: ${serverKind}; ${WARMUP} warm-up + up to ${RUNS} runs per query and peer (budget ${BUDGET_MS / 1000} s)`,
);
console.log(`load average at start / end: ${loads.join(' / ')}`);
for (const q of queries) console.log(`  ${q.id}: ${q.adql}`);
console.log(`\n${lines.join('\n')}`);
