// The cloud index end to end: `fitslake index` over the corpus and generated cubes, the data served
// by Debian's nginx (a real Range server whose access log counts requests and bytes), and the
// client reading sections, light curves and table rows — compared with a full local read.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { main } from '../../src/cli/main.ts';
import { openIndex } from '../../src/cloud/client.ts';
import type { CloudIndexDoc } from '../../src/cloud/format.ts';
import { RangeSource } from '../../src/cloud/range-source.ts';
import { BufferSource } from '../../src/fits/byte-source.ts';
import { readCompressedImage } from '../../src/fits/compression/tiles.ts';
import { openFits } from '../../src/fits/fits-file.ts';
import type { Hdu } from '../../src/fits/hdu.ts';
import { type AxisRange, type ImageData, readImage } from '../../src/fits/image.ts';
import { readRows } from '../../src/fits/table.ts';
import { CORPUS, truth } from '../util/corpus.ts';
import { type Nginx, startNginx } from './nginx.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'fitslake-cloud-'));
const gen = join(root, 'gen');
let nginx: Nginx;

const cli = async (...argv: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  const last = out[out.length - 1];
  return { code, out, err, summary: last?.startsWith('{') ? JSON.parse(last) : undefined };
};

before(async () => {
  execFileSync('mkdir', ['-p', gen]);
  execFileSync('/usr/bin/python3', [join(HERE, 'make-fixtures.py'), gen]);
  // Tile-compressed copies by cfitsio's fpack (row tiles; the float cube quantized with dither).
  copyFileSync(join(gen, 'cube.fits'), join(gen, 'cubec.fits'));
  copyFileSync(join(gen, 'scaled16.fits'), join(gen, 'scaled16c.fits'));
  execFileSync('fpack', ['-D', '-Y', join(gen, 'cubec.fits'), join(gen, 'scaled16c.fits')]);
  symlinkSync(CORPUS, join(root, 'corpus'));
  // nginx's workers run as nobody: the temporary folders must be readable to them.
  chmodSync(root, 0o755);
  chmodSync(gen, 0o755);
  nginx = await startNginx(root);
});
after(() => {
  nginx?.stop();
  rmSync(root, { recursive: true, force: true }); // the corpus link goes, not the corpus
});

async function local(path: string): Promise<{ bytes: Uint8Array; hdus: Hdu[]; src: BufferSource }> {
  const bytes = new Uint8Array(readFileSync(path));
  const src = new BufferSource(bytes, path);
  return { bytes, hdus: (await openFits(src)).hdus, src };
}

const readAll = (src: BufferSource, hdu: Hdu) =>
  hdu.kind === 'compressed-image' ? readCompressedImage(src, hdu) : readImage(src, hdu);

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

