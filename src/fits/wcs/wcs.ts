import type { Header } from '../header.ts';
import { makeProjection, type Projection } from './projections.ts';
import { type Polynomial, readSip, readTpv, type Tpv } from './distortion.ts';

/**
 * Celestial world coordinates of FITS WCS Papers I–II: pixel → linear transform (CDi_j, or PCi_j ·
 * CDELTi, or legacy CROTA2) → optional SIP/TPV distortion → projection → spherical rotation.
 * Pixels are 1-based FITS pixel coordinates, as in the headers.
 */
export interface CelestialWcs {
  /** 0-based indexes of the longitude and latitude axes among NAXISn. */
  lonAxis: number;
  latAxis: number;
  naxis: number;
  ctype: [string, string];
  projection: string;
  /** Reference frame: ICRS, FK5, FK4, GALACTIC, ECLIPTIC… */
  frame: string;
  equinox?: number;
  sip: boolean;
  /** Celestial (lon, lat) in degrees for a pixel; null outside the projection's domain. */
  pixToWorld(pixel: readonly number[]): [number, number] | null;
  /** The pixel of a sky position (inverted numerically), or null when it is off the projection. */
  worldToPix(lon: number, lat: number, start?: readonly number[]): number[] | null;
}

const D2R = Math.PI / 180;
const R2D = 180 / Math.PI;

const LON_PREFIX = /^(RA--|GLON|ELON|SLON|HPLN|HGLN|CRLN|[A-Z]LON|[A-Z]{2}LN)$/;
const LAT_PREFIX = /^(DEC-|GLAT|ELAT|SLAT|HPLT|HGLT|CRLT|[A-Z]LAT|[A-Z]{2}LT)$/;
const UNIT: Record<string, number> = {
  deg: 1,
  '': 1,
  rad: R2D,
  arcmin: 1 / 60,
  arcsec: 1 / 3600,
  mas: 1 / 3.6e6,
};

export interface WcsOptions {
  /** Alternate WCS letter (' ' for the primary description, 'A'–'Z' for the others). */
  alt?: string;
  /** Leave SIP/TPV distortions out (astropy's wcs_pix2world rather than all_pix2world). */
  noDistortion?: boolean;
}

