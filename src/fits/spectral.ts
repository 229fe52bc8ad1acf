import type { Header } from './header.ts';

/** The spectral axis of a cube or spectrum (WCS Paper III), reduced to what ObsCore needs. */
export interface SpectralAxis {
  /** 0-based axis index. */
  axis: number;
  ctype: string;
  unit: string;
  /** World values at the outer pixel edges (0.5 and NAXIS + 0.5), in `unit`. */
  range: [number, number];
  /** The same range as vacuum wavelengths in metres, ascending (ObsCore em_min/em_max). */
  wavelength?: [number, number];
}

const C = 299792458;
const H = 6.62607015e-34;
const EV = 1.602176634e-19;
const SCALE: Record<string, number> = {
  hz: 1,
  khz: 1e3,
  mhz: 1e6,
  ghz: 1e9,
  m: 1,
  cm: 1e-2,
  mm: 1e-3,
  um: 1e-6,
  nm: 1e-9,
  angstrom: 1e-10,
  a: 1e-10,
  'm/s': 1,
  'km/s': 1e3,
  j: 1,
  ev: EV,
  kev: 1e3 * EV,
  mev: 1e6 * EV,
  '1/m': 1,
  '/m': 1,
  '1/cm': 1e2,
  '': 1,
};
const DEFAULT_UNIT: Record<string, string> = {
  FREQ: 'Hz',
  WAVE: 'm',
  AWAV: 'm',
  VELO: 'm/s',
  VRAD: 'm/s',
  VOPT: 'm/s',
  ZOPT: '',
  ENER: 'J',
  WAVN: '1/m',
  BETA: '',
};

export function spectralAxis(h: Header, shape?: readonly number[]): SpectralAxis | undefined {
  const n = h.int('WCSAXES') ?? h.int('NAXIS') ?? 0;
  for (let i = 0; i < n; i++) {
    const ctype = (h.string(`CTYPE${i + 1}`) ?? '').trim().toUpperCase();
    const type = ctype.slice(0, 4);
    if (!(type in DEFAULT_UNIT)) continue;
    const algo = ctype.slice(5);
    const unit = (h.string(`CUNIT${i + 1}`) ?? DEFAULT_UNIT[type]).trim();
    const crval = h.number(`CRVAL${i + 1}`) ?? 0;
    const crpix = h.number(`CRPIX${i + 1}`) ?? 0;
    const cdelt =
      h.number(`CD${i + 1}_${i + 1}`) ??
      (h.number(`CDELT${i + 1}`) ?? 1) * (h.number(`PC${i + 1}_${i + 1}`) ?? 1);
    const size = shape?.[i] ?? h.int(`NAXIS${i + 1}`) ?? 1;
    const world = (p: number) => {
      const x = cdelt * (p - crpix);
      return algo === 'LOG' ? crval * Math.exp(x / crval) : crval + x;
    };
    const range: [number, number] = [world(0.5), world(size + 0.5)];
    const out: SpectralAxis = { axis: i, ctype, unit, range };
    const wl = toWavelength(type, unit, range, h);
    if (wl) out.wavelength = wl;
    return out;
  }
  return undefined;
}

function toWavelength(
  type: string,
  unit: string,
  range: [number, number],
  h: Header,
): [number, number] | undefined {
  const k = SCALE[unit.toLowerCase()];
  if (k === undefined) return undefined;
  const si = range.map((v) => v * k);
  const restFrq = h.number('RESTFRQ') ?? h.number('RESTFREQ');
  const restWav = h.number('RESTWAV');
  let wl: number[];
  switch (type) {
    case 'FREQ':
      wl = si.map((f) => C / f);
      break;
    case 'WAVE':
    case 'AWAV':
      wl = si;
      break;
    case 'ENER':
      wl = si.map((e) => (H * C) / e);
      break;
    case 'WAVN':
      wl = si.map((s) => 1 / s);
      break;
    case 'VRAD':
    case 'VELO':
      if (restFrq) wl = si.map((v) => C / (restFrq * (1 - v / C)));
      else if (restWav) wl = si.map((v) => restWav / (1 - v / C));
      else return undefined;
      break;
    case 'VOPT':
      if (restWav) wl = si.map((v) => restWav * (1 + v / C));
      else if (restFrq) wl = si.map((v) => (C / restFrq) * (1 + v / C));
      else return undefined;
      break;
    case 'ZOPT':
      if (restWav) wl = si.map((z) => restWav * (1 + z));
      else if (restFrq) wl = si.map((z) => (C / restFrq) * (1 + z));
      else return undefined;
      break;
    default:
      return undefined;
  }
  if (!wl.every((v) => Number.isFinite(v) && v > 0)) return undefined;
  return wl[0] <= wl[1] ? [wl[0], wl[1]] : [wl[1], wl[0]];
}
