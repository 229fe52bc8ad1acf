import type { CutoutRequest, SkyRegion } from '../../fits/cutout.ts';

/**
 * SODA 1.0 parameters (DALI 1.1 conventions): names are case-insensitive, values are not; numbers
 * are separated by blanks; intervals may use -Inf/+Inf. Errors are SodaFault, whose message starts
 * with the SODA/DataLink error word (UsageError, NotFoundFault, MultiValuedParamNotSupported…).
 */
export class SodaFault extends Error {
  override name = 'SodaFault';
  constructor(
    readonly status: number,
    readonly fault: 'UsageError' | 'NotFoundFault' | 'MultiValuedParamNotSupported' | 'Error',
    message: string,
  ) {
    super(message);
  }
  get text(): string {
    return `${this.fault}: ${this.message}`;
  }
}

const usage = (message: string) => new SodaFault(400, 'UsageError', message);

/** Every parameter by upper-case name, values in order (query string and form body merged). */
export type Params = Map<string, string[]>;

export function collectParams(...sources: (URLSearchParams | undefined)[]): Params {
  const out: Params = new Map();
  for (const s of sources) {
    if (!s) continue;
    for (const [k, v] of s) {
      const name = k.toUpperCase();
      out.set(name, [...(out.get(name) ?? []), v]);
    }
  }
  return out;
}

/** The one value of a parameter; several values are MultiValuedParamNotSupported. */
export function single(p: Params, name: string): string | undefined {
  const v = p.get(name);
  if (!v || v.length === 0) return undefined;
  if (v.length > 1)
    throw new SodaFault(
      400,
      'MultiValuedParamNotSupported',
      `${name} was given ${v.length} times; this service cuts one region per request`,
    );
  return v[0];
}

function numbers(name: string, text: string): number[] {
  const parts = text.trim().split(/\s+/);
  const out = parts.map((s) => {
    const t = s.toLowerCase();
    if (t === '-inf') return Number.NEGATIVE_INFINITY;
    if (t === '+inf' || t === 'inf') return Number.POSITIVE_INFINITY;
    if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw usage(`${name}: "${s}" is not a number`);
    return Number(s);
  });
  if (text.trim() === '') throw usage(`${name} is empty`);
  return out;
}

const checkRa = (name: string, ra: number) => {
  if (!(ra >= 0 && ra <= 360)) throw usage(`${name}: right ascension ${ra} is outside 0..360`);
};
const checkDec = (name: string, dec: number) => {
  if (!(dec >= -90 && dec <= 90)) throw usage(`${name}: declination ${dec} is outside -90..90`);
};

export function parseCircle(name: string, text: string): SkyRegion {
  const n = numbers(name, text);
  if (n.length !== 3) throw usage(`${name}: give "ra dec radius" in degrees (got ${n.length} numbers)`);
  const [ra, dec, radius] = n;
  checkRa(name, ra);
  checkDec(name, dec);
  if (!(radius > 0 && radius <= 180))
    throw usage(`${name}: radius ${radius} must be within (0, 180] degrees`);
  return { shape: 'circle', ra, dec, radius };
}

export function parsePolygon(name: string, text: string): SkyRegion {
  const n = numbers(name, text);
  if (n.length < 6 || n.length % 2)
    throw usage(`${name}: give at least 3 vertices "ra1 dec1 ra2 dec2 ra3 dec3 …"`);
  const vertices: [number, number][] = [];
  for (let i = 0; i < n.length; i += 2) {
    checkRa(name, n[i]);
    checkDec(name, n[i + 1]);
    vertices.push([n[i], n[i + 1]]);
  }
  return { shape: 'polygon', vertices };
}

