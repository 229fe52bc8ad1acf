import { intersects, parseRegion, type Region } from './sky.ts';

/**
 * Exact sky geometry for SQL: shapes as STC-S text (POINT/POSITION, CIRCLE, BOX, POLYGON in ICRS
 * degrees, great-circle edges) tested on unit vectors, as src/catalog/sky.ts does, so RA 0/360 and
 * the poles need no special cases. The functions ADQL translations call — adql_intersects(a, b),
 * adql_contains(a, b), adql_area(a) — are registered on SQLite connections (the query process)
 * by registerSqliteGeometry, and created in PostgreSQL by POSTGRES_GEOMETRY_FUNCTIONS (PL/pgSQL,
 * the same algorithms, installed by a migration).
 */

export const D2R = Math.PI / 180;
export type Vec = [number, number, number];

export function vec(ra: number, dec: number): Vec {
  const a = ra * D2R;
  const d = dec * D2R;
  return [Math.cos(d) * Math.cos(a), Math.cos(d) * Math.sin(a), Math.sin(d)];
}
export const dot = (a: Vec, b: Vec) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const cross = (a: Vec, b: Vec): Vec => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];
export const norm = (a: Vec): Vec => {
  const n = Math.hypot(a[0], a[1], a[2]);
  return [a[0] / n, a[1] / n, a[2] / n];
};
export const angle = (a: Vec, b: Vec) => Math.atan2(Math.hypot(...cross(a, b)), dot(a, b)) / D2R;

/** A polygon's centre and tangent-plane basis; sky.ts keeps its own private, this one is for SQL. */
export interface Plane {
  centre: Vec;
  east: Vec;
  north: Vec;
}
export function plane(vertices: [number, number][]): Plane {
  const v = vertices.map(([a, d]) => vec(a, d));
  const centre = norm(v.reduce<Vec>((s, x) => [s[0] + x[0], s[1] + x[1], s[2] + x[2]], [0, 0, 0]));
  const east = norm(Math.abs(centre[2]) < 0.99 ? cross([0, 0, 1], centre) : cross([0, 1, 0], centre));
  return { centre, east, north: cross(centre, east) };
}
export function project(p: Plane, x: Vec): [number, number] {
  const k = dot(x, p.centre);
  return [dot(x, p.east) / k, dot(x, p.north) / k];
}
export function insidePolygon(vertices: [number, number][], x: Vec): boolean {
  const p = plane(vertices);
  if (dot(x, p.centre) <= 0) return false;
  const [px, py] = project(p, x);
  const pts = vertices.map(([a, d]) => project(p, vec(a, d)));
  let odd = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i];
    const [xj, yj] = pts[j];
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) odd = !odd;
  }
  return odd;
}
/** Distance in degrees from p to the great-circle arc a–b. */
export function arcDistance(p: Vec, a: Vec, b: Vec): number {
  const n = norm(cross(a, b));
  const s = dot(p, n);
  const q: Vec = [p[0] - s * n[0], p[1] - s * n[1], p[2] - s * n[2]];
  if (dot(cross(a, q), n) >= 0 && dot(cross(q, b), n) >= 0 && dot(q, q) > 1e-30)
    return Math.asin(Math.min(1, Math.abs(s))) / D2R;
  return Math.min(angle(p, a), angle(p, b));
}
export const edgesOf = (vs: [number, number][]): [Vec, Vec][] =>
  vs.map((x, i) => [vec(x[0], x[1]), vec(vs[(i + 1) % vs.length][0], vs[(i + 1) % vs.length][1])]);

