// Builds a lake of N observations for the serving benchmark (bench/server.ts), in about a minute.
//
// The rows are written straight through the catalog (Kysely + the hand-written multi-row INSERTs of
// src/catalog/raw.ts) in big transactions, shaped exactly as ingestion writes them
// (src/ingest/ingest-object.ts): an observation with ObsCore columns and its products, one current
// file row, one or two HDU rows with ~80 cards as JSON ([keyword, value, type, comment], as
// read-object.ts stores them) and the keyword→value map, the science artifact, and the HEALPix cells
// from the real `observationCells` on the footprint polygon. No FITS file is read or stored: this
// benchmark measures serving (search, detail and header routes read only the catalog); ingest speed
// is benchmarked separately in bench/ingest.ts. Events, the keyword inventory and the crawler's
// views are not written (no benchmarked route reads them).
//
// The sky: 60% of the observations are spread uniformly over the sphere, 40% pile up in 15 dense
// fields (M31, the Magellanic Clouds, COSMOS, the Galactic Centre, Orion…, Gaussian scatter of
// 0.2–4°). Times span 2015–2024 (MJD 57023–60676), six instruments with their own filters, field
// sizes (0.1–2.2°), exposure times and collections. Deterministic (seeded).
//
// The lake is cached: a second run with the same DIR and N returns at once (bench-manifest.json
// plus a row count). SQLite by default; --pg puts the catalog in PostgreSQL (scripts/pg.sh with
// PG_PORT=55450 PG_DATA=/tmp/fitslake-pg-55450, database bench_obs_N).
//
// Usage: node --import tsx bench/make-observations.ts [DIR] [N=100000] [--pg] [--force]
//        (DIR defaults to bench/data/lake-N, or bench/data/lake-N-pg with --pg)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sql } from 'kysely';
import { placeholders, rawQuery } from '../src/catalog/raw.ts';
import { observationCells, parseRegion } from '../src/catalog/sky.ts';
import { initLake } from '../src/config/init.ts';
import { mjdToIso } from '../src/fits/time.ts';
import { type Lake, openLake } from '../src/lake/lake.ts';

export const PG_ENV = { PG_PORT: '55450', PG_DATA: '/tmp/fitslake-pg-55450', PG_DB: 'postgres' };
const MANIFEST = 'bench-manifest.json';

export interface Manifest {
  n: number;
  dialect: 'sqlite' | 'postgres';
  seed: number;
  files: number;
  hdus: number;
  cells: number;
  seconds: number;
  /** Centres of the dense fields [name, ra, dec, sigma°], for cone searches that hit something. */
  fields: [string, number, number, number][];
}

// ---------------------------------------------------------------- deterministic randomness

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  private next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float = (lo = 0, hi = 1) => lo + (hi - lo) * this.next();
  int = (lo: number, hi: number) => Math.floor(this.float(lo, hi + 1));
  pick = <T>(xs: readonly T[]): T => xs[Math.floor(this.next() * xs.length)];
  gauss = () => {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  };
  hex = (n: number) => {
    let s = '';
    while (s.length < n)
      s += Math.floor(this.next() * 0x100000000)
        .toString(16)
        .padStart(8, '0');
    return s.slice(0, n);
  };
}

// ---------------------------------------------------------------- the sky

/** Dense fields: name, RA, Dec (degrees), Gaussian scatter (degrees), relative weight. */
export const FIELDS: [string, number, number, number, number][] = [
  ['M31', 10.6847, 41.2687, 1.0, 3],
  ['LMC', 80.8942, -69.7561, 3.0, 3],
  ['SMC', 13.1867, -72.8286, 1.5, 2],
  ['COSMOS', 150.1192, 2.2058, 0.7, 3],
  ['Galactic Centre', 266.4168, -29.0078, 2.0, 3],
  ['Orion Nebula', 83.8221, -5.3911, 1.0, 2],
  ['Pleiades', 56.75, 24.1167, 0.7, 1],
  ['M13', 250.4235, 36.4613, 0.2, 1],
  ['Virgo Cluster', 187.7059, 12.3911, 2.0, 2],
  ['47 Tuc', 6.0236, -72.0813, 0.3, 1],
  ['Carina Nebula', 161.265, -59.8667, 1.0, 1],
  ['HDF-N', 189.2058, 62.2161, 0.2, 1],
  ['CDF-S', 53.1225, -27.8053, 0.3, 2],
  ['Kepler field', 290.6667, 44.5, 4.0, 2],
  ['Stephan Quintet', 339.0146, 33.9758, 0.2, 1],
];
const FIELD_WEIGHT = FIELDS.reduce((s, f) => s + f[4], 0);

