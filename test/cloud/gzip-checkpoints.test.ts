// gzip decompression checkpoints in the cloud index: `fitslake index` writes a sidecar per whole-file
// .gz beside the index, and the client reads sections and table rows of the ORIGINAL .gz through it
// with Range requests (nginx serves; its access log counts what was fetched) — compared with a
// local read of the gunzipped bytes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { main } from '../../src/cli/main.ts';
import { openIndex } from '../../src/cloud/client.ts';
import { type CloudIndexDoc, decodeGziTable, GZI_ENTRY, GZI_HEADER } from '../../src/cloud/format.ts';
import { BufferSource } from '../../src/fits/byte-source.ts';
import { FitsError } from '../../src/fits/errors.ts';
import { openFits } from '../../src/fits/fits-file.ts';
import type { Hdu } from '../../src/fits/hdu.ts';
import { type AxisRange, type ImageData, readImage } from '../../src/fits/image.ts';
import { readRows } from '../../src/fits/table.ts';
import { CORPUS } from '../util/corpus.ts';
import { type Nginx, startNginx } from './nginx.ts';

const root = mkdtempSync(join(tmpdir(), 'fitslake-gzi-'));
const data = join(root, 'data');
let nginx: Nginx;
const SPAN = 1 << 18; // 256 KiB between checkpoints for the cube
const corpusGz: string[] = [];
const corpusAbs: string[] = [];

const cli = async (...argv: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  const last = out[out.length - 1];
  return { code, out, err, summary: last?.startsWith('{') ? JSON.parse(last) : undefined };
};

/** Every file and folder below `dir` readable by nginx's workers (another user). */
function openUp(dir: string): void {
  chmodSync(dir, 0o755);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) openUp(p);
    else chmodSync(p, 0o644);
  }
}

before(async () => {
  mkdirSync(join(data, 'corpus'), { recursive: true });
  const walk = (dir: string, rel: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name), `${rel}${e.name}/`);
      else if (/\.fits?\.gz$/i.test(e.name)) {
        const name = `${rel}${e.name}`.replace(/\//g, '_');
        copyFileSync(join(dir, e.name), join(data, 'corpus', name));
        corpusGz.push(`corpus/${name}`);
        corpusAbs.push(join(dir, e.name));
      }
    }
  };
  walk(CORPUS, '');
  // A multi-MB gzip cube: int16, smooth sky plus noisy low bits (about 2:1 under gzip -6), and a table.
  execFileSync('/usr/bin/python3', [
    '-c',
    `
import gzip, sys, numpy as np
from astropy.io import fits
rng = np.random.default_rng(7)
z, y, x = np.mgrid[0:40, 0:300, 0:300]
cube = (1000 + 200 * np.sin(x / 37.0) * np.cos(y / 23.0) + z + rng.integers(0, 16, x.shape)).astype('>i2')
sci = fits.ImageHDU(cube, name='SCI')
n = 5000
tab = fits.BinTableHDU.from_columns([
    fits.Column(name='TIME', format='D', array=np.arange(n) * 0.01),
    fits.Column(name='FLUX', format='E', array=rng.normal(100, 3, n).astype('f4')),
    fits.Column(name='NAME', format='10A', array=np.array([f's{i:05d}' for i in range(n)])),
], name='LC')
fits.HDUList([fits.PrimaryHDU(), sci, tab]).writeto(sys.argv[1] + '/cube.fits')
with open(sys.argv[1] + '/cube.fits', 'rb') as f, gzip.open(sys.argv[1] + '/cube.fits.gz', 'wb', 6) as g:
    g.write(f.read())
`,
    root,
  ]);
  copyFileSync(join(root, 'cube.fits.gz'), join(data, 'cube.fits.gz'));
  openUp(root);
  nginx = await startNginx(root);
});
after(() => {
  nginx?.stop();
  rmSync(root, { recursive: true, force: true });
});

async function localGunzipped(path: string): Promise<{ hdus: Hdu[]; src: BufferSource }> {
  const bytes = new Uint8Array(gunzipSync(readFileSync(path)));
  const src = new BufferSource(bytes, path);
  return { hdus: (await openFits(src)).hdus, src };
}

