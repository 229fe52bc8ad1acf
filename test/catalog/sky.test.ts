// Property and brute-force tests of the sky geometry behind the catalog's spatial search: separation
// against haversine/Vincenty, intersects() against dense sampling with an independent point-in-polygon
// test (winding angle), and regionRanges() never missing a cell — on random regions across RA 0/360
// and containing or touching the poles, where archives usually break. Seeded, so failures repeat.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lonLatToCell } from '../../src/catalog/healpix.ts';
import {
  ALL_SKY,
  boxRegion,
  intersects,
  observationCells,
  parseRegion,
  type Region,
  regionRanges,
  STORE_ORDER,
  separation,
} from '../../src/catalog/sky.ts';
import { seededRandom } from '../../src/demo/sample-night.ts';

// ---------------------------------------------------------------- independent geometry helpers

type V = [number, number, number];
const D2R = Math.PI / 180;

const rng = seededRandom;

const toV = (ra: number, dec: number): V => {
  const a = ra * D2R;
  const d = dec * D2R;
  return [Math.cos(d) * Math.cos(a), Math.cos(d) * Math.sin(a), Math.sin(d)];
};
const toLonLat = (v: V): [number, number] => {
  const n = Math.hypot(...v);
  return [
    (((Math.atan2(v[1], v[0]) / D2R) % 360) + 360) % 360,
    Math.asin(Math.max(-1, Math.min(1, v[2] / n))) / D2R,
  ];
};
const dotV = (a: V, b: V) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const crossV = (a: V, b: V): V => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];
const unit = (a: V): V => {
  const n = Math.hypot(...a);
  return [a[0] / n, a[1] / n, a[2] / n];
};
/** Angle in degrees between two directions (atan2 form: exact for tiny and near-180° angles). */
const ang = (a: V, b: V) => Math.atan2(Math.hypot(...crossV(a, b)), dotV(a, b)) / D2R;

function haversine(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const [l1, b1, l2, b2] = [ra1 * D2R, dec1 * D2R, ra2 * D2R, dec2 * D2R];
  const s = Math.sin((b2 - b1) / 2) ** 2 + Math.cos(b1) * Math.cos(b2) * Math.sin((l2 - l1) / 2) ** 2;
  return (2 * Math.asin(Math.min(1, Math.sqrt(s)))) / D2R;
}

function vincenty(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const [l1, b1, l2, b2] = [ra1 * D2R, dec1 * D2R, ra2 * D2R, dec2 * D2R];
  const dl = l2 - l1;
  const y = Math.hypot(
    Math.cos(b2) * Math.sin(dl),
    Math.cos(b1) * Math.sin(b2) - Math.sin(b1) * Math.cos(b2) * Math.cos(dl),
  );
  const x = Math.sin(b1) * Math.sin(b2) + Math.cos(b1) * Math.cos(b2) * Math.cos(dl);
  return Math.atan2(y, x) / D2R;
}

/** The point at distance `dist` (deg) and position angle `pa` (deg, east of north) from (ra, dec). */
function destination(ra: number, dec: number, pa: number, dist: number): [number, number] {
  const [l, b, d, t] = [ra * D2R, dec * D2R, dist * D2R, pa * D2R];
  const b2 = Math.asin(
    Math.max(-1, Math.min(1, Math.sin(b) * Math.cos(d) + Math.cos(b) * Math.sin(d) * Math.cos(t))),
  );
  const l2 =
    l + Math.atan2(Math.sin(t) * Math.sin(d) * Math.cos(b), Math.cos(d) - Math.sin(b) * Math.sin(b2));
  return [(((l2 / D2R) % 360) + 360) % 360, b2 / D2R];
}

/** Point at fraction t along the great-circle arc a→b. */
function slerp(a: V, b: V, t: number): V {
  const w = ang(a, b) * D2R;
  if (w < 1e-15) return a;
  const s = Math.sin(w);
  const ka = Math.sin((1 - t) * w) / s;
  const kb = Math.sin(t * w) / s;
  return unit([ka * a[0] + kb * b[0], ka * a[1] + kb * b[1], ka * a[2] + kb * b[2]]);
}

