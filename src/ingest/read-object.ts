import { Readable } from 'node:stream';
import type { ByteSource } from '../fits/byte-source.ts';
import { verifyChecksums } from '../fits/checksum.ts';
import { FitsError } from '../fits/errors.ts';
import { type FitsFile, openFits } from '../fits/fits-file.ts';
import { type Hdu, logicalHeader, logicalShape } from '../fits/hdu.ts';
import { decompressStream } from '../io/compressed.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { sniff } from './content.ts';
import { ImageError, imageInfo } from './image-meta.ts';

/** One HDU as the catalog stores it. */
export interface HduRow {
  idx: number;
  kind: string;
  header_offset: number;
  data_offset: number;
  data_span: number;
  shape: string;
  checksum: string | null;
  datasum: string | null;
  cards: string;
  keyvalues: string;
}

/** What reading an object found. `error` set = the bytes are unusable (not worth retrying). */
export interface Extraction {
  kind: 'fits' | 'header' | 'image' | 'plain';
  hdus: Hdu[];
  rows: HduRow[];
  info: Record<string, unknown> | null;
  error: string | null;
}

/** Thrown for failures worth retrying (storage or catalog I/O): the job queue backs off and tries again. */
export class RetryableError extends Error {
  override name = 'RetryableError';
}

export const FITS_NAME = /\.(fits?|fts|fz)(\.(gz|bz2))?$/i;
const IMAGE_LIMIT = 64 << 20;
/** Largest FITS whose checksums ingest verifies (bytes). */
export const VERIFY_LIMIT = 512 << 20;
const SKIP = new Set(['', 'COMMENT', 'HISTORY', 'CONTINUE', 'END']);

const jsonValue = (v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

function hduRows(
  fits: FitsFile,
  sums: (h: Hdu) => { checksum: string; datasum: string } | undefined,
): HduRow[] {
  return fits.hdus.map((h) => {
    const cards = logicalHeader(h).cards;
    const kv: Record<string, unknown> = {};
    for (const c of cards) if (!SKIP.has(c.keyword) && !(c.keyword in kv)) kv[c.keyword] = jsonValue(c.value);
    const s = sums(h);
    return {
      idx: h.index,
      kind: h.kind,
      header_offset: h.headerOffset,
      data_offset: h.dataOffset,
      data_span: h.dataSpan,
      shape: JSON.stringify(logicalShape(h)),
      checksum: s?.checksum ?? null,
      datasum: s?.datasum ?? null,
      cards: JSON.stringify(cards.map((c) => [c.keyword, jsonValue(c.value), c.type, c.comment])),
      keyvalues: JSON.stringify(kv),
    };
  });
}

async function collect(body: AsyncIterable<Uint8Array>, limit: number): Promise<Uint8Array | null> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > limit) return null;
    parts.push(c);
  }
  return Buffer.concat(parts);
}

/** What reading an object needs of a store: an in-memory copy serves as well as the store itself. */
export type ObjectReader = Pick<ObjectStore, 'source' | 'get'>;

/**
 * Reads what an object is, choosing the extractor by content: FITS (plain, gzip or bzip2 streams,
 * tile-compressed .fz), a FITS header dump, a JPEG/PNG picture, or anything else as a plain file.
 * Reads header blocks only for random-access FITS; compressed containers are streamed once.
 */
