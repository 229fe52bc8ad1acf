import { FitsError, type FitsErrorLocation } from './errors.ts';
import type { HduKind } from './hdu.ts';
import type { Header } from './header.ts';
import { BLOCK } from './header-parser.ts';

export interface DataLayout {
  kind: HduKind;
  bitpix: number;
  naxes: number[];
  pcount: number;
  gcount: number;
  dataSize: number;
  dataSpan: number;
}

const BITPIX_VALUES = new Set([8, 16, 32, 64, -32, -64]);
const MAX_NAXIS = 999;

/**
 * The size of an HDU's data from its mandatory keywords alone (Standard §4.4.1): the walker uses
 * it to jump to the next header without reading a byte of data. Sizes are validated before any use,
 * because a hostile header can claim 10^15 pixels or negative axes.
 */
export function dataLayout(header: Header, index: number, where: FitsErrorLocation = {}): DataLayout {
  const at = (card: string) => ({ ...where, hdu: index, card });
  const first = header.cards[0]?.keyword;
  const xtension = header.string('XTENSION')?.trim().toUpperCase();
  if (index > 0 && first !== 'XTENSION') {
    throw new FitsError(
      'bad-keyword',
      `extension header does not start with XTENSION (found ${first ?? 'nothing'})`,
      at('XTENSION'),
    );
  }

  const bitpix = header.int('BITPIX');
  if (bitpix === undefined || !BITPIX_VALUES.has(bitpix)) {
    throw new FitsError(
      'bad-keyword',
      `BITPIX must be one of 8, 16, 32, 64, -32, -64 (got ${show(header, 'BITPIX')})`,
      at('BITPIX'),
    );
  }
  const naxis = header.int('NAXIS');
  if (naxis === undefined || naxis < 0 || naxis > MAX_NAXIS) {
    throw new FitsError(
      'bad-size',
      `NAXIS must be an integer 0..999 (got ${show(header, 'NAXIS')})`,
      at('NAXIS'),
    );
  }
  const naxes: number[] = [];
  for (let i = 1; i <= naxis; i++) {
    const v = header.int(`NAXIS${i}`);
    if (v === undefined || v < 0) {
      throw new FitsError(
        'bad-size',
        `NAXIS${i} must be a non-negative integer (got ${show(header, `NAXIS${i}`)})`,
        at(`NAXIS${i}`),
      );
    }
    naxes.push(v);
  }

  const isPrimary = index === 0;
  const groups = isPrimary && naxis > 0 && naxes[0] === 0 && header.bool('GROUPS') === true;
  const pcount = optionalCount(header, 'PCOUNT', 0, at);
  const gcount = optionalCount(header, 'GCOUNT', 1, at);

  let kind: HduKind;
  if (isPrimary && first !== 'XTENSION') kind = groups ? 'groups' : 'primary';
  else if (xtension === 'IMAGE' || xtension === 'IUEIMAGE') kind = 'image';
  else if (xtension === 'BINTABLE' || xtension === 'A3DTABLE')
    kind = header.bool('ZIMAGE') === true ? 'compressed-image' : 'bintable';
  else if (xtension === 'TABLE') kind = 'table';
  else kind = 'unknown';

  // |BITPIX|/8 · GCOUNT · (PCOUNT + NAXIS1 · … · NAXISm); random groups leave NAXIS1 (= 0) out.
  let pixels = naxis === 0 ? 0 : 1;
  for (let i = groups ? 1 : 0; i < naxes.length; i++) pixels *= naxes[i];
  const bytes = (Math.abs(bitpix) / 8) * gcount * (pcount + pixels);
  if (!Number.isSafeInteger(bytes)) {
    throw new FitsError(
      'bad-size',
      `data size ${bytes} bytes from NAXISn/PCOUNT/GCOUNT is beyond 2^53`,
      at('NAXIS'),
    );
  }
  return { kind, bitpix, naxes, pcount, gcount, dataSize: bytes, dataSpan: Math.ceil(bytes / BLOCK) * BLOCK };
}

function optionalCount(
  header: Header,
  key: string,
  dflt: number,
  at: (card: string) => FitsErrorLocation,
): number {
  if (!header.has(key)) return dflt;
  const v = header.int(key);
  if (v === undefined || v < 0) {
    throw new FitsError(
      'bad-size',
      `${key} must be a non-negative integer (got ${show(header, key)})`,
      at(key),
    );
  }
  return v;
}

function show(header: Header, key: string): string {
  const c = header.card(key);
  return c ? JSON.stringify(typeof c.value === 'bigint' ? c.value.toString() : c.value) : 'nothing';
}
