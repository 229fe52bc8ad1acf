// Small observatory-style frames for ingest tests that need many files: each is a 4x4 int16 image
// whose cards ingest maps to an observation (target, start time, exposure, pointing, filter).
import { type CardSpec, encodeImageHdu } from '../../src/fits/write.ts';

/** Frame number `i` (one minute after frame i - 1, from 2023-01-01), with any extra cards. */
export function smallFrame(i: number, extra: CardSpec[] = []): Uint8Array {
  return encodeImageHdu(
    new Int16Array(16).fill(i % 1000),
    [4, 4],
    [
      ['OBJECT', `target ${i % 37}`],
      ['DATE-OBS', new Date(Date.UTC(2023, 0, 1) + i * 60_000).toISOString().slice(0, 19)],
      ['EXPTIME', 10 + (i % 7)],
      ['RA', (i * 0.37) % 360],
      ['DEC', -60 + (i % 120)],
      ['FILTER', ['B', 'V', 'R'][i % 3]],
      ...extra,
    ],
  );
}
