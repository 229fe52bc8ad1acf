// Benchmark (i): remote reads of a TESS-like cube served from loopback nginx, fitslake's cloud
// client (openIndex + section) vs astropy + fsspec (`fits.open(url, use_fsspec=True)` + `.section`):
// bytes transferred and requests as nginx's access log counts them, and wall time.
//
// Usage: npx tsx bench/cloud-cube.ts   (env: SIZE=2048 FRAMES=200 REPEAT=3 WARM=4 ASTROPY_BLOCK=65536)
//
// The cube is made in bench/data/cloud-cube/ if missing: a header-only primary HDU, an IMAGE cube of
// SIZE×SIZE float32 × FRAMES (3.1 GiB at the defaults), a FRAMES BINTABLE (TIME, TIMECORR, CADENCENO,
// QUALITY, PIX_MEDIAN, FFI_FILE per frame) and a small BACKGROUND image. Headers and table are real;
// the cube is a sparse hole on disk (zeros) except the frame the cutout reads and the light-curve pixel
// in every frame, which hold a known pattern so every reader's answer is checked.
//
// Each measurement runs in a fresh process (this script with --child, or /usr/bin/python3) that asks
// the whole question (open included) 1 + WARM times: the first call is the cold time, the median of
// the others the warm time; the parent counts requests and body bytes in nginx's access log around
// it and divides by the calls (every call costs the same bytes).
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openIndex } from '../src/cloud/client.ts';
import type { RangeSourceOptions } from '../src/cloud/range-source.ts';
import { type CardSpec, encodeHeader } from '../src/fits/write.ts';
import { startNginx } from '../test/cloud/nginx.ts';

const SIZE = Number(process.env.SIZE ?? 2048);
const FRAMES = Number(process.env.FRAMES ?? 200);
const REPEAT = Number(process.env.REPEAT ?? 3);
const ASTROPY_BLOCK = Number(process.env.ASTROPY_BLOCK ?? 65536);
const BOX = 100;
// What is read: a BOX×BOX cutout of frame CF at (X0, Y0), and pixel (LX, LY) through every frame (0-based).
const CF = Math.floor(FRAMES * 0.7);
const X0 = Math.floor(SIZE * 0.5) + 13;
const Y0 = Math.floor(SIZE * 0.75) - 7;
const LX = Math.floor(SIZE * 0.34) + 1;
const LY = Math.floor(SIZE * 0.15) + 3;
const DIR = resolve('bench/data/cloud-cube');
const NAME = `tess-like-${SIZE}x${SIZE}x${FRAMES}.fits`;
const FILE = join(DIR, NAME);
const BLOCK = 2880;
const pad = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** The value of pixel (x, y) in frame t wherever the generator wrote data: an integer, exact in float32. */
const pixel = (t: number, y: number, x: number) => (t * 7919 + y * 131 + x * 17) % 1000003;

