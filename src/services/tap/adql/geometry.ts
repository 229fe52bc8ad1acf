import { intersects, type Region } from '../../../catalog/sky.ts';
import {
  area,
  D2R,
  contains,
  dot,
  norm,
  plane,
  project,
  regionText,
  vec,
  type Vec,
} from '../../../catalog/sql-geometry.ts';

/**
 * ADQL geometry: the shapes POINT, CIRCLE, POLYGON (and BOX, a four-cornered polygon), the
 * predicates CONTAINS and INTERSECTS, DISTANCE and AREA, as SQL for SQLite and PostgreSQL.
 *
 * All in ICRS degrees with great-circle edges, computed on unit vectors so RA 0/360 and the poles
 * need no special cases (as src/catalog/sky.ts, which the index and search use). The cheap, common
 * cases are plain SQL expressions: a point in a circle (haversine), a point in a literal polygon
 * (the gnomonic even-odd rule with the polygon's projection computed here), circles against circles.
 * Everything else (a footprint column such as s_region, polygons built from columns) goes through
 * three SQL functions taking STC-S text — adql_intersects(a, b), adql_contains(a, b), adql_area(a) —
 * registered on SQLite by registerSqliteGeometry (in JS, with sky.ts) and created on PostgreSQL by
 * POSTGRES_GEOMETRY_FUNCTIONS (PL/pgSQL, the same algorithms).
 */

export type Dialect = 'sqlite' | 'postgres';

/** A numeric SQL operand, with its value when it is a constant. */
export interface Num {
  sql: string;
  lit?: number;
}

/** Where a shape comes from an observation-like table's indexed columns (for the HEALPix index). */
export interface Indexed {
  /** The SQL of the table's id column, qualified by its alias. */
  id: string;
}

export type Geo =
  | { kind: 'point'; ra: Num; dec: Num; indexed?: Indexed }
  | { kind: 'circle'; ra: Num; dec: Num; r: Num }
  | { kind: 'polygon'; v: [Num, Num][] }
  /** A column holding STC-S text (ObsCore s_region). */
  | { kind: 'region'; sql: string; indexed?: Indexed };

// ------------------------------------------------------------------ literal geometry (JS)

/** The shape as a sky.ts Region when every number in it is a constant (a point is a circle of 0). */
export function literalRegion(g: Geo): Region | undefined {
  const all = (ns: Num[]) => ns.every((n) => n.lit !== undefined);
  if (g.kind === 'point' && all([g.ra, g.dec]))
    return { type: 'circle', ra: g.ra.lit as number, dec: g.dec.lit as number, radius: 0 };
  if (g.kind === 'circle' && all([g.ra, g.dec, g.r]))
    return { type: 'circle', ra: g.ra.lit as number, dec: g.dec.lit as number, radius: g.r.lit as number };
  if (g.kind === 'polygon' && all(g.v.flat()))
    return { type: 'polygon', vertices: g.v.map(([a, d]) => [a.lit as number, d.lit as number]) };
  return undefined;
}

/** Why a literal shape cannot be used, or null: the geometry assumes polygons under a hemisphere. */
export function checkShape(r: Region): string | null {
  if (r.type === 'circle') {
    if (![r.ra, r.dec, r.radius].every(Number.isFinite) || Math.abs(r.dec) > 90) return 'invalid position';
    if (r.radius < 0) return 'a circle needs a radius of 0 or more';
    return null;
  }
  if (r.vertices.length < 3) return 'a polygon needs at least 3 vertices';
  if (!r.vertices.every(([a, d]) => Number.isFinite(a) && Number.isFinite(d) && Math.abs(d) <= 90))
    return 'polygon vertices must be finite RA, Dec in degrees';
  const v = r.vertices.map(([a, d]) => vec(a, d));
  const s = norm(v.reduce<Vec>((acc, x) => [acc[0] + x[0], acc[1] + x[1], acc[2] + x[2]], [0, 0, 0]));
  if (!s.every(Number.isFinite) || v.some((x) => dot(x, s) < 1e-6))
    return 'a polygon must be smaller than a hemisphere';
  return null;
}

