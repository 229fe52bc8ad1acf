// The dashboard (`/dashboard`): charts of the catalog the caller may see, each from one read-only
// `POST /api/sql` query — observations per night, per instrument and per filter, exposure time and
// airmass histograms, storage per zone, files by ingest status — and the job queue from
// `GET /api/jobs` (curators only: for others the section says it is unavailable). Above them, the
// visitor's own charts: any saved query of the SQL console (or a query typed here) drawn as a line,
// bar, scatter or histogram chart, removed and reordered at will, the whole layout kept in the page
// URL (`/dashboard?layout=<base64url JSON>`) so the link shares it; whoever opens the link runs each
// query as themselves. Loaded lazily.
import './dashboard.css';
import { ApiError, api, authHeaders, errorMessage } from './api.ts';
import {
  barChart,
  type ChartOptions,
  type Datum,
  histogram,
  lineChart,
  type Point,
  scatterChart,
} from './chart.ts';
import { COVERAGE_SQL, coverageMap } from './coverage.ts';
import { h, replace } from './dom.ts';
import { type Lang, loadSaved, runQuery } from './sql.ts';

interface SqlResult {
  columns: string[];
  rows: Record<string, unknown>[];
  truncated: boolean;
}

async function sql(text: string, signal: AbortSignal): Promise<SqlResult> {
  const r = await fetch('/api/sql', {
    method: 'POST',
    headers: { ...authHeaders(), 'content-type': 'application/json' },
    body: JSON.stringify({ sql: text, format: 'json' }),
    signal,
  });
  if (!r.ok) throw new Error(await errorMessage(r));
  return (await r.json()) as SqlResult;
}