export function wcsFromHeader(header: Header, opts: WcsOptions = {}): CelestialWcs | undefined {
  const a = (opts.alt ?? ' ').trim();
  const key = (k: string) => `${k}${a}`;
  let highest = 2;
  for (const c of header.cards) {
    const m = /^(?:CTYPE|CRPIX|CRVAL)(\d+)$/.exec(a ? c.keyword.slice(0, -1) : c.keyword);
    if (m && (!a || c.keyword.endsWith(a))) highest = Math.max(highest, Number(m[1]));
  }
  const naxis = header.int(key('WCSAXES')) ?? Math.max(header.int('NAXIS') ?? 0, highest);
  let lonAxis = -1;
  let latAxis = -1;
  const ctypes: string[] = [];
  for (let i = 0; i < naxis; i++) {
    const ct = (header.string(key(`CTYPE${i + 1}`)) ?? '').trim().toUpperCase();
    ctypes.push(ct);
    const prefix = ct.slice(0, 4);
    const bare = ct.length <= 4 || ct[4] === '-';
    if (lonAxis < 0 && bare && (LON_PREFIX.test(prefix) || ct === 'RA')) lonAxis = i;
    else if (latAxis < 0 && bare && (LAT_PREFIX.test(prefix) || ct === 'DEC')) latAxis = i;
  }
  if (lonAxis < 0 || latAxis < 0) return undefined;
  const ctLon = ctypes[lonAxis];
  const ctLat = ctypes[latAxis];
  let code = ctLon.slice(5, 8).replace(/-/g, '');
  const sip = !opts.noDistortion && /-SIP$/.test(ctLon) && header.has('A_ORDER');
  const num = (k: string, d: number) => header.number(key(k)) ?? d;

  // Linear part: full N×N matrix so cubes whose PC mixes axes still come out right.
  const crpix = Array.from({ length: naxis }, (_, i) => num(`CRPIX${i + 1}`, 0));
  const scale = Array.from(
    { length: naxis },
    (_, i) => UNIT[(header.string(key(`CUNIT${i + 1}`)) ?? '').trim().toLowerCase()] ?? 1,
  );
  // CUNITi applies to CRVALi too (helioprojective headers give both in arcsec).
  const crval = Array.from({ length: naxis }, (_, i) => num(`CRVAL${i + 1}`, 0) * scale[i]);
  const matrix = linearMatrix(header, key, a, naxis, lonAxis, latAxis);

  // Projection parameters live on the latitude axis (PVi_m with i = lat axis), plus legacy NCP/GLS.
  const pvLat = (m: number, d: number) => num(`PV${latAxis + 1}_${m}`, d);
  let pv = pvLat;
  if (code === 'NCP') {
    // NCP is SIN with ξ = 0, η = cot δ0 (Paper II §5.1.5).
    const d0 = crval[latAxis] * D2R;
    code = 'SIN';
    pv = (m, d) => (m === 1 ? 0 : m === 2 ? Math.cos(d0) / Math.sin(d0) : d);
  } else if (code === 'GLS') code = 'SFL';
  // SCAMP writes TPV coefficients on plain TAN headers; with SIP present they are redundant (astropy
  // drops them), without it they are the distortion (astropy reads TAN+PV as TPV).
  const hasLonPv = header.cards.some((c) => c.keyword.startsWith(`PV${lonAxis + 1}_`));
  const scampTan = code === 'TAN' && hasLonPv;
  const tpvCode = code === 'TPV' || scampTan;
  if (scampTan && !/-SIP$/.test(ctLon)) code = 'TPV';
  const tpv: Tpv | undefined =
    !opts.noDistortion && code === 'TPV' ? readTpv(header, key, lonAxis, latAxis) : undefined;
  if (code === 'TPV') {
    code = 'TAN';
    pv = (_m, d) => d;
  }
  const proj: Projection | undefined = code === '' ? linearProjection() : makeProjection(code, pv);
  if (!proj) return undefined;
  const sipA: Polynomial | undefined = sip ? readSip(header, 'A') : undefined;
  const sipB: Polynomial | undefined = sip ? readSip(header, 'B') : undefined;

  // Native reference point and pole (Paper II §2.4–2.5), LONPOLE/LATPOLE defaults included.
  // PVi_1..4 of the longitude axis are φ0, θ0, LONPOLE, LATPOLE — except in TPV, where they are terms.
  const lonPv = !scampTan && !tpvCode && code !== '';
  const phi0 = lonPv ? num(`PV${lonAxis + 1}_1`, proj.phi0) : proj.phi0;
  const theta0 = lonPv ? num(`PV${lonAxis + 1}_2`, proj.theta0) : proj.theta0;
  const alpha0 = crval[lonAxis];
  const delta0 = crval[latAxis];
  const phiP = num(
    'LONPOLE',
    lonPv ? num(`PV${lonAxis + 1}_3`, delta0 >= theta0 ? 0 : 180) : delta0 >= theta0 ? 0 : 180,
  );
  const thetaP = num('LATPOLE', lonPv ? num(`PV${lonAxis + 1}_4`, 90) : 90);
  const [alphaP, deltaP] = nativePole(alpha0, delta0, phi0, theta0, phiP, thetaP);

  const { frame, equinox } = celestialFrame(header, key, ctLon);

  function intermediate(pixel: readonly number[]): number[] {
    const d = Array.from({ length: naxis }, (_, j) => (pixel[j] ?? 1) - crpix[j]);
    if (sipA && sipB) {
      // SIP works on the first two pixel axes, before the linear transform.
      const u = d[0];
      const v = d[1];
      d[0] = u + sipA(u, v);
      d[1] = v + sipB(u, v);
    }
    const out = new Array<number>(naxis).fill(0);
    for (let i = 0; i < naxis; i++) {
      let s = 0;
      for (let j = 0; j < naxis; j++) s += matrix[i][j] * d[j];
      out[i] = s * scale[i];
    }
    return out;
  }

  const wcs: CelestialWcs = {
    lonAxis,
    latAxis,
    naxis,
    ctype: [ctLon, ctLat],
    projection: code === '' ? 'LINEAR' : ctLon.slice(5, 8).replace(/-/g, ''),
    frame,
    sip: !!sipA,
    ...(equinox !== undefined ? { equinox } : {}),
    pixToWorld(pixel) {
      const x = intermediate(pixel);
      let xi = x[lonAxis];
      let eta = x[latAxis];
      if (code === '') return [crval[lonAxis] + xi, crval[latAxis] + eta];
      if (tpv) [xi, eta] = tpv(xi, eta);
      const native = proj.toNative(xi, eta);
      if (!native) return null;
      return rotate(native[0], native[1], alphaP, deltaP, phiP);
    },
    worldToPix(lon, lat, start) {
      return invertNumerically(wcs, lon, lat, start ?? crpix);
    },
  };
  return wcs;
}

