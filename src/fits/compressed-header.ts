import type { Card } from './card.ts';
import { makeCard } from './card-format.ts';
import { Header } from './header.ts';

// Table-structure and compression keywords: they describe the storage, not the image.
const STORAGE =
  /^(XTENSION|BITPIX|NAXIS\d*|PCOUNT|GCOUNT|TFIELDS|THEAP|T(TYPE|FORM|UNIT|DIM|NULL|SCAL|ZERO|DISP)\d+|Z(IMAGE|TENSION|BITPIX|NAXIS\d*|PCOUNT|GCOUNT|TILE\d+|CMPTYPE|NAME\d+|VAL\d+|QUANTIZ|MASKCMP|SIMPLE|EXTEND|BLOCKED)|CHECKSUM|DATASUM)$/;

/**
 * The logical image header of a tile-compressed image (Standard §10.1), as astropy's
 * CompImageHDU.header shows it: mandatory image keywords rebuilt from their Z-twins (with the
 * Z-cards' comments), storage keywords removed, ZHECKSUM/ZDATASUM restored as CHECKSUM/DATASUM in
 * place, and the default EXTNAME 'COMPRESSED_IMAGE' dropped.
 */
export function imageHeaderFromCompressed(table: Header): Header {
  const z = (k: string) => table.card(k);
  const cards: Card[] = [];
  const put = (key: string, from: string, dflt: Card['value'], comment: string) => {
    const c = z(from);
    cards.push(makeCard(key, c ? c.value : dflt, c ? c.comment : comment));
  };
  if (table.has('ZSIMPLE')) put('SIMPLE', 'ZSIMPLE', true, 'conforms to FITS standard');
  else put('XTENSION', 'ZTENSION', 'IMAGE', 'Image extension');
  put('BITPIX', 'ZBITPIX', 8, 'data type of original image');
  const naxis = table.int('ZNAXIS') ?? 0;
  put('NAXIS', 'ZNAXIS', 0, 'dimension of original image');
  for (let i = 1; i <= naxis; i++) put(`NAXIS${i}`, `ZNAXIS${i}`, 0, 'length of original image axis');
  if (table.has('ZSIMPLE')) {
    if (table.has('ZEXTEND')) put('EXTEND', 'ZEXTEND', true, '');
  } else {
    put('PCOUNT', 'ZPCOUNT', 0, 'number of parameters');
    put('GCOUNT', 'ZGCOUNT', 1, 'number of groups');
  }
  for (const c of table.cards) {
    if (STORAGE.test(c.keyword)) continue;
    if (c.keyword === 'EXTNAME' && String(c.value).trim() === 'COMPRESSED_IMAGE') continue;
    if (c.keyword === 'ZHECKSUM') cards.push(makeCard('CHECKSUM', c.value, c.comment));
    else if (c.keyword === 'ZDATASUM') cards.push(makeCard('DATASUM', c.value, c.comment));
    else cards.push(c);
  }
  return new Header(cards);
}