interface Params {
  index: string;
  what: 'cutout' | 'lc' | 'lc-time';
  opts?: RangeSourceOptions;
  /** The whole question (open included) this many times in one process: the first is cold. */
  calls: number;
}
interface Answer {
  /** The first call, from open to pixels in hand. */
  ms: number;
  /** The median of the later calls (warm process, same work and bytes). */
  warmMs?: number;
  sum?: number;
  values?: number[];
  times?: number[];
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

/** One question through the client, exactly as a user asks it: open the index, read. */
async function ask(p: Params): Promise<Omit<Answer, 'ms'>> {
  const index = await openIndex(p.index, p.opts ?? {});
  const cube = index.file(NAME).hdu('CUBE');
  const out: Omit<Answer, 'ms'> = {};
  if (p.what === 'cutout') {
    const img = await cube.section([
      { start: X0, stop: X0 + BOX },
      { start: Y0, stop: Y0 + BOX },
      { start: CF, stop: CF + 1 },
    ]);
    out.sum = (img.data as Float32Array).reduce((a, v) => a + v, 0);
  } else {
    const [img, rows] = await Promise.all([
      cube.section([
        { start: LX, stop: LX + 1 },
        { start: LY, stop: LY + 1 },
        { start: 0, stop: FRAMES },
      ]),
      p.what === 'lc-time' ? index.file(NAME).hdu('FRAMES').rows(0, FRAMES, ['TIME']) : undefined,
    ]);
    out.values = Array.from(img.data as Float32Array);
    if (rows) out.times = rows.map((r) => r.TIME as number);
  }
  return out;
}

if (process.argv[2] === '--child') {
  const p = JSON.parse(process.argv[3]) as Params;
  const ms: number[] = [];
  let out: Omit<Answer, 'ms'> = {};
  for (let c = 0; c < p.calls; c++) {
    const t0 = performance.now();
    out = await ask(p);
    ms.push(performance.now() - t0);
  }
  console.log(JSON.stringify({ ms: ms[0], warmMs: ms.length > 1 ? median(ms.slice(1)) : undefined, ...out }));
  process.exit(0);
}

// ----- the TESS-like file ------------------------------------------------------------------------

const tableCols: [name: string, tform: string, unit: string, bytes: number][] = [
  ['TIME', 'D', 'BJD - 2457000, days', 8],
  ['TIMECORR', 'E', 'd', 4],
  ['CADENCENO', 'J', '', 4],
  ['QUALITY', 'J', '', 4],
  ['PIX_MEDIAN', 'E', 'e-/s', 4],
  ['FFI_FILE', '40A', '', 40],
];
const rowBytes = tableCols.reduce((a, c) => a + c[3], 0);
const t0Days = 1325.2932;
const cadenceDays = 1800 / 86400;

function layout() {
  const primary: CardSpec[] = [
    ['SIMPLE', true, 'conforms to FITS standard'],
    ['BITPIX', 8, ''],
    ['NAXIS', 0, ''],
    ['EXTEND', true, ''],
    ['ORIGIN', 'fitslake bench', 'institution responsible for creating this file'],
    ['DATE', '2026-11-24', 'file creation date'],
    ['TELESCOP', 'TESS', 'telescope'],
    ['INSTRUME', 'TESS Photometer', 'detector type'],
    ['SECTOR', 1, 'observing sector'],
    ['CAMERA', 1, 'camera number'],
    ['CCD', 1, 'CCD chip number'],
    ['TIMESYS', 'TDB', 'time system is Barycentric Dynamical Time (TDB)'],
    ['BJDREFI', 2457000, 'integer part of BTJD reference date'],
    ['BJDREFF', 0.0, 'fraction of the day in BTJD reference date'],
    ['TIMEUNIT', 'd', 'time unit for TIME, TSTART and TSTOP'],
    ['TSTART', t0Days, 'observation start time in BTJD'],
    ['TSTOP', t0Days + FRAMES * cadenceDays, 'observation stop time in BTJD'],
    ['DATE-OBS', '2018-07-25T19:29:42.708', 'TSTART as UTC calendar date'],
    ['RA_NOM', 42.3005, '[deg] RA of camera boresight'],
    ['DEC_NOM', -40.6264, '[deg] declination of camera boresight'],
    ['ROLL_NOM', -159.8473, '[deg] roll angle of camera'],
    ['NFRAMES', FRAMES, 'frames in the cube'],
    ['COMMENT', 'A TESS-like FFI cube for fitslake bench/cloud-cube.ts (sparse data, real headers).'],
  ];
  const cube: CardSpec[] = [
    ['XTENSION', 'IMAGE', 'image extension'],
    ['BITPIX', -32, 'array data type'],
    ['NAXIS', 3, ''],
    ['NAXIS1', SIZE, 'column'],
    ['NAXIS2', SIZE, 'row'],
    ['NAXIS3', FRAMES, 'frame (see the FRAMES table for times)'],
    ['PCOUNT', 0, ''],
    ['GCOUNT', 1, ''],
    ['EXTNAME', 'CUBE', 'calibrated FFI frames'],
    ['BUNIT', 'e-/s', 'physical units of the pixels'],
    ['WCSAXES', 2, 'celestial axes only: axis 3 is the frame number'],
    ['CTYPE1', 'RA---TAN', ''],
    ['CTYPE2', 'DEC--TAN', ''],
    ['CRPIX1', SIZE / 2 + 0.5, ''],
    ['CRPIX2', SIZE / 2 + 0.5, ''],
    ['CRVAL1', 42.3005, '[deg]'],
    ['CRVAL2', -40.6264, '[deg]'],
    ['CD1_1', -0.005836, ''],
    ['CD1_2', -0.000381, ''],
    ['CD2_1', 0.000383, ''],
    ['CD2_2', -0.005828, ''],
    ['RADESYS', 'ICRS', ''],
  ];
  const table: CardSpec[] = [
    ['XTENSION', 'BINTABLE', 'binary table extension'],
    ['BITPIX', 8, ''],
    ['NAXIS', 2, ''],
    ['NAXIS1', rowBytes, 'bytes per row'],
    ['NAXIS2', FRAMES, 'one row per frame'],
    ['PCOUNT', 0, ''],
    ['GCOUNT', 1, ''],
    ['TFIELDS', tableCols.length, ''],
    ...tableCols.flatMap(([name, tform, unit], i): CardSpec[] => [
      [`TTYPE${i + 1}`, name, ''],
      [`TFORM${i + 1}`, tform, ''],
      ...(unit ? [[`TUNIT${i + 1}`, unit, ''] as CardSpec] : []),
    ]),
    ['EXTNAME', 'FRAMES', 'per-frame times and flags'],
    ['TIMESYS', 'TDB', ''],
    ['BJDREFI', 2457000, ''],
  ];
  const bkgSize = 256;
  const bkg: CardSpec[] = [
    ['XTENSION', 'IMAGE', 'image extension'],
    ['BITPIX', -32, ''],
    ['NAXIS', 2, ''],
    ['NAXIS1', bkgSize, ''],
    ['NAXIS2', bkgSize, ''],
    ['PCOUNT', 0, ''],
    ['GCOUNT', 1, ''],
    ['EXTNAME', 'BACKGROUND', 'median background, binned 8x8'],
    ['BUNIT', 'e-/s', ''],
  ];
  const hdus = [
    { header: encodeHeader(primary), data: 0 },
    { header: encodeHeader(cube), data: SIZE * SIZE * FRAMES * 4 },
    { header: encodeHeader(table), data: rowBytes * FRAMES },
    { header: encodeHeader(bkg), data: bkgSize * bkgSize * 4 },
  ];
  let at = 0;
  const placed = hdus.map((h) => {
    const p = { ...h, headerOffset: at, dataOffset: at + h.header.length };
    at = p.dataOffset + pad(h.data);
    return p;
  });
  return { placed, size: at };
}

function generate(): void {
  const { placed, size } = layout();
  if (existsSync(FILE) && statSync(FILE).size === size) return;
  mkdirSync(DIR, { recursive: true });
  rmSync(FILE, { force: true });
  const fd = openSync(FILE, 'w');
  try {
    ftruncateSync(fd, size); // a hole: zeros that take no disk
    for (const h of placed) writeSync(fd, h.header, 0, h.header.length, h.headerOffset);
    const cubeAt = placed[1].dataOffset;
    const frameBytes = SIZE * SIZE * 4;
    // The cutout's frame in full, then the light-curve pixel in every frame.
    const frame = new DataView(new ArrayBuffer(frameBytes));
    for (let y = 0; y < SIZE; y++)
      for (let x = 0; x < SIZE; x++) frame.setFloat32((y * SIZE + x) * 4, pixel(CF, y, x));
    writeSync(fd, new Uint8Array(frame.buffer), 0, frameBytes, cubeAt + CF * frameBytes);
    const one = new DataView(new ArrayBuffer(4));
    for (let t = 0; t < FRAMES; t++) {
      one.setFloat32(0, pixel(t, LY, LX));
      writeSync(fd, new Uint8Array(one.buffer), 0, 4, cubeAt + t * frameBytes + (LY * SIZE + LX) * 4);
    }
    // The table: real rows.
    const rows = new DataView(new ArrayBuffer(rowBytes * FRAMES));
    const enc = new TextEncoder();
    for (let i = 0; i < FRAMES; i++) {
      const r = i * rowBytes;
      rows.setFloat64(r, t0Days + i * cadenceDays);
      rows.setFloat32(r + 8, 0.00412 + i * 1e-7);
      rows.setInt32(r + 12, 4697 + i);
      rows.setInt32(r + 16, i % 37 === 5 ? 128 : 0);
      rows.setFloat32(r + 20, 412.5 + (i % 11));
      const name = enc.encode(
        `tess2018${String(206192942 + i * 3000).padStart(9, '0')}-s0001-1-1-0120-s_ffic`,
      );
      new Uint8Array(rows.buffer, r + 24, 40).set(name.subarray(0, 40));
    }
    writeSync(fd, new Uint8Array(rows.buffer), 0, rows.byteLength, placed[2].dataOffset);
    // Padding after the table (FITS pads binary tables with zeros: the hole already is).
  } finally {
    closeSync(fd);
  }
}

// ----- the run -----------------------------------------------------------------------------------

const PY = `
import sys, json, time
import numpy as np
from astropy.io import fits
url, what, bs = sys.argv[1:4]
cf, x0, y0, lx, ly, box, calls = map(int, sys.argv[4:11])
kw = {} if bs == 'default' else {'fsspec_kwargs': {'block_size': int(bs)}}
ms = []
for c in range(calls):
    t0 = time.perf_counter()
    with fits.open(url, use_fsspec=True, **kw) as h:
        sec = h['CUBE'].section
        out = {}
        if what == 'cutout':
            a = sec[cf, y0:y0 + box, x0:x0 + box]
            out['sum'] = float(np.sum(a, dtype=np.float64))
        else:
            out['values'] = [float(v) for v in sec[:, ly, lx]]
            if what == 'lc-time':
                out['times'] = [float(v) for v in h['FRAMES'].data['TIME']]
    ms.append((time.perf_counter() - t0) * 1000)
out['ms'] = ms[0]
if calls > 1:
    out['warmMs'] = sorted(ms[1:])[(calls - 1) // 2]
print(json.dumps(out))
`;

interface Row {
  reader: string;
  what: Params['what'];
  /** Per call: requests and body bytes of the data file, and of the index. */
  requests: number;
  bytes: number;
  indexRequests: number;
  indexBytes: number;
  /** One entry per process: the cold call, the warm calls' median, the whole process. */
  ms: number[];
  warmMs: number[];
  processMs: number[];
}

const WARM = Number(process.env.WARM ?? 4);
const CALLS = 1 + WARM;

generate();
const { placed, size } = layout();
chmodSync(DIR, 0o755); // nginx's workers run as nobody
chmodSync(FILE, 0o644);
const indexFile = join(DIR, 'index.json');
if (!existsSync(indexFile) || statSync(indexFile).mtimeMs < statSync(FILE).mtimeMs) {
  rmSync(indexFile, { force: true });
  const said = execFileSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/run.ts', 'index', DIR, '--out', indexFile],
    { encoding: 'utf8' },
  );
  console.log(`fitslake index: ${said.trim()}`);
}

