// Serving: requests/s, p50/p99 latency and server memory of three REST routes on a lake of N
// observations (bench/make-observations.ts), with autocannon on loopback, and peers measured in
// the same run for ratios: a bare Fastify server answering a fixed JSON (the HTTP stack's ceiling),
// nginx serving a static file the size of a header response, and the cone search done in-process
// against the catalog (what HTTP adds).
//
// The server is `fitslake serve --port 0 --quiet --no-worker` in its own process (from the source
// through tsx by default, the built bin/fitslake.js with --built), with the rate limit raised out of
// reach (FITSLAKE_SERVER_RATE_LIMIT=1e9: the plugin still runs, never trips). Loopback without
// accounts: the caller is the local admin. Every request's URL is drawn at random (cones of
// 0.1–1°, half of them in the dense fields; random observation ids; random file keys). Any error,
// timeout or non-2xx response fails the run.
//
// Usage: node --import tsx bench/server.ts [--n 100000] [--duration 10] [--connections 10,50]
//          [--runs 2] [--pg] [--built] [--no-nginx] [--only cone,cone-nocount,detail,header]
//          [--wait-load 2.5]
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { countObservations, searchObservations } from '../src/catalog/search.ts';
import type { Region } from '../src/catalog/sky.ts';
import { openLake } from '../src/lake/lake.ts';
import { waitForUrl } from './child.ts';
import { makeObservationLake, pointing, Rng } from './make-observations.ts';

// ---------------------------------------------------------------- options

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
};
const N = Number(arg('n', '100000'));
const DURATION = Number(arg('duration', '10'));
const CONNECTIONS = arg('connections', '10,50').split(',').map(Number);
const RUNS = Number(arg('runs', '2'));
const PG = process.argv.includes('--pg');
const BUILT = process.argv.includes('--built');
const NGINX = !process.argv.includes('--no-nginx');
/** Before each run, wait (up to 10 min) for the 1-minute load average to drop to this (0: do not wait). */
const WAIT_LOAD = Number(arg('wait-load', '0'));
const ONLY = arg('only', 'cone,cone-nocount,detail,header').split(',');
const LAKE = resolve(`bench/data/lake-${N}${PG ? '-pg' : ''}`);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const log = (s: string) => process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------- the lake and the request mix

log(`load average at start: ${loadavg()}`);
const manifest = await makeObservationLake(LAKE, N, { pg: PG, log });
log(
  `lake: ${LAKE} (${manifest.dialect}; ${manifest.n.toLocaleString('en')} observations, ${manifest.hdus.toLocaleString('en')} HDUs, ${manifest.cells.toLocaleString('en')} cells)`,
);

const rng = new Rng(7);
const cones: Region[] = Array.from({ length: 2000 }, () => {
  const p = pointing(rng, 0.5);
  return { type: 'circle', ra: p.ra, dec: p.dec, radius: rng.float(0.1, 1) };
});
const coneUrl = (r: Region) =>
  r.type === 'circle'
    ? `/api/observations?ra=${r.ra.toFixed(4)}&dec=${r.dec.toFixed(4)}&radius=${r.radius.toFixed(3)}&limit=100`
    : '';
const ids = Array.from({ length: 5000 }, () => rng.int(1, N));
const lake = await openLake(LAKE);
const keys: string[] = [];
{
  const rows = await lake.catalog.db
    .selectFrom('files')
    .select('key')
    .where(
      'id',
      'in',
      Array.from({ length: 5000 }, () => rng.int(1, N)),
    )
    .execute();
  for (const r of rows) keys.push(r.key);
}
const headerUrl = (key: string) => `/api/files/${key.split('/').map(encodeURIComponent).join('/')}/header`;

interface Target {
  name: string;
  paths: () => string;
}
let turn = 0;
const cycle = <T>(xs: T[]) => xs[turn++ % xs.length];
const TARGETS: Record<string, Target> = {
  cone: { name: 'cone search (0.1–1°, limit 100)', paths: () => coneUrl(cycle(cones)) },
  'cone-nocount': {
    name: 'cone search, `count=none`',
    paths: () => `${coneUrl(cycle(cones))}&count=none`,
  },
  detail: { name: 'observation detail', paths: () => `/api/observations/${cycle(ids)}` },
  header: { name: 'header fetch (1–2 HDUs, ~80 cards)', paths: () => headerUrl(cycle(keys)) },
};