const D2R = Math.PI / 180;

/** The position offset by (east, north) degrees on the tangent plane at (ra, dec). */
function offset(ra: number, dec: number, east: number, north: number): [number, number] {
  const x = east * D2R;
  const y = north * D2R;
  const d0 = dec * D2R;
  const den = Math.cos(d0) - y * Math.sin(d0);
  const a = ra * D2R + Math.atan2(x, den);
  const d = Math.atan2(Math.sin(d0) + y * Math.cos(d0), Math.hypot(x, den));
  return [((((a / D2R) % 360) + 360) % 360) as number, d / D2R];
}

/** A random pointing: uniform over the sphere, or in one of the dense fields. */
export function pointing(rng: Rng, dense: number): { ra: number; dec: number; field: string | null } {
  if (rng.float() >= dense) {
    const ra = rng.float(0, 360);
    const dec = Math.asin(rng.float(-1, 1)) / D2R;
    return { ra, dec, field: null };
  }
  let w = rng.float(0, FIELD_WEIGHT);
  let f = FIELDS[0];
  for (const x of FIELDS) {
    w -= x[4];
    if (w <= 0) {
      f = x;
      break;
    }
  }
  const [ra, dec] = offset(f[1], f[2], rng.gauss() * f[3], rng.gauss() * f[3]);
  return { ra, dec: Math.max(-89.9, Math.min(89.9, dec)), field: f[0] };
}

// ---------------------------------------------------------------- instruments

interface Instrument {
  facility: string;
  name: string;
  prefix: string;
  collection: string;
  filters: string[];
  /** Field side (degrees) and pixel scale (arcsec). */
  fov: number;
  scale: number;
  exptimes: number[];
  site: string;
  lat: number;
  lon: number;
  height: number;
  weight: number;
  /** Fraction of pointings in the dense fields. */
  dense: number;
  extension: number;
  gain: number;
  noise: number;
}

const INSTRUMENTS: Instrument[] = [
  {
    facility: 'CFHT',
    name: 'MegaCam',
    prefix: 'mc',
    collection: 'survey',
    filters: ['u', 'g', 'r', 'i', 'z'],
    fov: 0.96,
    scale: 0.187,
    exptimes: [60, 120, 300, 600],
    site: 'Maunakea',
    lat: 19.8253,
    lon: -155.4689,
    height: 4204,
    weight: 3,
    dense: 0.3,
    extension: 0.5,
    gain: 1.6,
    noise: 5.0,
  },
  {
    facility: 'CTIO-4m',
    name: 'DECam',
    prefix: 'c4d',
    collection: 'survey',
    filters: ['g', 'r', 'i', 'z', 'Y'],
    fov: 2.2,
    scale: 0.263,
    exptimes: [30, 90, 90, 200],
    site: 'Cerro Tololo',
    lat: -30.1691,
    lon: -70.8064,
    height: 2207,
    weight: 1,
    dense: 0.2,
    extension: 0.6,
    gain: 4.0,
    noise: 7.0,
  },
  {
    facility: 'Subaru',
    name: 'HSC',
    prefix: 'HSCA',
    collection: 'survey',
    filters: ['HSC-G', 'HSC-R2', 'HSC-I2', 'HSC-Z', 'HSC-Y'],
    fov: 1.5,
    scale: 0.168,
    exptimes: [150, 200, 270],
    site: 'Maunakea',
    lat: 19.8255,
    lon: -155.476,
    height: 4139,
    weight: 1,
    dense: 0.5,
    extension: 0.5,
    gain: 3.0,
    noise: 4.5,
  },
  {
    facility: 'UKIRT',
    name: 'WFCAM',
    prefix: 'w',
    collection: 'archive',
    filters: ['Z', 'Y', 'J', 'H', 'K'],
    fov: 0.78,
    scale: 0.4,
    exptimes: [5, 10, 20, 40],
    site: 'Maunakea',
    lat: 19.8225,
    lon: -155.4703,
    height: 4194,
    weight: 2,
    dense: 0.4,
    extension: 0.7,
    gain: 4.6,
    noise: 20.0,
  },
  {
    facility: 'INT',
    name: 'WFC',
    prefix: 'r',
    collection: 'archive',
    filters: ['U', 'g', 'r', 'i', 'Halpha'],
    fov: 0.55,
    scale: 0.33,
    exptimes: [60, 120, 300, 600, 900],
    site: 'La Palma',
    lat: 28.7606,
    lon: -17.8816,
    height: 2336,
    weight: 2,
    dense: 0.4,
    extension: 0.3,
    gain: 2.9,
    noise: 6.5,
  },
  {
    facility: 'LCOGT 1m0',
    name: 'sinistro',
    prefix: 'lsc1m',
    collection: 'monitoring',
    filters: ['B', 'V', 'gp', 'rp', 'ip', 'zs'],
    fov: 0.44,
    scale: 0.389,
    exptimes: [30, 60, 120, 180, 300],
    site: 'lsc',
    lat: -30.1673,
    lon: -70.8047,
    height: 2198,
    weight: 3,
    dense: 0.6,
    extension: 0.5,
    gain: 1.0,
    noise: 8.0,
  },
  {
    facility: 'Dome0',
    name: 'qhy600',
    prefix: 'd0',
    collection: 'monitoring',
    filters: ['L', 'R', 'G', 'B', 'Ha', 'OIII'],
    fov: 0.12,
    scale: 0.72,
    exptimes: [60, 120, 300],
    site: 'Dome0',
    lat: 38.1,
    lon: -2.6,
    height: 1650,
    weight: 2,
    dense: 0.7,
    extension: 0,
    gain: 0.8,
    noise: 3.5,
  },
];
const INSTRUMENT_WEIGHT = INSTRUMENTS.reduce((s, i) => s + i.weight, 0);