/**
 * Distance in degrees from p to the arc a–b, computed independently of sky.ts: the nearest point of
 * the great circle is on the arc when it lies within half the arc's length of the arc's midpoint.
 */
function arcDistance(a: V, b: V): (p: V) => number {
  const c = crossV(a, b);
  const len = ang(a, b);
  if (Math.hypot(...c) < 1e-15) return (p) => ang(p, a);
  const [nx, ny, nz] = unit(c);
  const [mx, my, mz] = unit([a[0] + b[0], a[1] + b[1], a[2] + b[2]]);
  const cosHalf = Math.cos((len / 2) * D2R);
  return (p) => {
    const s = p[0] * nx + p[1] * ny + p[2] * nz;
    const qx = p[0] - s * nx;
    const qy = p[1] - s * ny;
    const qz = p[2] - s * nz;
    const q = Math.hypot(qx, qy, qz);
    if (q > 1e-12 && (qx * mx + qy * my + qz * mz) / q >= cosHalf) return Math.atan2(Math.abs(s), q) / D2R;
    return Math.min(ang(p, a), ang(p, b));
  };
}

/**
 * A region prepared for the truth: its boundary sampled every `h` degrees at most, interior samples,
 * and a signed distance (negative inside) computed without sky.ts.
 */
interface Shape {
  region: Region;
  boundary: V[];
  interior: V[];
  /** Largest gap between consecutive boundary samples (degrees). */
  h: number;
  sd: (p: V) => number;
  contains: (p: V) => boolean;
}

function shape(
  region: Region,
  perEdge: number | { step: number },
  nInterior: number,
  rand: () => number,
): Shape {
  const count = (len: number, k: number) =>
    typeof perEdge === 'number' ? perEdge * k : Math.max(k, Math.ceil(len / perEdge.step));
  if (region.type === 'circle') {
    const c = toV(region.ra, region.dec);
    const boundary: V[] = [];
    const n = count((2 * Math.PI * Math.sin(region.radius * D2R)) / D2R, 4);
    for (let i = 0; i < n; i++)
      boundary.push(toV(...destination(region.ra, region.dec, (360 * i) / n, region.radius)));
    const interior: V[] = [c];
    for (let i = 0; i < nInterior; i++)
      interior.push(
        toV(...destination(region.ra, region.dec, rand() * 360, region.radius * Math.sqrt(rand()))),
      );
    const sd = (p: V) => ang(p, c) - region.radius;
    return {
      region,
      boundary,
      interior,
      h: (2 * Math.PI * Math.sin(region.radius * D2R)) / D2R / n + 1e-12,
      sd,
      contains: (p) => sd(p) <= 0,
    };
  }
  const v = region.vertices.map(([ra, dec]) => toV(ra, dec));
  const centre = unit(v.reduce<V>((s, x) => [s[0] + x[0], s[1] + x[1], s[2] + x[2]], [0, 0, 0]));
  // Inside by the winding angle of the boundary seen from p (|sum| = 2π around p, 0 otherwise); the
  // centre test tells p from its antipode, which a polygon smaller than a hemisphere also winds.
  const inside = (p: V) => {
    if (dotV(p, centre) <= 0) return false;
    let sum = 0;
    for (let i = 0; i < v.length; i++) {
      const a = v[i];
      const b = v[(i + 1) % v.length];
      const ka = dotV(a, p);
      const kb = dotV(b, p);
      const ta: V = [a[0] - ka * p[0], a[1] - ka * p[1], a[2] - ka * p[2]];
      const tb: V = [b[0] - kb * p[0], b[1] - kb * p[1], b[2] - kb * p[2]];
      sum += Math.atan2(dotV(p, crossV(ta, tb)), dotV(ta, tb));
    }
    return Math.abs(sum) > Math.PI;
  };
  const arcs = v.map((a, i) => arcDistance(a, v[(i + 1) % v.length]));
  const dist = (p: V) => {
    let d = Infinity;
    for (const f of arcs) d = Math.min(d, f(p));
    return d;
  };
  const boundary: V[] = [];
  let h = 0;
  for (let i = 0; i < v.length; i++) {
    const a = v[i];
    const b = v[(i + 1) % v.length];
    const n = count(ang(a, b), 1);
    for (let k = 0; k < n; k++) boundary.push(slerp(a, b, k / n));
    h = Math.max(h, ang(a, b) / n);
  }
  const radius = Math.max(...v.map((x) => ang(centre, x)));
  const [cra, cdec] = toLonLat(centre);
  const interior: V[] = [];
  for (let tries = 0; interior.length < nInterior && tries < nInterior * 50; tries++) {
    const p = toV(...destination(cra, cdec, rand() * 360, radius * Math.sqrt(rand())));
    if (inside(p)) interior.push(p);
  }
  return {
    region,
    boundary,
    interior,
    h: h + 1e-12,
    sd: (p) => (inside(p) ? -dist(p) : dist(p)),
    contains: (p) => inside(p) || dist(p) < 1e-12,
  };
}