/** The sub-array of a full image (FITS order) that `ranges` selects. */
function cut(full: ImageData, ranges: readonly AxisRange[]): unknown[] {
  const out: unknown[] = [];
  const strides: number[] = [];
  let acc = 1;
  for (const n of full.shape) {
    strides.push(acc);
    acc *= n;
  }
  const walk = (axis: number, base: number) => {
    const r = ranges[axis];
    for (let i = r.start; i < r.stop; i += r.step ?? 1) {
      if (axis === 0) out.push(full.data[base + i]);
      else walk(axis - 1, base + i * strides[axis]);
    }
  };
  walk(ranges.length - 1, 0);
  return out;
}

const sameValues = (a: ArrayLike<unknown>, b: unknown[], what: string) =>
  assert.deepEqual(
    Array.from(a).map((v) => (Number.isNaN(v) ? 'NaN' : v)),
    b.map((v) => (Number.isNaN(v) ? 'NaN' : v)),
    what,
  );

test('fitslake index writes a checkpoint sidecar per .gz; sections and rows through it equal the gunzipped file', async () => {
  // Small checkpoint spacing so the small corpus files get several checkpoints too.
  const r = await cli(
    'index',
    data,
    '--out',
    join(data, 'index.json'),
    '--checkpoint-span',
    String(SPAN),
    '--json',
  );
  const doc = JSON.parse(readFileSync(join(data, 'index.json'), 'utf8')) as CloudIndexDoc;
  const gz = doc.files.filter((f) => f.container === 'gzip' && !f.error);
  assert.ok(gz.length >= corpusGz.length, `${gz.length} gzip files indexed: ${r.err.join('\n')}`);
  assert.equal(r.summary.checkpointed, gz.length);
  for (const f of gz) {
    const cps = f.checkpoints!;
    assert.ok(cps, `${f.path} has checkpoints`);
    assert.equal(cps.url, `index.json.gzi/${f.path.split('/').map(encodeURIComponent).join('/')}.gzi`);
    assert.equal(cps.span, SPAN);
    const side = readFileSync(join(data, 'index.json.gzi', `${f.path}.gzi`));
    assert.equal(side.length, cps.size);
    const t = decodeGziTable(new Uint8Array(side.subarray(0, GZI_HEADER + GZI_ENTRY * cps.count)));
    assert.equal(t.entries.length, cps.count);
    assert.equal(t.compressedSize, f.size);
  }
  const cubeEntry = doc.files.find((f) => f.path === 'cube.fits.gz')!;
  assert.ok(cubeEntry.checkpoints!.count >= 20, `${cubeEntry.checkpoints!.count} checkpoints`);
  // The sidecar: the table and at most a 32 KiB window per checkpoint (deflated: noisy low bits
  // keep them at ~18 kB) — about 32 KiB / span of the output, here ~13% of the .gz at 256 KiB.
  const c = cubeEntry.checkpoints!;
  assert.ok(c.size <= GZI_HEADER + c.count * (GZI_ENTRY + 32768), `${c.size}-byte sidecar`);
  assert.ok(c.size < cubeEntry.size * 0.2, `${c.size} vs ${cubeEntry.size}`);
  openUp(root);

  const index = await openIndex(`${nginx.url}/data/index.json`);
  let images = 0;
  let tables = 0;
  for (const e of gz) {
    const f = index.file(e.path);
    const loc = await localGunzipped(join(data, e.path));
    assert.equal(f.hdus.length, loc.hdus.length, e.path);
    for (const h of f.hdus) {
      const lh = loc.hdus[h.index];
      const isImage = ['primary', 'image'].includes(h.kind);
      if (isImage && h.shape.length && h.shape.every((n) => n > 0)) {
        const full = await readImage(loc.src, lh);
        const ranges = h.shape.map((n, a) => {
          const start = Math.floor(n / 3);
          return { start, stop: Math.max(start + 1, Math.ceil((n * 3) / 4)), step: a === 0 && n > 4 ? 2 : 1 };
        });
        const sec = await h.section(ranges);
        sameValues(sec.data as ArrayLike<unknown>, cut(full, ranges), `${e.path}[${h.index}] section`);
        assert.equal(sec.dtype, full.dtype);
        const whole = await h.image();
        sameValues(
          whole.data as ArrayLike<unknown>,
          Array.from(full.data as ArrayLike<unknown>),
          `${e.path}[${h.index}]`,
        );
        images++;
      }
      if ((h.kind === 'bintable' || h.kind === 'table') && h.table!.nrows > 0) {
        const n = Math.min(h.table!.nrows, 50);
        assert.deepEqual(await h.rows(0, n), await readRows(loc.src, lh, 0, n), `${e.path}[${h.index}] rows`);
        const one = [h.table!.columns[h.table!.columns.length - 1].name];
        const from = Math.floor(h.table!.nrows / 2);
        const to = Math.min(h.table!.nrows, from + 30);
        assert.deepEqual(
          await h.rows(from, to, one),
          await readRows(loc.src, lh, from, to, { columns: one }),
          `${e.path}[${h.index}] last column`,
        );
        tables++;
      }
    }
  }
  console.log(`gzip checkpoints: ${gz.length} files, ${images} images, ${tables} tables checked`);
  assert.ok(images >= 4 && tables >= 2, `${images} images, ${tables} tables`);
});

