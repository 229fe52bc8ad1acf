import { cellCenter as cellCentre, cellRadius, coneCoverage, lonLatToCell, mergeRanges } from './healpix.ts';

/**
 * Sky regions for the catalog's spatial index and the exact test after it. Polygons have
 * great-circle edges (as ObsCore s_region and ADQL POLYGON mean them); everything is computed on
 * unit vectors, so RA 0/360 and the poles need no special cases.
 */
export type Region =
  | { type: 'circle'; ra: number; dec: number; radius: number }
  | { type: 'polygon'; vertices: [number, number][] };

/** Order at which observations' coverage is stored (cells of ~0.23°; a 1° field is ~30 cells). */
export const STORE_ORDER = 8;
/** Above this many cells an observation is indexed under ALL_SKY and always tested exactly. */
const MAX_CELLS = 4096;
/** The cell value meaning "too large to index: always a candidate". */
export const ALL_SKY = -1;

type Vec = [number, number, number];
const D2R = Math.PI / 180;

export function vec(ra: number, dec: number): Vec {
  const a = ra * D2R;
  const d = dec * D2R;
  return [Math.cos(d) * Math.cos(a), Math.cos(d) * Math.sin(a), Math.sin(d)];
}
const dot = (a: Vec, b: Vec) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: Vec, b: Vec): Vec => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];
const norm = (a: Vec): Vec => {
  const n = Math.hypot(a[0], a[1], a[2]);
  return [a[0] / n, a[1] / n, a[2] / n];
};
const angle = (a: Vec, b: Vec) => Math.atan2(Math.hypot(...cross(a, b)), dot(a, b)) / D2R;

/** Angular distance in degrees between two positions. */
export function separation(ra1: number, dec1: number, ra2: number, dec2: number): number {
  return angle(vec(ra1, dec1), vec(ra2, dec2));
}

/** Distance in degrees from p to the great-circle arc a–b. */
function arcDistance(p: Vec, a: Vec, b: Vec): number {
  const n = norm(cross(a, b));
  const s = dot(p, n);
  const q: Vec = [p[0] - s * n[0], p[1] - s * n[1], p[2] - s * n[2]];
  if (dot(cross(a, q), n) >= 0 && dot(cross(q, b), n) >= 0 && dot(q, q) > 1e-30)
    return Math.asin(Math.min(1, Math.abs(s))) / D2R;
  return Math.min(angle(p, a), angle(p, b));
}

/** Do arcs a–b and c–d cross? (Arcs shorter than 180°, as polygon edges are.) */
function arcsCross(a: Vec, b: Vec, c: Vec, d: Vec): boolean {
  const n1 = cross(a, b);
  const n2 = cross(c, d);
  const s1 = Math.sign(dot(n1, c));
  const s2 = Math.sign(dot(n1, d));
  const s3 = Math.sign(dot(n2, a));
  const s4 = Math.sign(dot(n2, b));
  if (s1 === s2 || s3 === s4) return false;
  // Both great circles meet at ±x: the arcs cross only if they lie on the same side.
  const x = cross(n1, n2);
  return Math.sign(dot(x, a) + dot(x, b)) === Math.sign(dot(x, c) + dot(x, d));
}

/** A polygon prepared for repeated tests: vertices as vectors and its centre. */
interface Prepared {
  v: Vec[];
  centre: Vec;
  /** Largest distance from the centre to a vertex (degrees). */
  radius: number;
  /** Tangent-plane basis at the centre and the vertices projected on it (for inside()). */
  east: Vec;
  north: Vec;
  pts: [number, number][];
}

function prepare(vertices: [number, number][]): Prepared {
  const v = vertices.map(([ra, dec]) => vec(ra, dec));
  const sum = v.reduce<Vec>((s, x) => [s[0] + x[0], s[1] + x[1], s[2] + x[2]], [0, 0, 0]);
  const centre = norm(sum);
  const east = norm(Math.abs(centre[2]) < 0.99 ? cross([0, 0, 1], centre) : cross([0, 1, 0], centre));
  const north = cross(centre, east);
  const radius = Math.max(...v.map((x) => angle(centre, x)));
  return { v, centre, radius, east, north, pts: v.map((x) => project({ centre, east, north }, x)) };
}

/** Gnomonic projection about the polygon's centre. */
function project(poly: { centre: Vec; east: Vec; north: Vec }, x: Vec): [number, number] {
  const k = dot(x, poly.centre);
  return [dot(x, poly.east) / k, dot(x, poly.north) / k];
}

/**
 * Is p inside the polygon? Gnomonic projection about the polygon's centre keeps great circles
 * straight, so the plane's even-odd rule is exact (for polygons smaller than a hemisphere).
 */
function inside(poly: Prepared, p: Vec): boolean {
  if (dot(p, poly.centre) <= 0) return false;
  const [px, py] = project(poly, p);
  const pts = poly.pts;
  let odd = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i];
    const [xj, yj] = pts[j];
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) odd = !odd;
  }
  return odd;
}

function edges(poly: Prepared): [Vec, Vec][] {
  return poly.v.map((a, i) => [a, poly.v[(i + 1) % poly.v.length]]);
}

/** Does the disc (centre p, radius r degrees) touch the polygon? */
function discTouches(poly: Prepared, p: Vec, r: number): boolean {
  if (inside(poly, p)) return true;
  return edges(poly).some(([a, b]) => arcDistance(p, a, b) <= r);
}

