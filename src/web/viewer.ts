// The observation page's image viewer (a lazily loaded chunk): reads the science file's first image
// plane in the browser with the FITS library (src/fits), draws it on a canvas with a chosen stretch,
// limits and colour map, and shows the pixel, its value and its RA/Dec under the pointer.
import { RangeSource } from '../cloud/range-source.ts';
import { BufferSource, type ByteSource } from '../fits/byte-source.ts';
import { readCompressedImage } from '../fits/compression/tiles.ts';
import { openFits } from '../fits/fits-file.ts';
import { type Hdu, logicalHeader, logicalShape } from '../fits/hdu.ts';
import { type AxisRange, readSection } from '../fits/image.ts';
import { type CelestialWcs, wcsFromHeader } from '../fits/wcs/wcs.ts';
import { getToken } from './api.ts';
import { formatDec, formatRa } from './coords.ts';
import { h, replace } from './dom.ts';
import {
  type ColourMap,
  colourTable,
  type LimitsKind,
  limitsOf,
  renderRgba,
  type StretchKind,
  stretchFn,
} from './stretch.ts';
import type { FileEntry } from './types.ts';

/** Files up to this size are fetched whole; larger ones are read by range. */
const WHOLE = 32 << 20;
/** The longest side drawn: larger planes are sampled with a step. */
const MAX_SIDE = 2048;

function authHeaders(): Record<string, string> {
  const t = getToken();
  return t ? { authorization: `Bearer ${t}` } : {};
}

async function fetchBytes(url: string, signal: AbortSignal, gzip: boolean): Promise<Uint8Array> {
  const r = await fetch(url, { headers: authHeaders(), signal });
  if (!r.ok) throw new Error(`${r.status} ${r.statusText}`);
  if (gzip && r.body) {
    const out = r.body.pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(out).arrayBuffer());
  }
  return new Uint8Array(await r.arrayBuffer());
}

async function sourceOf(file: FileEntry, signal: AbortSignal): Promise<ByteSource> {
  const url = new URL(file.url, location.href).href;
  const gz = /\.gz$/i.test(file.key);
  if (gz || file.size <= WHOLE) return new BufferSource(await fetchBytes(url, signal, gz), file.key);
  return new RangeSource(url, file.size, { headers: authHeaders() });
}

/** The first HDU holding an image of at least two non-empty axes. */
function imageHdu(hdus: Hdu[]): Hdu | undefined {
  return hdus.find((u) => {
    if (u.kind !== 'primary' && u.kind !== 'image' && u.kind !== 'compressed-image') return false;
    const s = logicalShape(u);
    return s.length >= 2 && s[0] > 0 && s[1] > 0;
  });
}

interface Plane {
  values:
    | Float64Array
    | Float32Array
    | Int32Array
    | Int16Array
    | Uint16Array
    | Uint8Array
    | Int8Array
    | Uint32Array;
  width: number;
  height: number;
  step: number;
  wcs: CelestialWcs | undefined;
  shape: number[];
  integer: boolean;
}

async function readPlane(source: ByteSource): Promise<{ plane: Plane; hdu: Hdu } | null> {
  const fits = await openFits(source);
  const hdu = imageHdu(fits.hdus);
  if (!hdu) return null;
  const shape = logicalShape(hdu);
  const step = Math.max(1, Math.ceil(Math.max(shape[0], shape[1]) / MAX_SIDE));
  const ranges: AxisRange[] = shape.map((n, i) =>
    i < 2 ? { start: 0, stop: n, step } : { start: 0, stop: 1 },
  );
  const img =
    hdu.kind === 'compressed-image'
      ? await readCompressedImage(source, hdu, ranges)
      : await readSection(source, hdu, ranges);
  const d = img.data;
  const values = d instanceof BigInt64Array || d instanceof BigUint64Array ? Float64Array.from(d, Number) : d;
  return {
    hdu,
    plane: {
      values,
      width: img.shape[0],
      height: img.shape[1],
      step,
      wcs: wcsFromHeader(logicalHeader(hdu)),
      shape,
      integer: !(values instanceof Float32Array || values instanceof Float64Array),
    },
  };
}

function select(
  id: string,
  label: string,
  options: [string, string][],
  value: string,
): [HTMLElement, HTMLSelectElement] {
  const s = h(
    'select',
    { id },
    options.map(([v, text]) => h('option', { value: v }, text)),
  );
  s.value = value;
  return [h('div', { class: 'field' }, h('label', { for: id }, label), s), s];
}

const fmtValue = (v: number, integer: boolean) =>
  Number.isNaN(v) ? 'NaN (blank)' : integer ? String(v) : String(Number(v.toPrecision(7)));

/**
 * Fills `box` with the viewer of `file` (the science file), or a note saying why it cannot show it.
 * `signal` aborts the download when the page goes away.
 */