const nginx = await startNginx(DIR);
const dataUrl = `${nginx.url}/${NAME}`;
const indexUrl = `${nginx.url}/index.json`;
const expectedSum = (() => {
  let s = 0;
  for (let y = Y0; y < Y0 + BOX; y++) for (let x = X0; x < X0 + BOX; x++) s += pixel(CF, y, x);
  return s;
})();
const expectedLc = Array.from({ length: FRAMES }, (_, t) => pixel(t, LY, LX));
const expectedTimes = Array.from({ length: FRAMES }, (_, i) => t0Days + i * cadenceDays);

function check(label: string, what: Params['what'], a: Answer): void {
  const bad = (why: string) => {
    throw new Error(`${label} ${what}: wrong answer (${why})`);
  };
  if (what === 'cutout' && a.sum !== expectedSum) bad(`sum ${a.sum}, expected ${expectedSum}`);
  if (what !== 'cutout' && JSON.stringify(a.values) !== JSON.stringify(expectedLc)) bad('pixel values');
  if (what === 'lc-time' && a.times?.some((t, i) => Math.abs(t - expectedTimes[i]) > 1e-9)) bad('times');
}

const rows: Row[] = [];
/** Runs `run` (a fresh process asking `calls` times) REPEAT times, counting in nginx's log. */
async function measure(
  reader: string,
  what: Params['what'],
  calls: number,
  run: () => Answer | undefined,
): Promise<void> {
  const row: Row = {
    reader,
    what,
    requests: 0,
    bytes: 0,
    indexRequests: 0,
    indexBytes: 0,
    ms: [],
    warmMs: [],
    processMs: [],
  };
  for (let k = 0; k < REPEAT; k++) {
    const mark = nginx.mark();
    const t0 = performance.now();
    const answer = run();
    const processMs = performance.now() - t0;
    const data = await nginx.since(mark, `/${NAME}`);
    const idx = await nginx.since(mark, '/index.json');
    if (answer) check(reader, what, answer);
    // Every call asks the same question from scratch: the counts must divide evenly.
    if ([data.requests, data.bytes, idx.requests, idx.bytes].some((n) => n % calls !== 0))
      console.log(
        `  note: ${reader} ${what}: counts ${data.requests}/${data.bytes} not the same for each call`,
      );
    const per = {
      requests: data.requests / calls,
      bytes: data.bytes / calls,
      indexRequests: idx.requests / calls,
      indexBytes: idx.bytes / calls,
    };
    if (k > 0 && (per.bytes !== row.bytes || per.requests !== row.requests))
      console.log(`  note: ${reader} ${what} run ${k + 1}: ${per.requests} requests, ${per.bytes} bytes`);
    Object.assign(row, per);
    // The CLI rows have no inner timer: their time is the process's (startup included).
    row.ms.push(answer && Number.isFinite(answer.ms) ? answer.ms : processMs);
    if (answer?.warmMs !== undefined) row.warmMs.push(answer.warmMs);
    row.processMs.push(processMs);
  }
  rows.push(row);
  console.log(
    `${reader.padEnd(40)} ${what.padEnd(8)} ${String(row.requests).padStart(5)} req ${String(row.bytes).padStart(11)} B` +
      `${row.indexBytes ? ` (+ index ${row.indexBytes} B)` : ''}  cold ${median(row.ms).toFixed(0)} ms` +
      `${row.warmMs.length ? `, warm ${median(row.warmMs).toFixed(0)} ms` : ''}`,
  );
}

