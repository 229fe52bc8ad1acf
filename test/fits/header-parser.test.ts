import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferSource } from '../../src/fits/byte-source.ts';
import { parseCard } from '../../src/fits/card-parser.ts';
import { openFits } from '../../src/fits/fits-file.ts';
import { parseHeader } from '../../src/fits/header-parser.ts';
import { corpusBytes } from '../util/corpus.ts';

const card = (s: string) => parseCard(s.padEnd(80));
// Card images as latin-1 bytes (one byte per character, as on disk).
const block = (cards: string[]) =>
  Uint8Array.from(
    cards
      .map((c) => c.padEnd(80))
      .join('')
      .padEnd(2880 * Math.ceil((cards.length * 80) / 2880)),
    (ch) => ch.charCodeAt(0),
  );

test('every value form of the FITS Standard 4.0', () => {
  assert.deepEqual(
    [card("S       = 'it''s a ''test''  ' / c").value, card("S       = 'it''s a ''test''  ' / c").comment],
    ["it's a 'test'", 'c'],
  );
  assert.equal(card("S       = '  lead'").value, '  lead', 'leading blanks are significant');
  assert.equal(card("S       = ''").value, '');
  assert.equal(card('I       =  9007199254740993').value, 9007199254740993n, 'beyond 2^53 stays exact');
  assert.equal(card('I       = -9223372036854775808').value, -9223372036854775808n);
  assert.equal(card('I       =                   42').value, 42);
  assert.equal(card('F       =              1.5D+03').value, 1500);
  assert.equal(card('F       =                 -.5e-2').value, -0.005);
  assert.deepEqual(card('C       = (1.5, -2.25)').value, [1.5, -2.25]);
  assert.equal(card('C       = (1.5, -2.25)').type, 'complex');
  assert.equal(card('L       =                    T').value, true);
  assert.equal(card('L       =                    F / no').value, false);
  assert.deepEqual(
    [card('U       =  / nothing').value, card('U       =  / nothing').type],
    [null, 'undefined'],
  );
  assert.deepEqual([card('U       =').value, card('U       =').type], [null, 'undefined']);
  assert.equal(card('FREE    = 12 / free-format integer anywhere after col 10').value, 12);
  const c = card('COMMENT   keep  the  spacing');
  assert.deepEqual([c.type, c.value], ['commentary', '  keep  the  spacing']);
  assert.deepEqual(
    [card('HISTORY done').type, card('        blank keyword').type],
    ['commentary', 'commentary'],
  );
  const h = card("HIERARCH ESO DET CHIP1 NAME = 'CCD-42' / chip");
  assert.deepEqual(
    [h.keyword, h.value, h.hierarch, h.comment],
    ['ESO DET CHIP1 NAME', 'CCD-42', true, 'chip'],
  );
  const rv = card("DP1     = 'AXIS.1: 1' / record-valued");
  assert.deepEqual([rv.keyword, rv.value], ['DP1.AXIS.1', 1]);
});

test('CONTINUE long strings join into one card; END ends the header', () => {
  const { header } = parseHeader(
    block([
      'SIMPLE  =                    T',
      "LONG    = 'first part &'",
      "CONTINUE  'second &'",
      "CONTINUE  'third' / the comment",
      'END',
    ]),
  );
  assert.equal(header.string('LONG'), 'first part second third');
  assert.equal(header.card('LONG')?.comment, 'the comment');
  assert.equal(header.cards.length, 2);
});

test('tolerant mode accepts common violations with one warning each; strict mode rejects them', async () => {
  const bad = block([
    'SIMPLE  =                    T',
    'BITPIX  =                    8',
    'NAXIS   =                    0',
    'lowkey  =                    1',
    "ACCENT  = 'caf\u00e9'",
    'NOEQUALS  some text',
    'END',
  ]);
  bad[2880 - 1] = 0x41; // garbage in the padding after END
  const fits = await openFits(new BufferSource(bad, 'bad.fits'));
  assert.equal(fits.hdus[0].header.int('LOWKEY'), 1);
  const codes = fits.warnings.map((w) => `${w.code}:${w.card ?? ''}`);
  assert.deepEqual(
    codes.sort(),
    ['bad-card:LOWKEY', 'bad-card:NOEQUALS', 'bad-padding:END', 'non-ascii:ACCENT'].sort(),
  );
  for (const w of fits.warnings) assert.equal(w.file, 'bad.fits');
  await assert.rejects(
    openFits(new BufferSource(bad, 'bad.fits'), { mode: 'strict' }),
    (e: Error & { card?: string; hdu?: number }) =>
      e.name === 'FitsError' &&
      e.card === 'LOWKEY' &&
      e.hdu === 0 &&
      /bad\.fits, HDU 0, card LOWKEY/.test(e.message),
  );
});

test('missing END: tolerant reads to the end of the text with a warning, strict refuses', async () => {
  const noEnd = corpusBytes('synthetic/bad_no_end_card.fits');
  const fits = await openFits(new BufferSource(noEnd));
  assert.ok(fits.warnings.some((w) => w.code === 'no-end'));
  await assert.rejects(openFits(new BufferSource(noEnd), { mode: 'strict' }), /no END/);
});

test('trailing garbage and truncated data are warnings in tolerant mode, errors in strict', async () => {
  const garbage = await openFits(new BufferSource(corpusBytes('synthetic/bad_trailing_garbage.fits')));
  assert.equal(garbage.trailingBytes, 105);
  assert.ok(garbage.warnings.some((w) => w.code === 'trailing-garbage'));
  const cut = await openFits(new BufferSource(corpusBytes('synthetic/bad_truncated_data.fits')));
  assert.ok(cut.warnings.some((w) => w.code === 'truncated'));
  await assert.rejects(
    openFits(new BufferSource(corpusBytes('synthetic/bad_truncated_data.fits')), { mode: 'strict' }),
    /truncated|needs/,
  );
});

test('walking a file reads its header blocks only, never data', async () => {
  // Three HDUs with 40 MB of data between headers.
  const h0 = block([
    'SIMPLE  =                    T',
    'BITPIX  =                  -32',
    'NAXIS   =                    2',
    'NAXIS1  =                 2000',
    'NAXIS2  =                 5000',
    'EXTEND  =                    T',
    'END',
  ]);
  const ext = (n: number) =>
    block([
      "XTENSION= 'IMAGE   '",
      'BITPIX  =                   16',
      'NAXIS   =                    1',
      `NAXIS1  = ${String(n).padStart(20)}`,
      'PCOUNT  =                    0',
      'GCOUNT  =                    1',
      ...Array.from({ length: 50 }, (_, i) => `KEY${i}    = ${i}`),
      'END',
    ]);
  const span = (n: number) => Math.ceil(n / 2880) * 2880;
  const parts = [
    h0,
    new Uint8Array(span(4e7)),
    ext(1e6),
    new Uint8Array(span(2e6)),
    ext(10),
    new Uint8Array(2880),
  ];
  const size = parts.reduce((s, p) => s + p.length, 0);
  const all = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const src = new BufferSource(all);
  const fits = await openFits(src);
  assert.equal(fits.hdus.length, 3);
  const headerBytes = h0.length + ext(1e6).length + ext(10).length;
  assert.ok(
    src.bytesRead <= headerBytes + 3 * 2880,
    `read ${src.bytesRead} bytes for ${headerBytes} header bytes`,
  );
  assert.equal(fits.trailingBytes, 0);
});
