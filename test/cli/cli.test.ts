import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import type { Output } from '../../src/cli/output.ts';
import { CORPUS, corpusPath, type TruthCard, truth, truthValue } from '../util/corpus.ts';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Output = { out: (t) => void (out += `${t}\n`), err: (t) => void (err += `${t}\n`) };
  const code = await main(args, io);
  return { code, out, err };
}

const pad = (n: number) => Math.ceil(n / 2880) * 2880;
const lines = (s: string) => s.split('\n').filter((l) => l.trim());
const same = (ours: unknown, theirs: TruthCard) => {
  const v = truthValue(theirs);
  return typeof v === 'bigint' ? ours === v.toString() : JSON.stringify(ours) === JSON.stringify(v);
};

// A real HTTP server with Range support over the corpus, counting the bytes it sends.
let server: Server;
let base = '';
let bytesSent = 0;
before(async () => {
  server = createServer((req, res) => {
    const path = join(CORPUS, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes' }).end();
      return;
    }
    if (!m) {
      bytesSent += size;
      res.writeHead(200, { 'content-length': size });
      createReadStream(path).pipe(res);
      return;
    }
    const start = Number(m[1]);
    const end = Math.min(m[2] ? Number(m[2]) : size - 1, size - 1);
    if (start >= size) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    bytesSent += end - start + 1;
    res.writeHead(206, {
      'content-range': `bytes ${start}-${end}/${size}`,
      'content-length': end - start + 1,
    });
    createReadStream(path, { start, end }).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

test('header --json prints every card of every HDU with astropy offsets and types', async () => {
  const rel = 'fits/checksum.fits';
  const { code, out } = await run(['header', '--json', corpusPath(rel)]);
  assert.equal(code, 0);
  const doc = JSON.parse(out);
  const t = truth(rel);
  assert.equal(doc.hdus.length, t.hdus.length);
  for (const [i, h] of doc.hdus.entries()) {
    const th = t.hdus[i];
    assert.deepEqual([h.headerOffset, h.dataOffset, h.dataSpan], [th.hdrLoc, th.datLoc, th.datSpan]);
    assert.equal(h.cards.length, th.header.length);
    for (const [j, c] of h.cards.entries()) {
      assert.equal(c.keyword, th.header[j].keyword);
      assert.ok(same(c.value, th.header[j]), `${c.keyword}: ${c.value} vs ${th.header[j].value}`);
    }
  }
  assert.deepEqual(
    doc.hdus.map((h: { kind: string }) => h.kind),
    ['primary', 'bintable'],
  );
});

test('header --json: big integers as decimal strings, complex pairs, undefined, compressed logical header', async () => {
  const big = await run(['header', '--json', corpusPath('synthetic/continue_hierarch.fits')]);
  const cards = JSON.parse(big.out).hdus.flatMap((h: { cards: unknown[] }) => h.cards);
  const t = truth('synthetic/continue_hierarch.fits').hdus.flatMap((h: { header: TruthCard[] }) => h.header);
  for (const tc of t as TruthCard[]) {
    const ours = cards.find((c: { keyword: string }) => c.keyword === tc.keyword);
    assert.ok(ours, `missing ${tc.keyword}`);
    if (tc.value_type === 'int' && typeof tc.value === 'string') assert.equal(ours.value, tc.value);
    if (tc.value_type === 'complex') assert.deepEqual(ours.value, tc.value);
    if (tc.value_type === 'undefined') assert.equal(ours.value, null);
  }
  const fz = await run(['header', '--json', corpusPath('synthetic/rice_single.fits.fz')]);
  const h1 = JSON.parse(fz.out).hdus[1];
  assert.equal(h1.kind, 'compressed-image');
  const th = truth('synthetic/rice_single.fits.fz').hdus[1];
  assert.deepEqual(
    h1.cards.map((c: { keyword: string }) => c.keyword),
    th.image_header.map((c: TruthCard) => c.keyword),
  );
  assert.deepEqual(
    h1.storedCards.map((c: { keyword: string }) => c.keyword),
    th.header.map((c: TruthCard) => c.keyword),
  );
});

test('header over HTTP reads only header blocks through range requests', async () => {
  // A 24 MB file with three HDUs: the headers must arrive without the data.
  const dir = mkdtempSync(join(CORPUS, 'tmp-http-'));
  try {
    const big = join(dir, 'big.fits');
    const img = (xt: boolean, n: number) =>
      [
        xt ? "XTENSION= 'IMAGE   '" : 'SIMPLE  =                    T',
        'BITPIX  =                  -32',
        'NAXIS   =                    2',
        `NAXIS1  = ${String(n).padStart(20)}`,
        `NAXIS2  = ${String(n).padStart(20)}`,
        ...(xt ? ['PCOUNT  =                    0', 'GCOUNT  =                    1'] : []),
        'END',
      ]
        .map((c) => c.padEnd(80))
        .join('')
        .padEnd(2880);
    const parts: (string | number)[] = [
      img(false, 2000),
      2000 * 2000 * 4,
      img(true, 1000),
      1000 * 1000 * 4,
      img(true, 10),
      400,
    ];
    const chunks = parts.map((p) =>
      typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.alloc(Math.ceil(p / 2880) * 2880),
    );
    writeFileSync(big, Buffer.concat(chunks));
    bytesSent = 0;
    const rel = `${dir.slice(CORPUS.length + 1)}/big.fits`;
    const { code, out } = await run(['header', '--json', `${base}/${rel}`]);
    assert.equal(code, 0);
    const doc = JSON.parse(out);
    assert.deepEqual(
      doc.hdus.map((h: { headerOffset: number }) => h.headerOffset),
      [0, 2880 + pad(16e6), 2 * 2880 + pad(16e6) + pad(4e6)],
    );
    // Three headers of 2880 bytes; the HTTP block cache rounds each read to 64 KiB.
    assert.ok(bytesSent <= 3 * 65536, `sent ${bytesSent} bytes for a ${statSync(big).size}-byte file`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('several files print JSON Lines; an unreadable file reports its error, the rest go on, exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-cli-'));
  const junk = join(dir, 'junk.fits');
  writeFileSync(junk, 'this is not a FITS file at all'.repeat(200));
  const { code, out } = await run([
    'header',
    '--json',
    corpusPath('fits/arange.fits'),
    junk,
    corpusPath('synthetic/tables_alltypes.fits.gz'),
  ]);
  assert.equal(code, 1);
  const docs = lines(out).map((l) => JSON.parse(l));
  assert.equal(docs.length, 3);
  assert.equal(docs[0].hdus.length, 1);
  assert.equal(docs[1].file, junk);
  assert.match(docs[1].error.message, /junk\.fits/);
  const tg = truth('synthetic/tables_alltypes.fits.gz');
  assert.deepEqual(
    docs[2].hdus.map((h: { dataOffset: number }) => h.dataOffset),
    tg.hdus.map((h: { datLoc: number }) => h.datLoc),
  );
});

test('header text output, --hdu by EXTNAME and --keyword wildcards', async () => {
  const { code, out } = await run([
    'header',
    corpusPath('fits/checksum.fits'),
    '--hdu',
    'RATE',
    '-k',
    'TFORM*',
  ]);
  assert.equal(code, 0);
  assert.match(out, /^# HDU 1 in /);
  const cards = lines(out).slice(1);
  assert.deepEqual(
    cards.map((l) => l.slice(0, 8).trim()),
    ['TFORM1', 'TFORM2', 'TFORM3'],
  );
});

test('header reads header-only dumps, newline-separated or not', async () => {
  for (const rel of ['fits/acs.hdr', 'fits/1904-66_AIR.hdr']) {
    const { code, out } = await run(['header', '--json', corpusPath(rel)]);
    assert.equal(code, 0, rel);
    const t = truth(rel).header_only_parse.header as TruthCard[];
    const cards = JSON.parse(out).hdus[0].cards;
    assert.equal(cards.length, t.length, rel);
    assert.deepEqual(
      cards.map((c: { keyword: string }) => c.keyword),
      t.map((c) => c.keyword),
    );
  }
});

test('info --json gives kind, shape, checksum status and astropy footprint', async () => {
  const { code, out } = await run([
    'info',
    '--json',
    corpusPath('fits/checksum.fits'),
    corpusPath('synthetic/wcs_zea.fits'),
  ]);
  assert.equal(code, 0);
  const [a, b] = lines(out).map((l) => JSON.parse(l));
  assert.deepEqual(
    a.hdus.map((h: { checksum: string; datasum: string }) => [h.checksum, h.datasum]),
    [
      ['ok', 'ok'],
      ['ok', 'ok'],
    ],
  );
  assert.deepEqual(a.hdus[1].shape, [16, 5]);
  const tz = truth('synthetic/wcs_zea.fits').hdus[0].wcs;
  const fp = b.hdus[0].wcs.footprint as [number, number][];
  const tfp = tz.footprint as [number, number][];
  for (let i = 0; i < 4; i++) {
    assert.ok(Math.abs(fp[i][0] - tfp[i][0]) < 1e-6 && Math.abs(fp[i][1] - tfp[i][1]) < 1e-6, `corner ${i}`);
  }
});

test('the built bin runs as a real process', () => {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/run.ts', 'info', corpusPath('fits/arange.fits')],
    {
      encoding: 'utf8',
    },
  );
  assert.match(out, /1 HDU/);
});

test('gzip and bzip2 files over HTTP are read as one forward stream', async () => {
  for (const rel of ['synthetic/cube_spectral.fits.bz2', 'synthetic/tables_alltypes.fits.gz']) {
    const { code, out } = await run(['header', '--json', `${base}/${rel}`]);
    assert.equal(code, 0, rel);
    assert.deepEqual(
      JSON.parse(out).hdus.map((h: { dataOffset: number }) => h.dataOffset),
      truth(rel).hdus.map((h: { datLoc: number }) => h.datLoc),
      rel,
    );
  }
});

test('info over HTTP skips checksums unless --checksum asks (they read every data byte)', async () => {
  const rel = 'fits/checksum.fits';
  const plain = JSON.parse((await run(['info', '--json', `${base}/${rel}`])).out);
  assert.deepEqual(
    plain.hdus.map((h: { checksum: string }) => h.checksum),
    ['skipped', 'skipped'],
  );
  const asked = JSON.parse((await run(['info', '--json', '--checksum', `${base}/${rel}`])).out);
  assert.deepEqual(
    asked.hdus.map((h: { checksum: string; datasum: string }) => [h.checksum, h.datasum]),
    [
      ['ok', 'ok'],
      ['ok', 'ok'],
    ],
  );
});