const node = (p: Params) => () =>
  JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', 'bench/cloud-cube.ts', '--child', JSON.stringify(p)], {
      encoding: 'utf8',
      env: { ...process.env, SIZE: String(SIZE), FRAMES: String(FRAMES) },
    }),
  ) as Answer;
const astropy = (what: Params['what'], bs: string) => () =>
  JSON.parse(
    execFileSync(
      '/usr/bin/python3',
      ['-c', PY, dataUrl, what, bs, ...[CF, X0, Y0, LX, LY, BOX, CALLS].map(String)],
      { encoding: 'utf8' },
    ),
  ) as Answer;
const cli = (args: string[], what: Params['what']) => () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], {
    encoding: 'utf8',
  });
  if (what !== 'lc') return undefined;
  const doc = JSON.parse(out) as { frames: { value: number }[] };
  return { ms: Number.NaN, values: doc.frames.map((f) => f.value) };
};

const versions = execFileSync(
  '/usr/bin/python3',
  [
    '-c',
    'import astropy, fsspec, aiohttp; print(astropy.__version__, fsspec.__version__, aiohttp.__version__)',
  ],
  { encoding: 'utf8' },
).trim();
console.log(
  `${NAME}: ${(size / 2 ** 30).toFixed(2)} GiB (${size} bytes), HDUs at ${placed.map((h) => h.headerOffset).join(', ')}; ` +
    `index ${statSync(indexFile).size} bytes; astropy/fsspec/aiohttp ${versions}; ` +
    `${REPEAT} processes per row, each asking ${CALLS} times (the first cold); medians`,
);
console.log(
  `cutout: frame ${CF}, x ${X0}..${X0 + BOX - 1}, y ${Y0}..${Y0 + BOX - 1}; light curve: pixel (${LX}, ${LY}), ${FRAMES} frames (0-based)`,
);

