// Small SVG charts (bar, histogram, line, scatter), each a <figure> with a title, axis labels, and its
// data as a table in a <details> for screen readers and for copying. No library.
import { h } from './dom.ts';

const SVG = 'http://www.w3.org/2000/svg';
const W = 480;
const H = 260;
const M = { top: 12, right: 12, bottom: 58, left: 56 };

export interface Datum {
  label: string;
  value: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** How values read in the table and tooltips (default: locale number). */
  format?: (v: number) => string;
}

let counter = 0;

function el<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  text?: string,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Round tick values from lo (or below) to hi (or above); a flat range is widened around its value. */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    if (lo === 0) return [0, 1];
    const d = Math.abs(lo) / 2;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const first = Math.floor(lo / step + 1e-9) * step;
  const out: number[] = [];
  for (let v = first; v < hi + step - 1e-9 * step; v += step) out.push(Number(v.toPrecision(12)));
  if (out.length < 2) out.push(Number((first + step).toPrecision(12)));
  return out;
}

/** Round tick values from 0 to at least max. */
export function ticks(max: number, n = 5): number[] {
  if (!(max > 0)) return [0, 1];
  return niceTicks(0, max, n);
}

/** A short reading of an axis value: at most 6 significant digits. */
const short = (v: number) => String(Number(v.toPrecision(6)));

interface Frame {
  svg: SVGSVGElement;
  y: (v: number) => number;
  /** The numeric x scale (scatter charts), else null. */
  x: ((v: number) => number) | null;
  /** The y of the value axis' baseline (0 when in range, else the bottom). */
  base: number;
}

function frame(
  o: ChartOptions,
  yLo: number,
  yHi: number,
  xRange: [number, number] | null = null,
  yFormat: ((v: number) => string) | null = null,
): Frame {
  const id = `chart-${++counter}`;
  const svg = el('svg', {
    viewBox: `0 0 ${W} ${H}`,
    class: 'chart',
    role: 'img',
    'aria-labelledby': `${id}-t`,
  });
  svg.append(el('title', { id: `${id}-t` }, `${o.title}: ${o.yLabel} by ${o.xLabel}`));
  const ts = niceTicks(yLo, yHi);
  const ymin = ts[0];
  const ymax = ts[ts.length - 1];
  const y = (v: number) => M.top + (H - M.top - M.bottom) * (1 - (v - ymin) / (ymax - ymin));
  const fmt = yFormat ?? o.format ?? ((v: number) => v.toLocaleString('en'));
  for (const t of ts) {
    svg.append(el('line', { x1: M.left, x2: W - M.right, y1: y(t), y2: y(t), class: 'chart-grid' }));
    svg.append(el('text', { x: M.left - 6, y: y(t) + 4, 'text-anchor': 'end', class: 'chart-tick' }, fmt(t)));
  }
  const base = y(ymin <= 0 && ymax >= 0 ? 0 : ymin);
  svg.append(el('line', { x1: M.left, x2: W - M.right, y1: base, y2: base, class: 'chart-axis' }));
  let x: ((v: number) => number) | null = null;
  if (xRange) {
    const xs = niceTicks(xRange[0], xRange[1]);
    const xmin = xs[0];
    const xmax = xs[xs.length - 1];
    const sx = (v: number) => M.left + (W - M.left - M.right) * ((v - xmin) / (xmax - xmin));
    x = sx;
    const bottom = H - M.bottom;
    svg.append(el('line', { x1: M.left, x2: M.left, y1: M.top, y2: bottom, class: 'chart-axis' }));
    for (const t of xs) {
      svg.append(el('line', { x1: sx(t), x2: sx(t), y1: M.top, y2: bottom, class: 'chart-grid' }));
      const tx = sx(t);
      const ty = bottom + 14;
      svg.append(
        el(
          'text',
          xs.length > 6 || short(t).length > 6
            ? {
                x: tx,
                y: ty,
                'text-anchor': 'end',
                transform: `rotate(-35 ${tx} ${ty})`,
                class: 'chart-tick',
              }
            : { x: tx, y: ty, 'text-anchor': 'middle', class: 'chart-tick' },
          short(t),
        ),
      );
    }
  }
  svg.append(
    el(
      'text',
      { x: (M.left + W - M.right) / 2, y: H - 6, 'text-anchor': 'middle', class: 'chart-axis-label' },
      o.xLabel,
    ),
  );
  svg.append(
    el(
      'text',
      {
        x: 14,
        y: (M.top + H - M.bottom) / 2,
        'text-anchor': 'middle',
        transform: `rotate(-90 14 ${(M.top + H - M.bottom) / 2})`,
        class: 'chart-axis-label',
      },
      o.yLabel,
    ),
  );
  return { svg, y, x, base };
}

function figure(o: ChartOptions, svg: SVGSVGElement, rows: [string, string][], kind: string): HTMLElement {
  return h(
    'figure',
    { class: 'chart-figure', 'data-chart': kind },
    h('figcaption', null, o.title),
    svg,
    h(
      'details',
      null,
      h('summary', null, 'Data as a table'),
      h(
        'table',
        { class: 'chart-table' },
        h(
          'thead',
          null,
          h('tr', null, h('th', { scope: 'col' }, o.xLabel), h('th', { scope: 'col' }, o.yLabel)),
        ),
        h(
          'tbody',
          null,
          rows.map(([a, b]) => h('tr', null, h('td', null, a), h('td', { class: 'num' }, b))),
        ),
      ),
    ),
  );
}

