// Benchmark (b): bytes read to index (walk every HDU header of) a 4 GB sparse cube with extensions.
// Usage: node --import tsx bench/index-big.ts [FILE=bench/data/big4g.fits]
// The cube is made by the corpus's gen_big.py (sparse: takes almost no disk) if missing.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { openFits } from '../src/fits/fits-file.ts';
import { FileSource } from '../src/io/file-source.ts';

const file = process.argv[2] ?? 'bench/data/big4g.fits';
if (!existsSync(file)) {
  mkdirSync(dirname(file), { recursive: true });
  execFileSync('/usr/bin/python3', ['test/fixtures/corpus/gen_big.py', file, '--gib', '4'], {
    stdio: 'inherit',
  });
}
const src = await FileSource.open(file);
const t0 = performance.now();
const fits = await openFits(src);
const ms = performance.now() - t0;
const headerBytes = fits.hdus.reduce((s, h) => s + (h.dataOffset - h.headerOffset), 0);
console.log(`${file}: ${(statSync(file).size / 2 ** 30).toFixed(2)} GiB, ${fits.hdus.length} HDUs`);
for (const h of fits.hdus) {
  console.log(
    `  HDU ${h.index} ${h.kind.padEnd(9)} header@${h.headerOffset} data@${h.dataOffset} span ${h.dataSpan}`,
  );
}
console.log(`bytes read: ${src.bytesRead} (${(src.bytesRead / 1024).toFixed(1)} KiB) in ${src.reads} reads;`);
console.log(`header bytes: ${headerBytes}; time ${ms.toFixed(1)} ms; target < 64 KiB`);
await src.close();

// Peers in the same run: bytes their processes read (rchar of /proc/self/io) to list every header.
const peerScript = (body: string) => `
import sys
def rchar():
    for line in open('/proc/self/io'):
        if line.startswith('rchar'):
            return int(line.split()[1])
import importlib
${body}
before = rchar()
n = run(sys.argv[1])
print(rchar() - before, n)`;
const peers: [string, string][] = [
  [
    'astropy',
    `from astropy.io import fits
def run(f):
    with fits.open(f, memmap=True) as h:
        return len([x.header for x in h])`,
  ],
  [
    'fitsio',
    `import fitsio
def run(f):
    with fitsio.FITS(f) as F:
        return len([h.read_header() for h in F])`,
  ],
];
for (const [name, body] of peers) {
  const [bytes, n] = execFileSync('/usr/bin/python3', ['-c', peerScript(body), file], { encoding: 'utf8' })
    .trim()
    .split(' ');
  console.log(
    `${name}: ${bytes} bytes read for ${n} headers (${(Number(bytes) / src.bytesRead).toFixed(1)}x fitslake)`,
  );
}
