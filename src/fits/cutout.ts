import { type ByteRange, type ByteSource, readRanges } from './byte-source.ts';
import type { Card } from './card.ts';
import { formatCard, makeCard } from './card-format.ts';
import { encodeChecksum, onesAdd, onesSum } from './checksum.ts';
import { imageHeaderFromCompressed } from './compressed-header.ts';
import { readCompressedImage } from './compression/tiles.ts';
import { FitsError, located } from './errors.ts';
import type { Hdu } from './hdu.ts';
import { logicalHeader, logicalShape } from './hdu.ts';
import { Header } from './header.ts';
import { BLOCK, HeaderBuilder } from './header-parser.ts';
import { type AxisRange, mergeRuns } from './image.ts';
import { dataLayout } from './layout.ts';
import { spectralAxis } from './spectral.ts';
import { type CelestialWcs, separation, wcsFromHeader } from './wcs/wcs.ts';

/**
 * Cutouts of image HDUs: plan (sky region / spectral band / pixel ranges → a pixel box clipped to
 * the image), read (only the byte runs of the box; for tile-compressed images only the tiles it
 * touches), and write (a valid FITS HDU whose WCS still maps every pixel to the same sky position).
 *
 * Pure: no Node imports, so the SODA service, the `fitslake cutout` CLI and a browser share it.
 *
 * What the output keeps and changes:
 *  - every card of the (logical) header, in order, byte for byte where unchanged (HIERARCH,
 *    CONTINUE, comments), except the structural cards (rewritten), CHECKSUM/DATASUM (recomputed)
 *    and the tile-compression keywords (a cutout is written uncompressed);
 *  - NAXISn = the cutout's size; CRPIXn (and CRPIXna of every alternate WCS) shifted by the first
 *    pixel; LTVn (IRAF) shifted likewise. CDELT/PC/CD and SIP/TPV coefficients are relative to CRPIX
 *    and stay as they are;
 *  - the data are the stored values: the same BITPIX with BSCALE/BZERO/BLANK kept (lossless, and as
 *    small as the original). Tile-compressed integer images decompress to their stored integers
 *    (ZBLANK becomes BLANK); quantized (lossy) float images become floats of ZBITPIX without scaling;
 *  - a HISTORY card names the source and the section in cfitsio's syntax `[x1:x2,y1:y2]`.
 */

/** A sky region in ICRS degrees, as SODA's CIRCLE, POLYGON and POS=RANGE give it. */
export type SkyRegion =
  | { shape: 'circle'; ra: number; dec: number; radius: number }
  | { shape: 'polygon'; vertices: readonly (readonly [number, number])[] }
  | { shape: 'range'; ra: readonly [number, number]; dec: readonly [number, number] };

export interface CutoutRequest {
  /** Keeps the pixels whose area the region touches (the bounding box of the overlap). */
  region?: SkyRegion;
  /** A vacuum-wavelength interval in metres (SODA BAND): selects planes of the spectral axis. */
  band?: readonly [number, number];
  /**
   * Pixel ranges, 1-based and inclusive, in FITS axis order (index 0 is NAXIS1), as in cfitsio's
   * `file.fits[x1:x2,y1:y2]`; an absent entry keeps the whole axis; ranges past the edge are clipped.
   */
  pixels?: readonly (readonly [number, number] | undefined)[];
}

export type CutoutErrorCode =
  | 'not-image' // the HDU holds no image data
  | 'no-wcs' // a sky region on an image without a celestial WCS
  | 'no-spectral-axis' // a band on an image without a spectral axis
  | 'no-overlap' // the request and the image have no pixel in common
  | 'invalid' // the request itself is malformed
  | 'too-large'; // the cutout exceeds the size limit

