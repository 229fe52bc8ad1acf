// Quick-look pictures: an 8-bit preview of a FITS image HDU, and thumbnails of JPEG/PNG uploads.
import sharp from 'sharp';
import type { ByteSource } from '../fits/byte-source.ts';
import { readCompressedImage } from '../fits/compression/tiles.ts';
import { FitsError } from '../fits/errors.ts';
import { type Hdu, logicalShape } from '../fits/hdu.ts';
import { type AxisRange, type ImageData, readSection } from '../fits/image.ts';

export interface Limits {
  lo: number;
  hi: number;
}

export interface ZscaleOptions {
  /** Pixels sampled, evenly spaced over the finite ones (astropy's n_samples). */
  nSamples?: number;
  /** Divides the fitted slope: smaller shows a wider range. */
  contrast?: number;
  /** Give up on the fit when more than this fraction of the samples is rejected. */
  maxReject?: number;
  /** Give up on the fit when fewer samples than this remain. */
  minPixels?: number;
  /** Rejection threshold in standard deviations of the residuals. */
  krej?: number;
  maxIterations?: number;
}

/**
 * IRAF's zscale, step for step as astropy's ZScaleInterval: fit a line to the sorted sample with
 * iterative k-sigma rejection (rejected samples grow by 1% of the sample each side), then centre
 * the range on the median with the slope divided by the contrast, clipped to the sample's extremes.
 * Non-finite pixels are ignored; an image without any gives { lo: 0, hi: 0 }.
 */
export function zscale(values: ArrayLike<number>, opts: ZscaleOptions = {}): Limits {
  const { nSamples = 1000, contrast = 0.25, maxReject = 0.5, minPixels = 5, krej = 2.5 } = opts;
  const maxIterations = opts.maxIterations ?? 5;
  const samples = sampleFinite(values, nSamples).sort();
  const npix = samples.length;
  if (npix === 0) return { lo: 0, hi: 0 };
  let lo = samples[0];
  let hi = samples[npix - 1];

  const minGood = Math.max(minPixels, Math.floor(npix * maxReject));
  const grow = Math.max(1, Math.floor(npix * 0.01));
  let bad: Uint8Array = new Uint8Array(npix);
  let good = npix;
  let lastGood = npix + 1;
  let slope = 0;
  for (let it = 0; it < maxIterations && good < lastGood && good >= minGood; it++) {
    const fit = fitLine(samples, bad);
    slope = fit.slope;
    const residual = (i: number) => samples[i] - (fit.intercept + fit.slope * i);
    const threshold = krej * goodStd(samples.length, bad, residual);
    for (let i = 0; i < npix; i++) if (Math.abs(residual(i)) > threshold) bad[i] = 1;
    bad = dilate(bad, grow);
    lastGood = good;
    good = bad.reduce((n, b) => n + (b ? 0 : 1), 0);
  }
  if (good >= minGood) {
    const s = contrast > 0 ? slope / contrast : slope;
    const centre = Math.floor((npix - 1) / 2);
    const median = npix % 2 ? samples[centre] : (samples[centre] + samples[centre + 1]) / 2;
    lo = Math.max(lo, median - (centre - 1) * s);
    hi = Math.min(hi, median + (npix - centre) * s);
  }
  return { lo, hi };
}

/** Every stride-th finite value (stride = ⌊finite / n⌋, at least 1), at most n of them. */
function sampleFinite(values: ArrayLike<number>, n: number): Float64Array {
  let finite = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) finite++;
  const stride = Math.max(1, Math.floor(finite / n));
  const out = new Float64Array(Math.min(n, Math.ceil(finite / stride)));
  let k = 0;
  let seen = 0;
  for (let i = 0; i < values.length && k < out.length; i++) {
    if (!Number.isFinite(values[i])) continue;
    if (seen++ % stride === 0) out[k++] = values[i];
  }
  return out;
}

/** Least-squares line y = intercept + slope·i through the samples not marked bad. */
function fitLine(y: Float64Array, bad: Uint8Array): { slope: number; intercept: number } {
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < y.length; i++) {
    if (bad[i]) continue;
    n++;
    sx += i;
    sy += y[i];
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < y.length; i++) {
    if (bad[i]) continue;
    sxx += (i - mx) * (i - mx);
    sxy += (i - mx) * (y[i] - my);
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { slope, intercept: my - slope * mx };
}

/** Population standard deviation of f(i) over the indices not marked bad. */
function goodStd(n: number, bad: Uint8Array, f: (i: number) => number): number {
  let count = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (bad[i]) continue;
    count++;
    sum += f(i);
  }
  const mean = sum / count;
  let ss = 0;
  for (let i = 0; i < n; i++) if (!bad[i]) ss += (f(i) - mean) ** 2;
  return Math.sqrt(ss / count);
}

/** Grows each bad mark to a run of `width` (numpy.convolve(mask, ones(width), 'same') alignment). */
function dilate(bad: Uint8Array, width: number): Uint8Array {
  const before = Math.floor((width - 1) / 2);
  const after = width - 1 - before;
  const out = new Uint8Array(bad.length);
  for (let i = 0; i < bad.length; i++) {
    if (!bad[i]) continue;
    out.fill(1, Math.max(0, i - before), Math.min(bad.length, i + after + 1));
  }
  return out;
}