/** Approximate passbands (metres) of the filters above. */
const PASSBAND: Record<string, [number, number]> = {
  u: [3.2e-7, 4.0e-7],
  U: [3.2e-7, 4.0e-7],
  B: [3.9e-7, 4.9e-7],
  g: [4.0e-7, 5.5e-7],
  gp: [4.0e-7, 5.5e-7],
  G: [4.9e-7, 5.8e-7],
  'HSC-G': [4.0e-7, 5.5e-7],
  V: [5.0e-7, 5.9e-7],
  r: [5.5e-7, 6.9e-7],
  rp: [5.5e-7, 6.9e-7],
  R: [5.9e-7, 7.0e-7],
  'HSC-R2': [5.4e-7, 7.0e-7],
  i: [6.9e-7, 8.2e-7],
  ip: [6.9e-7, 8.2e-7],
  'HSC-I2': [6.9e-7, 8.4e-7],
  z: [8.2e-7, 9.2e-7],
  zs: [8.2e-7, 9.2e-7],
  Z: [8.4e-7, 9.3e-7],
  'HSC-Z': [8.5e-7, 9.3e-7],
  Y: [9.5e-7, 1.06e-6],
  'HSC-Y': [9.3e-7, 1.07e-6],
  J: [1.17e-6, 1.33e-6],
  H: [1.49e-6, 1.78e-6],
  K: [2.03e-6, 2.37e-6],
  L: [4.0e-7, 7.0e-7],
  Ha: [6.53e-7, 6.6e-7],
  Halpha: [6.53e-7, 6.6e-7],
  OIII: [4.98e-7, 5.04e-7],
};

const OBSERVERS = ['A. Astronomer', 'B. Night', 'C. Queue', 'D. Service', 'E. Robotic', 'F. Visitor'];
const PROPOSALS = ['2015A-001', '2017B-042', '2019A-117', 'KEY2020', 'LTP2021-7', 'DDT2023-3', 'MON-NEO'];

function sexagesimal(v: number, hours: boolean): string {
  const sign = v < 0 ? '-' : hours ? '' : '+';
  let x = Math.abs(hours ? v / 15 : v);
  const a = Math.floor(x);
  x = (x - a) * 60;
  const b = Math.floor(x);
  const c = (x - b) * 60;
  return `${sign}${String(a).padStart(2, '0')}:${String(b).padStart(2, '0')}:${c.toFixed(hours ? 3 : 2).padStart(hours ? 6 : 5, '0')}`;
}

