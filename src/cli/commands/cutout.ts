import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LOCAL_ADMIN, visibilityFor } from '../../catalog/access.ts';
import type { ByteSource } from '../../fits/byte-source.ts';
import { readCompressedImage } from '../../fits/compression/tiles.ts';
import {
  CutoutError,
  type CutoutRequest,
  cutoutFits,
  isImageHdu,
  parsePixelRanges,
  readHduAt,
  serialized,
  walkHdus,
} from '../../fits/cutout.ts';
import { FitsError } from '../../fits/errors.ts';
import { type Hdu, logicalHeader, logicalShape } from '../../fits/hdu.ts';
import { type AxisRange, type ImageData, readSection } from '../../fits/image.ts';
import { timeAxis } from '../../fits/time-axis.ts';
import type { HttpSourceOptions } from '../../io/http-source.ts';
import { storeFor } from '../../ingest/mounts.ts';
import { openSource } from '../../io/open.ts';
import { type Lake, openLake } from '../../lake/lake.ts';
import { imageHdus, isDid, resolveId } from '../../services/soda/resolve.ts';
import { openForCutout } from '../../services/soda/source.ts';
import { stringify } from '../json.ts';
import type { Output } from '../output.ts';
import { EXIT } from './ingest.ts';

/**
 * `fitslake cutout` and `fitslake lightcurve`: the SODA cutout engine (src/fits/cutout.ts) and the
 * image section reader on a local file, an http(s) URL (range requests) or a lake ID, reading only
 * the bytes they need.
 */

export type InputErrorCode = 'usage' | 'not-found' | 'not-image' | 'not-cube' | 'outside';

