// The observation page's image viewer (a lazily loaded chunk): reads the science file's first image
// plane in the browser with the FITS library (src/fits), draws it on a canvas with a chosen stretch,
// limits and colour map, and shows the pixel, its value and its RA/Dec under the pointer. It zooms
// (wheel, buttons, keys) and pans, and a box drawn on it (or typed in FITS pixels) is cut out by the
// server's SODA service.
import './viewer.css';
import { RangeSource } from '../cloud/range-source.ts';
import { BufferSource, type ByteSource } from '../fits/byte-source.ts';
import { readCompressedImage } from '../fits/compression/tiles.ts';
import { openFits } from '../fits/fits-file.ts';
import { type Hdu, logicalHeader, logicalShape } from '../fits/hdu.ts';
import { type AxisRange, readSection } from '../fits/image.ts';
import { type CelestialWcs, wcsFromHeader } from '../fits/wcs/wcs.ts';
import { getToken, linkUrl } from './api.ts';
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

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** The most a canvas pixel is magnified beyond "fit". */
const MAX_ZOOM = 64;

/** What the viewport shows: zoom `z` (1 = the whole image fits) and the canvas point at its top left. */
interface View {
  z: number;
  ox: number;
  oy: number;
}

/** A view kept inside the image: zoom 1…MAX_ZOOM, never panned past an edge. */
function clampView(v: View, width: number, height: number): View {
  const z = clamp(v.z, 1, MAX_ZOOM);
  return { z, ox: clamp(v.ox, 0, width - width / z), oy: clamp(v.oy, 0, height - height / z) };
}

/** The view zoomed to `z`, keeping canvas point (cx, cy) where it is on screen. */
function zoomAt(v: View, z: number, cx: number, cy: number, width: number, height: number): View {
  const to = clamp(z, 1, MAX_ZOOM);
  const k = v.z / to;
  return clampView({ z: to, ox: cx - (cx - v.ox) * k, oy: cy - (cy - v.oy) * k }, width, height);
}

/** A cutout box in FITS pixels of the full-resolution image: 1-based and inclusive, as SODA's PIXEL_n. */
export interface PixelBox {
  x1: number;
  x2: number;
  y1: number;
  y2: number;
}

/**
 * The box spanned by two canvas pixels (column, row from the top). Canvas rows run downwards while
 * FITS rows run upwards; with a sampling step each canvas pixel stands for step × step pixels.
 */
function boxFromCanvas(a: [number, number], b: [number, number], p: Plane): PixelBox {
  const [c1, c2] = [Math.min(a[0], b[0]), Math.max(a[0], b[0])];
  const [r1, r2] = [p.height - 1 - Math.max(a[1], b[1]), p.height - 1 - Math.min(a[1], b[1])];
  return {
    x1: c1 * p.step + 1,
    x2: Math.min(p.shape[0], (c2 + 1) * p.step),
    y1: r1 * p.step + 1,
    y2: Math.min(p.shape[1], (r2 + 1) * p.step),
  };
}

/** The box's edges in canvas pixel units (left, top, right, bottom; fractional with a step). */
function boxToCanvas(b: PixelBox, p: Plane): [number, number, number, number] {
  return [(b.x1 - 1) / p.step, p.height - b.y2 / p.step, b.x2 / p.step, p.height - (b.y1 - 1) / p.step];
}

/** The SODA sync request cutting `box` out of the dataset `id` (a DID or a raw file key). */
export function sodaPath(id: string, b: PixelBox): string {
  const q = new URLSearchParams({ ID: id, PIXEL_1: `${b.x1} ${b.x2}`, PIXEL_2: `${b.y1} ${b.y2}` });
  return `/soda?${q}`;
}

