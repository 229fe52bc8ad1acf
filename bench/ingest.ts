// Ingest throughput and memory: N generated small FITS files (bench/make-small-files.ts) through the
// real CLI (`bin/fitslake.js`, built code) on SQLite + local storage, header-only and with previews,
// and on PostgreSQL; peak memory at N/4, N/2 and N to show it stays flat; and the glue-script peer
// (astropy + sqlite3) on the same files in the same run.
// Usage: npm run build && node --import tsx bench/ingest.ts [N=10000] [--no-pg]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const N = Number(process.argv[2] ?? 10000);
const withPg = !process.argv.includes('--no-pg');
const src = `bench/data/ingest-${N}`;
if (!existsSync(src) || readdirSync(src).length !== N)
  execFileSync(process.execPath, ['--import', 'tsx', 'bench/make-small-files.ts', src, String(N)], {
    stdio: 'inherit',
  });

interface Run {
  seconds: number;
  peakMiB: number;
  out: string;
}

/** Runs the CLI under GNU time for wall time and peak RSS. */
function cli(args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', process.execPath, 'bin/fitslake.js', ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const m = /TIME ([\d.]+) (\d+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`fitslake ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
  return { seconds: Number(m[1]), peakMiB: Number(m[2]) / 1024, out: r.stdout };
}

function lake(config = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-bench-'));
  writeFileSync(join(dir, 'fitslake.yaml'), config);
  return dir;
}

const rows: string[] = [];
const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en');
function record(name: string, n: number, r: Run) {
  rows.push(
    `| ${name} | ${n.toLocaleString('en')} | ${r.seconds.toFixed(1)} | ${rate(n, r.seconds)} | ${r.peakMiB.toFixed(0)} |`,
  );
  console.log(rows[rows.length - 1]);
}
const OFF = { FITSLAKE_INGEST_PREVIEWS: 'false' };

// 1. End to end (copy into the lake + catalogue), SQLite + local storage, header-only: three runs,
// each into a new lake, as a shared machine's speed drifts from minute to minute.
const e2e: Run[] = [];
for (let i = 1; i <= 3; i++) {
  const r = cli(['ingest', src, '--collection', 'b', '--no-progress', '--lake', lake()], OFF);
  if (!r.out.includes(`ingested ${N},`)) throw new Error(r.out);
  record(`SQLite, header-only, \`fitslake ingest\` (copy + catalogue), run ${i}`, N, r);
  e2e.push(r);
}
const median = [...e2e].sort((a, b) => a.seconds - b.seconds)[1];
record('SQLite, header-only, `fitslake ingest`: median of the three', N, median);
// 2. The job-queue path (URLs, buckets, --no-wait, files over 4 MiB): copy + queue, then a worker.
const l2 = lake();
record(
  '  job-queue path, 1: copy in + queue (`ingest --no-wait`)',
  N,
  cli(['ingest', src, '--collection', 'b', '--no-progress', '--no-wait', '--lake', l2], OFF),
);
record(
  '  job-queue path, 2: catalogue by a worker (`worker --until-idle`)',
  N,
  cli(['worker', '--until-idle', '--lake', l2], OFF),
);
// 3. With previews (JPEG preview + thumbnail per image).
const l3 = lake();
record('SQLite, with previews', N, cli(['ingest', src, '--collection', 'b', '--no-progress', '--lake', l3]));
// 4. Memory as the count grows.
for (const n of [N / 4, N / 2, 2 * N]) {
  const sub = `bench/data/ingest-${n}`;
  if (!existsSync(sub) || readdirSync(sub).length !== n)
    execFileSync(process.execPath, ['--import', 'tsx', 'bench/make-small-files.ts', sub, String(n)], {
      stdio: 'inherit',
    });
  record(
    `SQLite, header-only, ${n.toLocaleString('en')} files (memory check)`,
    n,
    cli(['ingest', sub, '--collection', 'b', '--no-progress', '--lake', lake()], OFF),
  );
}
// 5. PostgreSQL catalog.
if (withPg) {
  const env = { PG_PORT: '55450', PG_DATA: '/tmp/fitslake-pg-bench', PG_DB: 'postgres' };
  execFileSync('bash', ['scripts/pg.sh'], { env: { ...process.env, ...env }, stdio: 'inherit' });
  execFileSync('psql', [
    '-h',
    '127.0.0.1',
    '-p',
    '55450',
    '-U',
    'postgres',
    '-c',
    'DROP DATABASE IF EXISTS bench',
    '-c',
    'CREATE DATABASE bench',
  ]);
  const cfg =
    'catalog:\n  kind: postgres\n  postgres:\n    host: 127.0.0.1\n    port: 55450\n    database: bench\n    user: postgres\n';
  record(
    'PostgreSQL, header-only, `fitslake ingest`',
    N,
    cli(['ingest', src, '--collection', 'b', '--no-progress', '--lake', lake(cfg)], OFF),
  );
  execFileSync('bash', ['scripts/pg.sh', 'stop'], { env: { ...process.env, ...env, PG_WIPE: '1' } });
}
// 6. Peer: astropy + sqlite3 glue script on the same files.
const peerDb = join(mkdtempSync(join(tmpdir(), 'fitslake-peer-')), 'peer.sqlite');
const peer = JSON.parse(
  execFileSync('/usr/bin/python3', ['bench/peers/astropy_ingest.py', src, peerDb], { encoding: 'utf8' }),
);
rows.push(
  `| ${peer.tool} (catalogue only, no copy) | ${N.toLocaleString('en')} | ${peer.seconds.toFixed(1)} | ${rate(N, peer.seconds)} | – |`,
);
console.log(rows[rows.length - 1]);
console.log('\n| run | files | seconds | files/s | peak MiB |\n|---|---:|---:|---:|---:|');
console.log(rows.join('\n'));
rmSync(peerDb, { force: true });
