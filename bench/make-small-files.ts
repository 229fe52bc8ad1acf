// Generates N small, realistic multi-extension FITS files for the header benchmark: a primary image
// (int16, 64x64) with ~70 observatory-style cards and a BINTABLE extension with 12 columns.
// Usage: node --import tsx bench/make-small-files.ts DIR [N=5000]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function card(key: string, value: string | number | boolean, comment = ''): string {
  let v: string;
  if (typeof value === 'string') v = `'${value.replace(/'/g, "''").padEnd(8)}'`.padEnd(20);
  else if (typeof value === 'boolean') v = (value ? 'T' : 'F').padStart(20);
  else v = (Number.isInteger(value) ? String(value) : value.toExponential(10).toUpperCase()).padStart(20);
  const text = `${key.padEnd(8)}= ${v}${comment ? ` / ${comment}` : ''}`;
  return text.slice(0, 80).padEnd(80);
}
const commentary = (key: string, text: string) => `${key.padEnd(8)}${text}`.slice(0, 80).padEnd(80);
const pad = (s: string, fill: string) => s + fill.repeat((2880 - (s.length % 2880)) % 2880);

function header(cards: string[]): Uint8Array {
  return new TextEncoder().encode(pad(cards.join('') + 'END'.padEnd(80), ' '));
}

function primary(i: number): string[] {
  const mjd = 60000 + i / 37;
  const date = new Date((mjd - 40587) * 86400000).toISOString().slice(0, 23);
  return [
    card('SIMPLE', true, 'conforms to FITS standard'),
    card('BITPIX', 16, 'array data type'),
    card('NAXIS', 2, 'number of array dimensions'),
    card('NAXIS1', 64),
    card('NAXIS2', 64),
    card('EXTEND', true),
    card('BSCALE', 1.0),
    card('BZERO', 32768.0),
    card('ORIGIN', 'fitslake bench', 'FITS file originator'),
    card('TELESCOP', `Dome${i % 3}`, 'telescope name'),
    card('INSTRUME', ['sinistro', 'spectral', 'qhy600'][i % 3], 'instrument'),
    card('OBSERVER', 'A. Astronomer', 'observer'),
    card('OBJECT', `NGC ${1000 + (i % 800)}`, 'target name'),
    card('FILTER', ['rp', 'gp', 'ip', 'zs', 'B', 'V'][i % 6], 'filter'),
    card('DATE-OBS', date, '[UTC] start of exposure'),
    card('MJD-OBS', mjd, '[d] modified Julian date'),
    card('EXPTIME', 30 + (i % 10) * 15, '[s] exposure time'),
    card('AIRMASS', 1 + (i % 100) / 100, 'airmass at start'),
    card('ALTITUDE', 40 + (i % 50), '[deg] telescope altitude'),
    card('AZIMUTH', (i * 7) % 360, '[deg] telescope azimuth'),
    card('RA', '12:34:56.789', 'right ascension'),
    card('DEC', '-45:12:34.56', 'declination'),
    card('RADESYS', 'ICRS'),
    card('EQUINOX', 2000.0),
    card('CTYPE1', 'RA---TAN'),
    card('CTYPE2', 'DEC--TAN'),
    card('CRPIX1', 32.5),
    card('CRPIX2', 32.5),
    card('CRVAL1', (i * 0.37) % 360),
    card('CRVAL2', -45 + (i % 90)),
    card('CD1_1', -0.000108),
    card('CD1_2', 0.0000012),
    card('CD2_1', 0.0000011),
    card('CD2_2', 0.000108),
    card('CUNIT1', 'deg'),
    card('CUNIT2', 'deg'),
    card('GAIN', 1.5, '[e-/ADU]'),
    card('RDNOISE', 7.2, '[e-] read noise'),
    card('SATURATE', 65000, '[ADU]'),
    card('CCDTEMP', -20.1, '[C]'),
    card('SITEID', 'lsc', 'site'),
    card('ENCID', 'doma'),
    card('PROPID', `PROP-${i % 40}`, 'proposal'),
    card('BLKUID', 1000000 + i),
    card('REQNUM', 2000000 + i),
    card('MOLFRNUM', i % 5),
    card('FRMTOTAL', 5),
    card('OBSTYPE', 'EXPOSE'),
    card('PIPEVER', '0.1.0'),
    card('L1STATUS', 0),
    card('SEEING', 1.1 + (i % 7) / 10, '[arcsec]'),
    card('MOONFRAC', 0.5),
    card('MOONDIST', 80.2, '[deg]'),
    card('SUNALT', -30.5, '[deg]'),
    card('WMSTEMP', 12.3),
    card('WMSHUMID', 41.0),
    card('WMSPRES', 780.2),
    card('WINDSPEE', 3.4),
    card('SKYMAG', 20.8),
    card('DITHER', false),
    card('LONGKEY', "a string value with spaces and 'quotes'"),
    commentary('COMMENT', 'FITS (Flexible Image Transport System) format is defined in Astronomy'),
    commentary('COMMENT', 'and Astrophysics, volume 376, page 359; bibcode: 2001A&A...376..359H'),
    commentary('HISTORY', 'made by bench/make-small-files.ts'),
    commentary('HISTORY', `frame ${i}`),
  ];
}

function table(i: number): string[] {
  const cols = [
    'TIME:D',
    'FLUX:E',
    'ERR:E',
    'X:E',
    'Y:E',
    'FWHM:E',
    'FLAG:J',
    'ID:K',
    'NAME:16A',
    'SKY:E',
    'MAG:D',
    'OK:L',
  ];
  const cards = [
    card('XTENSION', 'BINTABLE', 'binary table extension'),
    card('BITPIX', 8),
    card('NAXIS', 2),
    card('NAXIS1', 69),
    card('NAXIS2', 20),
    card('PCOUNT', 0),
    card('GCOUNT', 1),
    card('TFIELDS', cols.length),
  ];
  cols.forEach((c, k) => {
    const [name, form] = c.split(':');
    cards.push(card(`TTYPE${k + 1}`, name), card(`TFORM${k + 1}`, form));
  });
  cards.push(card('EXTNAME', 'CAT'), card('EXTVER', 1), card('NSOURCES', 20 + (i % 3)));
  return cards;
}

const [dir = 'bench/data/small', nArg = '5000'] = process.argv.slice(2);
const n = Number(nArg);
mkdirSync(dir, { recursive: true });
const data = new Uint8Array(2880 * 3); // 64*64*2 = 8192 bytes → 3 blocks
const tdata = new Uint8Array(2880); // 69*20 = 1380 bytes → 1 block
for (let i = 0; i < n; i++) {
  const parts = [header(primary(i)), data, header(table(i)), tdata];
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  writeFileSync(join(dir, `frame${String(i).padStart(5, '0')}.fits`), out);
}
console.log(`wrote ${n} files to ${dir}`);