export async function readObject(store: ObjectReader, key: string): Promise<Extraction> {
  const none = { hdus: [], rows: [], info: null, error: null };
  let source: ByteSource | undefined;
  try {
    source = await store.source(key);
    const head = await source.read(0, 2880);
    const what = sniff(head);
    const nameSaysFits = FITS_NAME.test(key);
    if (what === 'fits' || what === 'gzip' || what === 'bzip2') {
      let fitsSource: ByteSource = source;
      if (what !== 'fits') {
        await source.close?.();
        source = undefined;
        // The compressed bytes read so far: the stream's decompression-bomb check compares against them.
        let compressed = 0;
        const body = Readable.from(await store.get(key));
        body.on('data', (chunk: Uint8Array) => (compressed += chunk.length));
        fitsSource = decompressStream(key, body, () => compressed, what);
      }
      try {
        const fits = await openFits(fitsSource);
        // Tolerated by readers, but in a lake a truncated file is an interrupted upload: report it.
        const cut = fits.warnings.find((w) => w.code === 'truncated');
        if (cut) return { kind: 'fits', ...none, error: `${key}: ${cut.message}` };
        if (fits.headerOnly && nameSaysFits && !/\.(hdr|head|txt)$/i.test(key))
          return {
            kind: 'fits',
            ...none,
            error: `${key}: truncated: the file ends after the header of HDU ${fits.hdus.length - 1}, its data is missing`,
          };
        // Verifying CHECKSUM/DATASUM reads every data byte: worth it for ordinary files, not for a
        // 44 GB cube whose ingest should read its headers only (its status stays null: unverified).
        const verify = what === 'fits' && !fits.headerOnly && (await fitsSource.size()) <= VERIFY_LIMIT;
        const sums = new Map<Hdu, { checksum: string; datasum: string }>();
        if (verify) {
          for (const h of fits.hdus) {
            const s = await verifyChecksums(fitsSource, h).catch(() => undefined);
            if (s) sums.set(h, s);
          }
        }
        return {
          kind: fits.headerOnly ? 'header' : 'fits',
          hdus: fits.hdus,
          rows: hduRows(fits, (h) => sums.get(h)),
          info: what === 'fits' ? null : { container: what },
          error: null,
        };
      } catch (err) {
        if (!(err instanceof FitsError)) throw err;
        // A compressed file that is not FITS inside (a .csv.gz) is just a plain file.
        if (what !== 'fits' && !nameSaysFits && err.code === 'not-fits')
          return { kind: 'plain', ...none, info: { container: what } };
        return { kind: 'fits', ...none, error: err.message };
      } finally {
        if (fitsSource !== source) await fitsSource.close?.();
      }
    }
    // A header dump starts with a card ("SIMPLE  =", "XTENSION=", "KEYWORD = value"); other text
    // (CSV, logs, notes) is a plain file.
    const card = /^\s*[A-Z0-9_-]{1,8}\s*=/.test(new TextDecoder('latin1').decode(head.subarray(0, 100)));
    if (what === 'text' && card) {
      try {
        const fits = await openFits(source);
        if (fits.headerOnly && fits.hdus.length)
          return {
            kind: 'header',
            hdus: fits.hdus,
            rows: hduRows(fits, () => undefined),
            info: null,
            error: null,
          };
      } catch (err) {
        if (!(err instanceof FitsError)) throw err;
        // Named FITS but neither FITS nor a header dump: a broken upload worth reporting.
        if (nameSaysFits) return { kind: 'fits', ...none, error: err.message };
      }
      return { kind: 'plain', ...none, info: { content: 'text' } };
    }
    if (what === 'text') {
      if (nameSaysFits)
        return {
          kind: 'fits',
          ...none,
          error: `${key}: does not start with SIMPLE (text that is neither FITS nor a header dump)`,
        };
      return { kind: 'plain', ...none, info: { content: 'text' } };
    }
    if (what === 'jpeg' || what === 'png') {
      const size = await source.size();
      if (size > IMAGE_LIMIT) return { kind: 'image', ...none, info: { format: what, size } };
      const bytes = await collect(await store.get(key), IMAGE_LIMIT);
      try {
        const info = bytes ? await imageInfo(bytes, key) : { format: what };
        return { kind: 'image', ...none, info: info as unknown as Record<string, unknown> };
      } catch (err) {
        if (err instanceof ImageError) return { kind: 'image', ...none, error: err.message };
        throw err;
      }
    }
    if (nameSaysFits)
      return { kind: 'fits', ...none, error: `${key}: does not look like FITS (no SIMPLE card)` };
    return { kind: 'plain', ...none };
  } catch (err) {
    if (err instanceof FitsError) return { kind: 'fits', ...none, error: err.message };
    throw new RetryableError(`${key}: ${(err as Error).message}`);
  } finally {
    await source?.close?.();
  }
}