test('a small section of a multi-MB .gz fetches a few checkpoint spans, not the file', async () => {
  const index = await openIndex(`${nginx.url}/data/index.json`);
  const file = index.file('cube.fits.gz');
  const sci = file.hdu('SCI');
  assert.deepEqual(sci.shape, [300, 300, 40]);
  const loc = await localGunzipped(join(data, 'cube.fits.gz'));
  const full = await readImage(loc.src, loc.hdus[1]);
  const ratio = file.size / statSync(join(root, 'cube.fits')).size; // compressed / decompressed
  const cps = file.entry.checkpoints!;

  // 20x20 pixels of the middle plane: 20 runs of 40 bytes inside one 180 kB plane.
  const box: AxisRange[] = [
    { start: 140, stop: 160 },
    { start: 140, stop: 160 },
    { start: 20, stop: 21 },
  ];
  let m = nginx.mark();
  const sec = await sci.section(box);
  const gzServed = await nginx.since(m, '/data/cube.fits.gz');
  const sideServed = await nginx.since(m, '/data/index.json.gzi/');
  sameValues(sec.data as ArrayLike<unknown>, cut(full, box), 'middle 20x20');
  // From the checkpoint at or before the box to the first one after it: at most two spans of
  // output (the box is ~12 kB of it), in compressed bytes, plus a deflate block of slack.
  const bound = 2 * SPAN * ratio * 1.3 + 65536;
  assert.equal(gzServed.requests, 1, JSON.stringify(gzServed.ranges));
  assert.ok(gzServed.bytes < bound, `${gzServed.bytes} compressed bytes fetched, bound ${bound}`);
  assert.ok(gzServed.bytes < file.size / 8, `${gzServed.bytes} of ${file.size}`);
  // The sidecar: its table once, and one window (≤ 32 KiB).
  assert.equal(sideServed.requests, 2, JSON.stringify(sideServed.ranges));
  assert.ok(
    sideServed.bytes <= GZI_HEADER + GZI_ENTRY * cps.count + 32768,
    `${sideServed.bytes} sidecar bytes`,
  );
  assert.ok(sideServed.bytes < cps.size, 'not the whole sidecar');
  const s = file.stats();
  assert.deepEqual(
    s,
    { requests: 3, bytes: gzServed.bytes + sideServed.bytes },
    'the client counts the same',
  );
  console.log(
    `20x20 of a ${file.size}-byte .gz (${cps.count} checkpoints, ${cps.size}-byte sidecar): ` +
      `${gzServed.bytes} compressed + ${sideServed.bytes} sidecar bytes in ${s.requests} requests`,
  );

  // Again, elsewhere: the table is not fetched again.
  const box2: AxisRange[] = [
    { start: 0, stop: 300, step: 7 },
    { start: 5, stop: 6 },
    { start: 38, stop: 39 },
  ];
  m = nginx.mark();
  sameValues((await sci.section(box2)).data as ArrayLike<unknown>, cut(full, box2), 'row of the last plane');
  const side2 = await nginx.since(m, '/data/index.json.gzi/');
  assert.equal(side2.requests, 1, 'one window, the table is cached');
  assert.ok((await nginx.since(m, '/data/cube.fits.gz')).bytes < bound);

  // A light curve crosses every plane: correct, the whole stream inflated from the first checkpoint.
  const lc: AxisRange[] = [
    { start: 7, stop: 8 },
    { start: 250, stop: 251 },
    { start: 0, stop: 40 },
  ];
  sameValues((await sci.section(lc)).data as ArrayLike<unknown>, cut(full, lc), 'light curve');

  // Table rows at the end of the file.
  const lc2 = file.hdu('LC');
  assert.deepEqual(
    await lc2.rows(4000, 4100, ['TIME', 'NAME']),
    await readRows(loc.src, loc.hdus[2], 4000, 4100, { columns: ['TIME', 'NAME'] }),
  );
});