test('fitslake index a corpus folder; every image section and table row equals the local read (and astropy)', async () => {
  const out = join(root, 'corpus-index.json');
  const prefix = `${nginx.url}/corpus/`;
  const r = await cli('index', CORPUS, '--out', out, '--data-url-prefix', prefix, '--json');
  assert.ok(r.summary.files > 50, JSON.stringify(r.summary));
  const index = await openIndex(out.startsWith('/') ? new Uint8Array(readFileSync(out)) : out);
  let images = 0;
  let tables = 0;
  let compressed = 0;
  for (const f of index.files) {
    // --data-url-prefix: the URL is the prefix plus the indexed path.
    assert.equal(f.url, prefix + f.path.split('/').map(encodeURIComponent).join('/'));
    if (f.entry.error || f.entry.container || f.entry.headerOnly) continue;
    const loc = await local(join(CORPUS, f.path));
    assert.equal(f.hdus.length, loc.hdus.length, f.path);
    const t = truth(f.path);
    for (const h of f.hdus) {
      const lh = loc.hdus[h.index];
      // Headers come from the index, card for card.
      assert.deepEqual(
        h.header.cards.map((c) => [c.keyword, c.value, c.comment]),
        lh.header.cards.map((c) => [c.keyword, c.value, c.comment]),
        `${f.path}[${h.index}] cards`,
      );
      assert.deepEqual([h.entry.headerOffset, h.entry.dataOffset], [lh.headerOffset, lh.dataOffset]);
      const isImage = ['primary', 'image', 'compressed-image'].includes(h.kind);
      if (isImage && h.shape.length && h.shape.every((n) => n > 0)) {
        let full: ImageData;
        try {
          full = await readAll(loc.src, lh);
        } catch {
          continue; // what the local reader refuses (HCOMPRESS…) the client refuses too
        }
        const ranges = h.shape.map((n, a) => {
          const start = Math.floor(n / 3);
          const stop = Math.max(start + 1, Math.ceil((n * 3) / 4));
          return { start, stop, step: a === 0 && n > 4 ? 2 : 1 };
        });
        const sec = await h.section(ranges);
        assert.deepEqual(
          Array.from(sec.data as ArrayLike<unknown>),
          cut(full, ranges),
          `${f.path}[${h.index}]`,
        );
        assert.equal(sec.dtype, full.dtype);
        if (full.data.length <= 1 << 20) {
          const whole = await h.image();
          assert.deepEqual(whole.data, full.data, `${f.path}[${h.index}] whole`);
          // …and astropy's first values.
          const first = t.hdus?.[h.index]?.data_stats?.first_values as unknown[] | undefined;
          if (first && t.container === 'none' && t.astropy_opens === 'yes' && !f.path.includes('/bad_'))
            first.forEach((v, i) => {
              const got = Number(whole.data[i]);
              const want = Number(v);
              assert.ok(
                got === want ||
                  (Number.isNaN(got) && Number.isNaN(want)) ||
                  Math.abs(got - want) <= 1e-9 * Math.abs(want),
                `${f.path}[${h.index}] value ${i}: ${got} vs astropy ${v}`,
              );
            });
        }
        images++;
        if (h.kind === 'compressed-image') compressed++;
      }
      if ((h.kind === 'bintable' || h.kind === 'table') && h.table!.nrows > 0) {
        const n = Math.min(h.table!.nrows, 20);
        assert.deepEqual(await h.rows(0, n), await readRows(loc.src, lh, 0, n), `${f.path}[${h.index}] rows`);
        const one = [h.table!.columns[h.table!.columns.length - 1].name];
        assert.deepEqual(
          await h.rows(1, n, one),
          await readRows(loc.src, lh, 1, n, { columns: one }),
          `${f.path}[${h.index}] last column`,
        );
        tables++;
      }
    }
  }
  console.log(
    `corpus: ${index.files.length} files, ${images} images (${compressed} tile-compressed), ${tables} tables checked`,
  );
  assert.ok(
    images > 30 && compressed >= 5 && tables > 10,
    `${images} images, ${compressed} compressed, ${tables} tables`,
  );
});

let genDoc: CloudIndexDoc;