/** Does `a` lie within `b`? (ADQL CONTAINS(a, b).) */
export function contains(a: Region, b: Region): boolean {
  if (a.type === 'circle' && a.radius === 0) return intersects(b, a);
  if (b.type === 'circle') {
    const c = vec(b.ra, b.dec);
    if (a.type === 'circle') return angle(vec(a.ra, a.dec), c) + a.radius <= b.radius;
    // A cap no larger than a hemisphere is convex: holding the vertices, it holds the edges.
    return a.vertices.every(([ra, dec]) => angle(vec(ra, dec), c) <= b.radius);
  }
  if (a.type === 'circle') {
    const c = vec(a.ra, a.dec);
    return (
      insidePolygon(b.vertices, c) && edgesOf(b.vertices).every(([p, q]) => arcDistance(c, p, q) >= a.radius)
    );
  }
  // Polygon in polygon: every vertex of a inside b, and b's boundary nowhere inside a.
  if (!a.vertices.every(([ra, dec]) => intersects(b, { type: 'circle', ra, dec, radius: 0 }))) return false;
  if (b.vertices.some(([ra, dec]) => insidePolygon(a.vertices, vec(ra, dec)))) return false;
  const ea = edgesOf(a.vertices);
  const eb = edgesOf(b.vertices);
  return !ea.some(([p, q]) => eb.some(([r, s]) => properCross(p, q, r, s)));
}
export function properCross(a: Vec, b: Vec, c: Vec, d: Vec): boolean {
  const n1 = cross(a, b);
  const n2 = cross(c, d);
  const s1 = Math.sign(dot(n1, c));
  const s2 = Math.sign(dot(n1, d));
  const s3 = Math.sign(dot(n2, a));
  const s4 = Math.sign(dot(n2, b));
  if (s1 * s2 >= 0 || s3 * s4 >= 0) return false;
  const x = cross(n1, n2);
  return Math.sign(dot(x, a) + dot(x, b)) === Math.sign(dot(x, c) + dot(x, d));
}

/** Area in square degrees: a cap's, or a polygon's spherical excess (fan of signed triangles). */
export function area(r: Region): number {
  const SQDEG = (180 / Math.PI) ** 2;
  if (r.type === 'circle') return 2 * Math.PI * (1 - Math.cos(r.radius * D2R)) * SQDEG;
  const c = plane(r.vertices).centre;
  let total = 0;
  for (const [a, b] of edgesOf(r.vertices)) {
    // Van Oosterom & Strackee (1983): tan(E/2) = a·(b×c) / (1 + a·b + b·c + c·a).
    total += 2 * Math.atan2(dot(c, cross(a, b)), 1 + dot(c, a) + dot(a, b) + dot(b, c));
  }
  return Math.abs(total) * SQDEG;
}

/** Parses STC-S / DALI text: POSITION/POINT, CIRCLE, POLYGON, BOX (frame words skipped). */
export function parseShape(text: string): Region | null {
  const words = text.trim().split(/\s+/);
  const shape = words[0]?.toUpperCase();
  if (shape === 'POSITION' || shape === 'POINT' || shape === 'BOX') {
    const n = words
      .slice(1)
      .filter((w) => !/^[A-Za-z]/.test(w))
      .map(Number);
    if (n.some((x) => !Number.isFinite(x))) return null;
    if (shape !== 'BOX' && n.length === 2) return { type: 'circle', ra: n[0], dec: n[1], radius: 0 };
    if (shape === 'BOX' && n.length === 4) return boxPolygon(n[0], n[1], n[2], n[3]);
    return null;
  }
  return parseRegion(text);
}

/**
 * BOX(ra, dec, width, height): ADQL 2.0 defines a box as the polygon of its four corners, with
 * great-circle sides; the corners are offset by half the width in RA and half the height in Dec.
 */
export function boxPolygon(ra: number, dec: number, w: number, h: number): Region {
  return {
    type: 'polygon',
    vertices: [
      [ra - w / 2, dec - h / 2],
      [ra + w / 2, dec - h / 2],
      [ra + w / 2, dec + h / 2],
      [ra - w / 2, dec + h / 2],
    ],
  };
}

/** STC-S text of a literal region (full precision: JS prints the shortest exact decimal). */
export function regionText(r: Region): string {
  if (r.type === 'circle')
    return r.radius === 0 ? `POSITION ICRS ${r.ra} ${r.dec}` : `CIRCLE ICRS ${r.ra} ${r.dec} ${r.radius}`;
  return `POLYGON ICRS ${r.vertices.map(([a, d]) => `${a} ${d}`).join(' ')}`;
}

// ------------------------------------------------------------------ SQL

/** A literal number for SQL, typed as a double on both engines (a bare 1.5 is numeric on PostgreSQL). */
// ------------------------------------------------------------------ engine functions

/** The part of better-sqlite3's Database this needs (so this module does not import the driver). */
interface FunctionHost {
  function(name: string, options: { deterministic: boolean }, fn: (...args: unknown[]) => unknown): unknown;
}

/**
 * Registers adql_intersects, adql_contains and adql_area on a SQLite connection (the query child
 * does this before running a translated query). Unparseable or NULL text gives NULL.
 */
