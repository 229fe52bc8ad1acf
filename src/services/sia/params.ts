/**
 * SIA 2.0 and Simple Cone Search as what they are: parameter-to-WHERE mappings over ivoa.obscore.
 * Each request becomes one ADQL query, run by the TAP machinery (so the HEALPix index, the caller's
 * visibility and the ObsCore column metadata are the same for every protocol).
 *
 * SIA 2.0: every parameter may repeat; values of one parameter are ORed, different parameters ANDed.
 * Numeric intervals are `lo hi` with -Inf/+Inf; a single number is an interval of width 0.
 */

export class UsageFault extends Error {
  override name = 'UsageFault';
}

export type Params = Record<string, string[]>;

/** Query-string or form values by upper-case name (DALI parameter names are case-insensitive). */
export function collectParams(entries: Iterable<[string, string]>): Params {
  const out: Params = {};
  for (const [k, v] of entries) (out[k.toUpperCase()] ??= []).push(v);
  return out;
}

const num = (text: string, what: string): number => {
  const t = text.trim();
  if (/^[+]?inf(inity)?$/i.test(t)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/i.test(t)) return Number.NEGATIVE_INFINITY;
  const n = Number(t);
  if (t === '' || Number.isNaN(n)) throw new UsageFault(`${what}: ${JSON.stringify(text)} is not a number`);
  return n;
};

/** An ADQL numeric literal (finite; infinite bounds are dropped by the callers). */
const lit = (n: number) => {
  if (!Number.isFinite(n)) throw new UsageFault(`${n} cannot be a bound here`);
  return String(n);
};

export const adqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

function words(text: string): string[] {
  return text.trim().split(/\s+/).filter(Boolean);
}

/** `lo hi` (or one value) → [lo, hi]. */
export function interval(text: string, what: string): [number, number] {
  const w = words(text);
  if (w.length === 1) {
    const v = num(w[0], what);
    return [v, v];
  }
  if (w.length !== 2) throw new UsageFault(`${what}: expected "lo hi", got ${JSON.stringify(text)}`);
  const lo = num(w[0], what);
  const hi = num(w[1], what);
  if (lo > hi) throw new UsageFault(`${what}: lower bound ${lo} is above upper bound ${hi}`);
  return [lo, hi];
}

const checkLat = (d: number, what: string) => {
  if (!(d >= -90 && d <= 90)) throw new UsageFault(`${what}: declination ${d} is outside -90…90`);
};

/** A SIA POS value as an ADQL geometry (or null: the whole sky). */
export function posGeometry(text: string): string | null {
  const [shape, ...rest] = words(text);
  const n = rest.map((w) => num(w, `POS ${shape}`));
  switch ((shape ?? '').toUpperCase()) {
    case 'CIRCLE': {
      if (n.length !== 3)
        throw new UsageFault(`POS CIRCLE needs "ra dec radius", got ${JSON.stringify(text)}`);
      const [ra, dec, r] = n;
      checkLat(dec, 'POS CIRCLE');
      if (!(r > 0 && r <= 180)) throw new UsageFault(`POS CIRCLE: radius ${r} must be in (0, 180] degrees`);
      return `CIRCLE('ICRS', ${lit(ra)}, ${lit(dec)}, ${lit(r)})`;
    }
    case 'RANGE': {
      if (n.length !== 4)
        throw new UsageFault(`POS RANGE needs "ra1 ra2 dec1 dec2", got ${JSON.stringify(text)}`);
      let [ra1, ra2, dec1, dec2] = n;
      if (ra1 > ra2 || dec1 > dec2)
        throw new UsageFault('POS RANGE: each lower bound must not exceed its upper bound');
      ra1 = Math.max(ra1, 0);
      ra2 = Math.min(ra2, 360);
      dec1 = Math.max(dec1, -90);
      dec2 = Math.min(dec2, 90);
      if (ra2 - ra1 >= 360 && dec1 <= -90 && dec2 >= 90) return null;
      return rangePolygon(ra1, ra2, dec1, dec2);
    }
    case 'POLYGON': {
      if (n.length < 6 || n.length % 2)
        throw new UsageFault(`POS POLYGON needs at least 3 "ra dec" pairs, got ${JSON.stringify(text)}`);
      for (let i = 1; i < n.length; i += 2) checkLat(n[i], 'POS POLYGON');
      return `POLYGON('ICRS', ${n.map(lit).join(', ')})`;
    }
    default:
      throw new UsageFault(`POS: unknown shape ${JSON.stringify(shape ?? '')} (CIRCLE, RANGE or POLYGON)`);
  }
}