/** RA/Dec (or lon/lat) of a FITS pixel as text and degrees; null without a celestial WCS. */
function skyAt(
  wcs: CelestialWcs | undefined,
  x: number,
  y: number,
): { text: string; ra?: number; dec?: number } | null {
  if (!wcs) return null;
  const pix = Array.from({ length: Math.max(wcs.naxis, 2) }, (_, i) => (i === 0 ? x : i === 1 ? y : 1));
  const w = wcs.pixToWorld(pix);
  if (!w) return { text: 'outside the projection' };
  const [ra, dec] = w;
  const text = wcs.ctype[0].startsWith('RA')
    ? `RA ${formatRa(ra)} (${ra.toFixed(7)}°), Dec ${formatDec(dec)} (${dec.toFixed(7)}°)`
    : `lon ${ra.toFixed(7)}°, lat ${dec.toFixed(7)}°`;
  return { text, ra, dec };
}

function button(label: string, text: string): HTMLButtonElement {
  return h('button', { type: 'button', 'aria-label': label, title: label }, text);
}

function radio(
  name: string,
  value: string,
  label: string,
  checked: boolean,
): [HTMLElement, HTMLInputElement] {
  const input = h('input', { type: 'radio', name, value, id: `${name}-${value}`, checked });
  return [h('label', { for: input.id, class: 'viewer-mode' }, input, ` ${label}`), input];
}