/** A problem with what the user asked for: printed as one line, never with a stack. */
export class InputError extends Error {
  override name = 'InputError';
  constructor(
    readonly code: InputErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// ----- inputs ---------------------------------------------------------------------------------

/** One opened input: its bytes and a way to find an HDU in them. */
interface Input {
  /** The path, URL or ID as given: how messages name it. */
  name: string;
  source: ByteSource;
  /** The HDU `which` names (index or EXTNAME), or the first image HDU with data. */
  hdu(which: string | undefined): Promise<Hdu>;
  close(): Promise<void>;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);
const hduName = (h: Hdu) => `HDU ${h.index}${h.extname ? ` (${h.extname})` : ''}`;

/** `--hdu` as an index or an EXTNAME. */
function hduSpec(which: string | undefined): number | string | undefined {
  if (which === undefined) return undefined;
  const t = which.trim();
  if (/^\d+$/.test(t)) return Number(t);
  if (!t) throw new InputError('usage', '--hdu: give an HDU number (0 = primary) or an EXTNAME');
  return t.toUpperCase();
}

/** Walks headers only, so a gzip/bzip2 stream is never read past the HDU that is wanted. */
async function walkTo(name: string, source: ByteSource, which: string | undefined): Promise<Hdu> {
  const want = hduSpec(which);
  const seen: string[] = [];
  for await (const h of walkHdus(source)) {
    if (want === undefined ? isImageHdu(h) : want === h.index || want === h.extname?.toUpperCase()) return h;
    seen.push(`${h.index} ${h.kind}${h.extname ? ` ${h.extname}` : ''}`);
  }
  if (!seen.length) throw new InputError('not-found', `${name}: not a FITS file`);
  throw new InputError(
    'not-found',
    want === undefined
      ? `${name}: no image HDU with data (HDUs: ${seen.join(', ')})`
      : `${name}: no HDU ${JSON.stringify(which)} (HDUs: ${seen.join(', ')})`,
  );
}

function plainInput(name: string, source: ByteSource): Input {
  return {
    name,
    source,
    hdu: (which) => walkTo(name, source, which),
    close: async () => source.close?.(),
  };
}

/** The lake a raw key or DID is looked up in: --lake, $FITSLAKE_LAKE or the current folder. */
function lakeDir(opts: { lake?: string }): string | undefined {
  return opts.lake ?? process.env.FITSLAKE_LAKE;
}

/**
 * An ID in a lake, as SODA accepts it: an observation's publisher DID (its science file) or a
 * raw-zone key. The catalog's HDU offsets locate the HDU without walking the file.
 */
async function lakeInput(id: string, dir: string | undefined): Promise<Input> {
  const lake = await openLake(dir);
  try {
    const target = await resolveId(lake, await visibilityFor(LOCAL_ADMIN, async () => []), id);
    if (!target)
      throw new InputError(
        'not-found',
        `${id}: no such ${isDid(id) ? 'observation' : 'file'} in the lake at ${lake.dir}`,
      );
    const file = target.file;
    if (!file) throw new InputError('not-found', `${id}: its science file has not arrived yet`);
    if (file.kind !== 'fits') throw new InputError('not-image', `${id}: ${file.key} is not a FITS file`);
    const src = await openForCutout(await storeFor(lake, file.zone, file.key), file.key);
    const name = isDid(id) ? `${id} (${file.key})` : id;
    return {
      name,
      source: src.source,
      hdu: (which) => lakeHdu(lake, Number(file.id), name, src.source, which),
      async close() {
        await src.close();
        await lake.close();
      },
    };
  } catch (err) {
    await lake.close();
    throw err;
  }
}

async function lakeHdu(
  lake: Lake,
  fileId: number,
  name: string,
  source: ByteSource,
  which: string | undefined,
): Promise<Hdu> {
  const want = hduSpec(which);
  const rows =
    want === undefined
      ? await imageHdus(lake, fileId)
      : await lake.catalog.db
          .selectFrom('hdus')
          .selectAll()
          .where('file_id', '=', fileId)
          .orderBy('idx')
          .execute();
  const row = rows.find(
    (r) =>
      want === undefined ||
      r.idx === want ||
      String((JSON.parse(r.keyvalues ?? '{}') as Record<string, unknown>).EXTNAME ?? '')
        .trim()
        .toUpperCase() === want,
  );
  if (!row)
    throw new InputError(
      'not-found',
      want === undefined ? `${name}: no image HDU with data` : `${name}: no HDU ${JSON.stringify(which)}`,
    );
  return readHduAt(source, row.idx, Number(row.header_offset));
}

/**
 * A path, URL or lake ID. A DID, or anything with --lake, is looked up in the lake; otherwise an
 * existing path is a file, and a path that is not there is tried as a raw key of the lake in
 * $FITSLAKE_LAKE or the current folder (when there is one).
 */
async function openInput(input: string, opts: { lake?: string }, http?: HttpSourceOptions): Promise<Input> {
  if (isUrl(input)) return plainInput(input, await openSource(input, http ? { http } : {}));
  if (isDid(input) || opts.lake !== undefined) return lakeInput(input, lakeDir(opts));
  if (existsSync(input)) return plainInput(input, await openSource(input));
  const dir = resolve(lakeDir(opts) ?? '.');
  if (existsSync(join(dir, 'fitslake.yaml'))) return lakeInput(input, dir);
  throw new InputError('not-found', `${input}: no such file (a lake key needs --lake DIR)`);
}

async function withInput<T>(
  input: string,
  opts: { lake?: string },
  http: HttpSourceOptions | undefined,
  fn: (i: Input) => Promise<T>,
): Promise<T> {
  const opened = await openInput(input, opts, http);
  try {
    return await fn(opened);
  } finally {
    await opened.close();
  }
}

/** Known failures become one line on stderr and exit 1; anything else is a bug and propagates. */
async function reporting(command: string, io: Output, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof InputError || err instanceof CutoutError || err instanceof FitsError) {
      io.err(`fitslake ${command}: ${err.message}`);
      return EXIT.error;
    }
    throw err;
  }
}

function imageOnly(name: string, hdu: Hdu): void {
  if (isImageHdu(hdu)) return;
  const what = ['primary', 'image', 'compressed-image'].includes(hdu.kind)
    ? 'an image without data (NAXIS = 0)'
    : `a ${hdu.kind}, not an image`;
  throw new InputError('not-image', `${name}: ${hduName(hdu)} is ${what}`);
}

// ----- cutout ---------------------------------------------------------------------------------

export interface CutoutCommandOptions {
  hdu?: string;
  ra?: string;
  dec?: string;
  radius?: string;
  pixels?: string;
  output: string;
  lake?: string;
}

const ANGLE: Record<string, number> = {
  '': 1,
  deg: 1,
  d: 1,
  arcmin: 1 / 60,
  "'": 1 / 60,
  arcsec: 1 / 3600,
  '"': 1 / 3600,
};

function number(flag: string, text: string | undefined): number {
  const v = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isFinite(v))
    throw new InputError('usage', `${flag} ${text ?? ''}: not a number`);
  return v;
}

