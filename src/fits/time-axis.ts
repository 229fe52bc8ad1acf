// The time axis of an image's WCS (FITS WCS Paper VII), for light curves: the time of each frame.
import type { Header } from './header.ts';

const TIME_TYPES = /^(TIME|TAI|TT|TDT|ET|IAT|UT1|UTC|GMT|GPS|TCG|TCB|TDB|TEPH|LOCAL|UT\(.*\))$/;

export interface TimeAxis {
  /** 0-based axis index. */
  axis: number;
  ctype: string;
  unit: string;
  /** The time (in `unit`) at a 1-based pixel. */
  at(pixel: readonly number[]): number;
}

/**
 * The time axis of a WCS (Paper VII: CTYPE TIME or a time scale, linear or -LOG), with the full
 * linear transform so a PC/CD matrix that mixes axes still gives the time of each pixel.
 */
export function timeAxis(h: Header): TimeAxis | undefined {
  const n = h.int('WCSAXES') ?? h.int('NAXIS') ?? 0;
  for (let i = 0; i < n; i++) {
    const ctype = (h.string(`CTYPE${i + 1}`) ?? '').trim().toUpperCase();
    const m = /^(.*?)(?:-+(LOG))?-*$/.exec(ctype);
    if (!m || !TIME_TYPES.test(m[1])) continue;
    const cd = h.cards.some((c) => /^CD\d+_\d+$/.test(c.keyword));
    const cdelt = h.number(`CDELT${i + 1}`) ?? 1;
    const row: number[] = Array.from({ length: n }, (_, j) =>
      cd
        ? (h.number(`CD${i + 1}_${j + 1}`) ?? 0)
        : cdelt * (h.number(`PC${i + 1}_${j + 1}`) ?? (i === j ? 1 : 0)),
    );
    // An axis with no CD terms keeps CDELT (as in the celestial WCS reader).
    if (cd && !row.some((v) => v !== 0)) row[i] = cdelt;
    const crpix = Array.from({ length: n }, (_, j) => h.number(`CRPIX${j + 1}`) ?? 0);
    const crval = h.number(`CRVAL${i + 1}`) ?? 0;
    const log = m[2] === 'LOG';
    return {
      axis: i,
      ctype,
      unit: (h.string(`CUNIT${i + 1}`) ?? 's').trim() || 's',
      at(pixel) {
        let w = 0;
        for (let j = 0; j < n; j++) w += row[j] * ((pixel[j] ?? 1) - crpix[j]);
        return log ? crval * Math.exp(w / crval) : crval + w;
      },
    };
  }
  return undefined;
}
