// The dashboard (`/dashboard`): charts of the catalog the caller may see, each from one read-only
// `POST /api/sql` query — observations per night, per instrument and per filter, exposure time and
// airmass histograms, storage per zone, files by ingest status — and the job queue from
// `GET /api/jobs` (curators only: for others the section says it is unavailable). Loaded lazily.
import { ApiError, api, authHeaders, errorMessage } from './api.ts';
import { barChart, type ChartOptions, type Datum, histogram, lineChart } from './chart.ts';
import { h, replace } from './dom.ts';

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

function panelBox(id: string): HTMLElement {
  return h('section', { class: 'dash-panel', 'data-panel': id }, h('p', { class: 'status' }, 'Loading…'));
}

export function dashboardPage(root: HTMLElement): () => void {
  const abort = new AbortController();
  const boxes = PANELS.map((p) => panelBox(p.id));
  const jobs = h(
    'section',
    { class: 'dash-panel', 'data-panel': 'jobs' },
    h('p', { class: 'status' }, 'Loading…'),
  );
  replace(
    root,
    h('h1', null, 'Dashboard'),
    h(
      'p',
      { class: 'muted' },
      'What the catalog holds that you may see. Each chart is one SQL query — try them in the ',
      h('a', { href: '/sql', 'data-nav': true }, 'SQL console'),
      '; the sky coverage is on the ',
      h('a', { href: '/sky', 'data-nav': true }, 'sky map'),
      '.',
    ),
    h('div', { class: 'dashboard' }, boxes, jobs),
  );

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