/**
 * The truth by sampling: "yes" when a sample of one region lies strictly inside the other; "no" when
 * every boundary sample of each is farther than the sampling step from the other (two closed regions
 * that meet have a boundary point of one inside the other, and a sample within h/2 of it); otherwise
 * too close to call.
 */
function truth(a: Shape, b: Shape): 'yes' | 'no' | 'close' {
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    for (const p of x.boundary) if (y.sd(p) < -1e-9) return 'yes';
    for (const p of x.interior) if (y.sd(p) < -1e-9) return 'yes';
  }
  const h = Math.max(a.h, b.h);
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const)
    for (const p of x.boundary) if (y.sd(p) <= h) return 'close';
  return 'no';
}

// ---------------------------------------------------------------- random regions

type Place = 'anywhere' | 'ra0' | 'north' | 'south';

function randomCentre(rand: () => number, place: Place): [number, number] {
  switch (place) {
    case 'ra0':
      return [((((rand() - 0.5) * 4) % 360) + 360) % 360, Math.asin(2 * rand() - 1) / D2R];
    case 'north':
      return [rand() * 360, 90 - rand() ** 2 * 3];
    case 'south':
      return [rand() * 360, -90 + rand() ** 2 * 3];
    default:
      return [rand() * 360, Math.asin(2 * rand() - 1) / D2R];
  }
}

const places: Place[] = ['anywhere', 'ra0', 'north', 'south'];

/** Log-uniform size in degrees. */
const randomSize = (rand: () => number, lo: number, hi: number) => lo * (hi / lo) ** rand();

/**
 * A random simple polygon around a centre: vertices at increasing position angles (so the polygon is
 * star-shaped about its centre and simple), at distances in [0.3, 1]×size; convex-ish or spiky,
 * either orientation, RA sometimes written beyond [0, 360).
 */
function randomPolygon(rand: () => number, ra: number, dec: number, size: number): Region {
  const n = 3 + Math.floor(rand() * 8);
  const angles = Array.from({ length: n }, (_, i) => (360 * (i + 0.15 + 0.7 * rand())) / n);
  const spiky = rand() < 0.4;
  let vertices = angles.map((pa) => destination(ra, dec, pa, size * (spiky ? 0.3 + 0.7 * rand() : 1)));
  if (rand() < 0.5) vertices.reverse();
  if (rand() < 0.2) vertices = vertices.map(([a, d]) => [a + (a < 180 ? 360 : -360), d]);
  return { type: 'polygon', vertices };
}

function randomBox(_rand: () => number, ra: number, dec: number, size: number): Region {
  const half = Math.min(size, 10);
  const cosd = Math.max(Math.cos(dec * D2R), 0.02);
  const w = Math.min(170, half / cosd);
  const dec1 = Math.max(-89.9, dec - half);
  const dec2 = Math.min(89.9, dec + half);
  return boxRegion(ra - w, ra + w, dec1, Math.max(dec2, dec1 + 0.01));
}

function randomRegion(rand: () => number, ra: number, dec: number, size: number): Region {
  const k = rand();
  if (k < 0.35) return { type: 'circle', ra, dec, radius: size };
  if (k < 0.9) return randomPolygon(rand, ra, dec, size);
  return randomBox(rand, ra, dec, size);
}

const describe = (r: Region) =>
  r.type === 'circle'
    ? `CIRCLE ${r.ra} ${r.dec} ${r.radius}`
    : `POLYGON ${r.vertices.map(([a, d]) => `${a} ${d}`).join(' ')}`;