function linearMatrix(
  header: Header,
  key: (k: string) => string,
  alt: string,
  n: number,
  lonAxis: number,
  latAxis: number,
): number[][] {
  const m: number[][] = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)),
  );
  const has = (prefix: string) => {
    const re = new RegExp(`^${prefix}\\d+_\\d+${alt}$`);
    return header.cards.some((c) => re.test(c.keyword));
  };
  if (has('CD')) {
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) m[i][j] = header.number(key(`CD${i + 1}_${j + 1}`)) ?? 0;
    // An axis with no CD terms at all (e.g. a spectral axis in a CD-only header) keeps CDELT.
    for (let i = 0; i < n; i++)
      if (m[i].every((v) => v === 0)) m[i][i] = header.number(key(`CDELT${i + 1}`)) ?? 1;
    return m;
  }
  const cdelt = Array.from({ length: n }, (_, i) => header.number(key(`CDELT${i + 1}`)) ?? 1);
  if (has('PC')) {
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) m[i][j] = header.number(key(`PC${i + 1}_${j + 1}`)) ?? (i === j ? 1 : 0);
  } else if (alt === '') {
    const rho = (header.number(`CROTA${latAxis + 1}`) ?? header.number(`CROTA${lonAxis + 1}`) ?? 0) * D2R;
    if (rho !== 0) {
      const [i, j] = [lonAxis, latAxis];
      m[i][i] = Math.cos(rho);
      m[i][j] = -Math.sin(rho) * (cdelt[j] / cdelt[i]);
      m[j][i] = Math.sin(rho) * (cdelt[i] / cdelt[j]);
      m[j][j] = Math.cos(rho);
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[i][j] *= cdelt[i];
  return m;
}

function linearProjection(): Projection {
  // CTYPE 'RA'/'DEC' without a projection code: a plain linear (Cartesian) mapping.
  return { code: '', phi0: 0, theta0: 90, toNative: (x, y) => [x, y] };
}

function nativePole(
  alpha0: number,
  delta0: number,
  phi0: number,
  theta0: number,
  phiP: number,
  thetaP: number,
): [number, number] {
  if (theta0 === 90) return [alpha0, delta0];
  const u = (phiP - phi0) * D2R;
  const t0 = theta0 * D2R;
  const d0 = delta0 * D2R;
  const A = Math.atan2(Math.sin(t0), Math.cos(t0) * Math.cos(u));
  const denom = Math.sqrt(1 - Math.cos(t0) ** 2 * Math.sin(u) ** 2);
  const B = Math.acos(Math.max(-1, Math.min(1, Math.sin(d0) / denom)));
  const cands = [A + B, A - B].map((v) => v * R2D).filter((v) => v >= -90 - 1e-9 && v <= 90 + 1e-9);
  let deltaP = cands.length ? cands[0] : 90;
  if (cands.length === 2 && Math.abs(cands[1] - thetaP) < Math.abs(cands[0] - thetaP)) deltaP = cands[1];
  deltaP = Math.max(-90, Math.min(90, deltaP));
  let alphaP: number;
  const dp = deltaP * D2R;
  if (Math.abs(Math.abs(delta0) - 90) < 1e-12) alphaP = alpha0;
  else if (Math.abs(deltaP - 90) < 1e-10) alphaP = alpha0 + phiP - phi0 - 180;
  else if (Math.abs(deltaP + 90) < 1e-10) alphaP = alpha0 - phiP + phi0;
  else {
    const x = (Math.sin(t0) - Math.sin(dp) * Math.sin(d0)) / (Math.cos(dp) * Math.cos(d0));
    const y = (Math.sin(u) * Math.cos(t0)) / Math.cos(d0);
    alphaP = alpha0 - Math.atan2(y, x) * R2D;
  }
  return [alphaP, deltaP];
}

/** Native spherical (φ, θ) → celestial (α, δ) given the native pole (Paper II eq. 2). */
function rotate(phi: number, theta: number, alphaP: number, deltaP: number, phiP: number): [number, number] {
  const t = theta * D2R;
  const dp = deltaP * D2R;
  const dphi = (phi - phiP) * D2R;
  const sinDelta = Math.sin(t) * Math.sin(dp) + Math.cos(t) * Math.cos(dp) * Math.cos(dphi);
  const y = -Math.cos(t) * Math.sin(dphi);
  const x = Math.sin(t) * Math.cos(dp) - Math.cos(t) * Math.sin(dp) * Math.cos(dphi);
  let alpha = alphaP + Math.atan2(y, x) * R2D;
  alpha = ((alpha % 360) + 360) % 360;
  const delta = Math.asin(Math.max(-1, Math.min(1, sinDelta))) * R2D;
  return [alpha, delta];
}

function celestialFrame(
  header: Header,
  key: (k: string) => string,
  ctLon: string,
): { frame: string; equinox?: number } {
  const prefix = ctLon.slice(0, 4);
  if (prefix === 'GLON') return { frame: 'GALACTIC' };
  if (prefix === 'ELON') return { frame: 'ECLIPTIC' };
  if (prefix === 'SLON') return { frame: 'SUPERGALACTIC' };
  if (prefix !== 'RA--') return { frame: prefix };
  let equinox = header.number(key('EQUINOX')) ?? header.number('EPOCH');
  let frame =
    header.string(key('RADESYS'))?.trim().toUpperCase() ?? header.string('RADECSYS')?.trim().toUpperCase();
  if (!frame) frame = equinox === undefined ? 'ICRS' : equinox < 1984 ? 'FK4' : 'FK5';
  if (equinox === undefined && frame === 'FK5') equinox = 2000;
  if (equinox === undefined && frame === 'FK4') equinox = 1950;
  return frame === 'ICRS' ? { frame } : { frame, ...(equinox !== undefined ? { equinox } : {}) };
}

/** Angular distance in degrees between two sky positions (haversine: exact for small angles). */
export function separation(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const s =
    Math.sin(((lat2 - lat1) * D2R) / 2) ** 2 +
    Math.cos(lat1 * D2R) * Math.cos(lat2 * D2R) * Math.sin(((lon2 - lon1) * D2R) / 2) ** 2;
  return 2 * Math.asin(Math.min(1, Math.sqrt(s))) * R2D;
}

/** Newton iteration on pixToWorld: one inverse that works for every projection and distortion. */
function invertNumerically(
  wcs: CelestialWcs,
  lon: number,
  lat: number,
  start: readonly number[],
): number[] | null {
  const p = [...start];
  const i = wcs.lonAxis;
  const j = wcs.latAxis;
  const target = [lon, lat];
  const resid = (q: number[]): [number, number] | null => {
    const w = wcs.pixToWorld(q);
    if (!w) return null;
    let dl = w[0] - target[0];
    dl = ((((dl + 180) % 360) + 360) % 360) - 180;
    return [dl * Math.cos(lat * D2R), w[1] - target[1]];
  };
  for (let iter = 0; iter < 50; iter++) {
    const r = resid(p);
    if (!r) return null;
    if (Math.hypot(r[0], r[1]) < 1e-11) return p;
    const h = 1e-3;
    const qa = [...p];
    qa[i] += h;
    const qb = [...p];
    qb[j] += h;
    const ra = resid(qa);
    const rb = resid(qb);
    if (!ra || !rb) return null;
    const J = [
      [(ra[0] - r[0]) / h, (rb[0] - r[0]) / h],
      [(ra[1] - r[1]) / h, (rb[1] - r[1]) / h],
    ];
    const det = J[0][0] * J[1][1] - J[0][1] * J[1][0];
    if (det === 0) return null;
    p[i] -= (J[1][1] * r[0] - J[0][1] * r[1]) / det;
    p[j] -= (-J[1][0] * r[0] + J[0][0] * r[1]) / det;
  }
  const r = resid(p);
  return r && Math.hypot(r[0], r[1]) < 1e-8 ? p : null;
}
