import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { createGzip } from 'node:zlib';
import { openFits } from '../../src/fits/fits-file.ts';
import { openSource } from '../../src/io/open.ts';
import { corpusPath, truth } from '../util/corpus.ts';
import { decompressed } from '../util/decompress.ts';

async function drain(src: Awaited<ReturnType<typeof openSource>>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of src.stream!()) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

test('gzip and bzip2 files (found by magic bytes) stream the same bytes as zlib/bzip2 give', async () => {
  for (const rel of [
    'synthetic/tables_alltypes.fits.gz',
    'synthetic/cube_spectral.fits.bz2',
    'fits/m83.moment0.fits.gz',
  ]) {
    const src = await openSource(corpusPath(rel));
    const got = await drain(src);
    assert.equal(
      createHash('sha256').update(got).digest('hex'),
      createHash('sha256').update(decompressed(rel)).digest('hex'),
      rel,
    );
    await src.close?.();
  }
});

test('openFits walks a gzip stream forward once and finds astropy offsets', async () => {
  const rel = 'synthetic/tables_alltypes.fits.gz';
  const src = await openSource(corpusPath(rel));
  const fits = await openFits(src);
  assert.deepEqual(
    fits.hdus.map((h) => h.dataOffset),
    truth(rel).hdus.map((h: { datLoc: number }) => h.datLoc),
  );
  assert.equal(fits.size, decompressed(rel).length);
});

test('a truncated .gz is a clear FitsError, not a hang', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-gz-'));
  const whole = readFileSync(corpusPath('fits/m83.moment0.fits.gz'));
  const cut = join(dir, 'cut.fits.gz');
  writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
  const src = await openSource(cut);
  await assert.rejects(
    drain(src),
    (e: Error) => e.name === 'FitsError' && /corrupt gzip stream/.test(e.message) && e.message.includes(cut),
  );
});

test('a decompression bomb trips the ratio limit quickly, in bounded memory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-bomb-'));
  const bomb = join(dir, 'bomb.fits.gz');
  // 1 GiB of zeros behind a valid-looking FITS header: about 1 MB compressed.
  const header = Buffer.from(
    [
      'SIMPLE  =                    T',
      'BITPIX  =                    8',
      'NAXIS   =                    1',
      'NAXIS1  =           1073741824',
      'END',
    ]
      .map((c) => c.padEnd(80))
      .join('')
      .padEnd(2880),
  );
  await pipeline(
    (async function* () {
      yield header;
      const zeros = Buffer.alloc(1 << 20);
      for (let i = 0; i < 1024; i++) yield zeros;
    })(),
    createGzip({ level: 9 }),
    createWriteStream(bomb),
  );
  const rss0 = process.memoryUsage().rss;
  const src = await openSource(bomb, { limits: { maxRatio: 100 } });
  await assert.rejects(
    drain(src),
    (e: Error) => e.name === 'FitsError' && /decompression bomb/.test(e.message),
  );
  assert.ok(process.memoryUsage().rss - rss0 < 200 << 20, 'memory stayed bounded');
});