function bytes(v: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))} ${units[i]}`;
}

const labelled = (rows: Record<string, unknown>[]): Datum[] =>
  rows.map((r) => ({ label: r.label === null ? '(none)' : String(r.label), value: Number(r.n) }));

interface Panel {
  id: string;
  query: string;
  draw: (r: SqlResult) => HTMLElement;
}

const PANELS: Panel[] = [
  {
    id: 'per-night',
    query:
      'SELECT night AS label, count(*) AS n FROM observations WHERE night IS NOT NULL GROUP BY night ORDER BY night',
    draw: (r) =>
      lineChart(labelled(r.rows), {
        title: 'Observations per night',
        xLabel: 'Night',
        yLabel: 'Observations',
      }),
  },
  {
    id: 'per-instrument',
    query:
      'SELECT instrument_name AS label, count(*) AS n FROM observations GROUP BY instrument_name ORDER BY n DESC, label',
    draw: (r) =>
      barChart(labelled(r.rows), {
        title: 'Observations per instrument',
        xLabel: 'Instrument',
        yLabel: 'Observations',
      }),
  },
  {
    id: 'per-filter',
    query: 'SELECT filter AS label, count(*) AS n FROM observations GROUP BY filter ORDER BY n DESC, label',
    draw: (r) =>
      barChart(labelled(r.rows), {
        title: 'Observations per filter',
        xLabel: 'Filter',
        yLabel: 'Observations',
      }),
  },
  {
    id: 'exptime',
    query: 'SELECT t_exptime AS v FROM observations WHERE t_exptime IS NOT NULL',
    draw: (r) =>
      histogram(
        r.rows.map((x) => Number(x.v)),
        { title: 'Exposure time', xLabel: 'Exposure time (s)', yLabel: 'Observations' },
      ),
  },
  {
    id: 'airmass',
    query: 'SELECT airmass AS v FROM observations WHERE airmass IS NOT NULL',
    draw: (r) =>
      histogram(
        r.rows.map((x) => Number(x.v)),
        { title: 'Airmass', xLabel: 'Airmass', yLabel: 'Observations' },
      ),
  },
  {
    id: 'coverage',
    query: COVERAGE_SQL,
    draw: (r) =>
      coverageMap(r.rows.map((x) => ({ ra: Number(x.ra_deg), dec: Number(x.dec_deg), n: Number(x.n) }))),
  },
  {
    id: 'storage',
    query: 'SELECT zone AS label, sum(size) AS n FROM files WHERE current = 1 GROUP BY zone ORDER BY zone',
    draw: (r) =>
      barChart(labelled(r.rows), {
        title: 'Storage per zone',
        xLabel: 'Zone',
        yLabel: 'Size',
        format: bytes,
      }),
  },
  {
    id: 'ingest',
    query:
      'SELECT status AS label, count(*) AS n FROM files WHERE current = 1 GROUP BY status ORDER BY status',
    draw: (r) => {
      const data = labelled(r.rows);
      const total = data.reduce((a, d) => a + d.value, 0);
      const failed = data.find((d) => d.label === 'failed')?.value ?? 0;
      const fig = barChart(data, { title: 'Files by ingest status', xLabel: 'Status', yLabel: 'Files' });
      fig.append(
        h(
          'p',
          { class: 'muted failure-rate' },
          `Failure rate: ${total ? ((100 * failed) / total).toFixed(1) : '0'}% (${failed} of ${total} files).`,
        ),
      );
      return fig;
    },
  },
];

interface Job {
  id: number;
  kind: string;
  status: string;
  error: string | null;
}

// ---- the visitor's charts ---------------------------------------------------------------------------

export const CHART_TYPES = ['line', 'bar', 'scatter', 'histogram'] as const;
export type ChartType = (typeof CHART_TYPES)[number];
const MAX_CHARTS = 24;
const MAX_BINS = 200;

/** One chart of a shared layout: its query (SQL unless lang says ADQL) and how to draw the rows. */
export interface ChartSpec {
  title: string;
  sql: string;
  type: ChartType;
  x: string;
  /** The value column (not for histograms). */
  y?: string;
  /** Histograms: how many equal-width bins. */
  bins?: number;
  lang?: Lang;
}

/** A layout as the URL's `layout` parameter: base64url of its JSON (UTF-8). */
export function encodeLayout(list: ChartSpec[]): string {
  const bytes = new TextEncoder().encode(JSON.stringify(list));
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The layout of a `layout` parameter, or what is wrong with it. */
export function decodeLayout(text: string): ChartSpec[] | { error: string } {
  let raw: unknown;
  try {
    const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    raw = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
  } catch {
    return { error: 'the link’s layout could not be read' };
  }
  if (!Array.isArray(raw)) return { error: 'the link’s layout is not a list of charts' };
  const out: ChartSpec[] = [];
  for (const c of raw.slice(0, MAX_CHARTS) as Record<string, unknown>[]) {
    if (
      typeof c !== 'object' ||
      c === null ||
      typeof c.sql !== 'string' ||
      typeof c.x !== 'string' ||
      !CHART_TYPES.includes(c.type as ChartType)
    )
      return { error: 'a chart of the link’s layout lacks its query, type or column' };
    const type = c.type as ChartType;
    if (type !== 'histogram' && typeof c.y !== 'string')
      return { error: `the ${type} chart “${String(c.title ?? '')}” lacks its y column` };
    out.push({
      title: typeof c.title === 'string' ? c.title : '',
      sql: c.sql,
      type,
      x: c.x,
      ...(type === 'histogram'
        ? { bins: Math.min(MAX_BINS, Math.max(1, Math.floor(Number(c.bins) || 10))) }
        : { y: c.y as string }),
      ...(c.lang === 'adql' ? { lang: 'adql' as const } : {}),
    });
  }
  return out;
}

/** A cell as a number when it is one (or a numeric string); null otherwise. */
export function numeric(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(v)) return Number(v);
  return null;
}

const text = (v: unknown) =>
  v === null || v === undefined ? '(none)' : typeof v === 'object' ? JSON.stringify(v) : String(v);

/** A chart of a query's rows as its spec says; throws when a column is not in the result. */
function drawSpec(spec: ChartSpec, r: SqlResult): HTMLElement {
  for (const c of spec.type === 'histogram' ? [spec.x] : [spec.x, spec.y ?? ''])
    if (!r.columns.includes(c))
      throw new Error(`the result has no column “${c}” (it has ${r.columns.join(', ') || 'none'})`);
  const y = spec.y ?? '';
  const o: ChartOptions = {
    title: spec.title || defaultTitle(spec),
    xLabel: spec.x,
    yLabel: spec.type === 'histogram' ? 'Rows' : y,
  };
  switch (spec.type) {
    case 'histogram': {
      const values = r.rows.map((row) => numeric(row[spec.x])).filter((v): v is number => v !== null);
      return histogram(values, o, spec.bins ?? 10, true);
    }
    case 'scatter': {
      const points: Point[] = [];
      for (const row of r.rows) {
        const px = numeric(row[spec.x]);
        const py = numeric(row[y]);
        if (px !== null && py !== null) points.push({ x: px, y: py });
      }
      return scatterChart(points, o);
    }
    default: {
      const data: Datum[] = [];
      for (const row of r.rows) {
        const v = numeric(row[y]);
        if (v !== null) data.push({ label: text(row[spec.x]), value: v });
      }
      return spec.type === 'line' ? lineChart(data, o) : barChart(data, o);
    }
  }
}

function defaultTitle(spec: ChartSpec): string {
  return spec.type === 'histogram' ? `Histogram of ${spec.x}` : `${spec.y} by ${spec.x}`;
}

function panelBox(id: string): HTMLElement {
  return h('section', { class: 'dash-panel', 'data-panel': id }, h('p', { class: 'status' }, 'Loading…'));
}

/** The form that builds a chart: a saved or typed query, run to learn its columns, then type and columns. */
function builder(onAdd: (spec: ChartSpec) => void, signal: AbortSignal): HTMLElement {
  const saved = loadSaved();
  const savedSelect = h(
    'select',
    { id: 'chart-saved', name: 'saved' },
    h('option', { value: '' }, saved.length ? '— none: type a query —' : 'No saved query in this browser'),
    saved.map((q, i) => h('option', { value: String(i) }, `${q.name} (${q.lang.toUpperCase()})`)),
  );
  const langSelect = h(
    'select',
    { id: 'chart-lang', name: 'lang' },
    h('option', { value: 'sql' }, 'SQL (catalog)'),
    h('option', { value: 'adql' }, 'ADQL (TAP)'),
  );
  const query = h('textarea', {
    id: 'chart-sql',
    name: 'sql',
    rows: 4,
    spellcheck: 'false',
    autocomplete: 'off',
    required: true,
    placeholder: 'SELECT t_exptime FROM observations',
  });
  const typeSelect = h(
    'select',
    { id: 'chart-type', name: 'type' },
    CHART_TYPES.map((t) => h('option', { value: t }, t[0].toUpperCase() + t.slice(1))),
  );
  const xSelect = h('select', { id: 'chart-x', name: 'x', required: true });
  const ySelect = h('select', { id: 'chart-y', name: 'y' });
  const xLabel = h('label', { for: 'chart-x' }, 'X column');
  const bins = h('input', {
    id: 'chart-bins',
    name: 'bins',
    type: 'number',
    min: 1,
    max: MAX_BINS,
    step: 1,
    value: '10',
  });
  const title = h('input', { id: 'chart-title', name: 'title', type: 'text', autocomplete: 'off' });
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const yField = h('div', { class: 'field' }, h('label', { for: 'chart-y' }, 'Y column'), ySelect);
  const binsField = h('div', { class: 'field' }, h('label', { for: 'chart-bins' }, 'Bins'), bins);
  const add = h('button', { type: 'submit', class: 'primary', disabled: true }, 'Add chart');
  let ran = '';

  const setType = () => {
    const hist = typeSelect.value === 'histogram';
    yField.hidden = hist;
    binsField.hidden = !hist;
    xLabel.textContent = hist ? 'Column' : 'X column';
  };
  typeSelect.addEventListener('change', setType);
  setType();
  savedSelect.addEventListener('change', () => {
    const q = saved[Number(savedSelect.value)];
    if (!savedSelect.value || !q) return;
    query.value = q.text;
    langSelect.value = q.lang;
    if (!title.value.trim()) title.value = q.name;
    void run();
  });
  const stale = () => {
    add.disabled = true;
    ran = '';
  };
  query.addEventListener('input', stale);
  langSelect.addEventListener('change', stale);

  const run = async () => {
    const sql = query.value.trim();
    if (!sql) {
      status.textContent = 'Type a query or pick a saved one.';
      query.focus();
      return;
    }
    status.textContent = 'Running…';
    add.disabled = true;
    try {
      const r = await runQuery(sql, langSelect.value as Lang, signal);
      const keep = (sel: HTMLSelectElement, i: number) => {
        const before = sel.value;
        replace(
          sel,
          r.columns.map((c) => h('option', { value: c }, c)),
        );
        sel.value = r.columns.includes(before)
          ? before
          : (r.columns[Math.min(i, r.columns.length - 1)] ?? '');
      };
      keep(xSelect, 0);
      keep(ySelect, 1);
      ran = sql;
      add.disabled = r.columns.length === 0;
      status.textContent = `${r.rows.length} row${r.rows.length === 1 ? '' : 's'}${r.truncated ? ' (cut at the row limit)' : ''}; columns: ${r.columns.join(', ')}. Pick the chart type and columns.`;
    } catch (err) {
      if (signal.aborted) return;
      status.textContent = `The query failed: ${(err as Error).message}`;
    }
  };

  const form = h(
    'form',
    { class: 'chart-builder', 'aria-labelledby': 'h-add-chart' },
    h('h2', { id: 'h-add-chart' }, 'Add a chart'),
    h(
      'div',
      { class: 'builder-query' },
      h('div', { class: 'field' }, h('label', { for: 'chart-saved' }, 'Saved query'), savedSelect),
      h('div', { class: 'field' }, h('label', { for: 'chart-lang' }, 'Language'), langSelect),
    ),
    h('div', { class: 'field' }, h('label', { for: 'chart-sql' }, 'Query'), query),
    h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => void run() }, 'Run query')),
    status,
    h(
      'div',
      { class: 'builder-options' },
      h('div', { class: 'field' }, h('label', { for: 'chart-type' }, 'Chart type'), typeSelect),
      h('div', { class: 'field' }, xLabel, xSelect),
      yField,
      binsField,
      h('div', { class: 'field' }, h('label', { for: 'chart-title' }, 'Title'), title),
    ),
    h('div', { class: 'actions' }, add),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!ran || !xSelect.value) {
      status.textContent = 'Run the query first, then pick its columns.';
      return;
    }
    const type = typeSelect.value as ChartType;
    const n = Math.floor(Number(bins.value));
    if (type === 'histogram' && !(n >= 1 && n <= MAX_BINS)) {
      status.textContent = `Bins: a whole number from 1 to ${MAX_BINS}.`;
      bins.focus();
      return;
    }
    const spec: ChartSpec = {
      title: title.value.trim(),
      sql: ran,
      type,
      x: xSelect.value,
      ...(type === 'histogram' ? { bins: n } : { y: ySelect.value }),
      ...(langSelect.value === 'adql' ? { lang: 'adql' as const } : {}),
    };
    if (!spec.title) spec.title = defaultTitle(spec);
    onAdd(spec);
    title.value = '';
    status.textContent = `Added “${spec.title}”.`;
  });
  return form;
}

interface Entry {
  spec: ChartSpec;
  box: HTMLElement;
  area: HTMLElement;
}

export function dashboardPage(root: HTMLElement): () => void {
  const abort = new AbortController();
  const boxes = PANELS.map((p) => panelBox(p.id));
  const jobs = h(
    'section',
    { class: 'dash-panel', 'data-panel': 'jobs' },
    h('p', { class: 'status' }, 'Loading…'),
  );

  // The visitor's charts, as the URL's layout holds them.
  const entries: Entry[] = [];
  const userCharts = h('div', { class: 'dashboard user-charts' });
  const linkInput = h('input', { id: 'layout-link', type: 'text', readonly: true });
  const shareStatus = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const layoutUrl = () => {
    const list = entries.map((e) => e.spec);
    return list.length ? `/dashboard?layout=${encodeLayout(list)}` : '/dashboard';
  };
  const layoutChanged = () => {
    const url = layoutUrl();
    if (location.pathname + location.search !== url) history.replaceState(history.state, '', url);
    linkInput.value = location.origin + url;
    layoutView();
  };
  const layoutView = () => {
    replace(
      userCharts,
      entries.length
        ? entries.map((e) => e.box)
        : h(
            'p',
            { class: 'muted empty' },
            'No chart of your own yet: add one above, from a saved query or any SQL.',
          ),
    );
    entries.forEach((e, i) => {
      e.box.dataset.index = String(i);
      const [up, down] = Array.from(e.box.querySelectorAll<HTMLButtonElement>('.chart-tools button'));
      up.disabled = i === 0;
      down.disabled = i === entries.length - 1;
    });
  };
  const move = (e: Entry, by: number, button: string) => {
    const i = entries.indexOf(e);
    const j = i + by;
    if (i < 0 || j < 0 || j >= entries.length) return;
    entries.splice(i, 1);
    entries.splice(j, 0, e);
    layoutChanged();
    const again = e.box.querySelector<HTMLButtonElement>(`.chart-tools button[data-act="${button}"]`);
    (again && !again.disabled
      ? again
      : e.box.querySelector<HTMLButtonElement>('.chart-tools button:not(:disabled)')
    )?.focus();
    shareStatus.textContent = `Moved “${e.spec.title}” to position ${j + 1} of ${entries.length}.`;
  };
  const draw = (e: Entry) => {
    replace(e.area, h('p', { class: 'status' }, 'Loading…'));
    void runQuery(e.spec.sql, e.spec.lang ?? 'sql', abort.signal)
      .then((r) => {
        const fig = drawSpec(e.spec, r);
        if (r.truncated)
          fig.append(
            h(
              'p',
              { class: 'muted' },
              `The query was cut at the row limit: the chart shows its first ${r.rows.length} rows.`,
            ),
          );
        fig.append(
          h(
            'details',
            { class: 'chart-sql' },
            h('summary', null, e.spec.lang === 'adql' ? 'ADQL' : 'SQL'),
            h('pre', null, h('code', null, e.spec.sql)),
          ),
        );
        replace(e.area, fig);
      })
      .catch((err: Error) => {
        if (abort.signal.aborted) return;
        replace(
          e.area,
          h('h2', { class: 'dash-title' }, e.spec.title),
          h('p', { class: 'error', role: 'alert' }, `This chart could not be drawn: ${err.message}`),
        );
      });
  };
  const addEntry = (spec: ChartSpec) => {
    const area = h('div', { class: 'chart-area' });
    const box = h(
      'section',
      { class: 'dash-panel user-chart', 'data-type': spec.type, 'aria-label': spec.title },
      area,
    );
    const e: Entry = { spec, box, area };
    box.append(
      h(
        'div',
        { class: 'chart-tools' },
        h(
          'button',
          {
            type: 'button',
            class: 'small',
            'data-act': 'up',
            'aria-label': `Move “${spec.title}” up`,
            onclick: () => move(e, -1, 'up'),
          },
          'Move up',
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'small',
            'data-act': 'down',
            'aria-label': `Move “${spec.title}” down`,
            onclick: () => move(e, 1, 'down'),
          },
          'Move down',
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'small',
            'data-act': 'remove',
            'aria-label': `Remove “${spec.title}”`,
            onclick: () => {
              entries.splice(entries.indexOf(e), 1);
              layoutChanged();
              shareStatus.textContent = `Removed “${spec.title}”.`;
            },
          },
          'Remove',
        ),
      ),
    );
    entries.push(e);
    draw(e);
  };

  const shared = new URLSearchParams(location.search).get('layout');
  const fromLink = shared ? decodeLayout(shared) : [];
  const layoutError = 'error' in fromLink ? fromLink.error : null;
  if (!('error' in fromLink)) for (const spec of fromLink) addEntry(spec);

  const copy = async () => {
    linkInput.value = location.origin + layoutUrl();
    try {
      await navigator.clipboard.writeText(linkInput.value);
      shareStatus.textContent =
        'The link to this layout is copied. Whoever opens it sees these charts of the data they may see.';
    } catch {
      linkInput.focus();
      linkInput.select();
      shareStatus.textContent = 'Copy the selected link.';
    }
  };

  replace(
    root,
    h('h1', null, 'Dashboard'),
    h(
      'p',
      { class: 'muted' },
      'What the catalog holds that you may see. Each chart is one SQL query — try them in the ',
      h('a', { href: '/sql', 'data-nav': true }, 'SQL console'),
      '; each footprint is on the ',
      h('a', { href: '/sky', 'data-nav': true }, 'sky map'),
      '.',
    ),
    h(
      'section',
      { class: 'my-charts', 'aria-labelledby': 'h-my-charts' },
      h(
        'div',
        { class: 'my-charts-head' },
        h('h2', { id: 'h-my-charts' }, 'Your charts'),
        h(
          'div',
          { class: 'share' },
          h('label', { for: 'layout-link' }, 'Link to this layout'),
          linkInput,
          h('button', { type: 'button', onclick: () => void copy() }, 'Copy link'),
        ),
      ),
      shareStatus,
      layoutError
        ? h('p', { class: 'error', role: 'alert' }, `The shared layout was not shown: ${layoutError}.`)
        : null,
      userCharts,
      h(
        'div',
        { class: 'panel builder-panel' },
        builder((spec) => {
          addEntry(spec);
          layoutChanged();
        }, abort.signal),
      ),
    ),
    h('h2', { class: 'overview-title' }, 'The catalog'),
    h('div', { class: 'dashboard' }, boxes, jobs),
  );
  linkInput.value = location.origin + layoutUrl();
  layoutView();

  PANELS.forEach((p, i) => {
    void sql(p.query, abort.signal)
      .then((r) => {
        const fig = p.draw(r);
        fig.append(
          h(
            'details',
            { class: 'chart-sql' },
            h('summary', null, 'SQL'),
            h('pre', null, h('code', null, p.query)),
          ),
        );
        replace(boxes[i], fig);
      })
      .catch((err: Error) => {
        if (abort.signal.aborted) return;
        replace(
          boxes[i],
          h('p', { class: 'error', role: 'alert' }, `This chart could not be drawn: ${err.message}`),
        );
      });
  });

  void api<{ rows: Job[]; next?: string }>('/api/jobs?limit=1000', { signal: abort.signal })
    .then(({ rows, next }) => {
      const by = new Map<string, number>();
      for (const j of rows) by.set(j.status, (by.get(j.status) ?? 0) + 1);
      const data = ['queued', 'running', 'done', 'failed']
        .concat([...by.keys()].filter((k) => !['queued', 'running', 'done', 'failed'].includes(k)))
        .map((k) => ({ label: k, value: by.get(k) ?? 0 }));
      const opts: ChartOptions = {
        title: `Job queue${next ? ' (newest 1000 jobs)' : ''}`,
        xLabel: 'Status',
        yLabel: 'Jobs',
      };
      const failures = rows.filter((j) => j.status === 'failed').slice(0, 10);
      replace(
        jobs,
        barChart(data, opts),
        failures.length
          ? h(
              'details',
              null,
              h('summary', null, `Recent failures (${failures.length})`),
              h(
                'ul',
                { class: 'failures' },
                failures.map((j) =>
                  h('li', null, h('code', null, `${j.kind} #${j.id}`), ': ', j.error ?? 'no reason given'),
                ),
              ),
            )
          : null,
      );
    })
    .catch((err: Error) => {
      if (abort.signal.aborted) return;
      const denied = err instanceof ApiError && (err.status === 401 || err.status === 403);
      replace(
        jobs,
        h('h2', { class: 'dash-title' }, 'Job queue'),
        h(
          'p',
          { class: 'muted unavailable' },
          denied ? 'Unavailable: the job queue needs the curator role. ' : `Unavailable: ${err.message}. `,
          denied ? h('a', { href: '/signin', 'data-nav': true }, 'Sign in') : null,
        ),
      );
    });

  return () => abort.abort();
}
