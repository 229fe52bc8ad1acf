/**
 * Approximate passbands (vacuum wavelength, metres, roughly the FWHM range) of common photometric
 * filters, so an observation gets em_min/em_max from its FILTER value alone. Extendable per lake
 * (the table is data); the values are the systems' published central wavelengths ± half widths.
 */
export interface Passband {
  name: string;
  system: string;
  min: number;
  max: number;
}

const nm = 1e-9;
const um = 1e-6;
const band = (system: string, name: string, lo: number, hi: number, unit = nm): Passband => ({
  system,
  name,
  min: lo * unit,
  max: hi * unit,
});

export const PASSBANDS: Passband[] = [
  band('Johnson-Cousins', 'U', 332, 398),
  band('Johnson-Cousins', 'B', 398, 492),
  band('Johnson-Cousins', 'V', 507, 595),
  band('Johnson-Cousins', 'R', 589, 727),
  band('Johnson-Cousins', 'I', 731, 880),
  band('SDSS', "u'", 325, 385),
  band('SDSS', "g'", 402, 552),
  band('SDSS', "r'", 552, 691),
  band('SDSS', "i'", 691, 819),
  band('SDSS', "z'", 819, 1000),
  band('Pan-STARRS', 'g_P1', 401, 550),
  band('Pan-STARRS', 'r_P1', 552, 690),
  band('Pan-STARRS', 'i_P1', 690, 818),
  band('Pan-STARRS', 'z_P1', 818, 922),
  band('Pan-STARRS', 'y_P1', 922, 1065),
  band('2MASS', 'J', 1.11, 1.36, um),
  band('2MASS', 'H', 1.5, 1.8, um),
  band('2MASS', 'Ks', 2.0, 2.32, um),
  band('Stromgren', 'u', 334, 364),
  band('Stromgren', 'v', 401, 421),
  band('Stromgren', 'b', 458, 476),
  band('Stromgren', 'y', 535, 558),
  band('narrow', 'H-alpha', 653, 660),
  band('narrow', 'H-beta', 484, 488),
  band('narrow', '[OIII]', 498, 503),
  band('narrow', '[SII]', 669, 676),
];

/** Spellings seen in real headers → a passband name (lower-cased keys, spaces and dashes dropped). */
const ALIASES: Record<string, string> = {
  u: 'U',
  b: 'B',
  v: 'V',
  r: 'R',
  i: 'I',
  rc: 'R',
  ic: 'I',
  bessellu: 'U',
  bessellb: 'B',
  bessellv: 'V',
  bessellr: 'R',
  besselli: 'I',
  up: "u'",
  gp: "g'",
  rp: "r'",
  ip: "i'",
  zp: "z'",
  sdssu: "u'",
  sdssg: "g'",
  sdssr: "r'",
  sdssi: "i'",
  sdssz: "z'",
  "u'": "u'",
  "g'": "g'",
  "r'": "r'",
  "i'": "i'",
  "z'": "z'",
  g: "g'",
  z: "z'",
  zs: 'z_P1',
  y: 'y_P1',
  gp1: 'g_P1',
  rp1: 'r_P1',
  ip1: 'i_P1',
  zp1: 'z_P1',
  yp1: 'y_P1',
  w: 'r_P1',
  j: 'J',
  h: 'H',
  ks: 'Ks',
  k: 'Ks',
  su: 'u',
  sv: 'v',
  sb: 'b',
  sy: 'y',
  stromgrenu: 'u',
  stromgrenv: 'v',
  stromgrenb: 'b',
  stromgreny: 'y',
  ha: 'H-alpha',
  halpha: 'H-alpha',
  h_alpha: 'H-alpha',
  hb: 'H-beta',
  hbeta: 'H-beta',
  oiii: '[OIII]',
  '[oiii]': '[OIII]',
  sii: '[SII]',
  '[sii]': '[SII]',
};

/** The passband a FILTER value names, if any (extra passbands/aliases first, then the built-ins). */
export function passbandFor(filter: string | null | undefined, extra: Passband[] = []): Passband | undefined {
  if (!filter) return undefined;
  const key = filter
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '');
  const table = [...extra, ...PASSBANDS];
  const exact = table.find((p) => p.name.toLowerCase().replace(/[\s-]+/g, '') === key && p.name.length > 1);
  if (exact) return exact;
  const alias = ALIASES[key];
  return alias ? table.find((p) => p.name === alias) : undefined;
}
