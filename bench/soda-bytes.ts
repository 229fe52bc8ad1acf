// (h) SODA: bytes read from storage versus cutout size. One large int16 image (8192x8192 by default,
// 128 MiB of pixels, sky-like: smooth background, sources, about 4 noisy low bits) stored five ways —
// plain FITS, tile-compressed RICE_1 with one tile per row (what `fitslake optimize` writes), RICE_1
// with 256x256 tiles, whole-file gzip and bzip2 — ingested into a lake (`fitslake ingest`), served by
// `fitslake serve` in its own process; square cutouts of several sizes at the start, the centre and
// the end of the image are requested through GET /soda?ID=<raw key>&PIXEL_1=…&PIXEL_2=… and the
// service's own accounting is read from the response headers (fitslake-bytes-read,
// fitslake-bytes-decompressed, fitslake-pixel-bytes). One request per cell (the byte counts are
// exact and repeatable; the times are single runs, a side figure).
//
// Usage: node --import tsx bench/soda-bytes.ts [--side 8192] [--sizes 16,128,1024,4096] [--force]
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { emptyPrimaryHdu, encodeCompressedImageHdu } from '../src/fits/compress.ts';
import { encodeImageHdu } from '../src/fits/write.ts';
import { openLake } from '../src/lake/lake.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
};
const SIDE = Number(arg('side', '8192'));
const SIZES = arg('sizes', '16,128,1024,4096').split(',').map(Number);
const DIR = resolve(`bench/data/soda-${SIDE}`);
const SRC = join(DIR, 'src');
const LAKE = join(DIR, 'lake');
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const log = (s: string) => process.stderr.write(`${s}\n`);

const CONTAINERS = [
  { file: 'plain.fits', name: 'plain FITS' },
  { file: 'rice-rows.fits.fz', name: 'RICE_1, one tile per row (`fitslake optimize`)' },
  { file: 'rice-256.fits.fz', name: 'RICE_1, 256x256 tiles' },
  { file: 'gzip.fits.gz', name: 'whole-file gzip (-6)' },
  { file: 'bzip2.fits.bz2', name: 'whole-file bzip2 (-9)' },
];

// ---------------------------------------------------------------- the files

function sky(side: number): Int16Array {
  const data = new Int16Array(side * side);
  let s = 12345;
  const rnd = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
  for (let y = 0; y < side; y++) {
    const cy = Math.cos(y / 250);
    for (let x = 0; x < side; x++) {
      const noise = (rnd() + rnd() + rnd() - 1.5) * 8;
      const v = 1000 + 200 * Math.sin(x / 300) * cy + (x % 500 < 3 && y % 400 < 3 ? 5000 : 0) + noise;
      data[y * side + x] = Math.round(v);
    }
  }
  return data;
}

const t = (f: () => void) => {
  const t0 = performance.now();
  f();
  return ((performance.now() - t0) / 1000).toFixed(1);
};

function makeFiles(): void {
  mkdirSync(SRC, { recursive: true });
  const data = sky(SIDE);
  const shape = [SIDE, SIDE];
  const cards: [string, string | number][] = [
    ['BUNIT', 'ADU'],
    ['OBJECT', 'bench mosaic'],
  ];
  let plain: Uint8Array = new Uint8Array();
  log(
    `  plain: ${t(() => {
      plain = encodeImageHdu(data, shape, cards);
      writeFileSync(join(SRC, 'plain.fits'), plain);
    })} s`,
  );
  log(
    `  RICE_1 rows: ${t(() => {
      const hdu = encodeCompressedImageHdu(data, shape, cards, { method: 'RICE_1' });
      writeFileSync(join(SRC, 'rice-rows.fits.fz'), Buffer.concat([emptyPrimaryHdu(), hdu]));
    })} s`,
  );
  log(
    `  RICE_1 256x256: ${t(() => {
      const hdu = encodeCompressedImageHdu(data, shape, cards, { method: 'RICE_1', tileShape: [256, 256] });
      writeFileSync(join(SRC, 'rice-256.fits.fz'), Buffer.concat([emptyPrimaryHdu(), hdu]));
    })} s`,
  );
  log(`  gzip: ${t(() => writeFileSync(join(SRC, 'gzip.fits.gz'), gzipSync(plain, { level: 6 })))} s`);
  log(
    `  bzip2: ${t(() => {
      const r = spawnSync('bzip2', ['-9', '-c', join(SRC, 'plain.fits')], { maxBuffer: 1 << 30 });
      if (r.status !== 0) throw new Error(`bzip2: ${r.stderr}`);
      writeFileSync(join(SRC, 'bzip2.fits.bz2'), r.stdout);
    })} s`,
  );
}

const CLI = [
  '--import',
  'tsx',
  '--input-type=module',
  '-e',
  "const { main } = await import('./src/cli/main.ts'); process.exitCode = await main(process.argv.slice(1));",
];