// ---------------------------------------------------------------- in-process peer: the same search

interface Stat {
  rps: number;
  p50: number;
  p99: number;
  rssMiB: number | null;
}

/** The cone route's work without HTTP: searchObservations, then the estimated count when a page follows. */
async function inProcess(): Promise<Stat & { rows: number; counted: number }> {
  const lat: number[] = [];
  let rows = 0;
  let counted = 0;
  const until = performance.now() + DURATION * 1000;
  let i = 0;
  while (performance.now() < until) {
    const region = cones[i++ % cones.length];
    const t = performance.now();
    const page = await searchObservations(lake.catalog, { region, limit: 100 });
    if (page.next !== undefined) {
      await countObservations(lake.catalog, { region }, 'estimate');
      counted++;
    }
    lat.push(performance.now() - t);
    rows += page.rows.length;
  }
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  return {
    rps: lat.length / DURATION,
    p50: q(0.5),
    p99: q(0.99),
    rssMiB: null, // the bench process's memory holds autocannon too: not comparable
    rows: rows / lat.length,
    counted: counted / lat.length,
  };
}

// ---------------------------------------------------------------- servers

async function startFitslake(): Promise<{ child: ChildProcess; url: string }> {
  const cli = ['serve', '--lake', LAKE, '--port', '0', '--quiet', '--no-worker'];
  const args = BUILT
    ? ['bin/fitslake.js', ...cli]
    : [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        "const { main } = await import('./src/cli/main.ts'); process.exitCode = await main(process.argv.slice(1));",
        ...cli,
      ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, UV_THREADPOOL_SIZE: '16', FITSLAKE_SERVER_RATE_LIMIT: '1000000000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { child, url: await waitForUrl(child, /fitslake serving (http:\/\/\S+)/, 'fitslake serve') };
}

/** The HTTP stack's ceiling: Fastify (no plugins, no schemas) answering a fixed JSON, same loader as fitslake. */
const BARE = `const { default: Fastify } = await import('fastify');
const app = Fastify({ logger: false });
const body = { status: 'ok', catalog: 'sqlite' };
app.get('/healthz', async () => body);
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write('bare serving http://127.0.0.1:' + app.server.address().port + '\\n');
process.once('SIGTERM', () => app.close().then(() => process.exit(0)));`;

async function startBare(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', BARE], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { child, url: await waitForUrl(child, /bare serving (http:\/\/\S+)/, 'bare Fastify') };
}

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** nginx from Debian's packages, one worker process (as fitslake is one), serving `body` as a static file. */
async function startNginx(body: string): Promise<{ child: ChildProcess; url: string; dir: string } | null> {
  const which = spawnSync('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx'], { encoding: 'utf8' });
  const bin = which.stdout.trim().split('\n')[0];
  if (which.status !== 0 || !bin) return null;
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-bench-nginx-'));
  mkdirSync(join(dir, 'www'));
  mkdirSync(join(dir, 'tmp'));
  writeFileSync(join(dir, 'www', 'header.json'), body);
  const port = await freePort();
  const conf = `user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  default_type application/json;
  sendfile on;
  keepalive_requests 10000000;
  keepalive_timeout 65;
  server {
    listen 127.0.0.1:${port};
    root ${dir}/www;
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child = spawn(bin, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${url}/header.json`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return { child, url, dir };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  throw new Error(`nginx did not start: ${readFileSync(join(dir, 'error.log'), 'utf8')}`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
}

// ---------------------------------------------------------------- measuring

/** Peak resident memory of the processes while `f` runs (sampled every 100 ms from /proc). */
async function withPeakRss<T>(pids: number[], f: () => Promise<T>): Promise<[T, number]> {
  const rss = () =>
    pids.reduce((s, pid) => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        return s + (m ? Number(m[1]) : 0);
      } catch {
        return s;
      }
    }, 0);
  let peak = rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 100);
  try {
    const r = await f();
    return [r, Math.max(peak, rss()) / 1024];
  } finally {
    clearInterval(timer);
  }
}