export async function mountViewer(box: HTMLElement, file: FileEntry, signal: AbortSignal): Promise<void> {
  const heading = h('h2', { id: 'h-viewer' }, 'Image');
  if (/\.(bz2|zip|xz)$/i.test(file.key)) {
    replace(
      box,
      heading,
      h(
        'p',
        { class: 'muted note' },
        `${file.key} is compressed as a whole (bzip2), which the browser cannot read by parts: the preview above is the server's rendering, with a fixed stretch. Download the file to inspect its pixels.`,
      ),
    );
    return;
  }
  replace(box, heading, h('p', { role: 'status' }, `Reading ${file.key}…`));
  let got: Awaited<ReturnType<typeof readPlane>>;
  try {
    got = await readPlane(await sourceOf(file, signal));
  } catch (err) {
    if (signal.aborted) return;
    replace(
      box,
      heading,
      h('p', { role: 'alert', class: 'error' }, `The image could not be read: ${(err as Error).message}`),
    );
    return;
  }
  if (signal.aborted) return;
  if (!got) {
    replace(box, heading, h('p', { class: 'muted note' }, `${file.key} holds no image to show.`));
    return;
  }
  const { plane, hdu } = got;
  const { width, height, step, values, wcs } = plane;

  const [stretchField, stretchSel] = select(
    'v-stretch',
    'Stretch',
    [
      ['linear', 'linear'],
      ['log', 'log'],
      ['asinh', 'asinh'],
    ],
    'linear',
  );
  const [limitsField, limitsSel] = select(
    'v-limits',
    'Limits',
    [
      ['zscale', 'zscale'],
      ['99.5', '99.5 %'],
      ['99', '99 %'],
      ['95', '95 %'],
      ['minmax', 'min – max'],
    ],
    'zscale',
  );
  const [cmapField, cmapSel] = select(
    'v-cmap',
    'Colour map',
    [
      ['grey', 'grey'],
      ['viridis', 'viridis'],
      ['heat', 'heat'],
      ['inverted', 'inverted grey'],
    ],
    'grey',
  );
  const canvas = h('canvas', {
    width,
    height,
    class: 'viewer-canvas',
    tabindex: 0,
    role: 'img',
    'aria-label': `${file.key}, HDU ${hdu.index}, ${plane.shape.join(' × ')} pixels; arrow keys move the cursor`,
    style: `aspect-ratio: ${width} / ${height}`,
  });
  const readout = h('p', { class: 'readout', 'aria-live': 'polite' }, 'Point at the image for pixel values.');
  const info = h(
    'p',
    { class: 'muted' },
    `${file.key} · HDU ${hdu.index} · ${plane.shape.join(' × ')}${plane.shape.length > 2 ? ' (first plane)' : ''}${step > 1 ? ` · one pixel in ${step} along each axis shown` : ''}${wcs ? ` · WCS ${wcs.projection} (${wcs.frame})` : ' · no celestial WCS'}`,
  );
  replace(
    box,
    heading,
    info,
    h('div', { class: 'viewer-controls' }, stretchField, limitsField, cmapField),
    h('div', { class: 'viewer-stage' }, canvas),
    readout,
  );

  const ctx = canvas.getContext('2d');
  const limitsCache = new Map<string, { lo: number; hi: number }>();
  const draw = () => {
    if (!ctx) return;
    const lk = limitsSel.value as LimitsKind;
    let lim = limitsCache.get(lk);
    if (!lim) {
      lim = limitsOf(values, lk);
      limitsCache.set(lk, lim);
    }
    const rgba = renderRgba(
      values,
      width,
      height,
      stretchFn(stretchSel.value as StretchKind, lim),
      colourTable(cmapSel.value as ColourMap),
    );
    ctx.putImageData(new ImageData(rgba, width, height), 0, 0);
    canvas.dataset.lo = String(lim.lo);
    canvas.dataset.hi = String(lim.hi);
  };
  for (const s of [stretchSel, limitsSel, cmapSel]) s.addEventListener('change', draw);
  draw();

  // The cursor, in canvas pixels (column from the left, row from the top).
  let cur: [number, number] | null = null;
  const show = (cx: number, cy: number) => {
    cx = Math.min(width - 1, Math.max(0, cx));
    cy = Math.min(height - 1, Math.max(0, cy));
    cur = [cx, cy];
    const row = height - 1 - cy; // FITS row 1 is the bottom
    const x = cx * step + 1;
    const y = row * step + 1;
    const v = Number(values[row * width + cx]);
    const parts = [`x ${x}, y ${y}`, `value ${fmtValue(v, plane.integer)}`];
    readout.dataset.x = String(x);
    readout.dataset.y = String(y);
    readout.dataset.value = String(v);
    delete readout.dataset.ra;
    delete readout.dataset.dec;
    if (wcs) {
      const pix = Array.from({ length: Math.max(wcs.naxis, 2) }, (_, i) => (i === 0 ? x : i === 1 ? y : 1));
      const w = wcs.pixToWorld(pix);
      if (w) {
        const [ra, dec] = w;
        readout.dataset.ra = String(ra);
        readout.dataset.dec = String(dec);
        const equatorial = wcs.ctype[0].startsWith('RA');
        parts.push(
          equatorial
            ? `RA ${formatRa(ra)} (${ra.toFixed(7)}°), Dec ${formatDec(dec)} (${dec.toFixed(7)}°)`
            : `lon ${ra.toFixed(7)}°, lat ${dec.toFixed(7)}°`,
        );
      } else parts.push('outside the projection');
    }
    readout.textContent = parts.join(' · ');
  };
  canvas.addEventListener('pointermove', (e) => {
    const r = canvas.getBoundingClientRect();
    show(
      Math.floor(((e.clientX - r.left) / r.width) * width),
      Math.floor(((e.clientY - r.top) / r.height) * height),
    );
  });
  canvas.addEventListener('keydown', (e) => {
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [-1, 0],
      ArrowRight: [1, 0],
      ArrowUp: [0, -1],
      ArrowDown: [0, 1],
    };
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    const [cx, cy] = cur ?? [Math.floor(width / 2), Math.floor(height / 2)];
    const by = e.shiftKey ? 10 : 1;
    show(cx + m[0] * by, cy + m[1] * by);
  });
}
