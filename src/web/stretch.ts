// Display limits, stretches and colour maps for the image viewer: pure functions, no DOM. (The
// server's src/ingest/preview.ts has a zscale too, but it imports sharp, so the browser has its own.)

export type StretchKind = 'linear' | 'log' | 'asinh';
export type LimitsKind = 'zscale' | '99.5' | '99' | '95' | 'minmax';
export type ColourMap = 'grey' | 'viridis' | 'heat' | 'inverted';

export interface Limits {
  lo: number;
  hi: number;
}

/** Up to n finite values spread evenly over the array, sorted. */
function sample(values: ArrayLike<number>, n: number): Float64Array {
  const step = Math.max(1, Math.floor(values.length / n));
  const out: number[] = [];
  for (let i = 0; i < values.length; i += step) {
    const v = values[i];
    if (Number.isFinite(v)) out.push(v);
  }
  return Float64Array.from(out).sort();
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const at = q * (sorted.length - 1);
  const i = Math.floor(at);
  const f = at - i;
  return i + 1 < sorted.length ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i];
}

/** The limits keeping the central pct % of the finite values (100: min and max). */
export function percentileLimits(values: ArrayLike<number>, pct: number): Limits {
  if (pct >= 100) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return Number.isFinite(lo) ? { lo, hi } : { lo: 0, hi: 1 };
  }
  const s = sample(values, 200_000);
  const tail = (100 - pct) / 200;
  return { lo: quantile(s, tail), hi: quantile(s, 1 - tail) };
}

/**
 * IRAF's zscale (as astropy's ZScaleInterval: 1000 samples, contrast 0.25, iterative line fit with
 * 2.5σ rejection); the sample's min-max when too few points remain.
 */
export function zscale(values: ArrayLike<number>, nsamples = 1000, contrast = 0.25): Limits {
  const s = sample(values, nsamples);
  const n = s.length;
  if (n === 0) return { lo: 0, hi: 1 };
  let lo = s[0];
  let hi = s[n - 1];
  const minPix = Math.max(5, Math.floor(n * 0.5));
  const x = Float64Array.from({ length: n }, (_, i) => i);
  let good = Uint8Array.from({ length: n }, () => 1);
  let slope = 0;
  let intercept = 0;
  let ngood = n;
  for (let iter = 0; iter < 5; iter++) {
    if (ngood < minPix) break;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let sxy = 0;
    let m = 0;
    for (let i = 0; i < n; i++) {
      if (!good[i]) continue;
      sx += x[i];
      sy += s[i];
      sxx += x[i] * x[i];
      sxy += x[i] * s[i];
      m++;
    }
    const d = m * sxx - sx * sx;
    if (d === 0) break;
    slope = (m * sxy - sx * sy) / d;
    intercept = (sy - slope * sx) / m;
    let ss = 0;
    for (let i = 0; i < n; i++) if (good[i]) ss += (s[i] - (intercept + slope * x[i])) ** 2;
    const sigma = Math.sqrt(ss / m);
    const next = new Uint8Array(n);
    for (let i = 0; i < n; i++) next[i] = Math.abs(s[i] - (intercept + slope * x[i])) <= 2.5 * sigma ? 1 : 0;
    // grow rejected points by one on each side, as the reference does
    const grown = Uint8Array.from(next);
    for (let i = 0; i < n; i++)
      if (!next[i]) for (const j of [i - 1, i + 1]) if (j >= 0 && j < n) grown[j] = 0;
    let count = 0;
    for (let i = 0; i < n; i++) count += grown[i];
    if (count === ngood) break;
    good = grown;
    ngood = count;
  }
  if (ngood >= minPix) {
    const c = contrast > 0 ? slope / contrast : slope;
    const mid = Math.floor((n - 1) / 2);
    lo = Math.max(lo, s[mid] - (mid - 0) * c);
    hi = Math.min(hi, s[mid] + (n - 1 - mid) * c);
  }
  return lo < hi ? { lo, hi } : { lo: s[0], hi: s[n - 1] > s[0] ? s[n - 1] : s[0] + 1 };
}

export function limitsOf(values: ArrayLike<number>, kind: LimitsKind): Limits {
  if (kind === 'zscale') return zscale(values);
  if (kind === 'minmax') return percentileLimits(values, 100);
  return percentileLimits(values, Number(kind));
}

/** A value in [lo, hi] mapped to [0, 1] by the stretch (astropy's LogStretch a=1000, AsinhStretch a=0.1). */
export function stretchFn(kind: StretchKind, { lo, hi }: Limits): (v: number) => number {
  const span = hi - lo || 1;
  const clip = (v: number) => Math.min(1, Math.max(0, (v - lo) / span));
  if (kind === 'log') {
    const a = 1000;
    const k = 1 / Math.log(a + 1);
    return (v) => Math.log(a * clip(v) + 1) * k;
  }
  if (kind === 'asinh') {
    const a = 0.1;
    const k = 1 / Math.asinh(1 / a);
    return (v) => Math.asinh(clip(v) / a) * k;
  }
  return clip;
}

const ANCHORS: Record<Exclude<ColourMap, 'grey' | 'inverted'>, [number, number, number][]> = {
  // matplotlib's viridis at 0, 1/8 … 1
  viridis: [
    [68, 1, 84],
    [71, 44, 122],
    [59, 81, 139],
    [44, 113, 142],
    [33, 144, 141],
    [39, 173, 129],
    [92, 200, 99],
    [170, 220, 50],
    [253, 231, 37],
  ],
  heat: [
    [0, 0, 0],
    [128, 0, 0],
    [230, 40, 0],
    [255, 150, 0],
    [255, 230, 80],
    [255, 255, 255],
  ],
};

/** 256 RGB entries (768 bytes) of a colour map. */
export function colourTable(map: ColourMap): Uint8Array {
  const lut = new Uint8Array(768);
  for (let i = 0; i < 256; i++) {
    let rgb: [number, number, number];
    if (map === 'grey') rgb = [i, i, i];
    else if (map === 'inverted') rgb = [255 - i, 255 - i, 255 - i];
    else {
      const a = ANCHORS[map];
      const t = (i / 255) * (a.length - 1);
      const k = Math.min(a.length - 2, Math.floor(t));
      const f = t - k;
      rgb = [0, 1, 2].map((c) => Math.round(a[k][c] * (1 - f) + a[k + 1][c] * f)) as [number, number, number];
    }
    lut.set(rgb, i * 3);
  }
  return lut;
}

/**
 * RGBA pixels of a width × height image in FITS order (row 0 is the bottom): canvas row 0 is the
 * top, so rows are flipped. NaN pixels are transparent.
 */
export function renderRgba(
  values: ArrayLike<number>,
  width: number,
  height: number,
  stretch: (v: number) => number,
  lut: Uint8Array,
): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const src = (height - 1 - y) * width;
    const dst = y * width * 4;
    for (let x = 0; x < width; x++) {
      const v = values[src + x];
      const o = dst + x * 4;
      if (!Number.isFinite(v)) continue;
      const i = Math.round(stretch(v) * 255) * 3;
      out[o] = lut[i];
      out[o + 1] = lut[i + 1];
      out[o + 2] = lut[i + 2];
      out[o + 3] = 255;
    }
  }
  return out;
}