async function cannon(url: string, connections: number, path: () => string, duration: number) {
  return autocannon({
    url,
    connections,
    pipelining: 1,
    duration,
    timeout: 30,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: path() }) }],
  });
}

async function measure(
  label: string,
  url: string,
  connections: number,
  path: () => string,
  pids: number[],
): Promise<Stat> {
  await settle(url);
  const [r, peak] = await withPeakRss(pids, () => cannon(url, connections, path, DURATION));
  const bad = r.errors + r.timeouts + r.non2xx;
  if (bad > 0 || r['2xx'] === 0)
    throw new Error(
      `${label}, ${connections} connections: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx ` +
        `(${JSON.stringify(r.statusCodeStats)}) of ${r.requests.total} requests — the benchmark is invalid`,
    );
  const s = { rps: r.requests.total / r.duration, p50: r.latency.p50, p99: r.latency.p99, rssMiB: peak };
  log(
    `  ${label} c=${connections}: ${s.rps.toFixed(0)} req/s, p50 ${s.p50} ms, p99 ${s.p99} ms, peak RSS ${peak.toFixed(0)} MiB (load ${loadavg()})`,
  );
  return s;
}

/**
 * Waits until the server has drained what the last load left queued (autocannon stops sending at the
 * deadline; requests already accepted still run): /healthz must answer within 20 ms twice in a row.
 */