type Card = [string, unknown, string, string];
const c = (k: string, v: unknown, comment = ''): Card => [
  k,
  v,
  typeof v === 'boolean'
    ? 'bool'
    : typeof v === 'number'
      ? Number.isInteger(v)
        ? 'int'
        : 'float'
      : v === null
        ? 'undefined'
        : 'string',
  comment,
];
/** A float card even when the value happens to be whole (BSCALE = 1.0). */
const f = (k: string, v: number, comment = ''): Card => [k, v, 'float', comment];
const commentary = (k: string, text: string): Card => [k, text, 'commentary', ''];

function keyvalues(cards: Card[]): string {
  const kv: Record<string, unknown> = {};
  for (const [k, v, t] of cards) if (t !== 'commentary' && !(k in kv)) kv[k] = v;
  return JSON.stringify(kv);
}

// ---------------------------------------------------------------- one observation

interface Generated {
  obs: unknown[];
  file: unknown[];
  hdus: unknown[][];
  cells: number[];
}

const OBS_COLUMNS = [
  'id',
  'obs_collection',
  'obs_id',
  'obs_publisher_did',
  'dataproduct_type',
  'calib_level',
  'access_url',
  'access_format',
  'access_estsize',
  'target_name',
  's_ra',
  's_dec',
  's_fov',
  's_region',
  's_resolution',
  's_xel1',
  's_xel2',
  't_min',
  't_max',
  't_exptime',
  'em_min',
  'em_max',
  'facility_name',
  'instrument_name',
  'filter',
  'airmass',
  'altitude',
  'azimuth',
  'object',
  'observer',
  'site',
  'night',
  'public_date',
  'products',
  'status',
  'meta_rank',
  'obs_type',
  'created_at',
  'updated_at',
];
const FILE_COLUMNS = [
  'id',
  'zone',
  'key',
  'sha256',
  'size',
  'etag',
  'content_type',
  'status',
  'error',
  'kind',
  'info',
  'path_fields',
  'collection',
  'current',
  'created_at',
  'updated_at',
];
const HDU_COLUMNS = [
  'file_id',
  'idx',
  'kind',
  'header_offset',
  'data_offset',
  'data_span',
  'shape',
  'checksum',
  'datasum',
  'cards',
  'keyvalues',
];

const PROPRIETARY_DAYS: Record<string, number> = { survey: 365, archive: 0, monitoring: 180 };

