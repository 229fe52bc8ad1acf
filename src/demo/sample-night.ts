import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { mjdToIso } from '../fits/time.ts';
import { type CardSpec, encodeHeader, encodeImageHdu } from '../fits/write.ts';

/**
 * A realistic night of a small observatory network, written the way such pipelines write it: per
 * exposure a bzip2'd full frame, a small FITS, a medium JPEG, a thumbnail and a header dump, named
 * {site}-{instrument}-{YYYYMMDD}-{sequence}-{type}{level}; bias, dark and flat frames that the
 * science frames name in L1IDBIAS/L1IDDARK/L1IDFLAT. Deterministic for a given seed.
 */
export interface NightOptions {
  /** Science exposures per instrument. */
  exposures?: number;
  /** Full-frame size in pixels (square). */
  size?: number;
  seed?: number;
  /** Night as YYYY-MM-DD. */
  night?: string;
}

export interface NightFile {
  path: string;
  role: string;
  obsId: string;
}

const INSTRUMENTS = [
  { site: 'sro', id: 'kb001ms', tel: 'SRO 0.4m', scale: 0.57 },
  { site: 'sro', id: 'fa002ms', tel: 'SRO 1.0m', scale: 0.39 },
  { site: 'tfn', id: 'ep003ms', tel: 'TFN 0.4m', scale: 0.74 },
];
const FILTERS = ['B', 'V', 'rp', 'ip', 'Ha'];
const TARGETS: [string, number, number][] = [
  ['M 51', 202.4696, 47.1952],
  ['NGC 7331', 339.2667, 34.4158],
  ['M 1', 83.6331, 22.0145],
  ['SN 2022hrs', 186.3, 12.67],
  ['M 13', 250.4235, 36.4613],
  ['Polaris field', 37.9546, 89.2641],
  ['Fomalhaut', 344.4127, -29.6222],
  ['RA0 field', 359.98, 5.0],
];

/** mulberry32: a small seeded generator (also what the tests use for repeatable random cases). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A frame of sky noise with a few stars (int16 counts). */
function frame(size: number, rand: () => number, stars: number, level: number): Int16Array {
  const data = new Int16Array(size * size);
  for (let i = 0; i < data.length; i++) {
    // Approximately Gaussian noise (sum of uniforms) around the sky level.
    data[i] = Math.round(level + (rand() + rand() + rand() + rand() - 2) * 20);
  }
  for (let s = 0; s < stars; s++) {
    const x0 = rand() * size;
    const y0 = rand() * size;
    const peak = 500 + rand() * 20000;
    for (let y = Math.max(0, Math.floor(y0 - 6)); y < Math.min(size, y0 + 6); y++)
      for (let x = Math.max(0, Math.floor(x0 - 6)); x < Math.min(size, x0 + 6); x++) {
        const r2 = (x - x0) ** 2 + (y - y0) ** 2;
        data[y * size + x] = Math.min(32767, data[y * size + x] + Math.round(peak * Math.exp(-r2 / 4)));
      }
  }
  return data;
}

function toJpeg(data: Int16Array, size: number, out: number): Promise<Buffer> {
  const sorted = Array.from(data.subarray(0, Math.min(data.length, 20000))).sort((a, b) => a - b);
  const lo = sorted[Math.floor(sorted.length * 0.05)];
  const hi = sorted[Math.floor(sorted.length * 0.995)];
  const px = new Uint8Array(size * size);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const v = (data[(size - 1 - y) * size + x] - lo) / Math.max(1, hi - lo);
      px[y * size + x] = Math.round((255 * Math.asinh(10 * Math.max(0, Math.min(1, v)))) / Math.asinh(10));
    }
  return sharp(px, { raw: { width: size, height: size, channels: 1 } })
    .resize(out, out)
    .jpeg()
    .toBuffer();
}

function bzip2(bytes: Uint8Array): Uint8Array {
  const r = spawnSync('bzip2', ['-c', '-9'], { input: bytes, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`bzip2 failed: ${r.stderr}`);
  return r.stdout;
}

/** A header dump as observatories publish it: one 80-character card per line. */
function dump(header: Uint8Array): string {
  const text = new TextDecoder('latin1').decode(header);
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += 80) {
    const card = text.slice(i, i + 80);
    lines.push(card.trimEnd());
    if (card.startsWith('END ')) break;
  }
  return `${lines.join('\n')}\n`;
}