test('--no-gzip-checkpoints: no sidecar and no range reads; a later run adds them to unchanged files', async () => {
  const dir = join(root, 'nochk');
  mkdirSync(dir);
  copyFileSync(join(data, 'cube.fits.gz'), join(dir, 'cube.fits.gz'));
  copyFileSync(corpusAbs[0], join(dir, 'small.fits.gz'));
  const out = join(dir, 'index.parquet');
  const r = await cli('index', dir, '--out', out, '--no-gzip-checkpoints', '--json');
  assert.equal(r.code, 0, r.err.join('\n'));
  assert.equal(r.summary.checkpointed, 0);
  openUp(dir);
  let index = await openIndex(`${nginx.url}/nochk/index.parquet`);
  assert.equal(index.file('cube.fits.gz').entry.checkpoints, undefined);
  await assert.rejects(
    () =>
      index
        .file('cube.fits.gz')
        .hdu('SCI')
        .section([
          { start: 0, stop: 1 },
          { start: 0, stop: 1 },
          { start: 0, stop: 1 },
        ]),
    (e: unknown) => e instanceof FitsError && /whole-file gzip/.test((e as Error).message),
  );
  // Default (auto, local files): the unchanged files are read again for their checkpoints.
  const again = await cli('index', dir, '--out', out, '--json');
  assert.deepEqual([again.summary.indexed, again.summary.checkpointed], [2, 2]);
  const third = await cli('index', dir, '--out', out, '--json');
  assert.deepEqual([third.summary.reused, third.summary.checkpointed], [2, 0]);
  openUp(dir);
  index = await openIndex(`${nginx.url}/nochk/index.parquet`);
  const f = index.file('cube.fits.gz');
  assert.ok(f.entry.checkpoints && f.entry.checkpoints.span === 1 << 20, 'Parquet keeps the field');
  // At the default 1 MiB spacing the sidecar is a few percent of the .gz.
  assert.ok(f.entry.checkpoints.size < f.size * 0.05, `${f.entry.checkpoints.size} vs ${f.size}`);
  const loc = await localGunzipped(join(dir, 'cube.fits.gz'));
  const box: AxisRange[] = [
    { start: 10, stop: 30 },
    { start: 290, stop: 300 },
    { start: 39, stop: 40 },
  ];
  sameValues(
    (await f.hdu('SCI').section(box)).data as ArrayLike<unknown>,
    cut(await readImage(loc.src, loc.hdus[1]), box),
    'through the Parquet index',
  );
});

test('a URL list: the checkpoint pass streams the .gz over HTTP; absolute data URL, sidecar beside the index', async () => {
  const dir = join(root, 'urls');
  mkdirSync(dir);
  const list = join(dir, 'urls.txt');
  writeFileSync(list, `# one remote gzip cube\n${nginx.url}/data/cube.fits.gz\n`);
  const out = join(dir, 'index.json');
  const m = nginx.mark();
  const r = await cli('index', list, '--out', out, '--json');
  assert.equal(r.code, 0, r.err.join('\n'));
  assert.equal(r.summary.checkpointed, 1);
  const size = statSync(join(data, 'cube.fits.gz')).size;
  assert.equal(r.summary.checkpointBytesRead, size);
  assert.ok((await nginx.since(m, '/data/cube.fits.gz')).bytes >= 2 * size, 'header walk + checkpoint pass');
  openUp(dir);
  const index = await openIndex(`${nginx.url}/urls/index.json`);
  const f = index.file('data/cube.fits.gz');
  assert.equal(f.url, `${nginx.url}/data/cube.fits.gz`);
  assert.equal(f.entry.checkpoints!.url, 'index.json.gzi/data/cube.fits.gz.gzi');
  const loc = await localGunzipped(join(data, 'cube.fits.gz'));
  const box: AxisRange[] = [
    { start: 100, stop: 120 },
    { start: 0, stop: 300, step: 30 },
    { start: 12, stop: 14 },
  ];
  sameValues(
    (await f.hdu('SCI').section(box)).data as ArrayLike<unknown>,
    cut(await readImage(loc.src, loc.hdus[1]), box),
    'remote-indexed cube',
  );
});
