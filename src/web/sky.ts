// The sky map (`/sky`): an all-sky Hammer–Aitoff projection drawn in SVG — RA/Dec grid with labels,
// RA increasing to the left, centred on RA 180° so that RA 0/360 is the map's edge — with the
// footprint (s_region, else a marker at s_ra/s_dec) of every observation the Explore search of the
// page URL finds. Footprints crossing RA 0/360 are cut there into one path per side. Hovering or
// focusing a footprint names it; clicking it (or Enter) opens the observation. Works offline: no
// survey background. Loaded lazily.
import { ApiError, api } from './api.ts';
import { h, replace } from './dom.ts';
import { apiFilters, fromParams, toParams } from './search.ts';
import type { Observation, SearchPage } from './types.ts';

const SVG = 'http://www.w3.org/2000/svg';
export const WIDTH = 960;
export const HEIGHT = WIDTH / 2;
// Room either side of the ellipse for the 24h / 0h labels at its edges.
const SCALE = (WIDTH - 70) / (4 * Math.SQRT2);
const CX = WIDTH / 2;
const CY = HEIGHT / 2;
const MAX_ROWS = 5000;
const RAD = Math.PI / 180;

type Pt = [number, number];

/** Screen position of (ra, dec) in degrees; ra is not wrapped, so 360 is the left edge, 0 the right. */
export function project(ra: number, dec: number): Pt {
  const lon = (ra - 180) * RAD;
  const lat = dec * RAD;
  const z = Math.sqrt(1 + Math.cos(lat) * Math.cos(lon / 2));
  const x = (2 * Math.SQRT2 * Math.cos(lat) * Math.sin(lon / 2)) / z;
  const y = (Math.SQRT2 * Math.sin(lat)) / z;
  return [CX - x * SCALE, CY - y * SCALE];
}

/** The vertices (ra, dec) of an STC-S "POLYGON [frame] ra dec …", or null. */
export function parsePolygon(region: string | null): Pt[] | null {
  if (!region) return null;
  const m = /^\s*POLYGON\s+(?:[A-Za-z][\w-]*\s+)*?((?:[-+\d.eE]+\s*)+)$/i.exec(region);
  if (!m) return null;
  const n = m[1].trim().split(/\s+/).map(Number);
  if (n.length < 6 || n.length % 2 || n.some((v) => !Number.isFinite(v))) return null;
  const pts: Pt[] = [];
  for (let i = 0; i < n.length; i += 2) pts.push([n[i], n[i + 1]]);
  return pts;
}

/** Vertices made continuous in RA (each within 180° of the previous one), edges densified. */
function unwrap(pts: Pt[]): Pt[] {
  const out: Pt[] = [];
  let prev = ((pts[0][0] % 360) + 360) % 360;
  for (const [ra0, dec] of pts) {
    let ra = ((ra0 % 360) + 360) % 360;
    while (ra - prev > 180) ra -= 360;
    while (prev - ra > 180) ra += 360;
    out.push([ra, dec]);
    prev = ra;
  }
  const dense: Pt[] = [];
  for (let i = 0; i < out.length; i++) {
    const a = out[i];
    const b = out[(i + 1) % out.length];
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(b[0] - a[0]), Math.abs(b[1] - a[1])) / 2));
    for (let s = 0; s < steps; s++)
      dense.push([a[0] + ((b[0] - a[0]) * s) / steps, a[1] + ((b[1] - a[1]) * s) / steps]);
  }
  return dense;
}

/** Sutherland–Hodgman: the part of a polygon where keep(ra) holds, cut at ra = edge. */
function clip(pts: Pt[], edge: number, keep: (ra: number) => boolean): Pt[] {
  const out: Pt[] = [];
  for (let i = 0; i < pts.length; i++) {
    const a = pts[i];
    const b = pts[(i + 1) % pts.length];
    const ia = keep(a[0]);
    const ib = keep(b[0]);
    if (ia) out.push(a);
    if (ia !== ib) {
      const t = (edge - a[0]) / (b[0] - a[0]);
      out.push([edge, a[1] + t * (b[1] - a[1])]);
    }
  }
  return out;
}