test('generated cube: light curve, sub-cube and strided slices read only the runs they need', async () => {
  // No --data-url-prefix: the index sits beside the data and its URLs are relative to it.
  const r = await cli('index', gen, '--out', join(gen, 'index.json'), '--json');
  assert.equal(r.code, 0, r.err.join('\n'));
  genDoc = JSON.parse(readFileSync(join(gen, 'index.json'), 'utf8'));
  assert.equal(genDoc.format, 'fitslake-cloud-index');
  assert.equal(genDoc.version, 1);
  assert.equal(genDoc.files.find((f) => f.path === 'cube.fits')!.url, 'cube.fits');

  const index = await openIndex(`${nginx.url}/gen/index.json`);
  const file = index.file('cube.fits');
  const sci = file.hdu('SCI');
  assert.deepEqual(sci.shape, [64, 64, 200]);
  assert.equal(sci.wcs?.projection, 'TAN');
  const loc = await local(join(gen, 'cube.fits'));
  const full = await readImage(loc.src, loc.hdus[1]);

  // A light curve: pixel (x=20, y=10) through all 200 frames.
  const lc: AxisRange[] = [
    { start: 20, stop: 21 },
    { start: 10, stop: 11 },
    { start: 0, stop: 200 },
  ];
  let m = nginx.mark();
  const curve = await sci.section(lc);
  let served = await nginx.since(m, '/gen/cube.fits');
  assert.deepEqual(Array.from(curve.data as Float32Array), cut(full, lc));
  assert.deepEqual(curve.shape, [1, 1, 200]);
  const stats = file.stats();
  assert.deepEqual(stats, { requests: 200, bytes: 800 }, 'one 4-byte run per frame, nothing more');
  assert.deepEqual({ requests: served.requests, bytes: served.bytes }, stats, 'nginx saw the same');
  console.log(
    `light curve (default gap 1 KiB): ${stats.requests} requests, ${stats.bytes} bytes of a ${file.size}-byte file`,
  );

  // A high-latency setting: runs 16 KiB apart merge into few large requests.
  const wide = await openIndex(`${nginx.url}/gen/index.json`, {
    coalesceGap: 64 << 10,
    maxRequestBytes: 1 << 20,
  });
  const wsci = wide.file('cube.fits').hdu('SCI');
  m = nginx.mark();
  assert.deepEqual(Array.from((await wsci.section(lc)).data as Float32Array), cut(full, lc));
  served = await nginx.since(m, '/gen/cube.fits');
  const ws = wide.file('cube.fits').stats();
  assert.equal(ws.requests, served.requests);
  assert.ok(ws.requests === 4, `${ws.requests} requests of at most 1 MiB`);
  // The span from the first to the last pixel, less the gaps between the capped requests.
  assert.equal(ws.bytes, 199 * 64 * 64 * 4 + 4 - (ws.requests - 1) * (64 * 64 * 4 - 4));
  console.log(`light curve (gap 64 KiB, 1 MiB cap): ${ws.requests} requests, ${ws.bytes} bytes`);

  // A 40x30 cutout of every 10th frame, and a strided sub-cube.
  for (const ranges of [
    [
      { start: 5, stop: 45 },
      { start: 8, stop: 38 },
      { start: 0, stop: 200, step: 10 },
    ],
    [
      { start: 1, stop: 64, step: 3 },
      { start: 0, stop: 64, step: 7 },
      { start: 150, stop: 153 },
    ],
    [
      { start: 0, stop: 64 },
      { start: 0, stop: 64 },
      { start: 199, stop: 200 },
    ],
  ]) {
    const before = file.stats();
    const sec = await sci.section(ranges);
    assert.deepEqual(Array.from(sec.data as Float32Array), cut(full, ranges));
    const after = file.stats();
    // Bytes fetched: the rows' spans plus at most 1 KiB gaps merged between them.
    const rowSpan =
      ((Math.ceil((ranges[0].stop - ranges[0].start) / (ranges[0].step ?? 1)) - 1) * (ranges[0].step ?? 1) +
        1) *
      4;
    const rows = sec.data.length / sec.shape[0];
    assert.ok(after.bytes - before.bytes >= rows * rowSpan - 1);
    assert.ok(after.bytes - before.bytes <= rows * (rowSpan + 1024), `${after.bytes - before.bytes} bytes`);
    console.log(
      `section ${JSON.stringify(ranges.map((r) => [r.start, r.stop, r.step ?? 1]))}: ` +
        `${after.requests - before.requests} requests, ${after.bytes - before.bytes} bytes (pixels ${sec.data.length * 4} bytes)`,
    );
  }

  // Scaled int16 with BLANK: floats with NaN, as astropy gives them.
  const s16 = (await openIndex(`${nginx.url}/gen/index.json`)).file('scaled16.fits').hdu(0);
  const l16 = await local(join(gen, 'scaled16.fits'));
  const f16 = await readImage(l16.src, l16.hdus[0]);
  const r16 = [
    { start: 2, stop: 9 },
    { start: 0, stop: 32, step: 4 },
    { start: 3, stop: 5 },
  ];
  const got16 = await s16.section(r16);
  assert.equal(got16.dtype, 'float32');
  assert.deepEqual(Array.from(got16.data as Float32Array), cut(f16, r16));
  assert.ok(Array.from(got16.data as Float32Array).some(Number.isNaN), 'the BLANK pixel is NaN');
});

test('tile-compressed cubes: sections fetch only the tiles they touch, never the tile table', async () => {
  const index = await openIndex(`${nginx.url}/gen/index.json`);
  for (const name of ['cubec.fits.fz', 'scaled16c.fits.fz']) {
    const file = index.file(name);
    const h = file.hdus.find((x) => x.kind === 'compressed-image')!;
    const tiles = h.entry.tiles!;
    assert.deepEqual(tiles.ztile.slice(1), [1, 1].slice(0, tiles.ztile.length - 1), 'fpack row tiles');
    const loc = await local(join(gen, name));
    const full = await readCompressedImage(loc.src, loc.hdus[h.index]);
    const [nx, ny, nz] = h.shape;
    const lc = [
      { start: 5, stop: 6 },
      { start: 7, stop: 8 },
      { start: 0, stop: nz },
    ];
    const m = nginx.mark();
    const sec = await h.section(lc);
    const served = await nginx.since(m, `/gen/${name}`);
    assert.deepEqual(Array.from(sec.data as ArrayLike<number>), cut(full, lc));
    // Exactly the nz tiles of row y=7: tile k = y + ny·z.
    let want = 0;
    for (let z = 0; z < nz; z++) want += tiles.length[7 + ny * z] + (tiles.gzipLength?.[7 + ny * z] ?? 0);
    assert.equal(file.stats().bytes, want, `${name}: only the touched tiles' bytes`);
    assert.equal(served.bytes, want);
    console.log(
      `${name} light curve: ${file.stats().requests} requests, ${file.stats().bytes} bytes of ${file.size} (${nz} of ${tiles.offset.length} tiles)`,
    );
    const box = [
      { start: 3, stop: nx - 3 },
      { start: 2, stop: 20 },
      { start: 1, stop: nz, step: Math.max(1, Math.floor(nz / 5)) },
    ];
    assert.deepEqual(Array.from((await h.section(box)).data as ArrayLike<number>), cut(full, box));
  }
});