/**
 * A RANGE as a polygon. Its RA edges follow parallels, which great-circle edges do not: they are
 * cut into pieces of at most 5 degrees so the polygon stays within a small fraction of a degree of
 * the range. A range touching a pole becomes a cap.
 */
function rangePolygon(ra1: number, ra2: number, dec1: number, dec2: number): string {
  if (ra2 - ra1 >= 180)
    throw new UsageFault(
      'POS RANGE: an RA span of 180 degrees or more cannot be searched as one region; split it',
    );
  const steps = Math.max(1, Math.ceil((ra2 - ra1) / 5));
  const along = (dec: number, from: number, to: number) =>
    Array.from({ length: steps + 1 }, (_, i) => [from + ((to - from) * i) / steps, dec]);
  const pts = [...along(dec1, ra1, ra2), ...along(dec2, ra2, ra1)];
  return `POLYGON('ICRS', ${pts.flat().map(lit).join(', ')})`;
}

/** ORs the conditions of one parameter's values; ANDs are done by the caller. */
const anyOf = (conds: string[]) => (conds.length === 1 ? conds[0] : `(${conds.join(' OR ')})`);

/** `column` within [lo, hi] for a value column, with open ends dropped. */
function within(column: string, [lo, hi]: [number, number]): string | null {
  const c: string[] = [];
  if (Number.isFinite(lo)) c.push(`${column} >= ${lit(lo)}`);
  if (Number.isFinite(hi)) c.push(`${column} <= ${lit(hi)}`);
  return c.length ? `(${c.join(' AND ')})` : null;
}

/** An interval column pair [min, max] overlapping [lo, hi]. */
function overlaps(min: string, max: string, [lo, hi]: [number, number]): string | null {
  const c: string[] = [];
  if (Number.isFinite(hi)) c.push(`${min} <= ${lit(hi)}`);
  if (Number.isFinite(lo)) c.push(`${max} >= ${lit(lo)}`);
  return c.length ? `(${c.join(' AND ')})` : null;
}

const NUMERIC: Record<string, (v: [number, number]) => string | null> = {
  BAND: (v) => overlaps('em_min', 'em_max', v),
  TIME: (v) => overlaps('t_min', 't_max', v),
  FOV: (v) => within('s_fov', v),
  // SPATRES is in arcsec; ObsCore s_resolution too.
  SPATRES: (v) => within('s_resolution', v),
  EXPTIME: (v) => within('t_exptime', v),
  TIMERES: (v) => within('t_resolution', v),
  SPECRP: (v) => within('em_res_power', v),
};

const TEXT: Record<string, string> = {
  ID: 'obs_publisher_did',
  COLLECTION: 'obs_collection',
  FACILITY: 'facility_name',
  INSTRUMENT: 'instrument_name',
  DPTYPE: 'dataproduct_type',
  TARGET: 'target_name',
  FORMAT: 'access_format',
};

const POL_STATES = ['I', 'Q', 'U', 'V', 'RR', 'LL', 'RL', 'LR', 'XX', 'YY', 'XY', 'YX', 'POLI', 'POLA'];

/** Parameters that are not constraints (DALI and our own). */
const CONTROL = new Set(['MAXREC', 'RESPONSEFORMAT', 'REQUEST', 'RUNID', 'ACCESS_TOKEN']);

export interface ObscoreQuery {
  /** ADQL over ivoa.obscore. */
  adql: string;
  maxrec?: number;
  responseFormat?: string;
}

function maxrecOf(p: Params): number | undefined {
  const v = p.MAXREC?.at(-1);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageFault(`MAXREC: ${JSON.stringify(v)} is not a non-negative integer`);
  return n;
}