export function registerSqliteGeometry(db: FunctionHost): void {
  const shape = (x: unknown) => (typeof x === 'string' ? parseShape(x) : null);
  const predicate = (fn: (a: Region, b: Region) => boolean) => (a: unknown, b: unknown) => {
    const ra = shape(a);
    const rb = shape(b);
    return ra && rb ? (fn(ra, rb) ? 1 : 0) : null;
  };
  db.function('adql_intersects', { deterministic: true }, predicate(intersects));
  db.function('adql_contains', { deterministic: true }, predicate(contains));
  db.function('adql_area', { deterministic: true }, (a: unknown) => {
    const r = shape(a);
    return r ? area(r) : null;
  });
}

/**
 * PL/pgSQL twins of the SQLite functions, for a migration (or a test) to run once per database.
 * Shapes are parsed into float8 arrays: [0, ra, dec] a point, [1, ra, dec, r] a circle,
 * [2, ra1, dec1, …] a polygon. The algorithms are sky.ts's (unit vectors, gnomonic even-odd rule,
 * arc distances, arc crossings).
 */
export const POSTGRES_GEOMETRY_FUNCTIONS: string[] = [
  `CREATE OR REPLACE FUNCTION adql_shape(t text) RETURNS float8[] LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE w text[]; nums float8[] := '{}'; shape text; i int;
BEGIN
  w := regexp_split_to_array(btrim(t), '\\s+');
  shape := upper(w[1]);
  FOR i IN 2 .. coalesce(array_length(w, 1), 0) LOOP
    CONTINUE WHEN w[i] ~ '^[A-Za-z]';
    BEGIN nums := nums || w[i]::float8; EXCEPTION WHEN others THEN RETURN NULL; END;
  END LOOP;
  IF shape IN ('POSITION', 'POINT') AND array_length(nums, 1) = 2 THEN RETURN ARRAY[0::float8] || nums; END IF;
  IF shape = 'CIRCLE' AND array_length(nums, 1) = 3 THEN RETURN ARRAY[1::float8] || nums; END IF;
  IF shape = 'BOX' AND array_length(nums, 1) = 4 THEN
    RETURN ARRAY[2::float8, nums[1] - nums[3] / 2, nums[2] - nums[4] / 2, nums[1] + nums[3] / 2, nums[2] - nums[4] / 2,
      nums[1] + nums[3] / 2, nums[2] + nums[4] / 2, nums[1] - nums[3] / 2, nums[2] + nums[4] / 2];
  END IF;
  IF shape = 'POLYGON' AND array_length(nums, 1) >= 6 AND array_length(nums, 1) % 2 = 0 THEN RETURN ARRAY[2::float8] || nums; END IF;
  RETURN NULL;
END $$`,
  // (DEC is a type name in PostgreSQL, hence lon/lat.)
  `CREATE OR REPLACE FUNCTION adql_vec(lon float8, lat float8) RETURNS float8[] LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT ARRAY[cos(radians(lat)) * cos(radians(lon)), cos(radians(lat)) * sin(radians(lon)), sin(radians(lat))] $$`,
  `CREATE OR REPLACE FUNCTION adql_dot(a float8[], b float8[]) RETURNS float8 LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT a[1] * b[1] + a[2] * b[2] + a[3] * b[3] $$`,
  `CREATE OR REPLACE FUNCTION adql_cross(a float8[], b float8[]) RETURNS float8[] LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT ARRAY[a[2] * b[3] - a[3] * b[2], a[3] * b[1] - a[1] * b[3], a[1] * b[2] - a[2] * b[1]] $$`,
  `CREATE OR REPLACE FUNCTION adql_norm(a float8[]) RETURNS float8[] LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT ARRAY[a[1] / n, a[2] / n, a[3] / n] FROM (SELECT sqrt(a[1] * a[1] + a[2] * a[2] + a[3] * a[3]) AS n) s $$`,
  `CREATE OR REPLACE FUNCTION adql_angle(a float8[], b float8[]) RETURNS float8 LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT degrees(atan2(sqrt(adql_dot(c, c)), adql_dot(a, b))) FROM (SELECT adql_cross(a, b) AS c) s $$`,
  // Vertex i of a parsed polygon (1-based, wrapping) as a unit vector.
  `CREATE OR REPLACE FUNCTION adql_vertex(s float8[], i int) RETURNS float8[] LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT adql_vec(s[2 + 2 * ((i - 1) % ((array_length(s, 1) - 1) / 2))], s[3 + 2 * ((i - 1) % ((array_length(s, 1) - 1) / 2))]) $$`,
  `CREATE OR REPLACE FUNCTION adql_inside(s float8[], p float8[]) RETURNS boolean LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE n int := (array_length(s, 1) - 1) / 2; c float8[] := ARRAY[0, 0, 0]; v float8[]; e float8[]; no float8[];
  xs float8[] := '{}'; ys float8[] := '{}'; k float8; px float8; py float8; odd boolean := false; i int; j int;
BEGIN
  FOR i IN 1 .. n LOOP v := adql_vertex(s, i); c := ARRAY[c[1] + v[1], c[2] + v[2], c[3] + v[3]]; END LOOP;
  c := adql_norm(c);
  IF abs(c[3]) < 0.99 THEN e := adql_norm(adql_cross(ARRAY[0, 0, 1]::float8[], c));
  ELSE e := adql_norm(adql_cross(ARRAY[0, 1, 0]::float8[], c)); END IF;
  no := adql_cross(c, e);
  k := adql_dot(p, c);
  IF k <= 0 THEN RETURN false; END IF;
  px := adql_dot(p, e) / k; py := adql_dot(p, no) / k;
  FOR i IN 1 .. n LOOP
    v := adql_vertex(s, i); k := adql_dot(v, c);
    xs := xs || adql_dot(v, e) / k; ys := ys || adql_dot(v, no) / k;
  END LOOP;
  j := n;
  FOR i IN 1 .. n LOOP
    IF (ys[i] > py) <> (ys[j] > py) AND px < (xs[j] - xs[i]) * (py - ys[i]) / (ys[j] - ys[i]) + xs[i] THEN odd := NOT odd; END IF;
    j := i;
  END LOOP;
  RETURN odd;
END $$`,
  `CREATE OR REPLACE FUNCTION adql_arc_distance(p float8[], a float8[], b float8[]) RETURNS float8 LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE n float8[] := adql_norm(adql_cross(a, b)); s float8; q float8[];
BEGIN
  s := adql_dot(p, n);
  q := ARRAY[p[1] - s * n[1], p[2] - s * n[2], p[3] - s * n[3]];
  IF adql_dot(adql_cross(a, q), n) >= 0 AND adql_dot(adql_cross(q, b), n) >= 0 AND adql_dot(q, q) > 1e-30 THEN
    RETURN degrees(asin(least(1, abs(s))));
  END IF;
  RETURN least(adql_angle(p, a), adql_angle(p, b));
END $$`,
  // strict: true for a proper crossing only (CONTAINS); otherwise sky.ts's arcsCross (INTERSECTS).
  `CREATE OR REPLACE FUNCTION adql_arcs_cross(a float8[], b float8[], c float8[], d float8[], strict boolean) RETURNS boolean LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE n1 float8[] := adql_cross(a, b); n2 float8[] := adql_cross(c, d); x float8[];
  s1 float8; s2 float8; s3 float8; s4 float8;
BEGIN
  s1 := sign(adql_dot(n1, c)); s2 := sign(adql_dot(n1, d)); s3 := sign(adql_dot(n2, a)); s4 := sign(adql_dot(n2, b));
  IF strict AND (s1 * s2 >= 0 OR s3 * s4 >= 0) THEN RETURN false; END IF;
  IF NOT strict AND (s1 = s2 OR s3 = s4) THEN RETURN false; END IF;
  x := adql_cross(n1, n2);
  RETURN sign(adql_dot(x, a) + adql_dot(x, b)) = sign(adql_dot(x, c) + adql_dot(x, d));
END $$`,
  // Does the disc (centre p, radius r) touch polygon s?
  `CREATE OR REPLACE FUNCTION adql_disc_touches(s float8[], p float8[], r float8) RETURNS boolean LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE n int := (array_length(s, 1) - 1) / 2; i int;
BEGIN
  IF adql_inside(s, p) THEN RETURN true; END IF;
  FOR i IN 1 .. n LOOP
    IF adql_arc_distance(p, adql_vertex(s, i), adql_vertex(s, i + 1)) <= r THEN RETURN true; END IF;
  END LOOP;
  RETURN false;
END $$`,
  `CREATE OR REPLACE FUNCTION adql_meets(a float8[], b float8[]) RETURNS boolean LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE ra float8; rb float8; na int; nb int; i int; j int;
BEGIN
  ra := CASE a[1] WHEN 0 THEN 0 WHEN 1 THEN a[4] END;
  rb := CASE b[1] WHEN 0 THEN 0 WHEN 1 THEN b[4] END;
  IF a[1] < 2 AND b[1] < 2 THEN RETURN adql_angle(adql_vec(a[2], a[3]), adql_vec(b[2], b[3])) <= ra + rb; END IF;
  IF a[1] < 2 THEN RETURN adql_disc_touches(b, adql_vec(a[2], a[3]), ra); END IF;
  IF b[1] < 2 THEN RETURN adql_disc_touches(a, adql_vec(b[2], b[3]), rb); END IF;
  na := (array_length(a, 1) - 1) / 2; nb := (array_length(b, 1) - 1) / 2;
  FOR i IN 1 .. na LOOP IF adql_inside(b, adql_vertex(a, i)) THEN RETURN true; END IF; END LOOP;
  FOR i IN 1 .. nb LOOP IF adql_inside(a, adql_vertex(b, i)) THEN RETURN true; END IF; END LOOP;
  FOR i IN 1 .. na LOOP FOR j IN 1 .. nb LOOP
    IF adql_arcs_cross(adql_vertex(a, i), adql_vertex(a, i + 1), adql_vertex(b, j), adql_vertex(b, j + 1), false) THEN RETURN true; END IF;
  END LOOP; END LOOP;
  RETURN false;
END $$`,
  `CREATE OR REPLACE FUNCTION adql_within(a float8[], b float8[]) RETURNS boolean LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE na int; nb int; i int; j int; c float8[];
BEGIN
  IF a[1] = 0 THEN RETURN adql_meets(b, a); END IF;
  IF b[1] = 1 THEN
    c := adql_vec(b[2], b[3]);
    IF a[1] = 1 THEN RETURN adql_angle(adql_vec(a[2], a[3]), c) + a[4] <= b[4]; END IF;
    na := (array_length(a, 1) - 1) / 2;
    FOR i IN 1 .. na LOOP IF adql_angle(adql_vertex(a, i), c) > b[4] THEN RETURN false; END IF; END LOOP;
    RETURN true;
  END IF;
  IF b[1] = 0 THEN RETURN false; END IF;
  nb := (array_length(b, 1) - 1) / 2;
  IF a[1] = 1 THEN
    c := adql_vec(a[2], a[3]);
    IF NOT adql_inside(b, c) THEN RETURN false; END IF;
    FOR i IN 1 .. nb LOOP
      IF adql_arc_distance(c, adql_vertex(b, i), adql_vertex(b, i + 1)) < a[4] THEN RETURN false; END IF;
    END LOOP;
    RETURN true;
  END IF;
  na := (array_length(a, 1) - 1) / 2;
  FOR i IN 1 .. na LOOP IF NOT adql_disc_touches(b, adql_vertex(a, i), 0) THEN RETURN false; END IF; END LOOP;
  FOR i IN 1 .. nb LOOP IF adql_inside(a, adql_vertex(b, i)) THEN RETURN false; END IF; END LOOP;
  FOR i IN 1 .. na LOOP FOR j IN 1 .. nb LOOP
    IF adql_arcs_cross(adql_vertex(a, i), adql_vertex(a, i + 1), adql_vertex(b, j), adql_vertex(b, j + 1), true) THEN RETURN false; END IF;
  END LOOP; END LOOP;
  RETURN true;
END $$`,
  `CREATE OR REPLACE FUNCTION adql_intersects(a text, b text) RETURNS integer LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT CASE WHEN adql_meets(adql_shape(a), adql_shape(b)) THEN 1 ELSE 0 END $$`,
  `CREATE OR REPLACE FUNCTION adql_contains(a text, b text) RETURNS integer LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT CASE WHEN adql_within(adql_shape(a), adql_shape(b)) THEN 1 ELSE 0 END $$`,
  `CREATE OR REPLACE FUNCTION adql_area(a text) RETURNS float8 LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE s float8[] := adql_shape(a); n int; c float8[] := ARRAY[0, 0, 0]; v float8[]; w float8[]; total float8 := 0; i int;
BEGIN
  IF s IS NULL THEN RETURN NULL; END IF;
  IF s[1] = 0 THEN RETURN 0; END IF;
  IF s[1] = 1 THEN RETURN 2 * pi() * (1 - cos(radians(s[4]))) * (180 / pi()) ^ 2; END IF;
  n := (array_length(s, 1) - 1) / 2;
  FOR i IN 1 .. n LOOP v := adql_vertex(s, i); c := ARRAY[c[1] + v[1], c[2] + v[2], c[3] + v[3]]; END LOOP;
  c := adql_norm(c);
  FOR i IN 1 .. n LOOP
    v := adql_vertex(s, i); w := adql_vertex(s, i + 1);
    total := total + 2 * atan2(adql_dot(c, adql_cross(v, w)), 1 + adql_dot(c, v) + adql_dot(v, w) + adql_dot(w, c));
  END LOOP;
  RETURN abs(total) * (180 / pi()) ^ 2;
END $$`,
];
