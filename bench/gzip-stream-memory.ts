// Benchmark (c): peak memory while streaming a 1 GB .fits.gz: walk its HDUs and verify the
// checksum of every data byte through the gzip stream. Peer: astropy opening the same file and
// reading its data (the same run, same file).
// Usage: node --import tsx bench/gzip-stream-memory.ts [FILE=bench/data/big1g.fits.gz]
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { verifyChecksums } from '../src/fits/checksum.ts';
import { openFits } from '../src/fits/fits-file.ts';
import { openSource } from '../src/io/open.ts';

const file = process.argv[2] ?? 'bench/data/big1g.fits.gz';
const N = 16384; // 16384 x 16384 int32 = 1 GiB of data
if (!existsSync(file)) {
  mkdirSync(dirname(file), { recursive: true });
  const header = Buffer.from(
    [
      'SIMPLE  =                    T',
      'BITPIX  =                   32',
      'NAXIS   =                    2',
      `NAXIS1  = ${String(N).padStart(20)}`,
      `NAXIS2  = ${String(N).padStart(20)}`,
      'END',
    ]
      .map((c) => c.padEnd(80))
      .join('')
      .padEnd(2880),
  );
  await pipeline(
    (async function* () {
      yield header;
      // A gradient with noise: compresses like real sky images do (about 3:1), not like zeros.
      const row = Buffer.alloc(N * 4);
      let seed = 1;
      for (let y = 0; y < N; y++) {
        for (let x = 0; x < N; x++) {
          seed = (seed * 1103515245 + 12345) & 0x7fffffff;
          row.writeInt32BE(1000 + ((x + y) >> 4) + (seed & 0xff), x * 4);
        }
        yield Buffer.from(row);
      }
      const pad = (2880 - ((N * N * 4) % 2880)) % 2880;
      yield Buffer.alloc(pad);
    })(),
    createGzip({ level: 1 }),
    createWriteStream(file),
  );
}
console.log(`${file}: ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB compressed`);
const t0 = performance.now();
const fits = await openFits(await openSource(file));
const second = await openSource(file);
const sums = await verifyChecksums(second, fits.hdus[0]);
const seconds = (performance.now() - t0) / 1000;
const ours = process.resourceUsage().maxRSS / 1024;
console.log(
  `fitslake: ${fits.size} bytes decompressed twice (walk + checksum pass, datasum ${sums.computedDatasum}) in ${seconds.toFixed(1)} s, peak RSS ${ours.toFixed(0)} MiB`,
);
const peer = execFileSync(
  '/usr/bin/python3',
  [
    '-c',
    `import resource, sys, time
from astropy.io import fits
t = time.time()
with fits.open(sys.argv[1]) as h:
    s = int(h[0].data.sum(dtype='int64'))
print(f"astropy: data read in {time.time() - t:.1f} s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")`,
    file,
  ],
  { encoding: 'utf8' },
);
process.stdout.write(peer);