/** A footprint as the pieces of it on each side of RA 0/360, in (ra, dec) within [0, 360]. */
export function footprintPieces(pts: Pt[]): Pt[][] {
  const poly = unwrap(pts);
  const pieces: Pt[][] = [];
  for (const shift of [-360, 0, 360]) {
    let p = poly.map(([ra, dec]): Pt => [ra + shift, dec]);
    p = clip(p, 0, (ra) => ra >= 0);
    if (p.length >= 3) p = clip(p, 360, (ra) => ra <= 360);
    if (p.length >= 3) pieces.push(p);
  }
  return pieces;
}

function pathOf(pts: Pt[]): string {
  return `${pts
    .map((p, i) => {
      const [x, y] = project(p[0], p[1]);
      return `${i ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`;
    })
    .join('')}Z`;
}

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  text?: string,
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** The projection's outline, RA meridians every 2h and Dec parallels every 30°, with labels. */
export function grid(): SVGGElement {
  const g = svg('g', { class: 'sky-grid', 'aria-hidden': 'true' });
  const line = (pts: Pt[], cls: string) =>
    g.append(
      svg('path', {
        class: cls,
        d: pts
          .map(
            (p, i) =>
              `${i ? 'L' : 'M'}${project(p[0], p[1])
                .map((v) => v.toFixed(1))
                .join(' ')}`,
          )
          .join(''),
      }),
    );
  const range = (a: number, b: number, step: number) => {
    const out: number[] = [];
    for (let v = a; v <= b + 1e-9; v += step) out.push(v);
    return out;
  };
  for (let ra = 0; ra <= 360; ra += 30)
    line(
      range(-90, 90, 2).map((d): Pt => [ra, d]),
      ra === 0 || ra === 360 ? 'sky-edge' : 'sky-line',
    );
  for (const dec of [-60, -30, 0, 30, 60])
    line(
      range(0, 360, 2).map((r): Pt => [r, dec]),
      dec === 0 ? 'sky-line sky-equator' : 'sky-line',
    );
  for (let ra = 30; ra < 360; ra += 30) {
    const [x, y] = project(ra, 0);
    g.append(svg('text', { x: x + 3, y: y - 4, class: 'sky-label' }, `${ra / 15}h`));
  }
  for (const dec of [-60, -30, 30, 60]) {
    const [x, y] = project(180, dec);
    g.append(
      svg(
        'text',
        { x: x + 3, y: y + (dec > 0 ? -3 : 12), class: 'sky-label' },
        `${dec > 0 ? '+' : '−'}${Math.abs(dec)}°`,
      ),
    );
  }
  const [lx, ly] = project(359.999, 0);
  const [rx, ry] = project(0.001, 0);
  g.append(svg('text', { x: lx - 4, y: ly + 4, class: 'sky-label', 'text-anchor': 'end' }, '24h'));
  g.append(svg('text', { x: rx + 4, y: ry + 4, class: 'sky-label' }, '0h'));
  return g;
}

/** The footprint group of one observation (paths with data-part, or a marker), or null without a position. */
function footprint(
  o: Observation,
  open: (id: number) => void,
  hover: (text: string) => void,
): SVGGElement | null {
  const poly = parsePolygon(typeof o.s_region === 'string' ? o.s_region : null);
  if (!poly && (o.s_ra === null || o.s_dec === null)) return null;
  const name = `${o.obs_id}${o.target_name ? ` — ${o.target_name}` : ''}`;
  const g = svg('g', {
    class: 'footprint',
    'data-obs-id': o.obs_id,
    'data-id': o.id,
    tabindex: 0,
    role: 'link',
    'aria-label': `Observation ${name}`,
  });
  g.append(svg('title', {}, name));
  if (poly) {
    const pieces = footprintPieces(poly);
    pieces.forEach((p, i) => {
      g.append(svg('path', { d: pathOf(p), 'data-part': i, 'data-obs-id': o.obs_id }));
    });
  }
  if (o.s_ra !== null && o.s_dec !== null) {
    // Small fields vanish at all-sky scale: a dot at the centre keeps them visible and clickable.
    const [x, y] = project(((o.s_ra % 360) + 360) % 360, o.s_dec);
    g.append(svg('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: 3.5, class: 'marker' }));
  }
  g.addEventListener('click', () => open(o.id));
  g.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      open(o.id);
    }
  });
  const show = () => hover(name);
  g.addEventListener('mouseenter', show);
  g.addEventListener('focus', show);
  g.addEventListener('mouseleave', () => hover(''));
  g.addEventListener('blur', () => hover(''));
  return g;
}