/** An SIA 2.0 query as ADQL over ivoa.obscore. */
export function siaQuery(p: Params): ObscoreQuery {
  const where: string[] = [];
  for (const [name, values] of Object.entries(p)) {
    if (CONTROL.has(name)) continue;
    if (name === 'POS') {
      const geoms = values.map(posGeometry);
      if (geoms.some((g) => g === null)) continue;
      where.push(anyOf(geoms.map((g) => `INTERSECTS(s_region, ${g}) = 1`)));
    } else if (name in NUMERIC) {
      const conds = values.map((v) => NUMERIC[name](interval(v, name)));
      if (conds.some((c) => c === null)) continue;
      where.push(anyOf(conds as string[]));
    } else if (name in TEXT) {
      where.push(anyOf(values.map((v) => `${TEXT[name]} = ${adqlString(v)}`)));
    } else if (name === 'CALIB') {
      where.push(
        anyOf(
          values.map((v) => {
            const n = Number(v);
            if (!Number.isInteger(n) || n < 0 || n > 4)
              throw new UsageFault(`CALIB: ${JSON.stringify(v)} is not 0…4`);
            return `calib_level = ${n}`;
          }),
        ),
      );
    } else if (name === 'POL') {
      where.push(
        anyOf(
          values.map((v) => {
            const s = v.trim().toUpperCase();
            if (!POL_STATES.includes(s)) throw new UsageFault(`POL: unknown state ${JSON.stringify(v)}`);
            return `pol_states LIKE ${adqlString(`%/${s}/%`)}`;
          }),
        ),
      );
    }
    // Other names are ignored, as DALI asks of services (clients may send extras).
  }
  const maxrec = maxrecOf(p);
  return {
    adql: `SELECT * FROM ivoa.obscore${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY t_min, obs_id`,
    ...(maxrec !== undefined ? { maxrec } : {}),
    ...(p.RESPONSEFORMAT ? { responseFormat: p.RESPONSEFORMAT.at(-1) as string } : {}),
  };
}

/** Columns a cone search returns at each VERB (1: fewest, 3: all). */
export const SCS_COLUMNS: Record<1 | 2, string[]> = {
  1: ['obs_publisher_did', 's_ra', 's_dec'],
  2: [
    'obs_publisher_did',
    's_ra',
    's_dec',
    'obs_collection',
    'obs_id',
    'target_name',
    'instrument_name',
    'filter',
    't_min',
    't_exptime',
    'access_url',
  ],
};

/** A Simple Cone Search (RA, DEC, SR in degrees; VERB 1–3) as ADQL: positions within SR, nearest first. */
export function coneQuery(p: Params): ObscoreQuery & { verb: 1 | 2 | 3 } {
  const one = (name: string) => {
    const v = p[name]?.at(-1);
    if (v === undefined) throw new UsageFault(`${name} is required (RA, DEC and SR in degrees)`);
    return num(v, name);
  };
  const ra = one('RA');
  const dec = one('DEC');
  const sr = one('SR');
  if (!(ra >= 0 && ra <= 360)) throw new UsageFault(`RA ${ra} is outside 0…360`);
  checkLat(dec, 'DEC');
  if (!(sr >= 0 && sr <= 180)) throw new UsageFault(`SR ${sr} is outside 0…180`);
  const verbText = p.VERB?.at(-1) ?? '2';
  const verb = Number(verbText);
  if (![1, 2, 3].includes(verb)) throw new UsageFault(`VERB ${JSON.stringify(verbText)}: 1, 2 or 3`);
  const cols = verb === 3 ? '*' : SCS_COLUMNS[verb as 1 | 2].join(', ');
  const maxrec = maxrecOf(p);
  const point = "POINT('ICRS', s_ra, s_dec)";
  // SR = 0 is the protocol's metadata query: no rows, just the columns.
  const cond = sr > 0 ? `CONTAINS(${point}, CIRCLE('ICRS', ${ra}, ${dec}, ${sr})) = 1` : '1 = 0';
  return {
    adql: `SELECT ${cols}, DISTANCE(${point}, POINT('ICRS', ${ra}, ${dec})) AS dist FROM ivoa.obscore WHERE ${cond} ORDER BY dist`,
    verb: verb as 1 | 2 | 3,
    ...(maxrec !== undefined ? { maxrec } : {}),
  };
}