export function num(n: number, dialect: Dialect): string {
  if (!Number.isFinite(n)) return 'NULL';
  const s = Number.isInteger(n) && Math.abs(n) < 1e15 ? `${n}.0` : String(n);
  return dialect === 'postgres' ? `CAST(${s} AS double precision)` : s;
}

const lower = (d: Dialect) => (d === 'sqlite' ? 'min' : 'least');

/** The haversine term sin²(Δdec/2) + cos dec1 cos dec2 sin²(ΔRA/2): stable for small and large separations. */
function haversine(ra1: Num, dec1: Num, ra2: Num, dec2: Num, d: Dialect): string {
  const cosDec = (x: Num) => (x.lit !== undefined ? num(Math.cos(x.lit * D2R), d) : `cos(radians(${x.sql}))`);
  const half = (a: Num, b: Num) =>
    a.lit !== undefined && b.lit !== undefined
      ? num(Math.sin(((b.lit - a.lit) * D2R) / 2), d)
      : `sin(radians((${b.sql}) - (${a.sql})) * 0.5)`;
  const sq = (x: string) => `power(${x}, 2)`;
  return `(${sq(half(dec1, dec2))} + ${cosDec(dec1)} * ${cosDec(dec2)} * ${sq(half(ra1, ra2))})`;
}

/** DISTANCE in degrees. */
export function distanceSql(ra1: Num, dec1: Num, ra2: Num, dec2: Num, d: Dialect): string {
  return `degrees(2 * asin(${lower(d)}(1.0, sqrt(${haversine(ra1, dec1, ra2, dec2, d)}))))`;
}

/** Is (ra, dec) within r degrees of the centre? Compares haversines, so no inverse trigonometry per row. */
function withinSql(ra: Num, dec: Num, c: { ra: Num; dec: Num }, r: Num, d: Dialect): string {
  const h = haversine(c.ra, c.dec, ra, dec, d);
  if (r.lit !== undefined) {
    if (r.lit >= 180) return `(${h} IS NOT NULL)`;
    if (r.lit < 0) return `(${h} IS NULL AND ${h} IS NOT NULL)`;
    return `(${h} <= ${num(Math.sin((r.lit * D2R) / 2) ** 2, d)})`;
  }
  return `(${distanceSql(c.ra, c.dec, ra, dec, d)} <= (${r.sql}))`;
}

/**
 * Is (ra, dec) inside the literal polygon? The point's unit vector is projected gnomonically about
 * the polygon's centre (great circles become straight lines) and the even-odd rule counts the edges
 * crossed, each edge reduced here to constants: crossed when lo ≤ py < hi and px < a + b·py.
 */
function inPolygonSql(ra: Num, dec: Num, vertices: [number, number][], d: Dialect): string {
  const p = plane(vertices);
  const pts = vertices.map(([a, dd]) => project(p, vec(a, dd)));
  const n = (x: number) => num(x, d);
  const terms: string[] = [];
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i];
    const [xj, yj] = pts[j];
    if (yi === yj) continue; // a horizontal edge is never crossed by the even-odd ray
    const b = (xj - xi) / (yj - yi);
    const a = xi - b * yi;
    terms.push(
      `CASE WHEN g.py >= ${n(Math.min(yi, yj))} AND g.py < ${n(Math.max(yi, yj))} AND g.px < ${n(a)} + ${n(b)} * g.py THEN 1 ELSE 0 END`,
    );
  }
  const [cx, cy, cz] = p.centre;
  const [ex, ey, ez] = p.east;
  const [nx, ny, nz] = p.north;
  const v = `SELECT cos(radians(${dec.sql})) * cos(radians(${ra.sql})) AS x, cos(radians(${dec.sql})) * sin(radians(${ra.sql})) AS y, sin(radians(${dec.sql})) AS z`;
  const w = `SELECT v.x * ${n(cx)} + v.y * ${n(cy)} + v.z * ${n(cz)} AS k, v.x, v.y, v.z FROM (${v}) AS v`;
  const k = 'CASE WHEN w.k > 0 THEN w.k END';
  const gq = `SELECT w.k, (w.x * ${n(ex)} + w.y * ${n(ey)} + w.z * ${n(ez)}) / ${k} AS px, (w.x * ${n(nx)} + w.y * ${n(ny)} + w.z * ${n(nz)}) / ${k} AS py FROM (${w}) AS w`;
  const sum = terms.length ? terms.join(' + ') : '0';
  return `(SELECT CASE WHEN g.k IS NULL THEN NULL WHEN g.k > 0 THEN (${sum}) % 2 = 1 ELSE ${d === 'sqlite' ? '0' : 'false'} END FROM (${gq}) AS g)`;
}