test('table rows and columns equal the local reader, fetching only the chosen columns', async () => {
  const index = await openIndex(`${nginx.url}/gen/index.json`);
  const file = index.file('cube.fits');
  const lc = file.hdu('LC');
  const loc = await local(join(gen, 'cube.fits'));
  const lh = loc.hdus[2];
  assert.deepEqual(await lc.rows(0, 1000), await readRows(loc.src, lh, 0, 1000));
  const cols = ['TIME', 'NAME', 'SPEC', 'VEC'];
  const before = file.stats();
  const got = await lc.rows(100, 400, cols);
  const after = file.stats();
  assert.deepEqual(got, await readRows(loc.src, lh, 100, 400, { columns: cols }));
  assert.deepEqual(Object.keys(got[0]).sort(), [...cols].sort());
  const t = lc.table!;
  // TIME..SPEC lie within the first 60 bytes of each 2062-byte row (small gaps are merged).
  const chosen = t.columns.filter((c) => cols.includes(c.name));
  const width = Math.max(...chosen.map((c) => c.offset + c.width)) - Math.min(...chosen.map((c) => c.offset));
  let heap = 0;
  for (let i = 100; i < 400; i++) heap += (i % 7) * 4;
  const bytes = after.bytes - before.bytes;
  assert.ok(bytes <= 300 * width + heap, `${bytes} bytes for ${300 * width} of columns + ${heap} of heap`);
  assert.ok(bytes < (300 * t.rowBytes) / 20, 'far less than the whole rows');
  console.log(
    `rows 100..400 of 4 columns: ${after.requests - before.requests} requests, ${bytes} bytes (whole rows: ${300 * t.rowBytes})`,
  );
  await assert.rejects(lc.rows(0, 2, ['NOPE']), /no column "NOPE"/);
});

test('the Parquet form gives the same index and the same results; DuckDB reads it as-is', async () => {
  const out = join(gen, 'index.parquet');
  const r = await cli('index', gen, '--out', out, '--json');
  assert.equal(r.code, 0);
  assert.equal(readFileSync(out).subarray(0, 4).toString(), 'PAR1');
  const pq = await openIndex(`${nginx.url}/gen/index.parquet`);
  const js = await openIndex(`${nginx.url}/gen/index.json`);
  const strip = (d: CloudIndexDoc) => ({
    ...d,
    created: '',
    files: d.files.filter((f) => !f.path.startsWith('index')),
  });
  assert.deepEqual(strip(pq.doc), strip(js.doc));
  const ranges = [
    { start: 30, stop: 34 },
    { start: 0, stop: 64, step: 9 },
    { start: 10, stop: 200, step: 19 },
  ];
  assert.deepEqual(
    await pq.file('cube.fits').hdu(1).section(ranges),
    await js.file('cube.fits').hdu(1).section(ranges),
  );
  assert.deepEqual(
    await pq.file('cubec.fits.fz').hdu(1).section(ranges),
    await js.file('cubec.fits.fz').hdu(1).section(ranges),
  );
  assert.deepEqual(
    await pq.file('cube.fits').hdu(2).rows(5, 9),
    await js.file('cube.fits').hdu(2).rows(5, 9),
  );

  const db = await (await DuckDBInstance.create(':memory:')).connect();
  const q = async (sql: string) => (await db.runAndReadAll(sql)).getRowObjectsJson();
  const rows = await q(
    `SELECT path, hdu, kind, extname, data_offset, json_extract(image, '$.shape') AS shape, ra, dec,
            json_array_length(cards) AS ncards, json_array_length(json_extract(tiles, '$.offset')) AS ntiles
     FROM read_parquet('${out}') ORDER BY path, hdu`,
  );
  const hdus = js.doc.files.flatMap((f) => f.hdus.map((h) => ({ f, h })));
  assert.equal(rows.length, hdus.length);
  const sci = rows.find((x) => x.path === 'cube.fits' && Number(x.hdu) === 1)!;
  assert.equal(sci.extname, 'SCI');
  assert.equal(JSON.parse(String(sci.shape)).join(','), '64,64,200');
  assert.ok(Math.abs(Number(sci.ra) - 150) < 0.1 && Math.abs(Number(sci.dec) - 2.2) < 0.1);
  const fz = rows.find((x) => x.path === 'cubec.fits.fz' && Number(x.hdu) === 1)!;
  assert.equal(Number(fz.ntiles), 64 * 200);
  const kv = await q(`SELECT decode(key) AS k FROM parquet_kv_metadata('${out}')`);
  assert.ok(kv.some((x) => x.k === 'fitslake-cloud-index'));
});

