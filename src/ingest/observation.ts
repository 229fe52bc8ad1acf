import type { Hdu } from '../fits/hdu.ts';
import { logicalHeader, logicalShape } from '../fits/hdu.ts';
import type { Header } from '../fits/header.ts';
import { spectralAxis } from '../fits/spectral.ts';
import { mjdToIso, observationTime } from '../fits/time.ts';
import { describeWcs } from '../fits/wcs/summary.ts';
import { passbandFor } from './filters.ts';

/** The observation columns one FITS HDU tells us (ObsCore names; null where the header is silent). */
export interface DerivedObservation {
  dataproduct_type: string | null;
  target_name: string | null;
  s_ra: number | null;
  s_dec: number | null;
  s_fov: number | null;
  s_region: string | null;
  s_resolution: number | null;
  s_xel1: number | null;
  s_xel2: number | null;
  t_min: number | null;
  t_max: number | null;
  t_exptime: number | null;
  em_min: number | null;
  em_max: number | null;
  em_xel: number | null;
  facility_name: string | null;
  instrument_name: string | null;
  filter: string | null;
  airmass: number | null;
  altitude: number | null;
  azimuth: number | null;
  object: string | null;
  observer: string | null;
  site: string | null;
  night: string | null;
}

/** The first present keyword's text (trimmed), or null. */
function text(h: Header, ...keys: string[]): string | null {
  for (const k of keys) {
    const v = h.get(k);
    if (typeof v === 'string' && v.trim()) return v.trim();
    if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  }
  return null;
}

function num(h: Header, ...keys: string[]): number | null {
  for (const k of keys) {
    const v = h.number(k);
    if (v !== undefined && Number.isFinite(v)) return v;
  }
  return null;
}

/**
 * An angle from a header value: degrees as a number, or sexagesimal text ("12:34:56.7",
 * "-45 12 34"); `hours` for right ascension written in hours.
 */
export function parseAngle(value: unknown, hours: boolean): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string') return null;
  const s = value.trim();
  if (/^[+-]?\d+(\.\d*)?$/.test(s)) return Number(s);
  const m = /^([+-]?)(\d{1,3})[:\sdh]+(\d{1,2})[:\sm']+(\d{1,2}(?:\.\d*)?)["s]?$/.exec(s);
  if (!m) return null;
  const v = Number(m[2]) + Number(m[3]) / 60 + Number(m[4]) / 3600;
  const signed = m[1] === '-' ? -v : v;
  return hours ? signed * 15 : signed;
}

/** Derives the observation columns from an image or table HDU's header. */
export function deriveObservation(hdu: Hdu, primary?: Hdu): DerivedObservation {
  const h = logicalHeader(hdu);
  // Keywords such as TELESCOP often live only in the primary header: fall back to it.
  const p = primary ? logicalHeader(primary) : h;
  const pick = <T>(f: (x: Header) => T | null): T | null => f(h) ?? (p !== h ? f(p) : null);
  const shape = logicalShape(hdu);
  const isImage = hdu.kind === 'primary' || hdu.kind === 'image' || hdu.kind === 'compressed-image';
  const wcs = isImage && shape.length >= 2 ? describeWcs(h, shape) : null;
  const spec = isImage ? spectralAxis(h, shape) : undefined;
  const time = observationTime(h) ?? (p !== h ? observationTime(p) : undefined);

  let ra = wcs?.center[0] ?? null;
  let dec = wcs?.center[1] ?? null;
  if (ra === null || dec === null) {
    for (const [rk, dk] of [
      ['RA', 'DEC'],
      ['OBJCTRA', 'OBJCTDEC'],
      ['RA_OBJ', 'DEC_OBJ'],
      ['CRVAL1', 'CRVAL2'],
    ]) {
      const rv = pick((x) => x.get(rk) ?? null);
      const dv = pick((x) => x.get(dk) ?? null);
      // Sexagesimal RA is in hours; a plain number is degrees.
      const r = parseAngle(rv, typeof rv === 'string' && /[:\s]/.test(rv.trim()));
      const d = parseAngle(dv, false);
      if (r !== null && d !== null && Math.abs(d) <= 90) {
        ra = ((r % 360) + 360) % 360;
        dec = d;
        break;
      }
    }
  }
  const region = wcs
    ? `POLYGON ICRS ${wcs.footprint.map(([a, b]) => `${a.toFixed(8)} ${b.toFixed(8)}`).join(' ')}`
    : null;
  const naxes = shape.filter((n) => n > 1).length;
  const dataproduct = !isImage
    ? null
    : spec && naxes >= 3
      ? 'cube'
      : spec && naxes === 1
        ? 'spectrum'
        : naxes >= 2
          ? 'image'
          : null;
  const night =
    pick((x) => text(x, 'DAY-OBS', 'NIGHT', 'NIGHTID')) ??
    // Without a stated night, the UTC date 12 hours before the start (the evening's date).
    (time ? mjdToIso(time.mjdStart - 0.5).slice(0, 10) : null);
  const filter = pick((x) => text(x, 'FILTER', 'FILTER1', 'FILTNAM1', 'FILTNAME'));
  // A spectral axis states the wavelengths; otherwise the filter's passband does.
  const passband = spec?.wavelength ? undefined : passbandFor(filter);
  return {
    dataproduct_type: dataproduct,
    target_name: pick((x) => text(x, 'OBJECT', 'TARGNAME', 'TARGET')),
    s_ra: ra,
    s_dec: dec,
    s_fov: wcs?.fov ?? null,
    s_region: region,
    s_resolution: wcs?.pixelScale ?? null,
    s_xel1: isImage ? (shape[0] ?? null) : null,
    s_xel2: isImage ? (shape[1] ?? null) : null,
    t_min: time?.mjdStart ?? null,
    t_max: time?.mjdEnd ?? null,
    t_exptime: time?.exposure ?? null,
    em_min: spec?.wavelength?.[0] ?? passband?.min ?? null,
    em_max: spec?.wavelength?.[1] ?? passband?.max ?? null,
    em_xel: spec ? (shape[spec.axis] ?? null) : null,
    facility_name: pick((x) => text(x, 'TELESCOP')),
    instrument_name: pick((x) => text(x, 'INSTRUME')),
    filter,
    airmass: pick((x) => num(x, 'AIRMASS')),
    altitude: pick((x) => num(x, 'ALTITUDE', 'ELEVATIO', 'TELALT')),
    azimuth: pick((x) => num(x, 'AZIMUTH', 'TELAZ')),
    object: pick((x) => text(x, 'OBJECT')),
    observer: pick((x) => text(x, 'OBSERVER')),
    site: pick((x) => text(x, 'SITEID', 'SITE', 'OBSERVAT')),
    night,
  };
}