// ---------------------------------------------------------------- tests

test('separation agrees with haversine and Vincenty: tiny, large, antipodal, across RA 0/360, at the poles', () => {
  const rand = rng(1);
  for (let i = 0; i < 20000; i++) {
    const [ra1, dec1] = randomCentre(rand, places[i % 4]);
    let ra2: number;
    let dec2: number;
    const kind = i % 5;
    if (kind === 0)
      [ra2, dec2] = destination(ra1, dec1, rand() * 360, 10 ** (-9 + rand() * 9)); // tiny
    else if (kind === 1) [ra2, dec2] = destination(ra1, dec1, rand() * 360, 180 - 10 ** (-6 + rand() * 6));
    else [ra2, dec2] = randomCentre(rand, places[(i >> 2) % 4]);
    const s = separation(ra1, dec1, ra2, dec2);
    const v = vincenty(ra1, dec1, ra2, dec2);
    assert.ok(Math.abs(s - v) < 1e-10, `${ra1},${dec1} – ${ra2},${dec2}: ${s} vs Vincenty ${v}`);
    const h = haversine(ra1, dec1, ra2, dec2);
    // Haversine loses digits next to 180° (asin near 1); elsewhere it is a second exact reference.
    if (h < 170)
      assert.ok(Math.abs(s - h) < 1e-10, `${ra1},${dec1} – ${ra2},${dec2}: ${s} vs haversine ${h}`);
    assert.equal(s, separation(ra2, dec2, ra1, dec1));
    assert.ok(Math.abs(separation(ra1 + 360, dec1, ra2 - 720, dec2) - s) < 1e-10, 'RA is periodic');
  }
  assert.equal(separation(12, 33, 12, 33), 0);
  assert.ok(Math.abs(separation(0, 90, 123, 90)) < 1e-12, 'the pole is one point whatever its RA');
  for (const [ra1, dec1, ra2, dec2, d] of [
    [0, -90, 200, -89, 1],
    [359.9, 0, 0.1, 0, 0.2],
    [0, 0, 180, 0, 180],
    [10, 89.5, 190, 89.5, 1],
  ])
    assert.ok(Math.abs(separation(ra1, dec1, ra2, dec2) - d) < 1e-12, `${ra1},${dec1} – ${ra2},${dec2}`);
});

test('intersects agrees with a dense sampling truth: circle/circle, circle/polygon, polygon/polygon', () => {
  const rand = rng(2);
  const tally = { yes: 0, no: 0, close: 0 };
  const kinds = new Map<string, number>();
  for (let i = 0; i < 1000; i++) {
    const place = places[i % 4];
    const [ra1, dec1] = randomCentre(rand, place);
    const s1 = randomSize(rand, 0.005, 8);
    const s2 = randomSize(rand, 0.005, 8);
    // Second region at a distance around s1 + s2: overlapping, nested, touching and apart.
    const [ra2, dec2] = destination(ra1, dec1, rand() * 360, rand() * 1.4 * (s1 + s2));
    const a = randomRegion(rand, ra1, dec1, s1);
    const b = randomRegion(rand, ra2, dec2, s2);
    const t = truth(shape(a, 150, 40, rand), shape(b, 150, 40, rand));
    tally[t]++;
    if (t === 'close') continue;
    const kind = [a.type, b.type].sort().join('/');
    kinds.set(`${kind} ${t}`, (kinds.get(`${kind} ${t}`) ?? 0) + 1);
    const msg = `case ${i}: ${describe(a)} vs ${describe(b)} — truth ${t}`;
    assert.equal(intersects(a, b), t === 'yes', msg);
    assert.equal(intersects(b, a), t === 'yes', `${msg} (swapped)`);
  }
  assert.ok(tally.close < 0.05 * 1000, `too many undecidable cases: ${JSON.stringify(tally)}`);
  for (const kind of ['circle/circle', 'circle/polygon', 'polygon/polygon'])
    for (const t of ['yes', 'no'])
      assert.ok(
        (kinds.get(`${kind} ${t}`) ?? 0) >= 20,
        `few ${kind} ${t} cases: ${JSON.stringify([...kinds])}`,
      );
});