/** Parses an ObsCore/STC-S s_region ("POLYGON ICRS ra dec ra dec …", "CIRCLE ICRS ra dec r"). */
export function parseRegion(text: string): Region | null {
  const words = text.trim().split(/\s+/);
  const shape = words.shift()?.toUpperCase();
  // Frame, reference position, flavour (STC-S: "Polygon ICRS TOPOCENTER SPHERICAL2 …"): words before the numbers.
  while (words[0] && /^[A-Z]/i.test(words[0])) words.shift();
  const n = words.map(Number);
  if (n.some((x) => !Number.isFinite(x))) return null;
  if (shape === 'CIRCLE' && n.length === 3) return { type: 'circle', ra: n[0], dec: n[1], radius: n[2] };
  if (shape === 'POLYGON' && n.length >= 6 && n.length % 2 === 0) {
    const vertices: [number, number][] = [];
    for (let i = 0; i < n.length; i += 2) vertices.push([n[i], n[i + 1]]);
    return { type: 'polygon', vertices };
  }
  return null;
}

/** A box of RA/Dec ranges as a polygon whose edges follow the constant-Dec sides closely. */
export function boxRegion(ra1: number, ra2: number, dec1: number, dec2: number): Region {
  const width = (((ra2 - ra1) % 360) + 360) % 360 || 360;
  const steps = Math.max(2, Math.ceil(width / 2));
  const vertices: [number, number][] = [];
  for (let i = 0; i <= steps; i++) vertices.push([ra1 + (width * i) / steps, dec1]);
  for (let i = steps; i >= 0; i--) vertices.push([ra1 + (width * i) / steps, dec2]);
  return { type: 'polygon', vertices };
}

/** Does the region contain or touch this other region (a footprint, or a position when r = 0)? */
export function intersects(a: Region, b: Region): boolean {
  if (a.type === 'circle' && b.type === 'circle')
    return separation(a.ra, a.dec, b.ra, b.dec) <= a.radius + b.radius;
  if (a.type === 'circle' || b.type === 'circle') {
    const c = (a.type === 'circle' ? a : b) as Extract<Region, { type: 'circle' }>;
    const p = (a.type === 'polygon' ? a : b) as Extract<Region, { type: 'polygon' }>;
    return discTouches(prepare(p.vertices), vec(c.ra, c.dec), c.radius);
  }
  const pa = prepare(a.vertices);
  const pb = prepare(b.vertices);
  if (pa.v.some((x) => inside(pb, x)) || pb.v.some((x) => inside(pa, x))) return true;
  for (const [p, q] of edges(pa)) for (const [r, s] of edges(pb)) if (arcsCross(p, q, r, s)) return true;
  return false;
}

/** The bounding circle of a region. */
function bounds(r: Region): { ra: number; dec: number; radius: number } {
  if (r.type === 'circle') return r;
  const p = prepare(r.vertices);
  const [x, y, z] = p.centre;
  return {
    ra: (((Math.atan2(y, x) / D2R) % 360) + 360) % 360,
    dec: Math.asin(Math.max(-1, Math.min(1, z))) / D2R,
    radius: p.radius,
  };
}

/** Cells at `order` touching the region, as sorted merged [first, last] ranges. */
export function regionRanges(order: number, r: Region): [number, number][] {
  if (r.type === 'circle') return coneCoverage(order, r.ra, r.dec, r.radius);
  const p = prepare(r.vertices);
  // A polygon within a couple of cells (a typical footprint at the storage order): its bounding
  // cone costs a fraction of the exact descent and adds at most a few cells, which the exact test
  // after the lookup removes.
  if (p.radius <= (2 * cellRadius(order)) / D2R) {
    const [x, y, z] = p.centre;
    const ra = (((Math.atan2(y, x) / D2R) % 360) + 360) % 360;
    return coneCoverage(order, ra, Math.asin(Math.max(-1, Math.min(1, z))) / D2R, p.radius);
  }
  // Descend the hierarchy: a cell whose bounding disc misses the polygon is dropped, one whose disc
  // lies wholly inside is taken with all its descendants, and only the boundary is refined, so the
  // cost follows the polygon's perimeter, not its area. (cellRadius is in radians.)
  const ranges: [number, number][] = [];
  const edgesOf = edges(p);
  const visit = (depth: number, cell: number) => {
    const [ra, dec] = cellCentre(depth, cell);
    const c = vec(ra, dec);
    const R = cellRadius(depth) / D2R;
    const within = inside(p, c);
    let near = Number.POSITIVE_INFINITY;
    for (const [a, b] of edgesOf) near = Math.min(near, arcDistance(c, a, b));
    if (!within && near > R) return;
    const scale = 4 ** (order - depth);
    if ((within && near > R) || depth === order) {
      ranges.push([cell * scale, (cell + 1) * scale - 1]);
      return;
    }
    for (let k = 0; k < 4; k++) visit(depth + 1, cell * 4 + k);
  };
  for (let base = 0; base < 12; base++) visit(0, base);
  return mergeRanges(ranges);
}

/**
 * The cells an observation is indexed under: its footprint's coverage, its position's cell, or
 * ALL_SKY for a footprint too large to list.
 */
export function observationCells(region: Region | null, ra: number | null, dec: number | null): number[] {
  if (region) {
    const b = bounds(region);
    if (b.radius > 30) return [ALL_SKY];
    const ranges = regionRanges(STORE_ORDER, region);
    const count = ranges.reduce((s, [a, z]) => s + z - a + 1, 0);
    if (count > MAX_CELLS) return [ALL_SKY];
    return ranges.flatMap(([a, z]) => Array.from({ length: z - a + 1 }, (_, i) => a + i));
  }
  if (ra !== null && dec !== null) return [lonLatToCell(STORE_ORDER, ra, dec)];
  return [];
}
