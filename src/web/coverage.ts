// The dashboard's sky coverage: observations counted in one-degree cells of (RA, Dec), drawn on the
// sky map's Hammer-Aitoff projection and grid, shaded by count on a log scale. Offline, like the map.
import { h } from './dom.ts';
import { grid, HEIGHT, project, svg, WIDTH } from './sky.ts';

export interface CoverageCell {
  /** Cell centre in whole degrees (RA 0–360, Dec −90–90). */
  ra: number;
  dec: number;
  n: number;
}

/** SQL that counts the observations the caller may see per one-degree cell (SQLite and PostgreSQL). */
export const COVERAGE_SQL =
  'SELECT ROUND(CAST(s_ra AS NUMERIC), 0) AS ra_deg, ROUND(CAST(s_dec AS NUMERIC), 0) AS dec_deg, ' +
  'count(*) AS n FROM observations WHERE s_ra IS NOT NULL AND s_dec IS NOT NULL GROUP BY 1, 2';

/** The outline of a cell, its RA edges kept within 0–360 so cells at the seam stay on their side. */
function cellPath(c: CoverageCell): string {
  const ra0 = Math.max(0, c.ra - 0.5);
  const ra1 = Math.min(360, c.ra + 0.5);
  const de0 = Math.max(-90, c.dec - 0.5);
  const de1 = Math.min(90, c.dec + 0.5);
  const pts: [number, number][] = [
    [ra0, de0],
    [ra1, de0],
    [ra1, de1],
    [ra0, de1],
  ];
  return `${pts
    .map(
      ([r, d], i) =>
        `${i ? 'L' : 'M'}${project(r, d)
          .map((v) => v.toFixed(1))
          .join(' ')}`,
    )
    .join('')}Z`;
}

export function coverageMap(cells: CoverageCell[]): HTMLElement {
  const total = cells.reduce((a, c) => a + c.n, 0);
  const top = Math.max(1, ...cells.map((c) => c.n));
  const label = `Sky coverage: ${total.toLocaleString('en')} observations in ${cells.length.toLocaleString('en')} one-degree cells`;
  const map = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    class: 'sky coverage',
    role: 'img',
    'aria-label': label,
  });
  map.append(svg('title', {}, label), grid());
  const g = svg('g', { class: 'coverage-cells' });
  for (const c of cells) {
    // Log shading: a single observation is visible, the densest cell is solid.
    const shade = 0.25 + (0.75 * Math.log1p(c.n)) / Math.log1p(top);
    const cell = svg('path', {
      class: 'coverage-cell',
      d: cellPath(c),
      'fill-opacity': shade.toFixed(2),
      'data-ra': c.ra,
      'data-dec': c.dec,
      'data-n': c.n,
    });
    cell.append(
      svg(
        'title',
        {},
        `RA ${c.ra}°, Dec ${c.dec}°: ${c.n.toLocaleString('en')} observation${c.n === 1 ? '' : 's'}`,
      ),
    );
    g.append(cell);
  }
  map.append(g);
  const densest = [...cells].sort((a, b) => b.n - a.n).slice(0, 10);
  return h(
    'figure',
    { class: 'chart-figure', 'data-chart': 'coverage' },
    h('figcaption', null, 'Sky coverage'),
    map,
    h(
      'details',
      null,
      h('summary', null, 'Densest cells as a table'),
      h(
        'table',
        { class: 'chart-table' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, 'RA (°)'),
            h('th', { scope: 'col' }, 'Dec (°)'),
            h('th', { scope: 'col' }, 'Observations'),
          ),
        ),
        h(
          'tbody',
          null,
          densest.map((c) =>
            h(
              'tr',
              null,
              h('td', { class: 'num' }, String(c.ra)),
              h('td', { class: 'num' }, String(c.dec)),
              h('td', { class: 'num' }, String(c.n)),
            ),
          ),
        ),
      ),
    ),
  );
}