test('intersects: hand-made cases across RA 0/360, around the poles, nested and edge-crossing', () => {
  const meets = (a: Region, b: Region, why = '') => {
    assert.equal(intersects(a, b), true, `${describe(a)} meets ${describe(b)} ${why}`);
    assert.equal(intersects(b, a), true, `${describe(b)} meets ${describe(a)} ${why}`);
  };
  const apart = (a: Region, b: Region, why = '') => {
    assert.equal(intersects(a, b), false, `${describe(a)} misses ${describe(b)} ${why}`);
    assert.equal(intersects(b, a), false, `${describe(b)} misses ${describe(a)} ${why}`);
  };
  const sq = (ra: number, dec: number, h: number): Region => ({
    type: 'polygon',
    vertices: [
      [ra - h, dec - h],
      [ra + h, dec - h],
      [ra + h, dec + h],
      [ra - h, dec + h],
    ],
  });
  // Across RA 0: the same square written with RA 359.5…0.5 and −0.5…0.5.
  const across: Region = {
    type: 'polygon',
    vertices: [
      [359.5, -0.5],
      [0.5, -0.5],
      [0.5, 0.5],
      [359.5, 0.5],
    ],
  };
  meets(across, { type: 'circle', ra: 0, dec: 0, radius: 0 });
  meets(across, { type: 'circle', ra: 359.9, dec: 0.2, radius: 0 });
  meets(across, { type: 'circle', ra: 0.4, dec: -0.4, radius: 0 });
  apart(across, { type: 'circle', ra: 180, dec: 0, radius: 0 });
  apart(across, { type: 'circle', ra: 1, dec: 0, radius: 0.4 });
  meets(across, { type: 'circle', ra: 1, dec: 0, radius: 0.51 });
  meets(across, sq(0, 0, 0.1), 'nested');
  meets(sq(0, 0, 0.1), across, 'nested, the small one first');
  // Two thin bars crossing like a plus sign: no vertex of either is inside the other.
  const bar1: Region = {
    type: 'polygon',
    vertices: [
      [358, -0.1],
      [2, -0.1],
      [2, 0.1],
      [358, 0.1],
    ],
  };
  const bar2: Region = {
    type: 'polygon',
    vertices: [
      [-0.1, -2],
      [0.1, -2],
      [0.1, 2],
      [-0.1, 2],
    ],
  };
  meets(bar1, bar2);
  // A cap around the north pole as a polygon: contains the pole, whatever RA the pole is given.
  const cap: Region = {
    type: 'polygon',
    vertices: [0, 72, 144, 216, 288].map((ra) => [ra, 89.9] as [number, number]),
  };
  for (const ra of [0, 45, 123, 359.99])
    meets(cap, { type: 'circle', ra, dec: 90, radius: 0 }, `pole at RA ${ra}`);
  apart(cap, { type: 'circle', ra: 0, dec: -90, radius: 0 });
  apart(cap, { type: 'circle', ra: 10, dec: 89.8, radius: 0 });
  meets(cap, { type: 'circle', ra: 10, dec: 89.8, radius: 0.104 }); // the vertex at RA 0 is 0.1033° away
  apart(cap, { type: 'circle', ra: 10, dec: 89.8, radius: 0.102 });
  meets(cap, { type: 'circle', ra: 200, dec: 89, radius: 1.5 }, 'a cone over the pole');
  // A south-polar box (the pole is a vertex): points at the pole and just off it.
  const south = boxRegion(0, 90, -89.9, -90);
  meets(south, { type: 'circle', ra: 45, dec: -89.95, radius: 0 });
  apart(south, { type: 'circle', ra: 225, dec: -89.95, radius: 0 });
  // Circles touching across the pole.
  meets(
    { type: 'circle', ra: 0, dec: 89.5, radius: 0.3 },
    { type: 'circle', ra: 180, dec: 89.5, radius: 0.71 },
  );
  apart(
    { type: 'circle', ra: 0, dec: 89.5, radius: 0.3 },
    { type: 'circle', ra: 180, dec: 89.5, radius: 0.6 },
  );
});

const inRanges = (ranges: [number, number][], c: number) => {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (c < ranges[mid][0]) hi = mid - 1;
    else if (c > ranges[mid][1]) lo = mid + 1;
    else return true;
  }
  return false;
};