const cutoutOut = join(tmpdir(), `fitslake-bench-cutout-${process.pid}.fits`);
const QUESTIONS = ['cutout', 'lc', 'lc-time'] as const;
try {
  for (const what of QUESTIONS)
    await measure('fitslake client (defaults)', what, CALLS, node({ index: indexUrl, what, calls: CALLS }));
  // The coalescing knob: a gap larger than a frame row merges the cutout's 100 runs into one request.
  await measure(
    'fitslake client, coalesceGap 16 KiB',
    'cutout',
    CALLS,
    node({ index: indexUrl, what: 'cutout', opts: { coalesceGap: 16 << 10 }, calls: CALLS }),
  );
  // The CLI on the bare URL (no index): HttpSource, headers walked from the file.
  const px = `${X0 + 1}:${X0 + BOX},${Y0 + 1}:${Y0 + BOX},${CF + 1}:${CF + 1}`;
  await measure(
    'fitslake cutout URL (CLI, no index)',
    'cutout',
    1,
    cli(['cutout', dataUrl, '--hdu', 'CUBE', '--pixels', px, '-o', cutoutOut], 'cutout'),
  );
  await measure(
    'fitslake lightcurve URL (CLI, no index)',
    'lc',
    1,
    cli(
      [
        'lightcurve',
        dataUrl,
        '--hdu',
        'CUBE',
        '--x',
        String(LX + 1),
        '--y',
        String(LY + 1),
        '--format',
        'json',
      ],
      'lc',
    ),
  );
  for (const what of QUESTIONS)
    await measure('astropy+fsspec (default block_size)', what, CALLS, astropy(what, 'default'));
  for (const what of QUESTIONS)
    await measure(
      `astropy+fsspec, block_size ${ASTROPY_BLOCK}`,
      what,
      CALLS,
      astropy(what, String(ASTROPY_BLOCK)),
    );
} finally {
  nginx.stop();
  rmSync(cutoutOut, { force: true });
}

