import type { Header } from '../header.ts';
import { type CelestialWcs, separation, wcsFromHeader } from './wcs.ts';

/** What `fitslake info` and the catalog need of an image's WCS. */
export interface WcsSummary {
  projection: string;
  frame: string;
  /** World coordinates of pixel ((NAXIS1+1)/2, (NAXIS2+1)/2), as astropy's pixel_to_world gives it. */
  center: [number, number];
  /** World coordinates of the centres of pixels (1,1), (1,N2), (N1,N2), (N1,1) (astropy calc_footprint). */
  footprint: [number, number][];
  /** Largest angular distance between corners and across diagonals, in degrees. */
  fov: number;
  /** Mean pixel scale along the two celestial axes, arcsec per pixel. */
  pixelScale: number;
}

/**
 * Centre, footprint and field of view of an image. `shape` is NAXIS1…n; the celestial axes' sizes
 * come from it and every other axis sits at pixel 1, as in astropy's footprint.
 */
export function describeWcs(header: Header, shape: readonly number[], wcs?: CelestialWcs): WcsSummary | null {
  const w = wcs ?? wcsFromHeader(header);
  if (!w) return null;
  const n1 = shape[w.lonAxis] ?? 1;
  const n2 = shape[w.latAxis] ?? 1;
  const at = (p1: number, p2: number) => {
    const pixel = new Array<number>(Math.max(w.naxis, shape.length)).fill(1);
    pixel[w.lonAxis] = p1;
    pixel[w.latAxis] = p2;
    return w.pixToWorld(pixel);
  };
  const corners = [at(1, 1), at(1, n2), at(n1, n2), at(n1, 1)];
  const center = at((n1 + 1) / 2, (n2 + 1) / 2);
  if (!center || corners.some((c) => !c)) return null;
  const fp = corners as [number, number][];
  let fov = 0;
  for (let i = 0; i < 4; i++)
    for (let j = i + 1; j < 4; j++) fov = Math.max(fov, separation(...fp[i], ...fp[j]));
  const right = at((n1 + 1) / 2 + 1, (n2 + 1) / 2);
  const up = at((n1 + 1) / 2, (n2 + 1) / 2 + 1);
  const scale =
    right && up ? ((separation(...center, ...right) + separation(...center, ...up)) / 2) * 3600 : 0;
  return { projection: w.projection, frame: w.frame, center, footprint: fp, fov, pixelScale: scale };
}