/** STC-S text of a shape, as SQL (built by concatenation when its numbers are columns). */
export function textSql(g: Geo, d: Dialect): string {
  if (g.kind === 'region') return g.sql;
  const lit = literalRegion(g);
  if (lit) return `'${regionText(lit)}'`;
  const t = (x: Num) =>
    x.lit !== undefined ? `'${x.lit}'` : `CAST(${x.sql} AS ${d === 'sqlite' ? 'TEXT' : 'text'})`;
  const parts =
    g.kind === 'point'
      ? ["'POSITION ICRS '", t(g.ra), t(g.dec)]
      : g.kind === 'circle'
        ? ["'CIRCLE ICRS '", t(g.ra), t(g.dec), t(g.r)]
        : ["'POLYGON ICRS '", ...g.v.flatMap(([a, dd]) => [t(a), t(dd)])];
  return `(${parts[0]} || ${parts.slice(1).join(" || ' ' || ")})`;
}

/** A boolean SQL condition (or a constant) for CONTAINS(a, b) / INTERSECTS(a, b). */
export function predicateSql(op: 'CONTAINS' | 'INTERSECTS', a: Geo, b: Geo, d: Dialect): string | boolean {
  const la = literalRegion(a);
  const lb = literalRegion(b);
  if (la && lb) return op === 'CONTAINS' ? contains(la, lb) : intersects(la, lb);
  // A point against a circle or a literal polygon, either way round for INTERSECTS: plain SQL.
  const pointIn = (p: Geo, s: Geo, sl: Region | undefined): string | undefined => {
    if (p.kind !== 'point') return undefined;
    if (s.kind === 'circle') return withinSql(p.ra, p.dec, s, s.r, d);
    if (sl?.type === 'polygon') return inPolygonSql(p.ra, p.dec, sl.vertices, d);
    return undefined;
  };
  const direct = pointIn(a, b, lb) ?? (op === 'INTERSECTS' ? pointIn(b, a, la) : undefined);
  if (direct) return direct;
  if (a.kind === 'circle' && b.kind === 'circle') {
    const dist = distanceSql(a.ra, a.dec, b.ra, b.dec, d);
    return op === 'INTERSECTS'
      ? `(${dist} <= (${a.r.sql}) + (${b.r.sql}))`
      : `(${dist} + (${a.r.sql}) <= (${b.r.sql}))`;
  }
  return `(adql_${op.toLowerCase()}(${textSql(a, d)}, ${textSql(b, d)}) = 1)`;
}

/** AREA in square degrees. */
export function areaSql(g: Geo, d: Dialect): string {
  const lit = literalRegion(g);
  if (lit) return num(area(lit), d);
  if (g.kind === 'point') return num(0, d);
  if (g.kind === 'circle')
    return `(2 * pi() * (1 - cos(radians(${g.r.sql}))) * ${num((180 / Math.PI) ** 2, d)})`;
  return `adql_area(${textSql(g, d)})`;
}

export { POSTGRES_GEOMETRY_FUNCTIONS, registerSqliteGeometry } from '../../../catalog/sql-geometry.ts';