/** The lowPct and highPct percentiles of the finite values (numpy's linear interpolation). */
export function percentileLimits(values: ArrayLike<number>, lowPct = 0.5, highPct = 99.5): Limits {
  const finite = Float64Array.from(values).filter(Number.isFinite).sort();
  if (finite.length === 0) return { lo: 0, hi: 0 };
  const at = (pct: number) => {
    const pos = (Math.min(100, Math.max(0, pct)) / 100) * (finite.length - 1);
    const i = Math.floor(pos);
    const j = Math.min(i + 1, finite.length - 1);
    return finite[i] + (pos - i) * (finite[j] - finite[i]);
  };
  return { lo: at(lowPct), hi: at(highPct) };
}

export type StretchKind = 'linear' | 'asinh' | 'log';

const CURVES: Record<StretchKind, (x: number) => number> = {
  linear: (x) => x,
  asinh: (x) => Math.asinh(10 * x) / Math.asinh(10),
  // ds9's log curve with a = 1000, written with log1p so that 1 maps exactly to 1.
  log: (x) => Math.log1p(1000 * x) / Math.log1p(1000),
};

/**
 * Maps values to 0..255: (v - lo)/(hi - lo) clipped to [0, 1], then through the curve. NaN is 0,
 * and so is everything when hi <= lo (a constant image).
 */
export function stretch(values: ArrayLike<number>, lo: number, hi: number, kind: StretchKind): Uint8Array {
  const curve = CURVES[kind];
  const range = hi - lo;
  const out = new Uint8Array(values.length);
  if (!(range > 0)) return out;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    const x = Math.min(1, Math.max(0, (v - lo) / range));
    out[i] = Math.round(curve(x) * 255);
  }
  return out;
}

export interface PreviewOptions {
  /** Longest side of the picture in pixels; smaller images are never enlarged. */
  maxSize: number;
  format: 'jpeg' | 'png';
  scale?: 'zscale' | 'percentile';
  stretch?: StretchKind;
}

export interface Preview {
  bytes: Uint8Array;
  width: number;
  height: number;
}

/**
 * An 8-bit grey picture of an image HDU (of the first plane of a cube), north-up as FITS means it:
 * row 1 at the bottom. Large images are decimated while reading (every k-th pixel, k chosen so
 * the read is still at least maxSize on its longest side), then resized by sharp.
 */
export async function renderPreview(source: ByteSource, hdu: Hdu, opts: PreviewOptions): Promise<Preview> {
  if (!(Number.isInteger(opts.maxSize) && opts.maxSize > 0)) {
    throw new RangeError(`maxSize must be a positive integer, not ${opts.maxSize}`);
  }
  const shape = logicalShape(hdu);
  if (shape.length < 2 || shape.some((n) => n <= 0)) {
    throw new FitsError('unsupported', `HDU ${hdu.index} has shape [${shape.join(', ')}], not an image`, {
      hdu: hdu.index,
    });
  }
  const [w, h] = shape;
  const step = Math.max(1, Math.floor(Math.max(w, h) / opts.maxSize));
  const ranges: AxisRange[] = shape.map((n, axis) =>
    axis < 2 ? { start: 0, stop: n, step } : { start: 0, stop: 1 },
  );
  const image =
    hdu.kind === 'compressed-image'
      ? await readCompressedImage(source, hdu, ranges)
      : await readSection(source, hdu, ranges);
  const values = asNumbers(image);
  const [rw, rh] = image.shape;

  const { lo, hi } = opts.scale === 'percentile' ? percentileLimits(values) : zscale(values);
  const grey = flipRows(stretch(values, lo, hi, opts.stretch ?? 'asinh'), rw, rh);

  const scale = Math.min(1, opts.maxSize / Math.max(w, h));
  const width = Math.max(1, Math.round(w * scale));
  const height = Math.max(1, Math.round(h * scale));
  let picture = sharp(grey, { raw: { width: rw, height: rh, channels: 1 } });
  if (width !== rw || height !== rh) picture = picture.resize({ width, height, fit: 'fill' });
  picture = opts.format === 'png' ? picture.png() : picture.jpeg({ quality: 85 });
  const { data, info } = await picture.toBuffer({ resolveWithObject: true });
  return { bytes: asUint8(data), width: info.width, height: info.height };
}

/** Pixel values as numbers (64-bit integer images arrive as bigint arrays). */
function asNumbers(image: ImageData): ArrayLike<number> {
  const d = image.data;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float64Array.from(d, Number);
  return d;
}

/** Reverses the row order: FITS row 1 is the bottom of the picture, an image file's row 0 the top. */
function flipRows(pixels: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(pixels.length);
  for (let y = 0; y < height; y++) {
    out.set(pixels.subarray(y * width, (y + 1) * width), (height - 1 - y) * width);
  }
  return out;
}

/**
 * A JPEG thumbnail of an uploaded JPEG or PNG, turned upright by its EXIF orientation, the longest
 * side at most maxSize (never enlarged).
 */
export async function thumbnailFromImage(bytes: Uint8Array, maxSize: number): Promise<Preview> {
  if (!(Number.isInteger(maxSize) && maxSize > 0)) {
    throw new RangeError(`maxSize must be a positive integer, not ${maxSize}`);
  }
  const { data, info } = await sharp(bytes)
    .rotate()
    .resize({ width: maxSize, height: maxSize, fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 85 })
    .toBuffer({ resolveWithObject: true });
  return { bytes: asUint8(data), width: info.width, height: info.height };
}

const asUint8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