if (process.argv.includes('--force')) rmSync(DIR, { recursive: true, force: true });
if (!existsSync(join(DIR, 'done'))) {
  if (!CONTAINERS.every((c) => existsSync(join(SRC, c.file)))) {
    rmSync(SRC, { recursive: true, force: true });
    log(`writing the files (${SIDE}x${SIDE} int16) in ${SRC}`);
    makeFiles();
  }
  log('ingesting them into the lake');
  rmSync(LAKE, { recursive: true, force: true });
  let r = spawnSync(process.execPath, [...CLI, 'init', LAKE], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`init: ${r.stdout}${r.stderr}`);
  const t0 = performance.now();
  r = spawnSync(process.execPath, [...CLI, 'ingest', SRC, '--lake', LAKE, '-c', 'soda', '--no-progress'], {
    encoding: 'utf8',
  });
  log(
    `  ingested in ${((performance.now() - t0) / 1000).toFixed(1)} s${r.status ? `: ${r.stdout.trim()}` : ''}`,
  );
  // Every file, the .gz and .bz2 (70 MB decompressed) included, must be catalogued as ingested.
  if (r.status !== 0) throw new Error(`ingest: ${r.stdout}${r.stderr}`);
  writeFileSync(join(DIR, 'done'), '');
}

// Raw keys by file name, from the catalog.
const keys = new Map<string, string>();
{
  const lake = await openLake(LAKE);
  const rows = await lake.catalog.db
    .selectFrom('files')
    .select(['key', 'status'])
    .where('zone', '=', 'raw')
    .where('current', '=', 1)
    .execute();
  for (const r of rows) {
    if (r.status !== 'ingested') throw new Error(`${r.key}: ${r.status}`);
    keys.set(r.key.slice(r.key.lastIndexOf('/') + 1), r.key);
  }
  await lake.close();
}

// ---------------------------------------------------------------- the server and the cutouts

async function startServe(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [...CLI, 'serve', '--lake', LAKE, '--port', '0', '--quiet', '--no-worker'],
    { env: { ...process.env, FITSLAKE_SERVER_RATE_LIMIT: '1000000000' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const url = await new Promise<string>((res, rej) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
      const m = /fitslake serving (http:\/\/\S+)/.exec(out);
      if (m) res(m[1]);
    });
    child.once('exit', (code) => rej(new Error(`serve exited (${code})`)));
  });
  return { child, url };
}

interface Row {
  container: string;
  size: number;
  position: string;
  read: number;
  decompressed: number;
  pixels: number;
  body: number;
  ms: number;
}

const server = await startServe();
const rows: Row[] = [];
log(`measuring (load average ${loadavg()})`);
try {
  // One warm-up cutout per file (JIT, the catalog's statements, the tile layouts are read per request anyway).
  for (const c of CONTAINERS) {
    const key = keys.get(c.file);
    if (!key) throw new Error(`${c.file} is not in the lake`);
    await fetch(`${server.url}/soda?ID=${encodeURIComponent(key)}&PIXEL_1=1 8&PIXEL_2=1 8`).then((r) =>
      r.arrayBuffer(),
    );
  }
  for (const c of CONTAINERS) {
    const key = keys.get(c.file) as string;
    for (const size of SIZES) {
      const x1 = Math.floor((SIDE - size) / 2) + 1;
      const positions: [string, number][] = [
        ['start', 1],
        ['centre', Math.floor((SIDE - size) / 2) + 1],
        ['end', SIDE - size + 1],
      ];
      for (const [position, y1] of positions) {
        const q = new URLSearchParams({
          ID: key,
          PIXEL_1: `${x1} ${x1 + size - 1}`,
          PIXEL_2: `${y1} ${y1 + size - 1}`,
        });
        const t0 = performance.now();
        const res = await fetch(`${server.url}/soda?${q}`);
        const body = Buffer.from(await res.arrayBuffer());
        const ms = performance.now() - t0;
        if (res.status !== 200) throw new Error(`${c.file} ${size} ${position}: ${res.status} ${body}`);
        const row: Row = {
          container: c.name,
          size,
          position,
          read: Number(res.headers.get('fitslake-bytes-read')),
          decompressed: Number(res.headers.get('fitslake-bytes-decompressed')),
          pixels: Number(res.headers.get('fitslake-pixel-bytes')),
          body: body.length,
          ms,
        };
        if (row.pixels !== size * size * 2)
          throw new Error(`${c.file}: ${row.pixels} pixel bytes for ${size}²`);
        rows.push(row);
        log(
          `  ${c.file} ${size}² ${position}: read ${row.read}, decompressed ${row.decompressed}, pixels ${row.pixels}, ${ms.toFixed(0)} ms`,
        );
      }
    }
  }
} finally {
  const done = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  await done;
}

// ---------------------------------------------------------------- the table

const mb = (b: number) =>
  b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : b >= 1024 ? `${(b / 1024).toFixed(1)} KiB` : `${b} B`;
const x = (r: number) => (r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2));
console.log(
  `\n${SIDE}x${SIDE} int16 (${mb(SIDE * SIDE * 2)} of pixels); load average at the end ${loadavg()}`,
);
console.log('stored sizes:');
for (const c of CONTAINERS) console.log(`  ${c.file}: ${mb(statSync(join(SRC, c.file)).size)}`);
const lines = [
  '| container | cutout | pixel bytes | position | bytes read | read ÷ pixels | decompressed | ms |',
  '|---|---:|---:|---|---:|---:|---:|---:|',
];
for (const r of rows)
  lines.push(
    `| ${r.container} | ${r.size}x${r.size} | ${mb(r.pixels)} | ${r.position} | ${mb(r.read)} | ${x(r.read / r.pixels)} | ${r.decompressed ? mb(r.decompressed) : '–'} | ${r.ms.toFixed(0)} |`,
  );
console.log(`\n${lines.join('\n')}`);
