// Hostile input: mutations of real corpus files. Whatever the bytes, the reader either succeeds or
// throws a FitsError — never another exception, a hang or unbounded memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BufferSource } from '../../src/fits/byte-source.ts';
import { verifyChecksums } from '../../src/fits/checksum.ts';
import { readCompressedImage } from '../../src/fits/compression/tiles.ts';
import { FitsError } from '../../src/fits/errors.ts';
import { openFits } from '../../src/fits/fits-file.ts';
import { readImage } from '../../src/fits/image.ts';
import { readGroup, readRows } from '../../src/fits/table.ts';
import { corpusFiles } from '../util/corpus.ts';
import { decompressed } from '../util/decompress.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 100_000);
const LIMIT = 1 << 20;

// Seeds: every corpus file, cut to its first 8 blocks so each run stays around a millisecond.
const seeds = corpusFiles()
  .map((rel) => decompressed(rel).subarray(0, 2880 * 8))
  .filter((b) => b.length > 0);

const HOSTILE_VALUES = [
  '1000000000000000',
  '-5',
  '1.5',
  "'abc'",
  '99999999999999999999',
  '0',
  'T',
  '',
  "'RICE_1'",
  "'BINTABLE'",
];
const KEYS = [
  'NAXIS',
  'NAXIS1',
  'NAXIS2',
  'BITPIX',
  'PCOUNT',
  'GCOUNT',
  'TFIELDS',
  'TFORM1',
  'ZNAXIS1',
  'ZTILE1',
  'THEAP',
  'ZBITPIX',
];

type Mutation =
  | { kind: 'flip'; at: number[]; bytes: number[] }
  | { kind: 'cut'; at: number }
  | { kind: 'card'; key: string; value: string }
  | { kind: 'splice'; at: number; bytes: number[] }
  | { kind: 'random'; bytes: number[] };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.array(fc.nat(), { maxLength: 8 }),
    bytes: fc.array(fc.nat(255), { minLength: 8, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('card' as const),
    key: fc.constantFrom(...KEYS),
    value: fc.constantFrom(...HOSTILE_VALUES),
  }),
  fc.record({
    kind: fc.constant('splice' as const),
    at: fc.nat(),
    bytes: fc.array(fc.nat(255), { maxLength: 200 }),
  }),
  fc.record({ kind: fc.constant('random' as const), bytes: fc.array(fc.nat(255), { maxLength: 3000 }) }),
);

function mutate(seed: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = seed.slice();
  for (const m of muts) {
    if (m.kind === 'flip') {
      for (const [i, p] of m.at.entries()) if (b.length) b[p % b.length] = m.bytes[i];
    } else if (m.kind === 'cut') b = b.subarray(0, m.at % (b.length + 1));
    else if (m.kind === 'random') b = Uint8Array.from(m.bytes);
    else if (m.kind === 'splice') {
      const at = m.at % (b.length + 1);
      const out = new Uint8Array(b.length + m.bytes.length);
      out.set(b.subarray(0, at));
      out.set(m.bytes, at);
      out.set(b.subarray(at), at + m.bytes.length);
      b = out;
    } else {
      // Rewrite the value of a structural card wherever it appears.
      const text = new TextDecoder('latin1').decode(b);
      const at = text.indexOf(`${m.key.padEnd(8)}=`);
      if (at >= 0 && at % 80 === 0) {
        const card = `${m.key.padEnd(8)}= ${m.value.padStart(20)}`.padEnd(80);
        for (let i = 0; i < 80; i++) b[at + i] = card.charCodeAt(i);
      }
    }
  }
  return b;
}

async function exercise(bytes: Uint8Array, strict: boolean): Promise<void> {
  const src = new BufferSource(bytes, 'fuzz.fits');
  const fits = await openFits(src, { mode: strict ? 'strict' : 'tolerant', maxHdus: 50 });
  for (const h of fits.hdus.slice(0, 4)) {
    const attempt = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        if (!(err instanceof FitsError)) throw err;
      }
    };
    await attempt(() => verifyChecksums(src, h));
    if (h.kind === 'primary' || h.kind === 'image')
      await attempt(() => readImage(src, h, { maxBytes: LIMIT }));
    if (h.kind === 'bintable' || h.kind === 'table')
      await attempt(() => readRows(src, h, 0, 3, { maxBytes: LIMIT }));
    if (h.kind === 'groups') await attempt(() => readGroup(src, h, 0));
    if (h.kind === 'compressed-image')
      await attempt(() => readCompressedImage(src, h, undefined, { maxBytes: LIMIT }));
  }
}

test(`${RUNS} mutated corpus files: only FitsErrors, no crash or hang`, { timeout: 180_000 }, async () => {
  let failures = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.nat(seeds.length - 1),
      fc.array(mutation, { minLength: 1, maxLength: 3 }),
      fc.boolean(),
      async (i, muts, strict) => {
        const bytes = mutate(seeds[i], muts);
        try {
          await exercise(bytes, strict);
        } catch (err) {
          if (!(err instanceof FitsError)) throw err;
          failures++;
          assert.ok(err.message.length > 0 && err.code, 'a FitsError says what and why');
        }
      },
    ),
    { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261124) },
  );
  // Sanity: the mutations really produce broken files, and really leave some readable.
  assert.ok(failures > RUNS / 20 && failures < RUNS, `${failures} of ${RUNS} inputs rejected`);
});