export class CutoutError extends Error {
  override name = 'CutoutError';
  constructor(
    readonly code: CutoutErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface CutoutPlan {
  hdu: Hdu;
  /** The image's shape, NAXIS1 first. */
  shape: number[];
  /** The box to read: 0-based, stop exclusive, NAXIS1 first. */
  ranges: AxisRange[];
  /** The box in cfitsio's 1-based inclusive syntax, e.g. `[101:200,51:150]`. */
  section: string;
}

const IMAGE_KINDS = new Set(['primary', 'image', 'compressed-image']);

/** True when the HDU holds an image with data (NAXIS ≥ 1, no axis of length 0). */
export function isImageHdu(hdu: Hdu): boolean {
  if (!IMAGE_KINDS.has(hdu.kind)) return false;
  const shape = logicalShape(hdu);
  return shape.length > 0 && shape.every((n) => n > 0);
}

/** Parses cfitsio-style pixel ranges "x1:x2,y1:y2[,z1:z2]" ("*" keeps an axis) for PIXEL_n-like requests. */
export function parsePixelRanges(text: string): (readonly [number, number] | undefined)[] {
  const body = text.trim().replace(/^\[|\]$/g, '');
  return body.split(',').map((part, i) => {
    const p = part.trim();
    if (p === '*') return undefined;
    const m = /^(\d+):(\d+)$/.exec(p);
    if (!m)
      throw new CutoutError('invalid', `axis ${i + 1}: use first:last (1-based, inclusive), got "${p}"`);
    return [Number(m[1]), Number(m[2])] as const;
  });
}

/** Plans a cutout: the pixel box of the image that the request selects, clipped to the image. */
export function planCutout(hdu: Hdu, req: CutoutRequest): CutoutPlan {
  if (!isImageHdu(hdu)) throw new CutoutError('not-image', `HDU ${hdu.index} holds no image data`);
  const shape = logicalShape(hdu);
  const header = logicalHeader(hdu);
  const lo = shape.map(() => 1);
  const hi = [...shape];
  const narrow = (axis: number, a: number, b: number, why: string) => {
    lo[axis] = Math.max(lo[axis], a);
    hi[axis] = Math.min(hi[axis], b);
    if (lo[axis] > hi[axis])
      throw new CutoutError('no-overlap', `${why} does not overlap the image (HDU ${hdu.index})`);
  };
  if (req.pixels) {
    if (req.pixels.length > shape.length)
      throw new CutoutError(
        'invalid',
        `${req.pixels.length} pixel ranges for an image of ${shape.length} axes`,
      );
    for (const [i, r] of req.pixels.entries()) {
      if (!r) continue;
      const [a, b] = r;
      if (!Number.isInteger(a) || !Number.isInteger(b) || a < 1 || b < a)
        throw new CutoutError('invalid', `PIXEL_${i + 1}: need integers 1 ≤ first ≤ last, got ${a} ${b}`);
      narrow(i, a, b, `PIXEL_${i + 1} ${a}:${b}`);
    }
  }
  if (req.region) {
    const wcs = wcsFromHeader(header);
    if (!wcs) throw new CutoutError('no-wcs', `HDU ${hdu.index} has no celestial WCS for a sky region`);
    const box = skyBox(wcs, shape, req.region);
    if (!box) throw new CutoutError('no-overlap', `the region does not overlap the image (HDU ${hdu.index})`);
    for (const [k, axis] of [wcs.lonAxis, wcs.latAxis].entries()) {
      const [a, b] = box[k];
      narrow(axis, Math.floor(a + 0.5), Math.floor(b + 0.5), 'the region');
    }
  }
  if (req.band) {
    const planes = bandPlanes(header, shape, req.band);
    if (!planes)
      throw new CutoutError('no-spectral-axis', `HDU ${hdu.index} has no spectral axis to select a band on`);
    narrow(planes.axis, planes.first, planes.last, `the band ${req.band[0]}–${req.band[1]} m`);
  }
  const ranges = lo.map((a, i) => ({ start: a - 1, stop: hi[i] }));
  return { hdu, shape, ranges, section: `[${lo.map((a, i) => `${a}:${hi[i]}`).join(',')}]` };
}

// ----- sky region → pixel box ---------------------------------------------------------------

const D2R = Math.PI / 180;
const R2D = 180 / Math.PI;

type Vec = [number, number, number];
const toVec = (ra: number, dec: number): Vec => [
  Math.cos(dec * D2R) * Math.cos(ra * D2R),
  Math.cos(dec * D2R) * Math.sin(ra * D2R),
  Math.sin(dec * D2R),
];
const fromVec = (v: Vec): [number, number] => {
  const r = Math.hypot(v[0], v[1], v[2]);
  let ra = Math.atan2(v[1], v[0]) * R2D;
  if (ra < 0) ra += 360;
  return [ra, Math.asin(Math.max(-1, Math.min(1, v[2] / r))) * R2D];
};

/** The region's outline as edges: each maps t ∈ [0, 1] to a sky position (ra, dec). */
type Edge = (t: number) => [number, number];

function outline(region: SkyRegion): Edge[] {
  if (region.shape === 'circle') {
    const { ra, dec } = region;
    const d = Math.min(region.radius, 180) * D2R;
    const d0 = dec * D2R;
    return [
      (t) => {
        const az = 2 * Math.PI * t;
        const lat = Math.asin(Math.sin(d0) * Math.cos(d) + Math.cos(d0) * Math.sin(d) * Math.cos(az));
        const lon =
          ra * D2R +
          Math.atan2(Math.sin(az) * Math.sin(d) * Math.cos(d0), Math.cos(d) - Math.sin(d0) * Math.sin(lat));
        return [(((lon * R2D) % 360) + 360) % 360, lat * R2D];
      },
    ];
  }
  if (region.shape === 'polygon') {
    const v = region.vertices;
    return v.map((p, i) => {
      const a = toVec(p[0], p[1]);
      const q = v[(i + 1) % v.length];
      const b = toVec(q[0], q[1]);
      // Along the great circle (a chord, renormalised: the same path).
      return (t: number) =>
        fromVec([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]);
    });
  }
  const [r1, r2] = rangeRa(region.ra);
  const [d1, d2] = rangeDec(region.dec);
  const width = r2 > r1 ? r2 - r1 : r2 + 360 - r1;
  const ra = (t: number) => (r1 + width * t) % 360;
  return [
    (t) => [ra(t), d1],
    (t) => [ra(1), d1 + (d2 - d1) * t],
    (t) => [ra(1 - t), d2],
    (t) => [r1, d2 - (d2 - d1) * t],
  ];
}

const rangeRa = (r: readonly [number, number]): [number, number] =>
  !Number.isFinite(r[0]) || !Number.isFinite(r[1]) || r[1] - r[0] >= 360
    ? [0, 360]
    : [((r[0] % 360) + 360) % 360, r[1] === 360 ? 360 : ((r[1] % 360) + 360) % 360];
const rangeDec = (d: readonly [number, number]): [number, number] => [
  Math.max(-90, Number.isFinite(d[0]) ? d[0] : -90),
  Math.min(90, Number.isFinite(d[1]) ? d[1] : 90),
];

/** Whether a sky position lies inside the region (polygons: gnomonic test about their centre). */
function insideTest(region: SkyRegion): (ra: number, dec: number) => boolean {
  if (region.shape === 'circle')
    return (ra, dec) => separation(ra, dec, region.ra, region.dec) <= region.radius;
  if (region.shape === 'range') {
    const [r1, r2] = rangeRa(region.ra);
    const [d1, d2] = rangeDec(region.dec);
    return (ra, dec) => {
      if (dec < d1 || dec > d2) return false;
      if (r1 === 0 && r2 === 360) return true;
      return r1 <= r2 ? ra >= r1 && ra <= r2 : ra >= r1 || ra <= r2;
    };
  }
  const vs = region.vertices.map(([a, b]) => toVec(a, b));
  const c: Vec = [0, 0, 0];
  for (const v of vs) for (let i = 0; i < 3; i++) c[i] += v[i];
  const [cra, cdec] = fromVec(c);
  const project = (ra: number, dec: number): [number, number] | null => {
    // Gnomonic projection about the centre: great circles become straight lines.
    const p = toVec(ra, dec);
    const n = toVec(cra, cdec);
    const cosc = p[0] * n[0] + p[1] * n[1] + p[2] * n[2];
    if (cosc <= 1e-9) return null;
    const e: Vec = [-Math.sin(cra * D2R), Math.cos(cra * D2R), 0];
    const u: Vec = [n[1] * e[2] - n[2] * e[1], n[2] * e[0] - n[0] * e[2], n[0] * e[1] - n[1] * e[0]];
    return [
      (p[0] * e[0] + p[1] * e[1] + p[2] * e[2]) / cosc,
      (p[0] * u[0] + p[1] * u[1] + p[2] * u[2]) / cosc,
    ];
  };
  const poly = region.vertices.map(([a, b]) => project(a, b));
  if (poly.some((p) => p === null)) return () => false;
  const pts = poly as [number, number][];
  return (ra, dec) => {
    const q = project(ra, dec);
    if (!q) return false;
    let inside = false;
    for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
      const [xi, yi] = pts[i];
      const [xj, yj] = pts[j];
      if (yi > q[1] !== yj > q[1] && q[0] < ((xj - xi) * (q[1] - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  };
}

/**
 * The continuous pixel box (on the longitude and latitude pixel axes) of region ∩ image, or null.
 * Its extremes lie where the region's outline runs inside the image, or on the image's own edges
 * where they are inside the region. So: the outline mapped into pixels — subdivided where it passes
 * near the image, each piece clipped to the image — plus a grid over the image (its edges and
 * corners included) whose sky positions fall inside the region. The grid also covers an image
 * wholly inside the region and outlines the projection cannot map (the far side of a TAN plane).
 */
function skyBox(
  wcs: CelestialWcs,
  shape: number[],
  region: SkyRegion,
): [[number, number], [number, number]] | null {
  const ax = [wcs.lonAxis, wcs.latAxis];
  const n = ax.map((a) => shape[a] ?? 1);
  const base = shape.map(() => 1);
  let x0 = Number.POSITIVE_INFINITY;
  let x1 = Number.NEGATIVE_INFINITY;
  let y0 = Number.POSITIVE_INFINITY;
  let y1 = Number.NEGATIVE_INFINITY;
  const add = (x: number, y: number) => {
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  };
  const xmax = n[0] + 0.5;
  const ymax = n[1] + 0.5;
  const centre = [...base];
  centre[ax[0]] = (n[0] + 1) / 2;
  centre[ax[1]] = (n[1] + 1) / 2;
  const toPix = ([ra, dec]: [number, number]): [number, number] | null => {
    const p = wcs.worldToPix(ra, dec, centre);
    if (!p || !Number.isFinite(p[ax[0]]) || !Number.isFinite(p[ax[1]])) return null;
    // Newton may land on another branch of the projection: keep only true round trips.
    const back = wcs.pixToWorld(p);
    if (!back || separation(back[0], back[1], ra, dec) > 1e-6) return null;
    return [p[ax[0]], p[ax[1]]];
  };
  const fine = Math.max(1, Math.min(n[0], n[1]) / 256);
  const near = (a: [number, number], b: [number, number]) => {
    const m = Math.hypot(b[0] - a[0], b[1] - a[1]);
    return (
      Math.max(a[0], b[0]) >= 0.5 - m &&
      Math.min(a[0], b[0]) <= xmax + m &&
      Math.max(a[1], b[1]) >= 0.5 - m &&
      Math.min(a[1], b[1]) <= ymax + m
    );
  };
  const piece = (a: [number, number], b: [number, number]) => {
    // Liang–Barsky: the part of segment a→b inside the image rectangle.
    let t0 = 0;
    let t1 = 1;
    const dx = b[0] - a[0];
    const dy = b[1] - a[1];
    for (const [p, q] of [
      [-dx, a[0] - 0.5],
      [dx, xmax - a[0]],
      [-dy, a[1] - 0.5],
      [dy, ymax - a[1]],
    ]) {
      if (p === 0) {
        if (q < 0) return;
      } else {
        const r = q / p;
        if (p < 0) t0 = Math.max(t0, r);
        else t1 = Math.min(t1, r);
      }
    }
    if (t0 > t1) return;
    add(a[0] + t0 * dx, a[1] + t0 * dy);
    add(a[0] + t1 * dx, a[1] + t1 * dy);
  };
  const walk = (
    edge: Edge,
    ta: number,
    pa: [number, number] | null,
    tb: number,
    pb: [number, number] | null,
    depth: number,
  ) => {
    // Both ends off the projection: the piece is on the far side (the grid covers the rest).
    if (!pa && !pb) return;
    const split =
      depth < 14 && (!pa || !pb || (Math.hypot(pb[0] - pa[0], pb[1] - pa[1]) > fine && near(pa, pb)));
    if (!split) {
      if (pa && pb) piece(pa, pb);
      return;
    }
    const tm = (ta + tb) / 2;
    const pm = toPix(edge(tm));
    walk(edge, ta, pa, tm, pm, depth + 1);
    walk(edge, tm, pm, tb, pb, depth + 1);
  };
  for (const edge of outline(region)) {
    const k = 64;
    let prev = toPix(edge(0));
    for (let i = 1; i <= k; i++) {
      const cur = toPix(edge(i / k));
      walk(edge, (i - 1) / k, prev, i / k, cur, 0);
      prev = cur;
    }
  }
  if (region.shape === 'circle') {
    const c = toPix([region.ra, region.dec]);
    if (c && c[0] >= 0.5 && c[0] <= xmax && c[1] >= 0.5 && c[1] <= ymax) add(c[0], c[1]);
  }
  const inside = insideTest(region);
  const steps = n.map((m) => Math.min(m, 64));
  for (let i = 0; i <= steps[0]; i++) {
    for (let j = 0; j <= steps[1]; j++) {
      const q = [...base];
      q[ax[0]] = 0.5 + (n[0] * i) / steps[0];
      q[ax[1]] = 0.5 + (n[1] * j) / steps[1];
      const w = wcs.pixToWorld(q);
      if (w && inside(w[0], w[1])) add(q[ax[0]], q[ax[1]]);
    }
  }
  if (!(x0 <= x1 && y0 <= y1)) return null;
  // The last pixel's outer edge belongs to it: keep the box inside [0.5, N + 0.5).
  return [
    [Math.max(x0, 0.5), Math.min(x1, n[0] + 0.4999999)],
    [Math.max(y0, 0.5), Math.min(y1, n[1] + 0.4999999)],
  ];
}

// ----- band → planes --------------------------------------------------------------------------

const SPECTRAL_CARD =
  /^(NAXIS\d*|WCSAXES|CTYPE\d+|CUNIT\d+|CRVAL\d+|CRPIX\d+|CDELT\d+|CD\d+_\d+|PC\d+_\d+|RESTFRQ|RESTFREQ|RESTWAV)$/;

/** The planes (1-based, inclusive) of the spectral axis whose wavelength extent meets the band. */
export function bandPlanes(
  header: Header,
  shape: readonly number[],
  band: readonly [number, number],
): { axis: number; first: number; last: number } | undefined {
  const axis = spectralAxis(header, shape);
  if (!axis?.wavelength) return undefined;
  const k = axis.axis;
  const n = shape[k] ?? 1;
  const cards = header.cards.filter((c) => SPECTRAL_CARD.test(c.keyword) && c.keyword !== `CRPIX${k + 1}`);
  const crpix = header.number(`CRPIX${k + 1}`) ?? 0;
  const one = shape.map((s, i) => (i === k ? 1 : s));
  const [blo, bhi] = band[0] <= band[1] ? band : [band[1], band[0]];
  let first = 0;
  let last = -1;
  for (let p = 1; p <= n; p++) {
    // Pixel p of the axis is pixel 1 of the same axis with CRPIX moved by p - 1.
    const h = new Header([...cards, makeCard(`CRPIX${k + 1}`, crpix - (p - 1))]);
    const wl = spectralAxis(h, one)?.wavelength;
    if (!wl || wl[1] < blo || wl[0] > bhi) continue;
    if (!first) first = p;
    last = p;
  }
  return { axis: k, first: first || n + 1, last: first ? last : n };
}

// ----- reading --------------------------------------------------------------------------------

export interface CutoutData {
  bitpix: number;
  /** NAXIS1 first. */
  shape: number[];
  /** The pixels, big-endian as FITS stores them, unpadded. */
  bytes: Uint8Array;
  /**
   * stored: the values as stored, with the header's BSCALE/BZERO/BLANK still applying;
   * physical: already scaled (dequantized float tiles), so BSCALE/BZERO/BLANK must be dropped.
   */
  values: 'stored' | 'physical';
  /** A BLANK to add (a compressed integer image's ZBLANK) when the header has none. */
  blank?: number;
}

export interface ReadCutoutOptions {
  /** Refuse cutouts larger than this many bytes of pixels (default 1 GiB). */
  maxBytes?: number;
  /**
   * Runs closer than this many bytes are read as one (default 0: exactly the bytes needed). Worth a
   * few tens of KiB on object stores, where a request costs more than the bytes between two rows.
   */
  coalesceGap?: number;
  /** Reads in flight at once on sources without readMany (default 8). */
  concurrency?: number;
}

const isSequential = (s: ByteSource) => (s as { sequential?: boolean }).sequential === true;

/**
 * Reads the pixels of a plan. Uncompressed images: one byte run per row of the box (rows merged
 * where they touch, and where closer than coalesceGap), copied as stored. Tile-compressed images:
 * only the tiles the box touches are fetched and decoded. Forward-only sources (gzip/bzip2
 * streams) are read in increasing offsets, one run at a time.
 */
export function readCutout(
  source: ByteSource,
  plan: CutoutPlan,
  opts: ReadCutoutOptions = {},
): Promise<CutoutData> {
  return located({ file: source.name, hdu: plan.hdu.index }, () => readOf(source, plan, opts));
}

async function readOf(source: ByteSource, plan: CutoutPlan, opts: ReadCutoutOptions): Promise<CutoutData> {
  const { hdu, ranges } = plan;
  const counts = ranges.map((r) => r.stop - r.start);
  const total = counts.reduce((a, b) => a * b, 1);
  const limit = opts.maxBytes ?? 2 ** 30;
  if (hdu.kind === 'compressed-image') return readCompressedCutout(source, plan, counts, limit);
  const bitpix = hdu.bitpix;
  const bpp = Math.abs(bitpix) / 8;
  if (total * bpp > limit)
    throw new CutoutError(
      'too-large',
      `the cutout holds ${total * bpp} bytes of pixels, above the ${limit}-byte limit`,
    );
  const shape = plan.shape;
  const strides: number[] = [];
  let acc = 1;
  for (const n of shape) {
    strides.push(acc);
    acc *= n;
  }
  const rowBytes = counts[0] * bpp;
  const rows: ByteRange[] = [];
  const idx = ranges.map((r) => r.start);
  const nrows = total / counts[0];
  for (let k = 0; k < nrows; k++) {
    let pix = 0;
    for (let a = 0; a < shape.length; a++) pix += idx[a] * strides[a];
    rows.push({ offset: hdu.dataOffset + pix * bpp, length: rowBytes });
    for (let a = 1; a < shape.length; a++) {
      if (++idx[a] < ranges[a].stop) break;
      idx[a] = ranges[a].start;
    }
  }
  // Touching rows become one run; runs closer than the gap are fetched as one read.
  const runs = mergeRuns(rows);
  const gap = opts.coalesceGap ?? 0;
  const reads: { range: ByteRange; parts: { at: number; run: (typeof runs)[number] }[] }[] = [];
  for (const run of runs) {
    const last = reads[reads.length - 1];
    const end = last ? last.range.offset + last.range.length : 0;
    if (last && run.range.offset - end <= gap) {
      last.parts.push({ at: run.range.offset - last.range.offset, run });
      last.range.length = run.range.offset + run.range.length - last.range.offset;
    } else reads.push({ range: { ...run.range }, parts: [{ at: 0, run }] });
  }
  const out = new Uint8Array(total * bpp);
  let o = 0;
  const place = (i: number, bytes: Uint8Array) => {
    const r = reads[i];
    if (bytes.length < r.range.length)
      throw new FitsError('truncated', `image data ends before byte ${r.range.offset + r.range.length}`, {
        hdu: hdu.index,
        offset: r.range.offset,
      });
    for (const { at, run } of r.parts) {
      out.set(bytes.subarray(at, at + run.range.length), o);
      o += run.range.length;
    }
  };
  if (isSequential(source)) {
    for (let i = 0; i < reads.length; i++)
      place(i, await source.read(reads[i].range.offset, reads[i].range.length));
  } else if (source.readMany) {
    const chunks = await readRanges(
      source,
      reads.map((r) => r.range),
    );
    for (const [i, c] of chunks.entries()) place(i, c);
  } else {
    // Bounded parallelism: a tall cutout on an object store must not open thousands of requests.
    const chunks: Uint8Array[] = new Array(reads.length);
    let next = 0;
    const worker = async () => {
      while (next < reads.length) {
        const i = next++;
        chunks[i] = await source.read(reads[i].range.offset, reads[i].range.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, reads.length) }, worker));
    for (const [i, c] of chunks.entries()) place(i, c);
  }
  return { bitpix, shape: counts, bytes: out, values: 'stored' };
}

/** A forward-only source read by several callers at once: reads are queued so offsets only grow. */
export function serialized(source: ByteSource): ByteSource {
  let chain: Promise<unknown> = Promise.resolve();
  return {
    name: source.name,
    size: () => source.size(),
    read(offset, length) {
      const r = chain.then(() => source.read(offset, length));
      chain = r.catch(() => {});
      return r;
    },
  };
}

const SCALING = new Set(['BSCALE', 'BZERO', 'BLANK']);

async function readCompressedCutout(
  source: ByteSource,
  plan: CutoutPlan,
  counts: number[],
  limit: number,
): Promise<CutoutData> {
  const { hdu } = plan;
  const zbitpix = hdu.header.int('ZBITPIX') ?? 0;
  const total = counts.reduce((a, b) => a * b, 1);
  const bpp = Math.abs(zbitpix) / 8;
  if (total * bpp > limit)
    throw new CutoutError(
      'too-large',
      `the cutout holds ${total * bpp} bytes of pixels, above the ${limit}-byte limit`,
    );
  const src = isSequential(source) ? serialized(source) : source;
  if (zbitpix > 0) {
    // Integer tiles decode losslessly to the stored integers: read them unscaled (the header keeps
    // BSCALE/BZERO/BLANK), so the cutout has the original BITPIX and exact values.
    const logical = logicalHeader(hdu);
    const zblank = hdu.header.int('ZBLANK');
    const raw: Hdu = {
      ...hdu,
      header: new Header(hdu.header.cards.filter((c) => c.keyword !== 'ZBLANK')),
      imageHeader: new Header(logical.cards.filter((c) => !SCALING.has(c.keyword))),
    };
    const img = await readCompressedImage(src, raw, plan.ranges, { maxBytes: limit * 2 });
    const out: CutoutData = {
      bitpix: zbitpix,
      shape: counts,
      bytes: bigEndian(img.data, zbitpix),
      values: 'stored',
    };
    if (zblank !== undefined && !logical.has('BLANK')) out.blank = zblank;
    return out;
  }
  // Float images (quantized or not) come back as physical floats of ZBITPIX.
  const img = await readCompressedImage(src, hdu, plan.ranges, { maxBytes: limit * 2 });
  return { bitpix: zbitpix, shape: counts, bytes: bigEndian(img.data, zbitpix), values: 'physical' };
}

function bigEndian(data: ArrayLike<number | bigint>, bitpix: number): Uint8Array {
  const size = Math.abs(bitpix) / 8;
  const out = new Uint8Array(data.length * size);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (bitpix === 8) out[i] = Number(v);
    else if (bitpix === 16) dv.setInt16(i * 2, Number(v));
    else if (bitpix === 32) dv.setInt32(i * 4, Number(v));
    else if (bitpix === 64) dv.setBigInt64(i * 8, BigInt(v));
    else if (bitpix === -32) dv.setFloat32(i * 4, Number(v));
    else dv.setFloat64(i * 8, Number(v));
  }
  return out;
}

// ----- writing --------------------------------------------------------------------------------

const STRUCTURAL = /^(SIMPLE|XTENSION|BITPIX|NAXIS\d*|EXTEND|PCOUNT|GCOUNT|GROUPS|CHECKSUM|DATASUM|END)$/;
// Tile-compression leftovers imageHeaderFromCompressed keeps (the rest it drops already).
const COMPRESSION =
  /^(ZIMAGE|ZTENSION|ZBITPIX|ZNAXIS\d*|ZPCOUNT|ZGCOUNT|ZTILE\d+|ZCMPTYPE|ZNAME\d+|ZVAL\d+|ZQUANTIZ|ZDITHER0|ZMASKCMP|ZSIMPLE|ZEXTEND|ZBLOCKED|ZBLANK|ZSCALE|ZZERO|ZHECKSUM|ZDATASUM|FZALGOR|FZTILE|FZQVALUE|FZQMETHD|FZHSCALE|FZDTHRSD|FZINT2F)$/;

export interface EncodeOptions {
  /** Write a primary HDU (SIMPLE) rather than an IMAGE extension (default true). */
  primary?: boolean;
  /** EXTEND = T on a primary HDU that extensions follow. */
  extend?: boolean;
  /** Text for the HISTORY card(s), e.g. `cutout [1:10,1:10] of file.fits HDU 0`. */
  history?: string;
}

const pad80 = (s: string) => s.padEnd(Math.max(80, Math.ceil(s.length / 80) * 80));

function cardImage(c: Card): string {
  if (c.raw && c.raw.length >= 8) return pad80(c.raw.replace(/\s+$/, ''));
  if (c.type === 'commentary') return pad80(`${c.keyword.padEnd(8)}${String(c.value ?? '')}`.slice(0, 80));
  return formatCard(c.keyword, c.value, c.comment);
}

function historyCards(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 72) out.push(pad80(`HISTORY ${text.slice(i, i + 72)}`));
  return out;
}

const ascii = (s: string) => {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
};

/**
 * One HDU's bytes: structural cards, then `cards` (80-column images), HISTORY, then CHECKSUM and
 * DATASUM computed over the result (Standard §J), padded header and data.
 */
function assemble(
  structural: string[],
  cards: string[],
  history: string | undefined,
  data: Uint8Array,
): Uint8Array {
  const dataLen = Math.ceil(data.length / BLOCK) * BLOCK;
  const body = new Uint8Array(dataLen);
  body.set(data);
  const datasum = onesSum(body);
  const lines = [
    ...structural,
    ...cards,
    ...(history ? historyCards(history) : []),
    formatCard('CHECKSUM', '0000000000000000', 'HDU checksum'),
    formatCard('DATASUM', String(datasum), 'data unit checksum'),
  ];
  let text = lines.join('') + 'END'.padEnd(80);
  text = text.padEnd(Math.ceil(text.length / BLOCK) * BLOCK, ' ');
  const head = ascii(text);
  const sum = onesAdd(onesSum(head), datasum);
  const at = text.indexOf('CHECKSUM= ');
  head.set(ascii(formatCard('CHECKSUM', encodeChecksum(sum), 'HDU checksum')), at);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** The header cards of a cutout (structural cards excluded), from the original's logical header. */
export function cutoutCards(plan: CutoutPlan, data: CutoutData): string[] {
  const header = logicalHeader(plan.hdu);
  const start = plan.ranges.map((r) => r.start);
  const out: string[] = [];
  for (const c of header.cards) {
    const k = c.keyword;
    if (STRUCTURAL.test(k) || COMPRESSION.test(k)) continue;
    if (data.values === 'physical' && SCALING.has(k)) continue;
    const crpix = /^CRPIX(\d+)([A-Z]?)$/.exec(k);
    const ltv = /^LTV(\d+)$/.exec(k);
    const axis = crpix ? Number(crpix[1]) : ltv ? Number(ltv[1]) : 0;
    if (axis >= 1 && axis <= start.length && typeof c.value === 'number' && start[axis - 1] !== 0) {
      out.push(formatCard(k, c.value - start[axis - 1], c.comment));
      continue;
    }
    out.push(cardImage(c));
  }
  if (data.blank !== undefined && data.values === 'stored')
    out.push(formatCard('BLANK', data.blank, 'value of undefined pixels'));
  return out;
}

/** A cutout as one FITS HDU (header + data, checksums set). */
export function encodeCutoutHdu(plan: CutoutPlan, data: CutoutData, opts: EncodeOptions = {}): Uint8Array {
  const primary = opts.primary ?? true;
  const structural = [
    primary
      ? formatCard('SIMPLE', true, 'conforms to FITS standard')
      : formatCard('XTENSION', 'IMAGE', 'Image extension'),
    formatCard('BITPIX', data.bitpix, 'array data type'),
    formatCard('NAXIS', data.shape.length, 'number of array dimensions'),
    ...data.shape.map((n, i) => formatCard(`NAXIS${i + 1}`, n)),
    ...(primary
      ? opts.extend
        ? [formatCard('EXTEND', true)]
        : []
      : [formatCard('PCOUNT', 0, 'number of parameters'), formatCard('GCOUNT', 1, 'number of groups')]),
  ];
  return assemble(structural, cutoutCards(plan, data), opts.history, data.bytes);
}

/**
 * A primary HDU without data that keeps a source primary header's cards (observation metadata),
 * for a multi-extension cutout whose images come from extensions.
 */
export function encodeHeaderOnlyPrimary(source: Hdu, history?: string): Uint8Array {
  const cards = source.header.cards
    .filter((c) => !STRUCTURAL.test(c.keyword) && !COMPRESSION.test(c.keyword) && !SCALING.has(c.keyword))
    .map(cardImage);
  const structural = [
    formatCard('SIMPLE', true, 'conforms to FITS standard'),
    formatCard('BITPIX', 8, 'array data type'),
    formatCard('NAXIS', 0, 'no data in the primary HDU'),
    formatCard('EXTEND', true),
  ];
  return assemble(structural, cards, history, new Uint8Array(0));
}

// ----- finding HDUs ---------------------------------------------------------------------------

/**
 * The HDU whose header starts at `headerOffset` (the catalog records it), reading its header blocks
 * only. On a forward-only source the offset must lie at or after everything read so far.
 */
export function readHduAt(source: ByteSource, index: number, headerOffset: number): Promise<Hdu> {
  return located({ file: source.name, hdu: index }, async () => {
    const builder = new HeaderBuilder({ file: source.name, hdu: index });
    let offset = headerOffset;
    for (;;) {
      const block = await source.read(offset, BLOCK);
      if (block.length < BLOCK)
        throw new FitsError('truncated', `file ends inside the header of HDU ${index}`);
      offset += BLOCK;
      if (builder.push(block)) break;
    }
    const header = builder.header();
    const layout = dataLayout(header, index, { file: source.name });
    const hdu: Hdu = { index, header, headerOffset, dataOffset: offset, ...layout };
    const extname = header.string('EXTNAME');
    if (extname !== undefined) hdu.extname = extname.trim();
    if (layout.kind === 'compressed-image') hdu.imageHeader = imageHeaderFromCompressed(header);
    return hdu;
  });
}

/**
 * Every HDU in order, reading headers only and never the size of the source, so it also walks a
 * gzip/bzip2 stream: a caller that reads an HDU's data before asking for the next one, and stops
 * once it has what it needs, decompresses nothing beyond that.
 */
export async function* walkHdus(source: ByteSource, maxHdus = 10_000): AsyncGenerator<Hdu> {
  let offset = 0;
  for (let index = 0; index < maxHdus; index++) {
    const head = await source.read(offset, 8);
    if (head.length < 8) return;
    const tag = String.fromCharCode(...head);
    if (index === 0 ? tag !== 'SIMPLE  ' && tag !== 'XTENSION' : tag !== 'XTENSION') return;
    const hdu = await readHduAt(source, index, offset);
    yield hdu;
    offset = hdu.dataOffset + hdu.dataSpan;
  }
}

// ----- all together ---------------------------------------------------------------------------

export interface CutoutResult {
  /** The FITS file. */
  bytes: Uint8Array;
  /** One plan per image HDU cut, in order. */
  plans: CutoutPlan[];
  /** Bytes of pixels in the cutout. */
  pixelBytes: number;
}

/**
 * Cuts one image HDU into a single-HDU FITS file (the cutout in the primary HDU): what
 * `fitslake cutout FILE --hdu N` writes.
 */
export async function cutoutFits(
  source: ByteSource,
  hdu: Hdu,
  req: CutoutRequest,
  opts: ReadCutoutOptions & { name?: string } = {},
): Promise<CutoutResult> {
  const plan = planCutout(hdu, req);
  const data = await readCutout(source, plan, opts);
  const bytes = encodeCutoutHdu(plan, data, {
    primary: true,
    history: `fitslake cutout ${plan.section} of ${opts.name ?? source.name} HDU ${hdu.index}`,
  });
  return { bytes, plans: [plan], pixelBytes: data.bytes.length };
}