/** `--radius 0.01`, `30arcsec`, `2arcmin`, `0.5deg`. */
function angle(text: string): number {
  const m = /^\s*([0-9.eE+-]+)\s*(deg|d|arcmin|'|arcsec|")?\s*$/.exec(text);
  const v = m ? Number(m[1]) : Number.NaN;
  if (!m || !Number.isFinite(v) || v <= 0)
    throw new InputError('usage', `--radius ${text}: a positive angle in degrees (or with arcmin/arcsec)`);
  return v * ANGLE[m[2] ?? ''];
}

/** The request from the flags, checked before any byte is read. */
function cutoutRequest(opts: CutoutCommandOptions): CutoutRequest {
  const sky = [opts.ra, opts.dec, opts.radius];
  const given = sky.filter((v) => v !== undefined).length;
  if (given > 0 && given < 3)
    throw new InputError('usage', 'a sky cutout needs all of --ra, --dec and --radius');
  if (!given && opts.pixels === undefined)
    throw new InputError('usage', 'give --ra/--dec/--radius (degrees) or --pixels "x1:x2,y1:y2"');
  const req: CutoutRequest = {};
  if (given) {
    const ra = number('--ra', opts.ra);
    const dec = number('--dec', opts.dec);
    if (dec < -90 || dec > 90) throw new InputError('usage', `--dec ${dec}: outside -90..90`);
    req.region = { shape: 'circle', ra: ((ra % 360) + 360) % 360, dec, radius: angle(opts.radius!) };
  }
  if (opts.pixels !== undefined) {
    try {
      req.pixels = parsePixelRanges(opts.pixels);
    } catch (err) {
      if (err instanceof CutoutError)
        throw new InputError('usage', `--pixels "${opts.pixels}": ${err.message}`);
      throw err;
    }
    for (const [i, r] of req.pixels.entries())
      if (r && (r[0] < 1 || r[1] < r[0]))
        throw new InputError(
          'usage',
          `--pixels "${opts.pixels}": axis ${i + 1} needs 1 ≤ first ≤ last, got ${r[0]}:${r[1]}`,
        );
  }
  return req;
}

/** A --pixels box past the image's edge, named with the image's size (planCutout speaks SODA). */
function checkPixels(name: string, hdu: Hdu, req: CutoutRequest): void {
  const shape = logicalShape(hdu);
  if (!req.pixels) return;
  if (req.pixels.length > shape.length)
    throw new InputError(
      'usage',
      `${name}: --pixels gives ${req.pixels.length} ranges, ${hduName(hdu)} has ${shape.length} axes (${shape.join('×')})`,
    );
  for (const [i, r] of req.pixels.entries())
    if (r && r[0] > shape[i])
      throw new InputError(
        'outside',
        `${name}: --pixels ${r[0]}:${r[1]} on axis ${i + 1} lies outside ${hduName(hdu)} (NAXIS${i + 1} = ${shape[i]}): no overlap`,
      );
}

/** `fitslake cutout INPUT … -o out.fits`: a valid FITS of the box with its WCS shifted. */
export function cutoutCommand(input: string, opts: CutoutCommandOptions, io: Output): Promise<number> {
  return reporting('cutout', io, async () => {
    const req = cutoutRequest(opts);
    const res = await withInput(input, opts, undefined, async (i) => {
      const hdu = await i.hdu(opts.hdu);
      imageOnly(i.name, hdu);
      checkPixels(i.name, hdu, req);
      try {
        return await cutoutFits(i.source, hdu, req, { name: i.name });
      } catch (err) {
        if (err instanceof CutoutError)
          throw new InputError(err.code === 'no-overlap' ? 'outside' : 'usage', `${i.name}: ${err.message}`);
        throw err;
      }
    });
    const plan = res.plans[0];
    const size = plan.ranges.map((r) => r.stop - r.start).join('×');
    const summary = `${plan.section} of ${input} HDU ${plan.hdu.index}: ${size} pixels, ${res.bytes.length} bytes`;
    if (opts.output === '-') {
      if (!io.bytes) throw new InputError('usage', '-o -: this output cannot take bytes');
      io.bytes(res.bytes);
      io.err(`cutout ${summary}`);
    } else {
      await writeFile(opts.output, res.bytes);
      io.out(`wrote ${opts.output}: ${summary}`);
    }
    return EXIT.ok;
  });
}

// ----- light curve ----------------------------------------------------------------------------

export interface LightcurveOptions {
  hdu?: string;
  x: string;
  y: string;
  format?: string;
  lake?: string;
}

function positiveInt(flag: string, text: string): number {
  const v = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || v < 1)
    throw new InputError('usage', `${flag} ${text}: a pixel number, 1 or more`);
  return v;
}

