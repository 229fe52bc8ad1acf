// Benchmark (a): files per second opening and parsing every header of many small FITS files,
// fitslake side by side with astropy and fitsio (cfitsio) in the same run on the same files.
// Usage: node --import tsx bench/headers.ts [DIR=bench/data/small] [N=5000]
// Run by hand (see bench/README.md); never a timed assertion in tests.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFits } from '../src/fits/fits-file.ts';
import { FileSource } from '../src/io/file-source.ts';

const [dir = 'bench/data/small', nArg = '5000'] = process.argv.slice(2);
const n = Number(nArg);
if (!existsSync(dir) || readdirSync(dir).length < n) {
  execFileSync('node', ['--import', 'tsx', 'bench/make-small-files.ts', dir, String(n)], {
    stdio: 'inherit',
  });
}
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.fits'))
  .sort()
  .slice(0, n)
  .map((f) => join(dir, f));
const list = join(dir, '..', 'small-files.txt');
writeFileSync(list, files.join('\n'));

async function parseOne(path: string): Promise<number> {
  const src = await FileSource.open(path);
  try {
    const fits = await openFits(src);
    let cards = 0;
    for (const h of fits.hdus) cards += h.header.cards.length;
    return cards;
  } finally {
    await src.close();
  }
}

async function fitslake(concurrency: number): Promise<{ seconds: number; cards: number }> {
  const t0 = performance.now();
  let cards = 0;
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const n = await parseOne(files[next++]);
      cards += n;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { seconds: (performance.now() - t0) / 1000, cards };
}

function peer(script: string): { reader: string; seconds: number; cards: number } {
  return JSON.parse(
    execFileSync('/usr/bin/python3', [join('bench', 'peers', script), list], { encoding: 'utf8' }),
  );
}

const best = <T extends { seconds: number }>(runs: T[]) =>
  runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
const RUNS = 3;
async function bestOf(concurrency: number) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await fitslake(concurrency));
  return best(runs);
}
// Warm the page cache once so every reader sees the same (cached) files.
await fitslake(8);
const ours1 = await bestOf(1);
const ours16 = await bestOf(16);
const astropy = best(Array.from({ length: RUNS }, () => peer('astropy_headers.py')));
const fitsio = best(Array.from({ length: RUNS }, () => peer('fitsio_headers.py')));

const rate = (r: { seconds: number }) => files.length / r.seconds;
const rows = [
  ['fitslake (sequential)', ours1],
  ['fitslake (16 files in flight)', ours16],
  [astropy.reader, astropy],
  [fitsio.reader, fitsio],
] as const;
console.log(`${files.length} files, best of ${RUNS} runs each`);
for (const [name, r] of rows) {
  console.log(
    `${name.padEnd(32)} ${rate(r).toFixed(0).padStart(8)} files/s  ${String(r.cards).padStart(8)} cards  ` +
      `${(rate(r) / rate(astropy)).toFixed(1)}x astropy  ${(rate(r) / rate(fitsio)).toFixed(2)}x fitsio`,
  );
}