export function skyPage(
  root: HTMLElement,
  params: URLSearchParams,
  navigate: (url: string) => void,
): () => void {
  const abort = new AbortController();
  const s = fromParams(params);
  s.cursor = '';
  const query = toParams(s).toString();
  const status = h('p', { class: 'status', role: 'status' }, 'Searching…');
  const hovered = h('p', { class: 'sky-hover', 'aria-live': 'polite' }, '\u00a0');
  const map = svg('svg', {
    class: 'sky-map',
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: 'group',
    'aria-label': 'All-sky map (Hammer–Aitoff, RA increasing to the left) of the search results',
  });
  map.append(grid());
  const layer = svg('g', { class: 'footprints' });
  map.append(layer);
  const filters = [...toParams(s).entries()].filter(([k]) => k !== 'sort');
  replace(
    root,
    h('h1', null, 'Sky map'),
    h(
      'p',
      { class: 'sky-filters' },
      filters.length
        ? ['Search: ', filters.map(([k, v]) => `${k} = ${v}`).join(', '), '. ']
        : 'Every observation you may see. ',
      h('a', { href: `/${query ? `?${query}` : ''}`, 'data-nav': true }, 'Change the search in Explore'),
      ' · ',
      h('a', { href: `/${query ? `?${query}` : ''}`, 'data-nav': true }, 'Results as a table'),
    ),
    status,
    h('div', { class: 'sky-wrap' }, map),
    hovered,
  );

  const f = apiFilters(s);
  if ('error' in f) {
    replace(status, h('span', { role: 'alert', class: 'error' }, f.error));
    return () => abort.abort();
  }
  const open = (id: number) => navigate(`/obs/${id}`);
  const hover = (text: string) => {
    hovered.textContent = text || '\u00a0';
  };

  void (async () => {
    const rows: Observation[] = [];
    let cursor: string | undefined;
    let more = false;
    do {
      const q = new URLSearchParams(f.params);
      q.set('limit', '1000');
      q.set('count', 'none');
      if (cursor) q.set('cursor', cursor);
      const page = await api<SearchPage>(`/api/observations?${q}`, { signal: abort.signal });
      rows.push(...page.rows);
      cursor = page.next;
      more = Boolean(cursor) && rows.length >= MAX_ROWS;
    } while (cursor && rows.length < MAX_ROWS);
    let drawn = 0;
    for (const o of rows) {
      const g = footprint(o, open, hover);
      if (!g) continue;
      layer.append(g);
      drawn++;
    }
    status.textContent =
      rows.length === 0
        ? 'No observation matches.'
        : `${drawn} of ${rows.length}${more ? '+' : ''} observation${rows.length === 1 ? '' : 's'} have a position on the sky.`;
  })().catch((err: Error) => {
    if (abort.signal.aborted) return;
    replace(
      status,
      h(
        'span',
        { role: 'alert', class: 'error' },
        `Search failed: ${err.message}`,
        err instanceof ApiError && err.status === 401 ? ' (sign in again)' : '',
      ),
    );
  });
  return () => abort.abort();
}