export function parseRange(name: string, text: string): SkyRegion {
  const n = numbers(name, text);
  if (n.length !== 4) throw usage(`${name}: RANGE needs "ra1 ra2 dec1 dec2"`);
  const [r1, r2, d1, d2] = n;
  if (Number.isFinite(r1)) checkRa(name, r1);
  if (Number.isFinite(r2)) checkRa(name, r2);
  if (Number.isFinite(d1)) checkDec(name, d1);
  if (Number.isFinite(d2)) checkDec(name, d2);
  if (r1 > r2 || d1 > d2) throw usage(`${name}: RANGE bounds must be in increasing order`);
  return { shape: 'range', ra: [r1, r2], dec: [d1, d2] };
}

/** POS as SODA/SIA 2 write it: "CIRCLE ra dec r", "RANGE ra1 ra2 dec1 dec2", "POLYGON ra1 dec1 …". */
export function parsePos(text: string): SkyRegion {
  const m = /^\s*(CIRCLE|RANGE|POLYGON)\s+(.*)$/i.exec(text);
  if (!m) throw usage(`POS must start with CIRCLE, RANGE or POLYGON (got "${text.slice(0, 40)}")`);
  const kind = m[1].toUpperCase();
  if (kind === 'CIRCLE') return parseCircle('POS', m[2]);
  if (kind === 'RANGE') return parseRange('POS', m[2]);
  return parsePolygon('POS', m[2]);
}

export function parseBand(text: string): [number, number] {
  const n = numbers('BAND', text);
  if (n.length === 1) return [n[0], n[0]];
  if (n.length !== 2) throw usage('BAND: give a wavelength interval "lo hi" in metres');
  const [lo, hi] = n;
  if (lo > hi) throw usage('BAND: lower bound above upper bound');
  if (hi <= 0) throw usage('BAND: wavelengths are positive (metres)');
  return [Math.max(lo, 0), hi];
}

export function parsePixel(name: string, text: string): [number, number] {
  const n = numbers(name, text);
  if (n.length !== 2 || !n.every((x) => Number.isInteger(x)) || n[0] < 1 || n[1] < n[0])
    throw usage(`${name}: give "first last" pixel numbers, 1-based and inclusive, first ≤ last`);
  return [n[0], n[1]];
}

/** The cutout a parameter set asks for (without ID). */
export function cutoutRequest(p: Params): CutoutRequest {
  const regions: [string, string][] = [];
  for (const name of ['POS', 'CIRCLE', 'POLYGON']) for (const v of p.get(name) ?? []) regions.push([name, v]);
  if (regions.length > 1)
    throw new SodaFault(
      400,
      'MultiValuedParamNotSupported',
      `${regions.map((r) => r[0]).join(', ')}: one spatial region per request (POS, CIRCLE or POLYGON)`,
    );
  const req: CutoutRequest = {};
  if (regions.length) {
    const [name, text] = regions[0];
    req.region =
      name === 'POS'
        ? parsePos(text)
        : name === 'CIRCLE'
          ? parseCircle(name, text)
          : parsePolygon(name, text);
  }
  const band = single(p, 'BAND');
  if (band !== undefined) req.band = parseBand(band);
  const pixels: ([number, number] | undefined)[] = [];
  for (const name of p.keys()) {
    const m = /^PIXEL_(\d+)$/.exec(name);
    if (!m) continue;
    const axis = Number(m[1]);
    if (axis < 1 || axis > 999) throw usage(`${name}: no such axis`);
    pixels[axis - 1] = parsePixel(name, single(p, name)!);
  }
  if (pixels.length) req.pixels = Array.from({ length: pixels.length }, (_, i) => pixels[i]);
  for (const name of ['TIME', 'POL']) {
    if (p.has(name))
      throw usage(`${name} is not supported by this service (ID, POS, CIRCLE, POLYGON, BAND, PIXEL_n are)`);
  }
  const format = single(p, 'RESPONSEFORMAT');
  if (format !== undefined && !/^(application\/fits|image\/fits|fits)$/i.test(format.trim()))
    throw usage(`RESPONSEFORMAT ${format}: only application/fits is produced`);
  return req;
}