test('re-running index reads only new or changed files', async () => {
  const out = join(root, 'reindex.json');
  const first = await cli('index', gen, '--out', out, '--json');
  assert.equal(first.summary.reused, 0);
  assert.ok(first.summary.bytesRead > 0);
  const again = await cli('index', gen, '--out', out, '--json');
  assert.deepEqual(
    [again.summary.indexed, again.summary.reused, again.summary.bytesRead],
    [0, first.summary.files, 0],
  );
  // Touch one file (new mtime), add one, and re-index: only those two are read.
  const t = new Date(Date.now() + 5000);
  utimesSync(join(gen, 'scaled16.fits'), t, t);
  copyFileSync(join(gen, 'scaled16.fits'), join(gen, 'added.fits'));
  const third = await cli('index', gen, '--out', out, '--json');
  assert.equal(third.summary.indexed, 2);
  assert.equal(third.summary.reused, first.summary.files - 1);
  assert.ok(third.summary.bytesRead < 20000, `${third.summary.bytesRead} bytes read`);
  const doc = JSON.parse(readFileSync(out, 'utf8')) as CloudIndexDoc;
  assert.ok(
    Math.abs(Date.parse(doc.files.find((f) => f.path === 'scaled16.fits')!.mtime!) - t.getTime()) < 2,
  );
  // A Parquet index is re-used the same way.
  const pq = join(root, 'reindex.parquet');
  await cli('index', gen, '--out', pq);
  const pq2 = await cli('index', gen, '--out', pq, '--json');
  assert.equal(pq2.summary.indexed, 0);
});

test('RangeSource retries transient failures and refuses a file that changed since indexing', async () => {
  const body = new Uint8Array(5000).map((_, i) => i & 255);
  let fail = 2;
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    if (fail-- > 0) return void res.writeHead(503, { 'retry-after': '0' }).end();
    const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '')!;
    const [s, e] = [Number(m[1]), Math.min(Number(m[2]), body.length - 1)];
    res.writeHead(206, { 'content-range': `bytes ${s}-${e}/${body.length}`, 'content-length': e - s + 1 });
    res.end(body.subarray(s, e + 1));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
  try {
    const src = new RangeSource(url, body.length, { backoffMs: 1 });
    assert.deepEqual(await src.read(100, 50), body.subarray(100, 150));
    assert.equal(requests, 3);
    const parts = await src.readMany([
      { offset: 10, length: 5 },
      { offset: 4000, length: 10 },
      { offset: 12, length: 10 },
    ]);
    assert.deepEqual(parts[2], body.subarray(12, 22));
    assert.equal(src.requests, 5, 'overlapping runs share one request, the far one gets its own');
    const changed = new RangeSource(url, 4096, { backoffMs: 1 });
    await assert.rejects(changed.read(0, 10), /changed, re-run fitslake index/);
  } finally {
    server.close();
  }
});

test('a list of URLs is indexed in place over HTTP', async () => {
  const list = join(root, 'urls.txt');
  writeFileSync(list, `# two files\n${nginx.url}/gen/cube.fits\n\n${nginx.url}/corpus/fits/tdim.fits\n`);
  const out = join(root, 'urls.json');
  const r = await cli('index', list, '--out', out, '--json');
  assert.equal(r.code, 0, r.err.join('\n'));
  const doc = JSON.parse(readFileSync(out, 'utf8')) as CloudIndexDoc;
  assert.deepEqual(
    doc.files.map((f) => [f.path, f.url]),
    [
      ['gen/cube.fits', `${nginx.url}/gen/cube.fits`],
      ['corpus/fits/tdim.fits', `${nginx.url}/corpus/fits/tdim.fits`],
    ],
  );
  assert.ok(doc.files[0].etag, 'nginx ETag recorded');
  assert.deepEqual(doc.files[0].hdus, genDoc.files.find((f) => f.path === 'cube.fits')!.hdus);
  const again = await cli('index', list, '--out', out, '--json');
  assert.equal(again.summary.reused, 2);
});