/** Writes the night under `dir` and lists what it wrote. */
export async function writeSampleNight(dir: string, opts: NightOptions = {}): Promise<NightFile[]> {
  const rand = seededRandom(opts.seed ?? 42);
  const size = opts.size ?? 256;
  const night = opts.night ?? '2022-06-29';
  const ymd = night.replace(/-/g, '');
  const startMjd =
    Date.UTC(+night.slice(0, 4), +night.slice(5, 7) - 1, +night.slice(8, 10)) / 86400000 + 40587 + 0.05;
  const files: NightFile[] = [];
  let seq = 10440;
  mkdirSync(dir, { recursive: true });

  const write = async (
    inst: (typeof INSTRUMENTS)[number],
    type: string,
    level: string,
    mjd: number,
    cards: CardSpec[],
    data: Int16Array,
    products: boolean,
  ) => {
    const base = `${inst.site}-${inst.id}-${ymd}-${String(seq++).padStart(8, '0')}-${type}${level}`;
    const sub = join(dir, inst.id);
    mkdirSync(sub, { recursive: true });
    const date = mjdToIso(mjd);
    const all: CardSpec[] = [
      ['ORIGIN', 'fitslake demo', 'sample night generator'],
      ['SITEID', inst.site, 'site'],
      ['TELESCOP', inst.tel, 'telescope'],
      ['INSTRUME', inst.id, 'instrument'],
      ['DATE-OBS', date, '[UTC] start of exposure'],
      ['MJD-OBS', mjd, '[d] start of exposure'],
      ['DAY-OBS', ymd, 'night of observation'],
      ...cards,
    ];
    const fits = encodeImageHdu(data, [size, size], all);
    const push = (name: string, role: string, bytes: Uint8Array | string) => {
      writeFileSync(join(sub, name), bytes);
      files.push({ path: `${inst.id}/${name}`, role, obsId: base });
    };
    push(`${base}.fits.bz2`, 'science', bzip2(fits));
    if (!products) return base;
    const small = new Int16Array((size / 4) ** 2);
    for (let y = 0; y < size / 4; y++)
      for (let x = 0; x < size / 4; x++) small[y * (size / 4) + x] = data[y * 4 * size + x * 4];
    const scaled = cards.map((c): CardSpec => {
      if (c[0] === 'CRPIX1' || c[0] === 'CRPIX2') return [c[0], ((c[1] as number) - 0.5) / 4 + 0.5];
      if (/^CD\d_\d$/.test(c[0])) return [c[0], (c[1] as number) * 4];
      return c;
    });
    push(
      `${base}-small.fits`,
      'small',
      encodeImageHdu(small, [size / 4, size / 4], [...all.slice(0, 7), ...scaled]),
    );
    push(`${base}.jpg`, 'preview', await toJpeg(data, size, Math.min(size, 512)));
    push(`${base}-thumb.jpg`, 'thumbnail', await toJpeg(data, size, 64));
    push(
      `${base}.txt`,
      'header',
      dump(
        encodeHeader([
          ['SIMPLE', true],
          ['BITPIX', 16],
          ['NAXIS', 2],
          ['NAXIS1', size],
          ['NAXIS2', size],
          ...all,
        ]),
      ),
    );
    return base;
  };

  for (const [n, inst] of INSTRUMENTS.entries()) {
    let mjd = startMjd + n * 0.003;
    const calib: Record<string, string> = {};
    for (const [type, name, exptime] of [
      ['bi', 'BIAS', 0],
      ['dk', 'DARK', 60],
      ['fl', 'SKYFLAT', 5],
    ] as const) {
      const base = await write(
        inst,
        type,
        '11',
        mjd,
        [
          ['OBSTYPE', name, 'frame type'],
          ['EXPTIME', exptime, '[s] exposure time'],
          ['FILTER', 'air', 'filter'],
        ],
        frame(size, rand, 0, type === 'fl' ? 20000 : 400),
        false,
      );
      calib[type] = `${base}.fits.bz2`;
      mjd += (exptime + 20) / 86400;
    }
    for (let e = 0; e < (opts.exposures ?? 12); e++) {
      const [target, ra, dec] = TARGETS[Math.floor(rand() * TARGETS.length)];
      const filter = FILTERS[Math.floor(rand() * FILTERS.length)];
      const exptime = [30, 60, 120, 300][Math.floor(rand() * 4)];
      const airmass = 1 + rand() * 1.2;
      const scale = inst.scale / 3600;
      const rot = (rand() - 0.5) * 0.02;
      const cards: CardSpec[] = [
        ['OBSTYPE', 'EXPOSE', 'frame type'],
        ['OBJECT', target, 'target'],
        ['FILTER', filter, 'filter'],
        ['EXPTIME', exptime, '[s] exposure time'],
        ['AIRMASS', Number(airmass.toFixed(4)), 'airmass at start'],
        ['ALTITUDE', Number((90 - (Math.acos(1 / airmass) * 180) / Math.PI).toFixed(3)), '[deg]'],
        ['AZIMUTH', Number((rand() * 360).toFixed(3)), '[deg]'],
        ['OBSERVER', ['A. Cannon', 'H. Leavitt', 'E. Hubble'][n], 'observer'],
        ['RADESYS', 'ICRS'],
        ['CTYPE1', 'RA---TAN'],
        ['CTYPE2', 'DEC--TAN'],
        ['CRPIX1', size / 2 + 0.5],
        ['CRPIX2', size / 2 + 0.5],
        ['CRVAL1', (ra + (rand() - 0.5) * 0.01 + 360) % 360],
        ['CRVAL2', Math.max(-89.99, Math.min(89.99, dec + (rand() - 0.5) * 0.01))],
        ['CD1_1', -scale * Math.cos(rot)],
        ['CD1_2', scale * Math.sin(rot)],
        ['CD2_1', scale * Math.sin(rot)],
        ['CD2_2', scale * Math.cos(rot)],
        ['CUNIT1', 'deg'],
        ['CUNIT2', 'deg'],
        ['SEEING', Number((1 + rand()).toFixed(2)), '[arcsec]'],
        ['L1IDBIAS', calib.bi, 'bias frame used'],
        ['L1IDDARK', calib.dk, 'dark frame used'],
        ['L1IDFLAT', calib.fl, 'flat frame used'],
      ];
      await write(inst, 'ex', '10', mjd, cards, frame(size, rand, 25, 800), true);
      mjd += (exptime + 30) / 86400;
    }
  }
  return files;
}