function generate(rng: Rng, id: number, ingestedAt: string): Generated {
  let w = rng.float(0, INSTRUMENT_WEIGHT);
  let ins = INSTRUMENTS[0];
  for (const x of INSTRUMENTS) {
    w -= x.weight;
    if (w <= 0) {
      ins = x;
      break;
    }
  }
  const { ra, dec, field } = pointing(rng, ins.dense);
  const filter = rng.pick(ins.filters);
  const exptime = rng.pick(ins.exptimes);
  const nightMjd = rng.int(57023, 60675);
  const tMin = nightMjd + rng.float(0.05, 0.45) + (ins.lon < -100 ? 0.4 : ins.lon < -50 ? 0.1 : -0.05);
  const tMax = tMin + exptime / 86400;
  const start = mjdToIso(tMin);
  const night = mjdToIso(tMin - 0.5).slice(0, 10);
  const npix = Math.round((ins.fov * 3600) / ins.scale);
  // The footprint: the field's square, turned by the position angle, on the tangent plane.
  const pa = rng.pick([0, 0, 0, 90, rng.float(0, 360)]) * D2R;
  const half = ins.fov / 2;
  const corners = [
    [-half, -half],
    [half, -half],
    [half, half],
    [-half, half],
  ].map(([x, y]) =>
    offset(ra, dec, x * Math.cos(pa) - y * Math.sin(pa), x * Math.sin(pa) + y * Math.cos(pa)),
  );
  const region = `POLYGON ICRS ${corners.map(([a, b]) => `${a.toFixed(8)} ${b.toFixed(8)}`).join(' ')}`;
  const cells = observationCells(parseRegion(region), ra, dec);
  const target =
    field ??
    `${ins.prefix.toUpperCase()}-F${String(Math.floor(ra * 10)).padStart(4, '0')}${dec < 0 ? 'm' : 'p'}${String(Math.floor(Math.abs(dec) * 10)).padStart(3, '0')}`;
  const obsId = `${ins.prefix}${night.replace(/-/g, '')}_${String(id).padStart(7, '0')}`;
  const key = `${ins.collection}/${night}/${ins.name}/${obsId}.fits`;
  const airmass = Number(rng.float(1.0, 2.2).toFixed(3));
  const alt = Number(((Math.asin(1 / airmass) * 180) / Math.PI).toFixed(4));
  const az = Number(rng.float(0, 360).toFixed(4));
  const band = PASSBAND[filter] ?? null;
  const cd = ins.scale / 3600;
  const sha = rng.hex(64);
  const hasExt = rng.float() < ins.extension;
  const rows = rng.int(200, 30000);
  const imageBytes = npix * npix * 2;
  const size =
    2880 * 3 +
    Math.ceil(imageBytes / 2880) * 2880 +
    (hasExt ? 2880 + Math.ceil((rows * 48) / 2880) * 2880 : 0);
  const checksum = () => rng.hex(16).toUpperCase();
  const observer = rng.pick(OBSERVERS);
  const primary: Card[] = [
    c('SIMPLE', true, 'conforms to FITS standard'),
    c('BITPIX', 16, 'array data type'),
    c('NAXIS', 2, 'number of array dimensions'),
    c('NAXIS1', npix),
    c('NAXIS2', npix),
    c('EXTEND', hasExt),
    f('BSCALE', 1.0),
    f('BZERO', 32768.0),
    c('ORIGIN', `${ins.facility} observatory`, 'FITS file originator'),
    c('DATE', ingestedAt.slice(0, 19), 'date this file was written'),
    c('TELESCOP', ins.facility, 'telescope name'),
    c('INSTRUME', ins.name, 'instrument'),
    c('DETECTOR', `${ins.name}-CCD`, 'detector'),
    c('OBSERVER', observer, 'observer'),
    c('PROPID', rng.pick(PROPOSALS), 'proposal id'),
    c('OBJECT', target, 'target name'),
    c('OBSTYPE', 'OBJECT', 'observation type'),
    c('IMAGETYP', 'EXPOSE', 'image type'),
    c('FILTER', filter, 'filter'),
    c('FILTID', `${filter}.${ins.prefix}${ins.filters.indexOf(filter) + 1}`, 'filter id'),
    c('DATE-OBS', start, '[UTC] start of exposure'),
    c('DAY-OBS', night.replace(/-/g, ''), 'night of observation'),
    f('MJD-OBS', Number(tMin.toFixed(8)), '[d] start of exposure'),
    c('UTSTART', start.slice(11, 23), '[UTC] start'),
    c('UTSTOP', mjdToIso(tMax).slice(11, 23), '[UTC] end'),
    c('TIMESYS', 'UTC', 'time system'),
    f('EXPTIME', exptime, '[s] exposure time'),
    f('EXPREQ', exptime, '[s] requested exposure time'),
    f('DARKTIME', Number((exptime + rng.float(0.5, 3)).toFixed(3)), '[s] dark current time'),
    c('RA', sexagesimal(ra, true), '[HH:MM:SS.sss] telescope RA'),
    c('DEC', sexagesimal(dec, false), '[sDD:MM:SS.ss] telescope Dec'),
    f('EQUINOX', 2000.0, 'equinox of coordinates'),
    c('RADESYS', 'ICRS', 'reference frame'),
    c('CTYPE1', 'RA---TAN', 'WCS projection'),
    c('CTYPE2', 'DEC--TAN', 'WCS projection'),
    c('CUNIT1', 'deg'),
    c('CUNIT2', 'deg'),
    f('CRVAL1', Number(ra.toFixed(8)), '[deg] RA at reference pixel'),
    f('CRVAL2', Number(dec.toFixed(8)), '[deg] Dec at reference pixel'),
    f('CRPIX1', npix / 2 + 0.5, 'reference pixel'),
    f('CRPIX2', npix / 2 + 0.5, 'reference pixel'),
    f('CD1_1', Number((-cd * Math.cos(pa)).toExponential(10))),
    f('CD1_2', Number((cd * Math.sin(pa)).toExponential(10))),
    f('CD2_1', Number((cd * Math.sin(pa)).toExponential(10))),
    f('CD2_2', Number((cd * Math.cos(pa)).toExponential(10))),
    f('PIXSCALE', ins.scale, '[arcsec/pixel] nominal pixel scale'),
    f('AIRMASS', airmass, 'airmass at start'),
    f('TELALT', alt, '[deg] telescope altitude'),
    f('TELAZ', az, '[deg] telescope azimuth'),
    c('HA', sexagesimal(rng.float(-60, 60), true), 'hour angle'),
    c('LST', sexagesimal(rng.float(0, 360), true), 'local sidereal time'),
    f('ROTANGLE', Number(((pa / D2R) % 360).toFixed(3)), '[deg] rotator angle'),
    f('FOCUS', Number(rng.float(-1, 1).toFixed(4)), '[mm] focus position'),
    f('GAIN', ins.gain, '[e-/ADU] gain'),
    f('RDNOISE', ins.noise, '[e-] read noise'),
    c('SATURATE', 65535, '[ADU] saturation level'),
    f('CCDTEMP', Number(rng.float(-120, -90).toFixed(2)), '[C] detector temperature'),
    c('CCDSUM', '1 1', 'binning'),
    c('DETSIZE', `[1:${npix},1:${npix}]`, 'detector size'),
    c('DATASEC', `[1:${npix},1:${npix}]`, 'data section'),
    c('TRIMSEC', `[1:${npix},1:${npix}]`, 'trim section'),
    c('SITEID', ins.site, 'site'),
    f('SITELAT', ins.lat, '[deg] site latitude'),
    f('SITELONG', ins.lon, '[deg] site longitude'),
    f('HEIGHT', ins.height, '[m] site elevation'),
    f('MOONFRAC', Number(rng.float(0, 1).toFixed(4)), 'lunar illuminated fraction'),
    f('MOONDIST', Number(rng.float(10, 170).toFixed(3)), '[deg] distance to the Moon'),
    f('MOONALT', Number(rng.float(-60, 70).toFixed(3)), '[deg] lunar altitude'),
    f('SUNALT', Number(rng.float(-60, -18).toFixed(3)), '[deg] solar altitude'),
    f('SEEING', Number(rng.float(0.5, 2.5).toFixed(3)), '[arcsec] estimated seeing'),
    f('SKYLEVEL', Number(rng.float(50, 5000).toFixed(2)), '[ADU] sky level'),
    f('WINDSPEE', Number(rng.float(0, 15).toFixed(2)), '[m/s] wind speed'),
    f('HUMIDITY', Number(rng.float(5, 80).toFixed(1)), '[%] relative humidity'),
    f('PRESSURE', Number(rng.float(600, 780).toFixed(1)), '[hPa] pressure'),
    c('BUNIT', 'ADU', 'pixel unit'),
    c('PIPEVER', '3.2.1', 'pipeline version'),
    c('FILENAME', `${obsId}.fits`, 'original file name'),
    commentary('COMMENT', '  FITS (Flexible Image Transport System) format is defined in Astronomy'),
    commentary('COMMENT', '  and Astrophysics, volume 376, page 359; bibcode: 2001A&A...376..359H'),
    commentary('HISTORY', `  ${ins.name} acquisition software v7.4`),
    c('CHECKSUM', checksum(), 'HDU checksum updated'),
    c('DATASUM', String(rng.int(1e8, 4e9)), 'data unit checksum'),
  ];
  const hdus: unknown[][] = [
    [
      id,
      0,
      'primary',
      0,
      2880 * 3,
      Math.ceil(imageBytes / 2880) * 2880,
      JSON.stringify([npix, npix]),
      'ok',
      'ok',
      JSON.stringify(primary),
      keyvalues(primary),
    ],
  ];
  if (hasExt) {
    const cols: [string, string, string][] = [
      ['NUMBER', 'J', ''],
      ['X_IMAGE', 'E', 'pixel'],
      ['Y_IMAGE', 'E', 'pixel'],
      ['ALPHA_J2000', 'D', 'deg'],
      ['DELTA_J2000', 'D', 'deg'],
      ['MAG_AUTO', 'E', 'mag'],
      ['MAGERR_AUTO', 'E', 'mag'],
      ['FLAGS', 'I', ''],
    ];
    const ext: Card[] = [
      c('XTENSION', 'BINTABLE', 'binary table extension'),
      c('BITPIX', 8, 'array data type'),
      c('NAXIS', 2, 'number of array dimensions'),
      c('NAXIS1', 48, 'length of dimension 1'),
      c('NAXIS2', rows, 'length of dimension 2'),
      c('PCOUNT', 0, 'number of group parameters'),
      c('GCOUNT', 1, 'number of groups'),
      c('TFIELDS', cols.length, 'number of table fields'),
      ...cols.flatMap(([name, form, unit], i) => [
        c(`TTYPE${i + 1}`, name),
        c(`TFORM${i + 1}`, form),
        ...(unit ? [c(`TUNIT${i + 1}`, unit)] : []),
      ]),
      c('EXTNAME', 'CATALOG', 'source catalogue'),
      f('MAGZP', Number(rng.float(24, 31).toFixed(3)), 'photometric zero point'),
      c('NSOURCES', rows, 'sources detected'),
      c('CHECKSUM', checksum(), 'HDU checksum updated'),
      c('DATASUM', String(rng.int(1e8, 4e9)), 'data unit checksum'),
    ];
    const off = 2880 * 3 + Math.ceil(imageBytes / 2880) * 2880;
    hdus.push([
      id,
      1,
      'bintable',
      off,
      off + 2880,
      Math.ceil((rows * 48) / 2880) * 2880,
      JSON.stringify([48, rows]),
      'ok',
      'ok',
      JSON.stringify(ext),
      keyvalues(ext),
    ]);
  }
  const publicDate = new Date(
    Date.parse(`${start}Z`) + (PROPRIETARY_DAYS[ins.collection] ?? 0) * 86400000,
  ).toISOString();
  const obs = [
    id,
    ins.collection,
    obsId,
    `ivo://fitslake/${ins.collection}?${encodeURIComponent(obsId)}`,
    'image',
    1,
    `/api/files/${encodeURIComponent(key)}`,
    'application/fits',
    Math.ceil(size / 1024),
    target,
    ra,
    dec,
    ins.fov * Math.SQRT2,
    region,
    ins.scale,
    npix,
    npix,
    tMin,
    tMax,
    exptime,
    band?.[0] ?? null,
    band?.[1] ?? null,
    ins.facility,
    ins.name,
    filter,
    airmass,
    alt,
    az,
    target,
    observer,
    ins.site,
    night,
    publicDate,
    JSON.stringify({ science: key }),
    'complete',
    3,
    'EXPOSE',
    ingestedAt,
    ingestedAt,
  ];
  const file = [
    id,
    'raw',
    key,
    sha,
    size,
    sha,
    'application/fits',
    'ingested',
    null,
    'fits',
    null,
    '{}',
    ins.collection,
    1,
    ingestedAt,
    ingestedAt,
  ];
  return { obs, file, hdus, cells };
}

