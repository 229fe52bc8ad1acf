// `fitslake cutout` and `fitslake lightcurve` end to end: corpus files and generated cubes cut by
// pixels and by sky circle, checked by astropy (pixels equal the original's slice, the cutout's WCS
// maps its first pixel where the original's maps the box's first pixel, checksums verify); light
// curves against astropy's data[:, y-1, x-1] and WCS time; URL inputs through nginx with the bytes
// it served counted; lake IDs (raw key and publisher DID); and the error cases.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import type { Output } from '../../src/cli/output.ts';
import { encodeImageHdu } from '../../src/fits/write.ts';
import { type Nginx, startNginx } from '../cloud/nginx.ts';
import { corpusPath } from '../util/corpus.ts';

interface Result {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI in this process, capturing what it prints. */
async function cli(...args: string[]): Promise<Result> {
  let out = '';
  let err = '';
  const nl = (t: string) => (t.endsWith('\n') ? t : `${t}\n`);
  const io: Output = { out: (t) => void (out += nl(t)), err: (t) => void (err += nl(t)) };
  const code = await main(args, io);
  return { code, out, err };
}

function python<T>(script: string, ...args: string[]): T {
  const r = spawnSync('/usr/bin/python3', ['-c', script, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

// The cutout against the original, both read by astropy. `section` is the box, 1-based inclusive,
// FITS axis order; WCS pairs: the cutout's pixel (0,…) and its far corner against the original's.
const CHECK_CUTOUT = `
import json, sys, warnings
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
orig, which, cut, section = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
which = int(which) if which.isdigit() else which
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    with fits.open(cut, checksum=True) as b:
        got = b[0].data
        hb = b[0].header.copy()
        nhdu = len(b)
    cut_warnings = [str(w.message) for w in caught]
warnings.simplefilter('ignore')
with fits.open(orig) as a:
    want = a[which].data[tuple(slice(r[0] - 1, r[1]) for r in reversed(section))]
    ha = a[which].header.copy()
f64 = lambda x: np.asarray(x, dtype=np.float64)
same = want.shape == got.shape and bool(np.array_equal(f64(want), f64(got), equal_nan=True))
wa, wb = WCS(ha), WCS(hb)
def world(w, pix):
    p = (list(pix) + [0] * w.naxis)[: w.naxis]
    return [float(v) for v in w.all_pix2world([p], 0)[0]]
pairs = []
if wa.has_celestial:
    first = [r[0] - 1 for r in section]
    last = [r[1] - 1 for r in section]
    pairs.append([world(wa, first), world(wb, [0] * len(section))])
    pairs.append([world(wa, last), world(wb, [r[1] - r[0] for r in section])])
print(json.dumps({'same': same, 'want': list(want.shape), 'got': list(got.shape), 'dtype': [want.dtype.name, got.dtype.name],
                  'bitpix': hb['BITPIX'], 'hdus': nhdu, 'warnings': cut_warnings, 'celestial': bool(wa.has_celestial), 'pairs': pairs}))
`;

interface CutoutCheck {
  same: boolean;
  want: number[];
  got: number[];
  dtype: [string, string];
  bitpix: number;
  hdus: number;
  warnings: string[];
  celestial: boolean;
  pairs: [number[], number[]][];
}

/** The box a cutout printed: `wrote X: [a:b,c:d] of …`. */
function sectionOf(out: string): [number, number][] {
  const m = /: \[([\d:,]+)\] of /.exec(out);
  assert.ok(m, out);
  return m[1].split(',').map((p) => p.split(':').map(Number) as [number, number]);
}

/** Runs `cutout`, then checks the written file against the original with astropy. */
async function checkCutout(orig: string, hdu: string, args: string[], what: string) {
  const out = join(tmp, `cut-${Math.random().toString(36).slice(2)}.fits`);
  const r = await cli('cutout', ...args, '-o', out);
  assert.equal(r.code, 0, `${what}: ${r.err}`);
  const section = sectionOf(r.out);
  const py = python<CutoutCheck>(CHECK_CUTOUT, orig, hdu, out, JSON.stringify(section));
  assert.deepEqual(py.warnings, [], `${what}: astropy warned (checksums?)`);
  assert.equal(py.hdus, 1, what);
  assert.deepEqual(py.got, py.want, `${what}: shape`);
  assert.ok(py.same, `${what}: pixels differ from astropy's slice`);
  assert.equal(py.dtype[1], py.dtype[0], `${what}: dtype`);
  for (const [a, b] of py.pairs) {
    assert.equal(a.length, b.length, what);
    for (let k = 0; k < a.length; k++) {
      // Longitudes may wrap at 360.
      const d = Math.abs(a[k] - b[k]);
      assert.ok(Math.min(d, Math.abs(d - 360)) < 1e-9, `${what}: world ${a} vs ${b}`);
    }
  }
  return { out, section, py, stdout: r.out };
}

// The light curve of one pixel as astropy reads it, and the WCS world value of axis 3 of each frame.
const LIGHTCURVE = `
import json, sys, warnings
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
warnings.simplefilter('ignore')
path, which, x, y = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
which = int(which) if which.isdigit() else which
with fits.open(path) as h:
    d = h[which].data
    series = d.reshape((-1,) + d.shape[-3:])[0][:, y - 1, x - 1]
    w = WCS(h[which].header)
    n = series.shape[0]
    t = w.wcs_pix2world([[x - 1, y - 1, k] + [0] * (w.naxis - 3) for k in range(n)], 0)[:, 2]
    print(json.dumps({'values': [None if np.isnan(v) else float(v) for v in series.astype(np.float64)],
                      'dtype': series.dtype.name, 'ctype3': w.wcs.ctype[2], 'time': [float(v) for v in t]}))
`;

interface Curve {
  values: (number | null)[];
  dtype: string;
  ctype3: string;
  time: number[];
}

/** Parses `lightcurve` TSV output and compares it with astropy's; `timed` says whether a time column is expected. */
function checkCurve(out: string, truth: Curve, timed: boolean, what: string) {
  const lines = out.split('\n').filter((l) => l !== '');
  assert.match(lines[0], /^# /, what);
  assert.equal(lines[1], timed ? '# frame\ttime\tvalue' : '# frame\tvalue', what);
  const rows = lines.slice(2).map((l) => l.split('\t'));
  assert.equal(rows.length, truth.values.length, `${what}: one line per frame`);
  for (const [k, row] of rows.entries()) {
    assert.equal(row.length, timed ? 3 : 2, `${what}: ${row}`);
    assert.equal(Number(row[0]), k + 1, `${what}: frame number`);
    const want = truth.values[k];
    const got = Number(row[row.length - 1]);
    if (want === null) assert.ok(Number.isNaN(got), `${what}: frame ${k + 1} should be NaN, got ${row}`);
    else if (truth.dtype === 'float32')
      assert.equal(Math.fround(got), Math.fround(want), `${what}: frame ${k + 1}`);
    else assert.equal(got, want, `${what}: frame ${k + 1}`);
    if (timed) {
      const t = Number(row[1]);
      assert.ok(
        Math.abs(t - truth.time[k]) <= 1e-9 * Math.max(1, Math.abs(t)),
        `${what}: time ${t} vs ${truth.time[k]}`,
      );
    }
  }
}

let tmp = '';
let web: Nginx;
const NX = 128;
const NY = 96;
const NT = 40;
let cubePath = '';
let scaledPath = '';

/** A float32 cube 128×96×40 with a celestial TAN WCS and a TIME axis (s from MJDREF). */
function timeCube(): Uint8Array {
  const data = new Float32Array(NX * NY * NT);
  for (let t = 0; t < NT; t++)
    for (let y = 0; y < NY; y++)
      for (let x = 0; x < NX; x++)
        data[x + NX * (y + NY * t)] = Math.sin(x * 0.1 + t * 0.3) * 1000 + y * 0.01 + t;
  return encodeImageHdu(
    data,
    [NX, NY, NT],
    [
      ['OBJECT', 'variable field'],
      ['DATE-OBS', '2024-03-01T02:00:00'],
      ['CTYPE1', 'RA---TAN'],
      ['CTYPE2', 'DEC--TAN'],
      ['CTYPE3', 'TIME'],
      ['CUNIT3', 's'],
      ['CRPIX1', 64.5],
      ['CRPIX2', 48.5],
      ['CRPIX3', 1],
      ['CRVAL1', 83.82],
      ['CRVAL2', -5.39],
      ['CRVAL3', 15],
      ['CDELT1', -0.0005],
      ['CDELT2', 0.0005],
      ['CDELT3', 120],
      ['RADESYS', 'ICRS'],
      ['MJDREF', 60370],
      ['TIMESYS', 'TDB'],
    ],
  );
}

/** An int16 cube with BSCALE/BZERO and BLANK pixels, no WCS: values become float32 with NaN. */
function scaledCube(): Uint8Array {
  const [nx, ny, nt] = [32, 24, 12];
  const data = new Int16Array(nx * ny * nt);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 20000) - 10000;
  for (let t = 0; t < nt; t += 3) data[4 + nx * (5 + ny * t)] = -32768;
  return encodeImageHdu(
    data,
    [nx, ny, nt],
    [
      ['BSCALE', 0.25],
      ['BZERO', 1000],
      ['BLANK', -32768],
    ],
  );
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fitslake-cutout-cli-'));
  mkdirSync(join(tmp, 'www'));
  cubePath = join(tmp, 'www', 'cube.fits');
  writeFileSync(cubePath, timeCube());
  scaledPath = join(tmp, 'scaled.fits');
  writeFileSync(scaledPath, scaledCube());
  // nginx's workers run as another user: they need to reach the folder.
  chmodSync(tmp, 0o755);
  chmodSync(join(tmp, 'www'), 0o755);
  web = await startNginx(join(tmp, 'www'));
});

after(() => {
  web?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test('cutout --pixels of corpus images (SIP, MEF extension by number and by EXTNAME, gzip, tile-compressed) matches astropy', async () => {
  const sip = corpusPath('synthetic/wcs_sip.fits');
  const a = await checkCutout(sip, '0', [sip, '--pixels', '5:20,3:12'], 'wcs_sip');
  assert.deepEqual(a.section, [
    [5, 20],
    [3, 12],
  ]);
  assert.ok(a.py.celestial && a.py.pairs.length === 2, 'the SIP image has a celestial WCS to compare');
  // Ranges past the edge are clipped; '*' keeps a whole axis.
  const b = await checkCutout(sip, '0', [sip, '--pixels', '30:99,*'], 'wcs_sip clipped');
  assert.deepEqual(b.section, [
    [30, 40],
    [1, 30],
  ]);

  const mef = corpusPath('synthetic/bitpix_mef.fits');
  const s = await checkCutout(mef, '10', [mef, '--hdu', '10', '--pixels', '2:11,2:4'], 'bitpix_mef SCALED');
  assert.equal(s.py.dtype[0], 'float32', 'BSCALE/BZERO kept: astropy scales the cutout like the original');
  await checkCutout(mef, 'U16', [mef, '--hdu', 'u16', '--pixels', '1:7,3:5'], 'bitpix_mef U16 by EXTNAME');

  // A gzip stream whose image is in HDU 1 (the default: the first image with data).
  const fermi = corpusPath('fits/fermi_counts.fits.gz');
  const g = await checkCutout(fermi, '1', [fermi, '--pixels', '150:260,80:130'], 'gzip stream');
  assert.match(g.stdout, / HDU 1: 111×51 pixels/);

  const rice = corpusPath('synthetic/rice_single.fits.fz');
  const r = await checkCutout(rice, '1', [rice, '--pixels', '10:45,20:50'], 'RICE tiles');
  assert.equal(r.py.bitpix, 16, 'tile-compressed integers stay BITPIX 16');
});

test('cutout --ra --dec --radius: the box around the circle, the centre inside it, WCS consistent', async () => {
  // The sky position of pixel (100.5, 30.5) of the cube, from astropy.
  const [ra, dec] = python<number[]>(
    `import sys, json, warnings
warnings.simplefilter('ignore')
from astropy.io import fits
from astropy.wcs import WCS
w = WCS(fits.getheader(sys.argv[1])).celestial
print(json.dumps([float(v) for v in w.all_pix2world([[99.5, 29.5]], 0)[0]]))`,
    cubePath,
  );
  const c = await checkCutout(
    cubePath,
    '0',
    [cubePath, '--ra', String(ra), '--dec', String(dec), '--radius', '18arcsec'],
    'time cube circle',
  );
  // 18″ at 1.8″ per pixel is 10 pixels: about 20 pixels across, every frame kept.
  const [[x1, x2], [y1, y2], [z1, z2]] = c.section;
  assert.ok(x2 - x1 + 1 >= 19 && x2 - x1 + 1 <= 22, `${c.section}`);
  assert.ok(y2 - y1 + 1 >= 19 && y2 - y1 + 1 <= 22, `${c.section}`);
  assert.ok(x1 <= 100 && x2 >= 101 && y1 <= 30 && y2 >= 31, `${c.section}`);
  assert.deepEqual([z1, z2], [1, NT]);
  // astropy puts the requested position at the cutout's centre (within a pixel).
  const [px, py] = python<number[]>(
    `import sys, json, warnings
warnings.simplefilter('ignore')
from astropy.io import fits
from astropy.wcs import WCS
w = WCS(fits.getheader(sys.argv[1])).celestial
print(json.dumps([float(v) for v in w.world_to_pixel_values(float(sys.argv[2]), float(sys.argv[3]))]))`,
    c.out,
    String(ra),
    String(dec),
  );
  assert.ok(
    Math.abs(px - (x2 - x1) / 2) <= 1 && Math.abs(py - (y2 - y1) / 2) <= 1,
    `${px} ${py} in ${c.section}`,
  );
});

test('lightcurve of a local cube: astropy values and WCS times; csv and json formats; scaled int16 with BLANK', async () => {
  const truth = python<Curve>(LIGHTCURVE, cubePath, '0', '7', '9');
  assert.equal(truth.ctype3, 'TIME');
  const r = await cli('lightcurve', cubePath, '--x', '7', '--y', '9');
  assert.equal(r.code, 0, r.err);
  checkCurve(r.out, truth, true, 'time cube');
  assert.match(r.out.split('\n')[0], /time: TIME in s/);
  // Frame k (1-based) is at CRVAL3 + (k - CRPIX3)·CDELT3.
  assert.equal(truth.time[3], 15 + 3 * 120);

  const csv = await cli('lightcurve', cubePath, '--x', '7', '--y', '9', '--format', 'csv');
  assert.equal(csv.code, 0, csv.err);
  const rows = csv.out.trim().split('\n');
  assert.equal(rows[0], 'frame,time,value');
  assert.equal(rows.length, NT + 1);
  assert.deepEqual(rows[5].split(',').map(Number).slice(0, 2), [5, 15 + 4 * 120]);

  const json = await cli('lightcurve', cubePath, '--x', '7', '--y', '9', '--format', 'json');
  assert.equal(json.code, 0, json.err);
  const doc = JSON.parse(json.out) as {
    hdu: number;
    x: number;
    y: number;
    time: { ctype: string; unit: string };
    frames: { frame: number; time: number; value: number }[];
  };
  assert.deepEqual([doc.hdu, doc.x, doc.y, doc.time], [0, 7, 9, { ctype: 'TIME', unit: 's' }]);
  assert.deepEqual(
    doc.frames.map((f) => Math.fround(f.value)),
    truth.values.map((v) => Math.fround(v as number)),
  );

  // BSCALE/BZERO applied, BLANK pixels NaN, no time axis (only frame and value).
  const st = python<Curve>(LIGHTCURVE, scaledPath, '0', '5', '6');
  assert.equal(st.dtype, 'float32');
  assert.equal(st.values.filter((v) => v === null).length, 4, 'the BLANK pixel of every third frame');
  const s = await cli('lightcurve', scaledPath, '--x', '5', '--y', '6');
  assert.equal(s.code, 0, s.err);
  checkCurve(s.out, st, false, 'scaled int16');
  const sj = JSON.parse(
    (await cli('lightcurve', scaledPath, '--x', '5', '--y', '6', '--format', 'json')).out,
  );
  assert.equal(sj.time, null);
  assert.equal(sj.frames[0].value, null, 'NaN is null in JSON');
});

test('lightcurve of a spectral cube (no time axis) and of a tile-compressed cube, against astropy', async () => {
  const spec = corpusPath('synthetic/cube_spectral.fits');
  const r = await cli('lightcurve', spec, '--x', '3', '--y', '17');
  assert.equal(r.code, 0, r.err);
  checkCurve(r.out, python<Curve>(LIGHTCURVE, spec, '0', '3', '17'), false, 'spectral cube');

  const tiles = corpusPath('synthetic/compressed_all.fits');
  const t = await cli('lightcurve', tiles, '--hdu', 'RICE_3D', '--x', '8', '--y', '2');
  assert.equal(t.code, 0, t.err);
  checkCurve(t.out, python<Curve>(LIGHTCURVE, tiles, 'RICE_3D', '8', '2'), false, 'RICE_3D');
});

test('by URL: the light curve reads one small range per frame; a cutout reads about its own size', async () => {
  const url = `${web.url}/cube.fits`;
  const size = statSync(cubePath).size;
  const frameBytes = NX * NY * 4;
  const mark = web.mark();
  const r = await cli('lightcurve', url, '--x', '100', '--y', '50');
  assert.equal(r.code, 0, r.err);
  const got = await web.since(mark, '/cube.fits');
  checkCurve(r.out, python<Curve>(LIGHTCURVE, cubePath, '0', '100', '50'), true, 'URL light curve');
  // The header block and one FITS block per frame (frames are 48 KiB apart, so none merge).
  assert.ok(got.bytes <= (NT + 2) * 2880, `${got.bytes} bytes served for ${NT} frames`);
  assert.ok(got.requests <= NT + 2, `${got.requests} requests`);
  assert.ok(got.bytes * 15 < size, `${got.bytes} of ${size} bytes`);
  assert.ok(
    got.ranges.every((h) => /^bytes=\d+-\d+$/.test(h)),
    'every request is a range request',
  );

  const m2 = web.mark();
  const c = await checkCutout(cubePath, '0', [url, '--pixels', '11:30,41:60,5:8'], 'URL cutout');
  const cut = await web.since(m2, '/cube.fits');
  assert.deepEqual(c.section, [
    [11, 30],
    [41, 60],
    [5, 8],
  ]);
  // Four frames of 20 rows: reads are rounded to 64 KiB blocks, still far below the file.
  assert.ok(cut.bytes <= 4 * (frameBytes + (128 << 10)), `${cut.bytes} bytes for the cutout`);
  assert.ok(cut.bytes * 4 < size, `${cut.bytes} of ${size}`);
  assert.ok(cut.ranges.every((h) => /^bytes=\d+-\d+$/.test(h)));
  console.log(
    `by URL (${size} bytes): light curve ${got.requests} requests, ${got.bytes} bytes; cutout ${cut.requests} requests, ${cut.bytes} bytes`,
  );
});

test('lake IDs: cutout and lightcurve by raw key and by the observation publisher DID', async () => {
  const lake = join(tmp, 'lake');
  const src = join(tmp, 'ingest');
  mkdirSync(src);
  copyFileSync(cubePath, join(src, 'field-0042.fits'));
  assert.equal((await cli('init', lake)).code, 0);
  const ing = await cli('ingest', src, '--lake', lake, '--collection', 'cuts', '--no-progress');
  assert.equal(ing.code, 0, ing.out + ing.err);
  const q = await cli(
    'query',
    `SELECT f.key, o.obs_publisher_did AS did FROM files f JOIN artifacts a ON a.file_id = f.id
       JOIN observations o ON o.id = a.observation_id WHERE a.role = 'science'`,
    '--lake',
    lake,
    '--format',
    'json',
  );
  assert.equal(q.code, 0, q.err);
  const [row] = JSON.parse(q.out) as { key: string; did: string }[];
  assert.equal(row.key, 'cuts/field-0042.fits');
  assert.match(row.did, /^ivo:\/\/fitslake\/cuts\?/);

  const byKey = await checkCutout(
    cubePath,
    '0',
    [row.key, '--lake', lake, '--pixels', '3:9,4:12,2:2'],
    'by key',
  );
  assert.deepEqual(byKey.section, [
    [3, 9],
    [4, 12],
    [2, 2],
  ]);
  const byDid = await checkCutout(
    cubePath,
    '0',
    [row.did, '--lake', lake, '--pixels', '60:70,*,1:3'],
    'by DID',
  );
  assert.deepEqual(byDid.section, [
    [60, 70],
    [1, NY],
    [1, 3],
  ]);

  const lc = await cli('lightcurve', row.did, '--lake', lake, '--x', '64', '--y', '48');
  assert.equal(lc.code, 0, lc.err);
  checkCurve(lc.out, python<Curve>(LIGHTCURVE, cubePath, '0', '64', '48'), true, 'lake light curve');

  const missing = await cli(
    'cutout',
    'cuts/nope.fits',
    '--lake',
    lake,
    '--pixels',
    '1:2',
    '-o',
    join(tmp, 'x.fits'),
  );
  assert.equal(missing.code, 1);
  assert.match(missing.err, /cuts\/nope\.fits: no such file in the lake/);
  const did = await cli(
    'cutout',
    'ivo://fitslake/cuts?nothing',
    '--lake',
    lake,
    '--pixels',
    '1:2',
    '-o',
    join(tmp, 'x.fits'),
  );
  assert.equal(did.code, 1);
  assert.match(did.err, /ivo:\/\/fitslake\/cuts\?nothing: no such observation/);
  assert.ok(!existsSync(join(tmp, 'x.fits')));
});

test('errors: bad --pixels, a region outside the image, a table HDU, not a cube — one line, exit 1, no file', async () => {
  const sip = corpusPath('synthetic/wcs_sip.fits');
  const out = join(tmp, 'never.fits');
  const cases: [string[], RegExp][] = [
    [
      ['cutout', sip, '--pixels', '1:5,x', '-o', out],
      /^fitslake cutout: --pixels "1:5,x": axis 2: use first:last/,
    ],
    [['cutout', sip, '--pixels', '9:3', '-o', out], /--pixels "9:3": axis 1 needs 1 ≤ first ≤ last, got 9:3/],
    [
      ['cutout', sip, '--pixels', '1:2,1:2,1:2', '-o', out],
      /wcs_sip\.fits: --pixels gives 3 ranges, HDU 0 has 2 axes \(40×30\)/,
    ],
    [
      ['cutout', sip, '--pixels', '50:60,1:5', '-o', out],
      /wcs_sip\.fits: --pixels 50:60 on axis 1 lies outside HDU 0 \(NAXIS1 = 40\): no overlap/,
    ],
    [
      ['cutout', sip, '--ra', '10', '--dec', '-80', '--radius', '1arcmin', '-o', out],
      /wcs_sip\.fits: the region does not overlap the image \(HDU 0\)/,
    ],
    [['cutout', sip, '--ra', '10', '--dec', '20', '-o', out], /needs all of --ra, --dec and --radius/],
    [['cutout', sip, '-o', out], /give --ra\/--dec\/--radius .* or --pixels/],
    [
      ['cutout', corpusPath('synthetic/tables_alltypes.fits'), '--hdu', '1', '--pixels', '1:2', '-o', out],
      /tables_alltypes\.fits: HDU 1 \(ALLTYPES\) is a bintable, not an image/,
    ],
    [
      ['cutout', corpusPath('synthetic/tables_alltypes.fits'), '--pixels', '1:2', '-o', out],
      /tables_alltypes\.fits: no image HDU with data \(HDUs: 0 primary, 1 bintable ALLTYPES/,
    ],
    [
      ['cutout', sip, '--hdu', '3', '--pixels', '1:2', '-o', out],
      /wcs_sip\.fits: no HDU "3" \(HDUs: 0 primary\)/,
    ],
    [['cutout', join(tmp, 'absent.fits'), '--pixels', '1:2', '-o', out], /absent\.fits: no such file/],
    [
      ['lightcurve', sip, '--x', '1', '--y', '1'],
      /wcs_sip\.fits: HDU 0 is a 2-D image \(40×30\); a light curve needs a cube/,
    ],
    [
      ['lightcurve', cubePath, '--x', '129', '--y', '1'],
      /cube\.fits: pixel \(129, 1\) lies outside HDU 0 \(128×96 pixels per frame\)/,
    ],
    [['lightcurve', cubePath, '--x', '0', '--y', '1'], /--x 0: a pixel number, 1 or more/],
    [
      ['lightcurve', cubePath, '--x', '1', '--y', '1', '--format', 'xml'],
      /--format xml: one of tsv, csv, json/,
    ],
  ];
  for (const [args, re] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.out}${r.err}`);
    assert.match(r.err, re, args.join(' '));
    assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
    assert.equal(r.out, '');
  }
  assert.ok(!existsSync(out), 'nothing written on an error');
});
