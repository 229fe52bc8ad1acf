import type { Header } from './header.ts';

/** What an HDU holds, in the words `fitslake header --json` prints. */
export type HduKind = 'primary' | 'image' | 'bintable' | 'table' | 'groups' | 'compressed-image' | 'unknown';

/**
 * The layout of one HDU: where its header and data lie in the byte stream, computed from the
 * mandatory keywords alone (no data is read to find it). Offsets match astropy's fileinfo():
 * headerOffset = hdrLoc, dataOffset = datLoc, dataSpan = datSpan (padded to 2880).
 */
export interface Hdu {
  index: number;
  kind: HduKind;
  /** The header as stored (for a compressed image: the BINTABLE header). */
  header: Header;
  /** For a tile-compressed image: the logical image header, as astropy's CompImageHDU.header shows. */
  imageHeader?: Header;
  headerOffset: number;
  dataOffset: number;
  /** Bytes of data without padding: |BITPIX|/8 · GCOUNT · (PCOUNT + ∏NAXISn) (heap included). */
  dataSize: number;
  /** dataSize rounded up to a multiple of 2880. */
  dataSpan: number;
  bitpix: number;
  /** NAXIS1…NAXISn, fastest-varying axis first as in the header. */
  naxes: number[];
  pcount: number;
  gcount: number;
  extname?: string;
  extver?: number;
}

/** The header that describes the pixels: the logical one for compressed images. */
export function logicalHeader(hdu: Hdu): Header {
  return hdu.imageHeader ?? hdu.header;
}

/** NAXIS1…n of the logical header: the image's shape (for a compressed image, not the table's). */
export function logicalShape(hdu: Hdu): number[] {
  if (!hdu.imageHeader) return hdu.naxes;
  const h = hdu.imageHeader;
  const n = h.int('NAXIS') ?? 0;
  return Array.from({ length: n }, (_, i) => h.int(`NAXIS${i + 1}`) ?? 0);
}