/** Checks the ranges are sorted, disjoint, merged and at the order. */
function assertWellFormed(order: number, ranges: [number, number][], msg: string) {
  const n = 12 * 4 ** order;
  for (const [i, [a, b]] of ranges.entries()) {
    assert.ok(Number.isInteger(a) && Number.isInteger(b) && a <= b && a >= 0 && b < n, `${msg}: bad range`);
    if (i > 0) assert.ok(a > ranges[i - 1][1] + 1, `${msg}: ranges not sorted and merged`);
  }
}

/** An order at which a region of this size spans at most a few thousand cells. */
const orderFor = (size: number) => Math.max(0, Math.min(12, Math.floor(Math.log2(58.6 / size)) + 3));

/**
 * Samples of a region: vertices, the boundary every 1/40 of a cell at `order` (so a cell the region
 * only clips at a corner is still hit), interior points, and the poles when the region holds them.
 */
function samples(region: Region, rand: () => number, order: number): [number, number][] {
  const s = shape(region, { step: 58.6 / 2 ** order / 40 }, 300, rand);
  const pts = [...s.boundary, ...s.interior].map(toLonLat);
  if (region.type === 'polygon') pts.push(...region.vertices);
  for (const pole of [90, -90]) if (s.contains(toV(0, pole))) pts.push([0, pole], [123.4, pole]);
  return pts;
}

test('regionRanges never misses a cell of a point in the region (random circles and polygons, RA 0/360, poles)', () => {
  const rand = rng(3);
  let checked = 0;
  for (let i = 0; i < 240; i++) {
    const [ra, dec] = randomCentre(rand, places[i % 4]);
    const size = randomSize(rand, 0.003, 6);
    const region = randomRegion(rand, ra, dec, size);
    const top = orderFor(size);
    const pts = samples(region, rand, Math.max(top, size < 3 ? STORE_ORDER : 0));
    for (const order of new Set([Math.max(0, top - 4), top, ...(size < 3 ? [STORE_ORDER] : [])])) {
      const ranges = regionRanges(order, region);
      const msg = `case ${i} order ${order}: ${describe(region)}`;
      assertWellFormed(order, ranges, msg);
      for (const [pra, pdec] of pts) {
        const cell = lonLatToCell(order, pra, pdec);
        assert.ok(inRanges(ranges, cell), `${msg}: misses ${pra},${pdec} (cell ${cell})`);
        checked++;
      }
    }
  }
  assert.ok(checked > 100000, `only ${checked} points checked`);
});

test('regionRanges: regions containing or touching the poles and straddling RA 0/360', () => {
  const rand = rng(4);
  const regions: Region[] = [
    { type: 'circle', ra: 0, dec: 89.9, radius: 0.1 }, // touches the pole
    { type: 'circle', ra: 77, dec: 89.9, radius: 0.25 }, // contains it
    { type: 'circle', ra: 359.95, dec: -89.9, radius: 0.1 },
    { type: 'circle', ra: 180, dec: -89.9, radius: 0.3 },
    { type: 'circle', ra: 0, dec: 90, radius: 0.05 },
    { type: 'circle', ra: 359.999, dec: 0, radius: 0.01 },
    { type: 'circle', ra: 0, dec: -45, radius: 1 },
    { type: 'polygon', vertices: [0, 90, 180, 270].map((a) => [a, 89.9] as [number, number]) },
    { type: 'polygon', vertices: [10, 130, 250].map((a) => [a, -89.9] as [number, number]) },
    // A vertex exactly at the pole, and one at 89.9.
    {
      type: 'polygon',
      vertices: [
        [0, 90],
        [350, 89],
        [10, 89],
      ],
    },
    {
      type: 'polygon',
      vertices: [
        [30, -89.9],
        [20, -89],
        [40, -89],
      ],
    },
    boxRegion(358, 2, -1, 1),
    boxRegion(-3, 3, 88, 89.9),
    boxRegion(0, 360, 85, 89.9), // a ring round the pole
    boxRegion(100, 190, -89.9, -88),
    boxRegion(359.9, 0.1, -89.9, -89),
    {
      type: 'polygon',
      vertices: [
        [359.7, 10],
        [0.3, 10],
        [0.3, 10.6],
        [359.7, 10.6],
      ],
    },
    {
      type: 'polygon',
      vertices: [
        [-0.3, 10],
        [0.3, 10],
        [0.3, 10.6],
        [-0.3, 10.6],
      ],
    },
  ];
  for (const [i, region] of regions.entries()) {
    const pts = samples(region, rand, 10);
    for (const order of [0, 3, 6, STORE_ORDER, 10]) {
      const ranges = regionRanges(order, region);
      const msg = `region ${i} order ${order}: ${describe(region)}`;
      assertWellFormed(order, ranges, msg);
      for (const [pra, pdec] of pts)
        assert.ok(inRanges(ranges, lonLatToCell(order, pra, pdec)), `${msg}: misses ${pra},${pdec}`);
    }
  }
  // The two spellings of the same square across RA 0 cover the same cells.
  assert.deepEqual(regionRanges(STORE_ORDER, regions[16]), regionRanges(STORE_ORDER, regions[17]));
});

