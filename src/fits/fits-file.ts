import type { ByteSource } from './byte-source.ts';
import { imageHeaderFromCompressed } from './compressed-header.ts';
import { FitsError, type FitsWarning } from './errors.ts';
import type { Hdu } from './hdu.ts';
import { BLOCK, HeaderBuilder, type ParseMode, looksBinary, parseHeaderText } from './header-parser.ts';
import { dataLayout } from './layout.ts';

export interface OpenOptions {
  /** tolerant (default): accept common violations with one warning each; strict: throw FitsError. */
  mode?: ParseMode;
  /** Stop after this many HDUs (a hostile file of tiny HDUs cannot make the walk unbounded). */
  maxHdus?: number;
  /** Largest header-dump text file read whole. */
  maxDumpBytes?: number;
}

export interface FitsFile {
  name: string;
  /** Bytes in the (decompressed) stream. */
  size: number;
  hdus: Hdu[];
  /** Every problem accepted in tolerant mode, file-level and per HDU, in order. */
  warnings: FitsWarning[];
  /** Bytes after the last HDU (negative when the last HDU's data is truncated). */
  trailingBytes: number;
  /** True for a header dump (`.hdr`, text): cards only, no data. */
  headerOnly: boolean;
}

/**
 * A ByteSource that can only move forward (a gzip or bzip2 stream): reads must come at
 * non-decreasing offsets, skipping forward discards bytes, and size() resolves once drained.
 */
export interface SequentialSource extends ByteSource {
  readonly sequential: true;
}

const isSequential = (s: ByteSource): boolean => (s as Partial<SequentialSource>).sequential === true;
const latin1 = new TextDecoder('latin1');
const startsWith = (b: Uint8Array, text: string) => latin1.decode(b.subarray(0, text.length)) === text;

/**
 * Walks every HDU of a FITS file reading header blocks only: the data of each HDU is skipped by
 * arithmetic (Standard §4.4.1), so indexing a 44 GB cube touches a few kilobytes.
 */
export async function openFits(source: ByteSource, opts: OpenOptions = {}): Promise<FitsFile> {
  const file = source.name;
  const strict = opts.mode === 'strict';
  const warnings: FitsWarning[] = [];
  const warn = (code: string, message: string, extra: Partial<FitsWarning> = {}) => {
    if (strict)
      throw new FitsError(code === 'truncated' ? 'truncated' : 'bad-card', message, { file, ...extra });
    warnings.push({ code, message, file, ...extra });
  };

  const first = await source.read(0, BLOCK);
  if (first.length === 0) throw new FitsError('not-fits', 'file is empty', { file });
  if (isTextDump(first)) return readTextDump(source, first, opts, warnings);
  if (!startsWith(first, 'SIMPLE') && !startsWith(first, 'XTENSION')) {
    throw new FitsError(
      'not-fits',
      `does not start with SIMPLE (first bytes ${JSON.stringify(latin1.decode(first.subarray(0, 10)))})`,
      {
        file,
        offset: 0,
      },
    );
  }
  if (startsWith(first, 'XTENSION'))
    warn('no-simple', 'file starts with XTENSION, not SIMPLE (a header dump?)', { hdu: 0 });

  const maxHdus = opts.maxHdus ?? 100_000;
  // Random-access sources know their size: no read is spent discovering the end of the file.
  const knownSize = isSequential(source) ? undefined : await source.size();
  const hdus: Hdu[] = [];
  let offset = 0;
  let pending: Uint8Array | undefined = first;
  let headerOnly = false;
  let ended = false;

  while (hdus.length < maxHdus) {
    const index = hdus.length;
    const headerOffset = offset;
    if (!pending && knownSize !== undefined && offset >= knownSize) {
      ended = true;
      break;
    }
    let block: Uint8Array = pending ?? (await source.read(offset, BLOCK));
    pending = undefined;
    if (block.length === 0) {
      ended = true;
      break;
    }
    if (index > 0 && !startsWith(block, 'XTENSION')) {
      // Not another extension: what follows the last HDU is padding or garbage (reported below).
      break;
    }
    const builder = new HeaderBuilder({ mode: opts.mode, file, hdu: index });
    let complete = true;
    while (!builder.push(block)) {
      offset += block.length;
      if (block.length < BLOCK) {
        complete = false;
        break;
      }
      const next = await source.read(offset, BLOCK);
      if (next.length === 0 || looksBinary(next) || startsWith(next, 'XTENSION= ')) {
        // A header without END: stop where the text stops rather than read data as cards.
        if (next.length) pending = next;
        complete = next.length > 0;
        break;
      }
      block = next;
    }
    if (builder.ended) offset += block.length;
    else builder.problem('no-end', `header of HDU ${index} has no END card`, 'END');
    for (const w of builder.warnings) warnings.push(w);

    const header = builder.header();
    let layout: ReturnType<typeof dataLayout>;
    try {
      layout = dataLayout(header, index, { file });
    } catch (err) {
      // A header cut short says so, rather than that its missing cards are missing.
      if (!builder.ended && (!complete || block.length < BLOCK)) {
        throw new FitsError(
          'truncated',
          `file ends inside the header of HDU ${index} (after ${header.cards.length} cards)`,
          {
            file,
            hdu: index,
            offset: headerOffset,
          },
        );
      }
      throw err;
    }
    const hdu: Hdu = { index, header, headerOffset, dataOffset: offset, ...layout };
    const extname = header.string('EXTNAME');
    if (extname !== undefined) hdu.extname = extname.trim();
    const extver = header.int('EXTVER');
    if (extver !== undefined) hdu.extver = extver;
    if (layout.kind === 'compressed-image') hdu.imageHeader = imageHeaderFromCompressed(header);
    if (index === 0 && header.bool('SIMPLE') === false) {
      warn('simple-false', 'SIMPLE = F: the file does not claim to conform to the FITS standard', {
        hdu: 0,
        card: 'SIMPLE',
      });
    }
    hdus.push(hdu);

    if (!complete || block.length < BLOCK) {
      // The file ended inside or right after this header: a header dump (or a cut file).
      if (layout.dataSize > 0) {
        headerOnly = true;
        warn('header-only', `HDU ${index} has a header but no data (a header dump or a truncated file)`, {
          hdu: index,
        });
      }
      ended = true;
      break;
    }
    if (pending && startsWith(pending, 'XTENSION')) {
      // A header without END ran straight into the next extension: this HDU has no data here.
      if (layout.dataSize > 0)
        warn('truncated', `HDU ${index} has no data before the next extension`, { hdu: index });
      continue;
    }
    // A missing END that stopped at a binary block: that block is this HDU's data, not a header.
    pending = undefined;
    offset += layout.dataSpan;
  }

  const size = await source.size();
  const last = hdus[hdus.length - 1];
  const end = last ? last.dataOffset + (headerOnly ? 0 : last.dataSize) : 0;
  let trailingBytes = size - (last ? last.dataOffset + (headerOnly ? 0 : last.dataSpan) : 0);
  if (last && !headerOnly && size < end) {
    trailingBytes = size - end;
    warn('truncated', `file is ${size} bytes but HDU ${last.index}'s data needs ${end}`, { hdu: last.index });
  } else if (last && !headerOnly && size < last.dataOffset + last.dataSpan) {
    trailingBytes = 0;
    warn('missing-padding', `the last HDU's data is not padded to a multiple of 2880 bytes`, {
      hdu: last.index,
    });
  } else if (trailingBytes > 0 && !ended) {
    const tail = await source.read(size - trailingBytes, Math.min(trailingBytes, BLOCK));
    const zeros = tail.every((b) => b === 0) || tail.every((b) => b === 32);
    warn(
      zeros ? 'trailing-padding' : 'trailing-garbage',
      `${trailingBytes} ${zeros ? 'padding' : 'unexpected'} bytes after the last HDU`,
      { offset: size - trailingBytes },
    );
  }
  if (hdus.length >= maxHdus) warn('limit', `stopped after ${maxHdus} HDUs`);
  if (isSequential(source) && trailingBytes < 0) trailingBytes = size - end;
  return { name: file, size, hdus, warnings, trailingBytes, headerOnly };
}