// ----- summary -----------------------------------------------------------------------------------

// The layout's minimum: the pixels themselves (headers come from the index); lc-time adds TIME (8 bytes a row).
const minimum = { cutout: BOX * BOX * 4, lc: FRAMES * 4, 'lc-time': FRAMES * (4 + 8) };
const ours = (what: Params['what']) =>
  rows.find((r) => r.reader === 'fitslake client (defaults)' && r.what === what)!;
console.log(
  '\n| reader | question | requests (+ index) | bytes (+ index) | / minimum | astropy / fitslake (with index) | cold ms | warm ms |',
);
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  const f = ours(r.what);
  console.log(
    `| ${[
      r.reader,
      r.what,
      r.requests + (r.indexRequests ? ` (+ ${r.indexRequests})` : ''),
      r.bytes.toLocaleString('en-US') + (r.indexBytes ? ` (+ ${r.indexBytes.toLocaleString('en-US')})` : ''),
      `${(r.bytes / minimum[r.what]).toFixed(2)}x`,
      r.reader.startsWith('astropy')
        ? `${(r.bytes / f.bytes).toFixed(0)}x (${(r.bytes / (f.bytes + f.indexBytes)).toFixed(0)}x)`
        : '',
      median(r.ms).toFixed(0),
      r.warmMs.length ? median(r.warmMs).toFixed(0) : '',
    ].join(' | ')} |`,
  );
}
const astro = (what: Params['what']) =>
  rows.find((r) => r.reader.startsWith('astropy+fsspec (default') && r.what === what)!;
const okMin = (['cutout', 'lc'] as const).every((w) => ours(w).bytes <= 1.1 * minimum[w]);
const okPeer = (['cutout', 'lc'] as const).every(
  (w) => astro(w).bytes >= 10 * (ours(w).bytes + ours(w).indexBytes),
);
console.log(
  `\ntargets: fitslake bytes <= 1.1x the layout minimum: ${okMin ? 'met' : 'MISSED'}; ` +
    `>= 10x fewer bytes than astropy+fsspec (defaults, index fetch included): ${okPeer ? 'met' : 'MISSED'}`,
);