async function settle(url: string): Promise<void> {
  let quick = 0;
  const until = Date.now() + 120_000;
  while (quick < 2 && Date.now() < until) {
    const t = performance.now();
    await fetch(`${url}/healthz`).then((r) => r.text());
    quick = performance.now() - t < 20 ? quick + 1 : 0;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Keeps the better of two runs (more requests/s). */
const best = new Map<string, Stat>();
const keep = (k: string, s: Stat) => {
  const b = best.get(k);
  if (!b || s.rps > b.rps) best.set(k, s);
};

// One sample response per route (checked to be 200), and the header body for nginx to serve.
const fl = await startFitslake();
let headerBody = '';
for (const [k, t] of Object.entries(TARGETS)) {
  const res = await fetch(fl.url + t.paths());
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${k}: ${res.status} ${text.slice(0, 500)}`);
  if (k === 'header') headerBody = text;
}
// Typical response sizes, over a few hundred requests of each route.
const sizes: Record<string, number> = {};
for (const [k, t] of Object.entries(TARGETS)) {
  let total = 0;
  for (let i = 0; i < 200; i++) total += Buffer.byteLength(await (await fetch(fl.url + t.paths())).text());
  sizes[k] = total / 200;
}
// Warm-up (JIT, page cache, statement cache): not recorded.
for (const k of ONLY) await cannon(fl.url, 10, TARGETS[k].paths, 3);
await settle(fl.url);
await stop(fl.child);

const loads: string[] = [];
let coneInProcess: Awaited<ReturnType<typeof inProcess>> | undefined;
for (let run = 1; run <= RUNS; run++) {
  if (WAIT_LOAD > 0) {
    const until = Date.now() + 600_000;
    while (Number(loadavg().split(' ')[0]) > WAIT_LOAD && Date.now() < until)
      await new Promise((r) => setTimeout(r, 5000));
  }
  log(`run ${run} of ${RUNS} (load average ${loadavg()})`);
  loads.push(loadavg());
  // In-process search first, with no server running.
  if (ONLY.includes('cone')) {
    const s = await inProcess();
    log(
      `  in-process cone search: ${s.rps.toFixed(0)} searches/s, p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms`,
    );
    if (!coneInProcess || s.rps > coneInProcess.rps) coneInProcess = s;
  }
  const srv = await startFitslake();
  const pid = srv.child.pid as number;
  try {
    for (const k of ONLY)
      for (const c of CONNECTIONS) keep(`${k}:${c}`, await measure(k, srv.url, c, TARGETS[k].paths, [pid]));
  } finally {
    await stop(srv.child);
  }
  const bare = await startBare();
  try {
    for (const c of CONNECTIONS)
      keep(
        `bare:${c}`,
        await measure('bare Fastify', bare.url, c, () => '/healthz', [bare.child.pid as number]),
      );
  } finally {
    await stop(bare.child);
  }
  if (NGINX) {
    const ng = await startNginx(headerBody);
    if (ng) {
      try {
        // The master and its one worker.
        const worker = spawnSync('pgrep', ['-P', String(ng.child.pid)], { encoding: 'utf8' })
          .stdout.trim()
          .split('\n')
          .filter(Boolean)
          .map(Number);
        for (const c of CONNECTIONS)
          keep(
            `nginx:${c}`,
            await measure('nginx static', ng.url, c, () => '/header.json', [
              ng.child.pid as number,
              ...worker,
            ]),
          );
      } finally {
        await stop(ng.child);
        rmSync(ng.dir, { recursive: true, force: true });
      }
    } else log('  nginx: not installed (apt-get install nginx-light), skipped');
  }
}
await lake.close();

// ---------------------------------------------------------------- the table

const fmt = (x: number, d = 0) =>
  x.toLocaleString('en', { minimumFractionDigits: d, maximumFractionDigits: d });
// autocannon's latencies are whole milliseconds; the in-process ones are not.
const ms = (x: number) =>
  x === 0 ? '<1' : Number.isInteger(x) ? String(x) : x < 10 ? x.toFixed(2) : x.toFixed(1);
const lines = [
  `| target | connections | req/s | p50 ms | p99 ms | vs bare Fastify | vs nginx | peak RSS MiB |`,
  `|---|---:|---:|---:|---:|---:|---:|---:|`,
];
for (const c of CONNECTIONS) {
  const bare = best.get(`bare:${c}`);
  const ng = best.get(`nginx:${c}`);
  const row = (name: string, s: Stat | undefined) => {
    if (!s) return;
    const vb = bare ? `${(s.rps / bare.rps).toFixed(3)}x` : '–';
    const vn = ng ? `${(s.rps / ng.rps).toFixed(3)}x` : '–';
    lines.push(
      `| ${name} | ${c} | ${fmt(s.rps)} | ${ms(s.p50)} | ${ms(s.p99)} | ${vb} | ${vn} | ${s.rssMiB === null ? '–' : fmt(s.rssMiB)} |`,
    );
  };
  for (const k of ONLY) row(TARGETS[k].name, best.get(`${k}:${c}`));
  row('bare Fastify, fixed JSON (`/healthz`-like)', bare);
  row(`nginx ${nginxVersion()}, static file of a header response`, ng);
}
if (coneInProcess)
  lines.push(
    `| cone search in-process (searchObservations + count), one at a time | – | ${fmt(coneInProcess.rps)} | ${ms(coneInProcess.p50)} | ${ms(coneInProcess.p99)} | – | – | – |`,
  );
console.log(
  `\n${manifest.dialect}, ${N.toLocaleString('en')} observations, ${DURATION} s per measurement, best of ${RUNS}`,
);
console.log(`load average at the start of each run: ${loads.join(' / ')}; at the end: ${loadavg()}`);
console.log(
  `response sizes (mean of 200): cone ${fmt(sizes.cone)} B, detail ${fmt(sizes.detail)} B, header ${fmt(sizes.header)} B (nginx serves one of ${fmt(Buffer.byteLength(headerBody))} B)`,
);
if (coneInProcess)
  console.log(
    `cones: ${coneInProcess.rows.toFixed(1)} rows per page on average; ${(coneInProcess.counted * 100).toFixed(0)}% had more than 100 matches (estimated count run)`,
  );
console.log(`\n${lines.join('\n')}`);

function nginxVersion(): string {
  const r = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  return /nginx\/([\d.]+)/.exec(r.stderr)?.[1] ?? '';
}