// ---------------------------------------------------------------- writing

type Db = Lake['catalog']['db'];

async function insertRows(
  db: Db,
  dialect: Lake['catalog']['dialect'],
  table: string,
  columns: string[],
  rows: unknown[][],
  perStatement: number,
): Promise<void> {
  for (let i = 0; i < rows.length; i += perStatement) {
    const part = rows.slice(i, i + perStatement);
    await rawQuery(
      db,
      dialect,
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${placeholders(part.length, columns.length)}`,
      part.flat(),
    );
  }
}

function pgConfig(n: number): string {
  return [
    'catalog:',
    '  kind: postgres',
    '  postgres:',
    '    host: 127.0.0.1',
    `    port: ${PG_ENV.PG_PORT}`,
    `    database: bench_obs_${n}`,
    '    user: postgres',
    '',
  ].join('\n');
}

const psql = (...args: string[]) =>
  execFileSync('psql', ['-X', '-q', '-h', '127.0.0.1', '-p', PG_ENV.PG_PORT, '-U', 'postgres', ...args], {
    encoding: 'utf8',
  });

/** Starts the benchmark's PostgreSQL (scripts/pg.sh) if it is not running. */
export function startPg(): void {
  execFileSync('bash', ['scripts/pg.sh'], { env: { ...process.env, ...PG_ENV }, stdio: 'inherit' });
}

/** Makes (or finds cached) a lake of n observations in dir; returns its manifest. */
export async function makeObservationLake(
  dir: string,
  n: number,
  opts: { pg?: boolean; force?: boolean; log?: (s: string) => void } = {},
): Promise<Manifest> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const dialect = opts.pg ? 'postgres' : 'sqlite';
  if (opts.pg) startPg();
  const manifestPath = join(dir, MANIFEST);
  if (!opts.force && existsSync(manifestPath)) {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    if (m.n === n && m.dialect === dialect) {
      const lake = await openLake(dir);
      try {
        const r = await sql<{ n: number | string }>`SELECT count(*) AS n FROM observations`.execute(
          lake.catalog.db,
        );
        if (Number(r.rows[0]?.n) === n) return m;
      } catch {
        // fall through: rebuild
      } finally {
        await lake.close();
      }
    }
  }
  const t0 = performance.now();
  rmSync(dir, { recursive: true, force: true });
  initLake(dir);
  if (opts.pg) {
    writeFileSync(join(dir, 'fitslake.yaml'), pgConfig(n));
    psql('-c', `DROP DATABASE IF EXISTS bench_obs_${n}`, '-c', `CREATE DATABASE bench_obs_${n}`);
  }
  const lake = await openLake(dir);
  const { db, dialect: d } = lake.catalog;
  const ingestedAt = new Date().toISOString();
  const rng = new Rng(20261202);
  let files = 0;
  let hdus = 0;
  let cells = 0;
  try {
    await db.transaction().execute(async (tx) => {
      for (const [name, days] of Object.entries(PROPRIETARY_DAYS))
        await rawQuery(
          tx,
          d,
          'INSERT INTO collections (name, visibility, proprietary_days, calib_level, dataproduct_type, settings, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [name, 'public', days, 1, 'image', JSON.stringify({ proprietaryDays: days }), ingestedAt],
        );
    });
    const BATCH = 5000;
    for (let first = 1; first <= n; first += BATCH) {
      const last = Math.min(n, first + BATCH - 1);
      const obs: unknown[][] = [];
      const fileRows: unknown[][] = [];
      const hduRows: unknown[][] = [];
      const art: unknown[][] = [];
      const cellRows: unknown[][] = [];
      for (let id = first; id <= last; id++) {
        const g = generate(rng, id, ingestedAt);
        obs.push(g.obs);
        fileRows.push(g.file);
        hduRows.push(...g.hdus);
        art.push([id, id, 'science']);
        for (const cell of g.cells) cellRows.push([id, cell]);
      }
      await db.transaction().execute(async (tx) => {
        await insertRows(tx, d, 'files', FILE_COLUMNS, fileRows, 500);
        await insertRows(tx, d, 'hdus', HDU_COLUMNS, hduRows, 200);
        await insertRows(tx, d, 'observations', OBS_COLUMNS, obs, 300);
        await insertRows(tx, d, 'artifacts', ['observation_id', 'file_id', 'role'], art, 2000);
        await insertRows(tx, d, 'observation_cells', ['observation_id', 'cell'], cellRows, 5000);
      });
      files += fileRows.length;
      hdus += hduRows.length;
      cells += cellRows.length;
      if (last % 20000 === 0 || last === n)
        log(
          `  ${last.toLocaleString('en')} observations (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
        );
    }
    if (d === 'postgres') {
      // Explicit ids: move the sequences past them, as inserts through ingestion would have.
      for (const t of ['files', 'observations'])
        await sql`SELECT setval(pg_get_serial_sequence(${t}, 'id'), ${n})`.execute(db);
      // What autovacuum does soon after a bulk load anyway: statistics for the planner.
      await sql`ANALYZE`.execute(db);
    } else {
      await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db);
    }
  } finally {
    await lake.close();
  }
  const m: Manifest = {
    n,
    dialect,
    seed: 20261202,
    files,
    hdus,
    cells,
    seconds: (performance.now() - t0) / 1000,
    fields: FIELDS.map(([name, ra, dec, sigma]) => [name, ra, dec, sigma]),
  };
  writeFileSync(manifestPath, JSON.stringify(m, null, 2));
  return m;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('make-observations.ts')) {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const pg = process.argv.includes('--pg');
  const n = Number(args[1] ?? args.find((a) => /^\d+$/.test(a)) ?? 100000);
  const dir = resolve(args[0] && !/^\d+$/.test(args[0]) ? args[0] : `bench/data/lake-${n}${pg ? '-pg' : ''}`);
  const m = await makeObservationLake(dir, n, { pg, force: process.argv.includes('--force') });
  console.log(
    `${dir}: ${m.n.toLocaleString('en')} observations, ${m.files.toLocaleString('en')} files, ${m.hdus.toLocaleString('en')} HDUs, ${m.cells.toLocaleString('en')} cells (${m.dialect}, built in ${m.seconds.toFixed(1)} s)`,
  );
}