/** The cutout panel: x1, x2, y1, y2 inputs (FITS pixels), what the box is, and its download link. */
function cutoutPanel(p: Plane, id: string | null, onInput: (b: PixelBox | null, typed: boolean) => void) {
  const axis = (name: string, max: number) =>
    h('input', { id: `v-${name}`, type: 'number', min: 1, max, step: 1, inputmode: 'numeric' });
  const inputs = {
    x1: axis('x1', p.shape[0]),
    x2: axis('x2', p.shape[0]),
    y1: axis('y1', p.shape[1]),
    y2: axis('y2', p.shape[1]),
  };
  const info = h('p', { class: 'cutout-info', 'aria-live': 'polite' });
  // The server names the file (Content-Disposition wins over a name given here).
  const link = h(
    'a',
    { class: 'cutout-link', rel: 'noreferrer', download: '', hidden: true },
    'Download cutout',
  );
  const clear = button('Clear the box', 'Clear');
  const names = Object.keys(inputs) as (keyof PixelBox)[];

  /**
   * The box the inputs hold, clipped to the image; null (the bad inputs flagged) while one is not a
   * whole number or a pair is reversed — typing corners one by one, a pair is often briefly reversed,
   * and swapping it then would undo the corner typed before.
   */
  const read = (): PixelBox | null => {
    const n = names.map((k) => inputs[k].valueAsNumber);
    const bad = n.map((v) => !Number.isInteger(v));
    for (const i of [0, 2]) if (n[i] > n[i + 1]) bad[i] = bad[i + 1] = true;
    for (const [i, k] of names.entries()) {
      if (bad[i]) inputs[k].setAttribute('aria-invalid', 'true');
      else inputs[k].removeAttribute('aria-invalid');
    }
    if (bad.some(Boolean)) return null;
    const [X, Y] = p.shape;
    return { x1: clamp(n[0], 1, X), x2: clamp(n[1], 1, X), y1: clamp(n[2], 1, Y), y2: clamp(n[3], 1, Y) };
  };
  for (const k of names) inputs[k].addEventListener('change', () => onInput(read(), true));
  clear.addEventListener('click', () => onInput(null, false));

  /** Shows box `b`; `typed` (while a typed corner is not a whole number) keeps the inputs as they are. */
  const set = (b: PixelBox | null, typed = false) => {
    if (b || !typed)
      for (const k of names) {
        inputs[k].value = b ? String(b[k]) : '';
        inputs[k].removeAttribute('aria-invalid');
      }
    for (const k of ['x1', 'x2', 'y1', 'y2', 'width', 'height', 'ra', 'dec']) delete info.dataset[k];
    link.hidden = !b || !id;
    clear.hidden = !b && !typed;
    if (!b) {
      link.removeAttribute('href');
      info.textContent = typed
        ? `Give whole pixel numbers, x1 ≤ x2 within 1–${p.shape[0]} and y1 ≤ y2 within 1–${p.shape[1]}.`
        : 'Drag a box on the image (Select box), or type its corners, to cut it out.';
      return;
    }
    const w = b.x2 - b.x1 + 1;
    const ht = b.y2 - b.y1 + 1;
    Object.assign(info.dataset, { ...b, width: w, height: ht });
    const sky = skyAt(p.wcs, (b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2);
    if (sky?.ra !== undefined && sky.dec !== undefined)
      Object.assign(info.dataset, { ra: String(sky.ra), dec: String(sky.dec) });
    info.textContent = `Box x ${b.x1}–${b.x2}, y ${b.y1}–${b.y2}: ${w} × ${ht} pixels${sky ? ` · centre ${sky.text}` : ''}${id ? '' : ' · this file cannot be cut by the server'}`;
    // A plain link: a navigation cannot send the Authorization header, so linkUrl adds the token.
    if (id) link.href = linkUrl(sodaPath(id, b));
  };
  const panel = h(
    'fieldset',
    { class: 'cutout' },
    h('legend', null, 'Cutout (FITS pixels, inclusive)'),
    h(
      'div',
      { class: 'cutout-fields' },
      names.map((k) => h('div', { class: 'field' }, h('label', { for: inputs[k].id }, k), inputs[k])),
      link,
      clear,
    ),
    info,
  );
  set(null);
  return { panel, set };
}

export interface ViewerOptions {
  /** The observation's publisher DID: the SODA ID for a science file outside the raw and mounted zones. */
  did?: string | null;
}

/** The SODA ID cutting exactly the file shown: its raw (or mounted) key, else the observation's DID. */
function cutoutId(file: FileEntry, did: string | null | undefined): string | null {
  if (file.zone === 'raw' || file.zone === 'mounted') return file.key;
  return file.role === 'science' && did ? did : null;
}

/**
 * Fills `box` with the viewer of `file` (the science file), or a note saying why it cannot show it.
 * `signal` aborts the download when the page goes away.
 */
export async function mountViewer(
  box: HTMLElement,
  file: FileEntry,
  signal: AbortSignal,
  opts: ViewerOptions = {},
): Promise<void> {
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
    'aria-label': `${file.key}, HDU ${hdu.index}, ${plane.shape.join(' × ')} pixels; arrow keys move the cursor, + and − zoom, 0 fits`,
  });
  const boxLabel = h('span', { class: 'viewer-box-label' });
  const boxEl = h('div', { class: 'viewer-box', hidden: true, 'aria-hidden': 'true' }, boxLabel);
  const view = h(
    'div',
    { class: 'viewer-view', 'data-mode': 'select', style: `aspect-ratio: ${width} / ${height}` },
    canvas,
    boxEl,
  );
  const readout = h('p', { class: 'readout', 'aria-live': 'polite' }, 'Point at the image for pixel values.');
  const info = h(
    'p',
    { class: 'muted' },
    `${file.key} · HDU ${hdu.index} · ${plane.shape.join(' × ')}${plane.shape.length > 2 ? ' (first plane)' : ''}${step > 1 ? ` · one pixel in ${step} along each axis shown` : ''}${wcs ? ` · WCS ${wcs.projection} (${wcs.frame})` : ' · no celestial WCS'}`,
  );
  const [selectLabel, selectMode] = radio('v-mode', 'select', 'Select box', true);
  const [panLabel, panMode] = radio('v-mode', 'pan', 'Pan', false);
  const zoomIn = button('Zoom in', '+');
  const zoomOut = button('Zoom out', '−');
  const fit = button('Fit the image', 'Fit');
  const zoomLevel = h('output', { class: 'zoom-level', 'aria-live': 'polite' }, '1×');
  const cutout = cutoutPanel(plane, cutoutId(file, opts.did), setBox);
  replace(
    box,
    heading,
    info,
    h('div', { class: 'viewer-controls' }, stretchField, limitsField, cmapField),
    h(
      'div',
      { class: 'viewer-tools' },
      h('fieldset', { class: 'viewer-modes' }, h('legend', null, 'Drag to'), selectLabel, panLabel),
      h(
        'div',
        { class: 'viewer-zoom', role: 'group', 'aria-label': 'Zoom' },
        zoomOut,
        zoomLevel,
        zoomIn,
        fit,
      ),
    ),
    h('div', { class: 'viewer-stage' }, view),
    readout,
    cutout.panel,
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

  // Zoom and pan scale and move the canvas itself (a CSS transform, percentages of the viewport), so
  // the canvas's on-screen rectangle stays the one truth for the pointer → pixel mapping.
  let v: View = { z: 1, ox: 0, oy: 0 };
  let sel: PixelBox | null = null;
  const pct = (a: number, n: number) => `${(a / n) * 100}%`;
  const placeBox = () => {
    boxEl.hidden = !sel;
    if (!sel) return;
    const [l, t, r, b] = boxToCanvas(sel, plane);
    Object.assign(boxEl.style, {
      left: pct((l - v.ox) * v.z, width),
      top: pct((t - v.oy) * v.z, height),
      width: pct((r - l) * v.z, width),
      height: pct((b - t) * v.z, height),
    });
  };
  const setView = (next: View) => {
    v = clampView(next, width, height);
    canvas.style.transform = `scale(${v.z}) translate(${pct(-v.ox, width)}, ${pct(-v.oy, height)})`;
    view.dataset.zoom = String(v.z);
    zoomLevel.textContent = `${Number(v.z.toPrecision(3))}×`;
    zoomOut.disabled = v.z <= 1;
    zoomIn.disabled = v.z >= MAX_ZOOM;
    placeBox();
  };
  function setBox(b: PixelBox | null, typed = false) {
    sel = b;
    cutout.set(b, typed);
    boxLabel.textContent = b ? `${b.x2 - b.x1 + 1} × ${b.y2 - b.y1 + 1}` : '';
    placeBox();
  }
  const centre = (): [number, number] => [v.ox + width / v.z / 2, v.oy + height / v.z / 2];
  const zoomBy = (k: number, at: [number, number] = centre()) =>
    setView(zoomAt(v, v.z * k, at[0], at[1], width, height));
  zoomIn.addEventListener('click', () => zoomBy(2));
  zoomOut.addEventListener('click', () => zoomBy(0.5));
  fit.addEventListener('click', () => setView({ z: 1, ox: 0, oy: 0 }));
  const mode = () => (selectMode.checked ? 'select' : 'pan');
  for (const r of [selectMode, panMode])
    r.addEventListener('change', () => {
      view.dataset.mode = mode();
    });
  setView(v);

  // The cursor, in canvas pixels (column from the left, row from the top).
  let cur: [number, number] | null = null;
  const show = (cx: number, cy: number) => {
    cx = clamp(cx, 0, width - 1);
    cy = clamp(cy, 0, height - 1);
    cur = [cx, cy];
    const row = height - 1 - cy; // FITS row 1 is the bottom
    const x = cx * step + 1;
    const y = row * step + 1;
    const val = Number(values[row * width + cx]);
    const parts = [`x ${x}, y ${y}`, `value ${fmtValue(val, plane.integer)}`];
    readout.dataset.x = String(x);
    readout.dataset.y = String(y);
    readout.dataset.value = String(val);
    delete readout.dataset.ra;
    delete readout.dataset.dec;
    const sky = skyAt(wcs, x, y);
    if (sky) parts.push(sky.text);
    if (sky?.ra !== undefined && sky.dec !== undefined) {
      readout.dataset.ra = String(sky.ra);
      readout.dataset.dec = String(sky.dec);
    }
    readout.textContent = parts.join(' · ');
  };
  /** The canvas point under a client position (fractional canvas pixels), from the canvas's on-screen box. */
  const pointAt = (clientX: number, clientY: number): [number, number] => {
    const r = canvas.getBoundingClientRect();
    return [((clientX - r.left) / r.width) * width, ((clientY - r.top) / r.height) * height];
  };
  const pixelAt = (e: MouseEvent): [number, number] => {
    const [px, py] = pointAt(e.clientX, e.clientY);
    return [clamp(Math.floor(px), 0, width - 1), clamp(Math.floor(py), 0, height - 1)];
  };

  let drag: { pan: true; x: number; y: number; from: View } | { pan: false; from: [number, number] } | null =
    null;
  view.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 && e.button !== 1) return;
    e.preventDefault();
    canvas.focus({ preventScroll: true });
    view.setPointerCapture(e.pointerId);
    // Pan mode, the middle button or Shift pans; otherwise the drag draws the cutout box.
    drag =
      mode() === 'pan' || e.button === 1 || e.shiftKey
        ? { pan: true, x: e.clientX, y: e.clientY, from: v }
        : { pan: false, from: pixelAt(e) };
    view.classList.toggle('panning', drag.pan);
  });
  view.addEventListener('pointermove', (e) => {
    if (drag?.pan) {
      const r = view.getBoundingClientRect();
      const { from } = drag;
      setView({
        ...from,
        ox: from.ox - ((e.clientX - drag.x) / r.width) * (width / from.z),
        oy: from.oy - ((e.clientY - drag.y) / r.height) * (height / from.z),
      });
    }
    const p = pixelAt(e); // after any pan: the pixel now under the pointer
    if (drag && !drag.pan) setBox(boxFromCanvas(drag.from, p, plane));
    show(p[0], p[1]);
  });
  const stop = () => {
    drag = null;
    view.classList.remove('panning');
  };
  view.addEventListener('pointerup', stop);
  view.addEventListener('pointercancel', stop);
  view.addEventListener(
    'wheel',
    (e) => {
      const dy = e.deltaMode === 1 ? e.deltaY * 33 : e.deltaY; // lines (Firefox) to pixels
      if (v.z <= 1 && dy > 0) return; // nothing to zoom out of: let the page scroll
      e.preventDefault();
      zoomBy(2 ** (-dy / 300), pointAt(e.clientX, e.clientY));
      const p = pixelAt(e);
      show(p[0], p[1]);
    },
    { passive: false },
  );

  /** Pans just enough to keep canvas pixel (cx, cy) in view (the keyboard cursor when zoomed). */
  const reveal = (cx: number, cy: number) => {
    const [vw, vh] = [width / v.z, height / v.z];
    setView({
      ...v,
      ox: clamp(v.ox, cx + 1 - vw, cx),
      oy: clamp(v.oy, cy + 1 - vh, cy),
    });
  };
  canvas.addEventListener('keydown', (e) => {
    const here = cur ?? [Math.floor(width / 2), Math.floor(height / 2)];
    const at: [number, number] = [here[0] + 0.5, here[1] + 0.5];
    const zooms: Record<string, () => void> = {
      '+': () => zoomBy(2, at),
      '=': () => zoomBy(2, at),
      '-': () => zoomBy(0.5, at),
      '0': () => setView({ z: 1, ox: 0, oy: 0 }),
    };
    if (zooms[e.key]) {
      e.preventDefault();
      zooms[e.key]();
      return;
    }
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [-1, 0],
      ArrowRight: [1, 0],
      ArrowUp: [0, -1],
      ArrowDown: [0, 1],
    };
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    const by = e.shiftKey ? 10 : 1;
    show(here[0] + m[0] * by, here[1] + m[1] * by);
    if (cur) reveal(cur[0], cur[1]);
  });
}