/**
 * Header dumps with newline-separated cards (`.hdr`, `.txt`): a newline within the first card, and
 * text throughout the first block (random bytes that happen to hold a newline are not a header).
 */
function isTextDump(first: Uint8Array): boolean {
  const n = Math.min(first.length, 81);
  let newline = false;
  for (let i = 0; i < n; i++) if (first[i] === 10) newline = true;
  if (!newline) return false;
  let binary = 0;
  for (const b of first) if ((b < 32 && b !== 9 && b !== 10 && b !== 13) || b > 126) binary++;
  return binary <= first.length / 100;
}

async function readTextDump(
  source: ByteSource,
  first: Uint8Array,
  opts: OpenOptions,
  warnings: FitsWarning[],
): Promise<FitsFile> {
  const file = source.name;
  const max = opts.maxDumpBytes ?? 64 << 20;
  const size = await source.size();
  if (size > max)
    throw new FitsError('limit', `header text of ${size} bytes exceeds the ${max}-byte limit`, { file });
  const bytes = size <= first.length ? first : await source.read(0, size);
  const header = parseHeaderText(latin1.decode(bytes), { mode: opts.mode, file, hdu: 0 });
  warnings.push(...header.warnings);
  const layout = dataLayoutOrEmpty(header);
  const hdu: Hdu = {
    index: 0,
    header,
    headerOffset: 0,
    dataOffset: size,
    ...layout,
    dataSize: 0,
    dataSpan: 0,
  };
  if (layout.kind === 'compressed-image') hdu.imageHeader = imageHeaderFromCompressed(header);
  return { name: file, size, hdus: [hdu], warnings, trailingBytes: 0, headerOnly: true };
}

function dataLayoutOrEmpty(header: ReturnType<typeof parseHeaderText>) {
  try {
    return dataLayout(header, header.cards[0]?.keyword === 'XTENSION' ? 1 : 0);
  } catch {
    // A dump may lack mandatory keywords; its cards are still worth having.
    return { kind: 'unknown' as const, bitpix: 0, naxes: [], pcount: 0, gcount: 1, dataSize: 0, dataSpan: 0 };
  }
}