/** Values as text: float32 in its shortest round-tripping form, int64 exactly. */
function show(v: number | bigint, dtype: string): string {
  if (typeof v === 'bigint') return v.toString();
  if (Number.isNaN(v)) return 'NaN';
  return dtype === 'float32' ? String(Number(v.toPrecision(9))) : String(v);
}

/** One pixel through every frame: only that pixel's bytes of each frame (or the tiles holding it). */
async function readPixelSeries(source: ByteSource, hdu: Hdu, ranges: AxisRange[]): Promise<ImageData> {
  // A gzip/bzip2 stream serves one read at a time, in increasing offsets.
  const src = (source as { sequential?: boolean }).sequential ? serialized(source) : source;
  return hdu.kind === 'compressed-image'
    ? readCompressedImage(src, hdu, ranges)
    : readSection(src, hdu, ranges);
}

/**
 * Range reads over HTTP in FITS blocks, never merged across a gap: headers are whole blocks, and
 * each frame costs one 2880-byte range (adjacent ones merge into one request).
 */
const PIXEL_HTTP: HttpSourceOptions = { blockSize: 2880, coalesceGap: 0 };

/** `fitslake lightcurve INPUT --x X --y Y`: one line per frame (frame, time when the WCS has it, value). */
export function lightcurveCommand(input: string, opts: LightcurveOptions, io: Output): Promise<number> {
  return reporting('lightcurve', io, async () => {
    const format = opts.format ?? 'tsv';
    if (!['tsv', 'csv', 'json'].includes(format))
      throw new InputError('usage', `--format ${format}: one of tsv, csv, json`);
    const x = positiveInt('--x', opts.x);
    const y = positiveInt('--y', opts.y);
    return withInput(input, opts, PIXEL_HTTP, async (i) => {
      const hdu = await i.hdu(opts.hdu);
      imageOnly(i.name, hdu);
      const shape = logicalShape(hdu);
      if (shape.length < 3 || shape.slice(3).some((n) => n !== 1))
        throw new InputError(
          'not-cube',
          `${i.name}: ${hduName(hdu)} is a ${shape.length}-D image (${shape.join('×')}); a light curve needs a cube whose frames lie along axis 3`,
        );
      if (x > shape[0] || y > shape[1])
        throw new InputError(
          'outside',
          `${i.name}: pixel (${x}, ${y}) lies outside ${hduName(hdu)} (${shape[0]}×${shape[1]} pixels per frame)`,
        );
      const ranges = shape.map((n, a) =>
        a === 0 ? { start: x - 1, stop: x } : a === 1 ? { start: y - 1, stop: y } : { start: 0, stop: n },
      );
      const img = await readPixelSeries(i.source, hdu, ranges);
      const time = timeAxis(logicalHeader(hdu));
      const frames = Array.from({ length: shape[2] }, (_, k) => {
        const pixel = shape.map((_n, a) => (a === 0 ? x : a === 1 ? y : a === 2 ? k + 1 : 1));
        return { frame: k + 1, time: time?.at(pixel), value: img.data[k] };
      });
      if (format === 'json') {
        io.out(
          stringify({
            input: i.name,
            hdu: hdu.index,
            x,
            y,
            time: time ? { ctype: time.ctype, unit: time.unit } : null,
            frames: frames.map((f) => ({
              frame: f.frame,
              ...(time ? { time: f.time } : {}),
              value: typeof f.value === 'number' && Number.isNaN(f.value) ? null : f.value,
            })),
          }),
        );
        return EXIT.ok;
      }
      const sep = format === 'csv' ? ',' : '\t';
      const cols = ['frame', ...(time ? ['time'] : []), 'value'];
      const lines =
        format === 'csv'
          ? [cols.join(sep)]
          : [
              `# ${i.name} ${hduName(hdu)}, pixel (${x}, ${y}), ${shape[2]} frames; ${time ? `time: ${time.ctype} in ${time.unit}` : 'no time axis in the WCS'}`,
              `# ${cols.join(sep)}`,
            ];
      for (const f of frames)
        lines.push([f.frame, ...(time ? [f.time] : []), show(f.value, img.dtype)].join(sep));
      io.out(`${lines.join('\n')}\n`);
      return EXIT.ok;
    });
  });
}
