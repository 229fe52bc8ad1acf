// Small SVG charts (bar, histogram, line), each a <figure> with a title, axis labels, and its data
// as a table in a <details> for screen readers and for copying. No library.
import { h } from './dom.ts';

const SVG = 'http://www.w3.org/2000/svg';
const W = 480;
const H = 260;
const M = { top: 12, right: 12, bottom: 58, left: 56 };

export interface Datum {
  label: string;
  value: number;
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

/** Round tick values from 0 to at least max. */
export function ticks(max: number, n = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v < max + step - 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function frame(o: ChartOptions, top: number): { svg: SVGSVGElement; y: (v: number) => number } {
  const id = `chart-${++counter}`;
  const svg = el('svg', {
    viewBox: `0 0 ${W} ${H}`,
    class: 'chart',
    role: 'img',
    'aria-labelledby': `${id}-t`,
  });
  svg.append(el('title', { id: `${id}-t` }, `${o.title}: ${o.yLabel} by ${o.xLabel}`));
  const ts = ticks(top);
  const ymax = ts[ts.length - 1];
  const y = (v: number) => M.top + (H - M.top - M.bottom) * (1 - v / ymax);
  const fmt = o.format ?? ((v: number) => v.toLocaleString('en'));
  for (const t of ts) {
    svg.append(el('line', { x1: M.left, x2: W - M.right, y1: y(t), y2: y(t), class: 'chart-grid' }));
    svg.append(el('text', { x: M.left - 6, y: y(t) + 4, 'text-anchor': 'end', class: 'chart-tick' }, fmt(t)));
  }
  svg.append(el('line', { x1: M.left, x2: W - M.right, y1: y(0), y2: y(0), class: 'chart-axis' }));
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
  return { svg, y };
}

function figure(o: ChartOptions, svg: SVGSVGElement, data: Datum[], kind: string): HTMLElement {
  const fmt = o.format ?? ((v: number) => v.toLocaleString('en'));
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
          data.map((d) => h('tr', null, h('td', null, d.label), h('td', { class: 'num' }, fmt(d.value)))),
        ),
      ),
    ),
  );
}

function shortLabel(s: string): string {
  return s.length > 12 ? `${s.slice(0, 11)}…` : s;
}

/** Bars, one per datum, labelled below (rotated when many). */
export function barChart(data: Datum[], o: ChartOptions, kind = 'bar'): HTMLElement {
  const { svg, y } = frame(o, Math.max(0, ...data.map((d) => d.value)));
  const fmt = o.format ?? ((v: number) => v.toLocaleString('en'));
  const inner = W - M.left - M.right;
  const band = inner / Math.max(1, data.length);
  const gap = kind === 'histogram' ? 1 : Math.min(8, band * 0.2);
  const every = Math.ceil(data.length / 12);
  data.forEach((d, i) => {
    const x = M.left + i * band;
    const bar = el('rect', {
      x: (x + gap / 2).toFixed(1),
      y: y(d.value).toFixed(1),
      width: Math.max(1, band - gap).toFixed(1),
      height: Math.max(0, y(0) - y(d.value)).toFixed(1),
      class: 'chart-bar',
      'data-label': d.label,
      'data-value': d.value,
    });
    bar.append(el('title', {}, `${d.label}: ${fmt(d.value)}`));
    svg.append(bar);
    if (i % every === 0) {
      const tx = x + band / 2;
      const ty = y(0) + 14;
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
  return figure(o, svg, data, kind);
}

/** Equal-width bins of the values: [lo, hi) labels, the last bin closed. */
export function bin(values: number[], bins = 12): Datum[] {
  if (values.length === 0) return [];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  if (lo === hi) return [{ label: String(lo), value: values.length }];
  const n = Math.min(bins, Math.max(1, Math.ceil(Math.sqrt(values.length))));
  const w = (hi - lo) / n;
  const counts = new Array<number>(n).fill(0);
  for (const v of values) counts[Math.min(n - 1, Math.floor((v - lo) / w))]++;
  const r = (v: number) => String(Number(v.toPrecision(3)));
  return counts.map((c, i) => ({ label: `${r(lo + i * w)}–${r(lo + (i + 1) * w)}`, value: c }));
}

export function histogram(values: number[], o: ChartOptions, bins = 12): HTMLElement {
  return barChart(bin(values, bins), o, 'histogram');
}

/** A line through the data in order, a dot at each point. */
export function lineChart(data: Datum[], o: ChartOptions): HTMLElement {
  const { svg, y } = frame(o, Math.max(0, ...data.map((d) => d.value)));
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
      const ty = y(0) + 14;
      svg.append(
        el(
          'text',
          { x: tx, y: ty, 'text-anchor': 'end', transform: `rotate(-35 ${tx} ${ty})`, class: 'chart-tick' },
          shortLabel(d.label),
        ),
      );
    }
  });
  return figure(o, svg, data, 'line');
}
