/**
 * HEALPix in the NESTED scheme (Górski et al. 2005, ApJ 622, 759), for the catalog's spatial index:
 * a sky position → a cell number, and a cone → the sorted ranges of cells that cover it, so a cone
 * search becomes "cell BETWEEN a AND b" on a B-tree followed by an exact distance test.
 * Orders up to 24 keep every cell number below 2^53 (exact in a JS number).
 */
export const MAX_ORDER = 24;

const HALF_PI = Math.PI / 2;
const D2R = Math.PI / 180;

/** Spreads the low 24 bits of v to even bit positions (bit i → bit 2i), exactly, without 32-bit overflow. */
function spread(v: number): number {
  const part = (x: number) => {
    // 12 bits → 24 bits with classic masks; fits in 32-bit integer arithmetic.
    x &= 0xfff;
    x = (x | (x << 8)) & 0x00ff00ff;
    x = (x | (x << 4)) & 0x0f0f0f0f;
    x = (x | (x << 2)) & 0x33333333;
    x = (x | (x << 1)) & 0x55555555;
    return x;
  };
  return part(Math.floor(v / 4096)) * 2 ** 24 + part(v % 4096);
}

function compact(v: number): number {
  const part = (x: number) => {
    x &= 0x55555555;
    x = (x | (x >>> 1)) & 0x33333333;
    x = (x | (x >>> 2)) & 0x0f0f0f0f;
    x = (x | (x >>> 4)) & 0x00ff00ff;
    x = (x | (x >>> 8)) & 0x0000ffff;
    return x;
  };
  return part(Math.floor(v / 2 ** 24)) * 4096 + part(v % 2 ** 24);
}

function checkOrder(order: number): number {
  if (!Number.isInteger(order) || order < 0 || order > MAX_ORDER)
    throw new RangeError(`HEALPix order must be 0..${MAX_ORDER}`);
  return 2 ** order;
}

/** Cell (NESTED) containing the position (lon, lat in degrees) at the given order. */
export function lonLatToCell(order: number, lonDeg: number, latDeg: number): number {
  const nside = checkOrder(order);
  const z = Math.sin(latDeg * D2R);
  const za = Math.abs(z);
  let phi = (lonDeg * D2R) % (2 * Math.PI);
  if (phi < 0) phi += 2 * Math.PI;
  const tt = phi / HALF_PI; // in [0, 4)
  let face: number;
  let ix: number;
  let iy: number;
  if (za <= 2 / 3) {
    const t1 = nside * (0.5 + tt);
    const t2 = nside * z * 0.75;
    const jp = Math.floor(t1 - t2);
    const jm = Math.floor(t1 + t2);
    const ifp = Math.floor(jp / nside);
    const ifm = Math.floor(jm / nside);
    face = ifp === ifm ? ifp | 4 : ifp < ifm ? ifp : ifm + 8;
    ix = ((jm % nside) + nside) % nside;
    iy = nside - (((jp % nside) + nside) % nside) - 1;
  } else {
    const ntt = Math.min(3, Math.floor(tt));
    const tp = tt - ntt;
    // sqrt(3(1 − |z|)) via cos(lat) keeps precision near the poles.
    const c = Math.cos(latDeg * D2R);
    const tmp = nside * Math.sqrt(3 * ((c * c) / (1 + za)));
    const jp = Math.min(nside - 1, Math.floor(tp * tmp));
    const jm = Math.min(nside - 1, Math.floor((1 - tp) * tmp));
    if (z >= 0) {
      face = ntt;
      ix = nside - jm - 1;
      iy = nside - jp - 1;
    } else {
      face = ntt + 8;
      ix = jp;
      iy = jm;
    }
  }
  return face * nside * nside + spread(ix) + 2 * spread(iy);
}

const JRLL = [2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4];
const JPLL = [1, 3, 5, 7, 0, 2, 4, 6, 1, 3, 5, 7];

/** Centre of a cell (lon, lat in degrees). */
export function cellCenter(order: number, cell: number): [number, number] {
  const nside = checkOrder(order);
  const npface = nside * nside;
  const face = Math.floor(cell / npface);
  const p = cell % npface;
  const x = compact(p);
  const y = compact(Math.floor(p / 2));
  const jr = JRLL[face] * nside - x - y - 1;
  let nr: number;
  let lat: number;
  let kshift: number;
  if (jr < nside || jr > 3 * nside) {
    // Polar caps: 1 − |z| = nr²/(3 nside²); computed through the half co-latitude to stay exact
    // next to the poles (asin(z) loses the last digits there).
    nr = jr < nside ? jr : 4 * nside - jr;
    const colat = 2 * Math.asin(nr / (Math.sqrt(6) * nside));
    lat = (jr < nside ? 1 : -1) * (HALF_PI - colat);
    kshift = 0;
  } else {
    nr = nside;
    lat = Math.asin(((2 * nside - jr) * 2) / (3 * nside));
    kshift = (jr - nside) & 1;
  }
  let jp = (JPLL[face] * nr + x - y + 1 + kshift) / 2;
  if (jp > 4 * nr) jp -= 4 * nr;
  if (jp < 1) jp += 4 * nr;
  const phi = (jp - (kshift + 1) * 0.5) * (HALF_PI / nr);
  return [phi / D2R, lat / D2R];
}

/** Angular distance in radians (haversine: exact for small angles). */
function distance(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const s =
    Math.sin((lat2 - lat1) / 2) ** 2 + Math.cos(lat1) * Math.cos(lat2) * Math.sin((lon2 - lon1) / 2) ** 2;
  return 2 * Math.asin(Math.min(1, Math.sqrt(s)));
}

/**
 * A bound on the angular radius of every cell at an order: 1.35 × 0.8410686/nside (the largest
 * cell radius at order 0, scaled, with the margin low orders need), checked against
 * astropy-healpix's cell boundaries in the tests.
 */
export function cellRadius(order: number): number {
  return (1.35 * 0.8410686) / checkOrder(order);
}

/**
 * Sorted, merged ranges [first, last] of cells at `order` whose union covers the cone (centre in
 * degrees, radius in degrees): never misses a cell that touches the cone; may include a few that
 * do not, which the exact test after the B-tree lookup removes.
 */
export function coneCoverage(
  order: number,
  lonDeg: number,
  latDeg: number,
  radiusDeg: number,
): [number, number][] {
  checkOrder(order);
  const lon = lonDeg * D2R;
  const lat = latDeg * D2R;
  const r = radiusDeg * D2R;
  const ranges: [number, number][] = [];
  const visit = (depth: number, cell: number) => {
    const [clon, clat] = cellCenter(depth, cell);
    const d = distance(lon, lat, clon * D2R, clat * D2R);
    const R = cellRadius(depth);
    if (d > r + R) return;
    const scale = 4 ** (order - depth);
    if (d + R <= r || depth === order) {
      ranges.push([cell * scale, (cell + 1) * scale - 1]);
      return;
    }
    for (let k = 0; k < 4; k++) visit(depth + 1, cell * 4 + k);
  };
  for (let base = 0; base < 12; base++) visit(0, base);
  return mergeRanges(ranges);
}

/** Sorts [first, last] cell ranges and merges the overlapping and adjacent ones. */
export function mergeRanges(ranges: [number, number][]): [number, number][] {
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const rg of ranges) {
    const last = merged[merged.length - 1];
    if (last && rg[0] <= last[1] + 1) last[1] = Math.max(last[1], rg[1]);
    else merged.push([rg[0], rg[1]]);
  }
  return merged;
}