test('regionRanges stays tight: a small region covers a few cells, not a whole face', () => {
  for (const [ra, dec] of [
    [0, 0],
    [359.99, 30],
    [45, 89.95],
    [200, -89.95],
  ]) {
    for (const region of [
      { type: 'circle', ra, dec, radius: 0.5 } as Region,
      randomPolygon(rng(5), ra, dec, 0.5),
    ]) {
      const cells = regionRanges(STORE_ORDER, region).reduce((s, [a, b]) => s + b - a + 1, 0);
      // A 1°-wide region spans ~15 cells of 0.23° across its area; allow the margins.
      assert.ok(cells > 0 && cells < 200, `${describe(region)}: ${cells} cells`);
    }
  }
});

test('observationCells: footprint cells hold every point of the footprint; positions; ALL_SKY', () => {
  const rand = rng(6);
  for (let i = 0; i < 120; i++) {
    const [ra, dec] = randomCentre(rand, places[i % 4]);
    const footprint = randomRegion(rand, ra, dec, randomSize(rand, 0.01, 2));
    const cells = new Set(observationCells(footprint, ra, dec));
    for (const [pra, pdec] of samples(footprint, rand, STORE_ORDER))
      assert.ok(
        cells.has(lonLatToCell(STORE_ORDER, pra, pdec)),
        `${describe(footprint)}: misses ${pra},${pdec}`,
      );
  }
  assert.deepEqual(observationCells(null, 359.9999, -89.99), [lonLatToCell(STORE_ORDER, 359.9999, -89.99)]);
  assert.deepEqual(observationCells(null, null, null), []);
  assert.deepEqual(observationCells({ type: 'circle', ra: 10, dec: 10, radius: 40 }, 10, 10), [ALL_SKY]);
  assert.deepEqual(observationCells(boxRegion(0, 120, -40, 40), 60, 0), [ALL_SKY]);
});

test('parseRegion reads ObsCore s_region polygons and circles, and refuses junk', () => {
  assert.deepEqual(parseRegion('POLYGON ICRS 359.5 -0.5 0.5 -0.5 0.5 0.5'), {
    type: 'polygon',
    vertices: [
      [359.5, -0.5],
      [0.5, -0.5],
      [0.5, 0.5],
    ],
  });
  assert.deepEqual(parseRegion('  circle icrs 10 -89.9 0.25 '), {
    type: 'circle',
    ra: 10,
    dec: -89.9,
    radius: 0.25,
  });
  assert.deepEqual(parseRegion('Polygon 1 2 3 4 5 6'), {
    type: 'polygon',
    vertices: [
      [1, 2],
      [3, 4],
      [5, 6],
    ],
  });
  assert.deepEqual(parseRegion('Polygon ICRS TOPOCENTER 1 2 3 4 5 6'), {
    type: 'polygon',
    vertices: [
      [1, 2],
      [3, 4],
      [5, 6],
    ],
  });
  for (const bad of [
    '',
    'POLYGON ICRS 1 2 3 4',
    'POLYGON ICRS 1 2 3 4 5',
    'CIRCLE ICRS 1 2',
    'BOX ICRS 1 2 3 4',
    'POLYGON ICRS 1 2 3 x 5 6',
  ])
    assert.equal(parseRegion(bad), null, bad);
});
