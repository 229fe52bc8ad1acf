// Hostile and broken input, case by case: a typed FitsError naming file, HDU, card and reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferSource } from '../../src/fits/byte-source.ts';
import { FitsError } from '../../src/fits/errors.ts';
import { openFits } from '../../src/fits/fits-file.ts';
import { readImage } from '../../src/fits/image.ts';

const fits = (cards: string[], data = 0) => {
  const text = cards
    .map((c) => c.padEnd(80))
    .join('')
    .padEnd(Math.ceil((cards.length * 80) / 2880) * 2880);
  const out = new Uint8Array(text.length + data);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return new BufferSource(out, 'hostile.fits');
};
const head = (naxis1: string, extra: string[] = []) => [
  'SIMPLE  =                    T',
  'BITPIX  =                   16',
  'NAXIS   =                    2',
  `NAXIS1  = ${naxis1.padStart(20)}`,
  'NAXIS2  =                   10',
  ...extra,
  'END',
];
const isFitsError = (re: RegExp, card?: string) => (e: unknown) =>
  e instanceof FitsError &&
  re.test(e.message) &&
  e.file === 'hostile.fits' &&
  (card === undefined || e.card === card);

test('negative, non-integer and missing sizes name the card', async () => {
  await assert.rejects(
    openFits(fits(head('-5'))),
    isFitsError(/NAXIS1 must be a non-negative integer/, 'NAXIS1'),
  );
  await assert.rejects(
    openFits(fits(head('1.5'))),
    isFitsError(/NAXIS1 must be a non-negative integer/, 'NAXIS1'),
  );
  await assert.rejects(openFits(fits(head("'ten'"))), isFitsError(/NAXIS1/, 'NAXIS1'));
  await assert.rejects(
    openFits(
      fits([
        'SIMPLE  =                    T',
        'BITPIX  =                   12',
        'NAXIS   =                    0',
        'END',
      ]),
    ),
    isFitsError(/BITPIX must be one of/, 'BITPIX'),
  );
});

test('NAXIS products of 10^15 are walked past without allocating, and refused when read', async () => {
  const src = fits(head('100000000000000'));
  const f = await openFits(src);
  assert.equal(f.hdus[0].dataSize, 2 * 1e15);
  assert.ok(f.warnings.some((w) => w.code === 'truncated'));
  await assert.rejects(readImage(src, f.hdus[0]), isFitsError(/exceeds the limit/));
  await assert.rejects(
    openFits(fits(head('100000000000000', ['PCOUNT  = 99999999999999999999']))),
    (e: unknown) => e instanceof FitsError,
  );
  await assert.rejects(
    openFits(
      fits([
        'SIMPLE  =                    T',
        'BITPIX  =                   64',
        'NAXIS   =                    3',
        'NAXIS1  =           1000000000',
        'NAXIS2  =           1000000000',
        'NAXIS3  =           1000000000',
        'END',
      ]),
    ),
    isFitsError(/beyond 2\^53/),
  );
});

test('random bytes, empty files and text are "not FITS"', async () => {
  const random = new Uint8Array(10000).map((_, i) => (i * 7919 + 13) % 251);
  await assert.rejects(
    openFits(new BufferSource(random, 'hostile.fits')),
    isFitsError(/does not start with SIMPLE/),
  );
  await assert.rejects(openFits(new BufferSource(new Uint8Array(0), 'hostile.fits')), isFitsError(/empty/));
});

test('a truncated header and a header without END in strict mode', async () => {
  const cut = fits(head('10'), 0);
  const short = new BufferSource(cut.bytes.subarray(0, 200), 'hostile.fits');
  await assert.rejects(
    openFits(short),
    isFitsError(/file ends inside the header of HDU 0 \(after 3 cards\)/),
  );
  await assert.rejects(openFits(short, { mode: 'strict' }), isFitsError(/middle of a card|no END/));
});

test('an extension that is not an extension stops the walk with a warning, not a crash', async () => {
  const src = fits(head('10'), 2880 + 2880);
  src.bytes.fill(0x41, 5760);
  const f = await openFits(src);
  assert.equal(f.hdus.length, 1);
  assert.ok(f.warnings.some((w) => w.code === 'trailing-garbage'));
});