function shortLabel(s: string): string {
  return s.length > 12 ? `${s.slice(0, 11)}…` : s;
}

const range = (values: number[]): [number, number] => {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return values.length ? [lo, hi] : [0, 1];
};

/** Bars, one per datum, labelled below (rotated when many); negative values hang below zero. */
export function barChart(data: Datum[], o: ChartOptions, kind = 'bar'): HTMLElement {
  const [lo, hi] = range(data.map((d) => d.value));
  const { svg, y } = frame(o, Math.min(0, lo), Math.max(0, hi));
  const fmt = o.format ?? ((v: number) => v.toLocaleString('en'));
  const inner = W - M.left - M.right;
  const band = inner / Math.max(1, data.length);
  const gap = kind === 'histogram' ? 1 : Math.min(8, band * 0.2);
  const every = Math.ceil(data.length / 12);
  data.forEach((d, i) => {
    const x = M.left + i * band;
    const bar = el('rect', {
      x: (x + gap / 2).toFixed(1),
      y: Math.min(y(0), y(d.value)).toFixed(1),
      width: Math.max(1, band - gap).toFixed(1),
      height: Math.abs(y(0) - y(d.value)).toFixed(1),
      class: 'chart-bar',
      'data-label': d.label,
      'data-value': d.value,
    });
    bar.append(el('title', {}, `${d.label}: ${fmt(d.value)}`));
    svg.append(bar);
    if (i % every === 0) {
      const tx = x + band / 2;
      const ty = H - M.bottom + 14;
      svg.append(
        el(
          'text',
          data.length > 6
            ? {
                x: tx,
                y: ty,
                'text-anchor': 'end',
                transform: `rotate(-35 ${tx} ${ty})`,
                class: 'chart-tick',
              }
            : { x: tx, y: ty, 'text-anchor': 'middle', class: 'chart-tick' },
          shortLabel(d.label),
        ),
      );
    }
  });
  return figure(
    o,
    svg,
    data.map((d) => [d.label, fmt(d.value)]),
    kind,
  );
}

/**
 * Equal-width bins of the values: [lo, hi) labels, the last bin closed. With `exact`, `bins` bins
 * (the user's choice); without, at most `bins` and about √n of them.
 */
export function bin(values: number[], bins = 12, exact = false): Datum[] {
  if (values.length === 0) return [];
  const [lo, hi] = range(values);
  if (lo === hi) return [{ label: String(lo), value: values.length }];
  const n = exact
    ? Math.max(1, Math.floor(bins))
    : Math.min(bins, Math.max(1, Math.ceil(Math.sqrt(values.length))));
  const w = (hi - lo) / n;
  const counts = new Array<number>(n).fill(0);
  for (const v of values) counts[Math.min(n - 1, Math.floor((v - lo) / w))]++;
  const r = (v: number) => String(Number(v.toPrecision(3)));
  return counts.map((c, i) => ({ label: `${r(lo + i * w)}–${r(lo + (i + 1) * w)}`, value: c }));
}

export function histogram(values: number[], o: ChartOptions, bins = 12, exact = false): HTMLElement {
  return barChart(bin(values, bins, exact), o, 'histogram');
}

/** A line through the data in order, a dot at each point. */
export function lineChart(data: Datum[], o: ChartOptions): HTMLElement {
  const [lo, hi] = range(data.map((d) => d.value));
  const { svg, y } = frame(o, Math.min(0, lo), Math.max(0, hi));
  const fmt = o.format ?? ((v: number) => v.toLocaleString('en'));
  const inner = W - M.left - M.right;
  const x = (i: number) => M.left + (data.length === 1 ? inner / 2 : (inner * i) / (data.length - 1));
  svg.append(
    el('path', {
      class: 'chart-line',
      d: data.map((d, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)} ${y(d.value).toFixed(1)}`).join(''),
    }),
  );
  const every = Math.ceil(data.length / 8);
  data.forEach((d, i) => {
    const dot = el('circle', {
      cx: x(i).toFixed(1),
      cy: y(d.value).toFixed(1),
      r: 3.5,
      class: 'chart-dot',
      'data-label': d.label,
      'data-value': d.value,
    });
    dot.append(el('title', {}, `${d.label}: ${fmt(d.value)}`));
    svg.append(dot);
    if (i % every === 0) {
      const tx = x(i);
      const ty = H - M.bottom + 14;
      svg.append(
        el(
          'text',
          { x: tx, y: ty, 'text-anchor': 'end', transform: `rotate(-35 ${tx} ${ty})`, class: 'chart-tick' },
          shortLabel(d.label),
        ),
      );
    }
  });
  return figure(
    o,
    svg,
    data.map((d) => [d.label, fmt(d.value)]),
    'line',
  );
}

/** Points at (x, y) on two numeric axes, each spanning its data. */
export function scatterChart(points: Point[], o: ChartOptions): HTMLElement {
  const { svg, y, x } = frame(o, ...range(points.map((p) => p.y)), range(points.map((p) => p.x)), short);
  const sx = x as (v: number) => number;
  for (const p of points) {
    const dot = el('circle', {
      cx: sx(p.x).toFixed(1),
      cy: y(p.y).toFixed(1),
      r: 3,
      class: 'chart-point',
      'data-x': p.x,
      'data-y': p.y,
    });
    dot.append(el('title', {}, `${o.xLabel} ${short(p.x)}, ${o.yLabel} ${short(p.y)}`));
    svg.append(dot);
  }
  return figure(
    o,
    svg,
    points.map((p) => [String(p.x), String(p.y)]),
    'scatter',
  );
}
