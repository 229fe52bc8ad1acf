// Explore (`/`): the search form, the results table with thumbnails, cursor paging and facet counts.
// The query lives in the page URL, so a search can be bookmarked and shared.
import './explore-filters.css';
import { ApiError, api, getToken, imageUrl } from './api.ts';
import { formatDec, formatRa, mjdToIso } from './coords.ts';
import { type Child, h, replace } from './dom.ts';
import { subscribe } from './live.ts';
import { recentPanel } from './recent.ts';
import {
  apiFilters,
  FILTER_FIELDS,
  type FilterField,
  fromParams,
  MAX_KW,
  type Search,
  toParams,
} from './search.ts';
import { type Collection, type Facets, fileUrl, type Observation, type SearchPage } from './types.ts';

export type Navigate = (url: string, state?: { depth?: number }) => void;

const PAGE = 25;

interface Column {
  key: string;
  label: string;
  value: (o: Observation) => string | number | null;
  cell?: (o: Observation) => Child;
  numeric?: boolean;
}

const COLUMNS: Column[] = [
  {
    key: 'obs_id',
    label: 'Observation',
    value: (o) => o.obs_id,
    cell: (o) => h('a', { href: `/obs/${o.id}`, 'data-nav': true }, o.obs_id),
  },
  { key: 'target_name', label: 'Target', value: (o) => o.target_name },
  { key: 'obs_collection', label: 'Collection', value: (o) => o.obs_collection },
  { key: 'instrument_name', label: 'Instrument', value: (o) => o.instrument_name },
  { key: 'filter', label: 'Filter', value: (o) => o.filter },
  { key: 'obs_type', label: 'Type', value: (o) => o.obs_type },
  {
    key: 't_min',
    label: 'Start (UTC)',
    value: (o) => o.t_min,
    cell: (o) =>
      o.t_min === null ? '' : h('time', { title: mjdToIso(o.t_min) }, mjdToIso(o.t_min).slice(0, 16)),
    numeric: true,
  },
  { key: 't_exptime', label: 'Exp. (s)', value: (o) => o.t_exptime, numeric: true },
  {
    key: 's_ra',
    label: 'RA',
    value: (o) => o.s_ra,
    cell: (o) => (o.s_ra === null ? '' : formatRa(o.s_ra)),
    numeric: true,
  },
  {
    key: 's_dec',
    label: 'Dec',
    value: (o) => o.s_dec,
    cell: (o) => (o.s_dec === null ? '' : formatDec(o.s_dec)),
    numeric: true,
  },
];

/** The best small picture of a search row: the pipeline's thumbnail, else the one fitslake rendered. */
function thumbnailOf(o: Observation): string | null {
  if (o.products.thumbnail) return fileUrl('raw', o.products.thumbnail);
  if (o.products.science) return fileUrl('previews', `${o.products.science}.thumb.jpg`);
  return null;
}

function thumbnail(o: Observation): HTMLElement {
  const box = h('span', { class: 'thumb' });
  const src = thumbnailOf(o);
  if (src)
    void imageUrl(src).then((url) => {
      if (url) box.append(h('img', { src: url, alt: `thumbnail of ${o.obs_id}`, width: 40, height: 40 }));
    });
  return box;
}

function field(
  name: FilterField,
  label: string,
  s: Search,
  extra: Record<string, unknown> = {},
): HTMLElement {
  const id = `f-${name}`;
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    h('input', { id, name, type: 'text', value: s[name], autocomplete: 'off', ...extra }),
  );
}

/**
 * The header keyword conditions: one `KEYWORD=value` input a row (all must hold), rows added and
 * removed with buttons; an empty row when there is none.
 */
function keywordRows(values: string[]): HTMLElement {
  let next = 0;
  const list = h('div', { class: 'kw-rows' });
  const add = h('button', { type: 'button', class: 'small kw-add' }, 'Add keyword');
  const renumber = () => {
    const rows = Array.from(list.querySelectorAll<HTMLElement>('.kw-row'));
    rows.forEach((row, i) => {
      const label = row.querySelector('label') as HTMLLabelElement;
      label.textContent = `Keyword ${i + 1}`;
      row.querySelector('button')?.setAttribute('aria-label', `Remove keyword ${i + 1}`);
    });
    add.disabled = rows.length >= MAX_KW;
  };
  const row = (value: string, focus = false) => {
    const id = `f-kw-${next++}`;
    const input = h('input', {
      id,
      name: 'kw',
      type: 'text',
      value,
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: 'EXPTIME=60',
    });
    const el = h(
      'div',
      { class: 'kw-row' },
      h('label', { for: id, class: 'sr-only' }, 'Keyword'),
      input,
      h(
        'button',
        {
          type: 'button',
          class: 'small',
          onclick: () => {
            el.remove();
            if (!list.querySelector('.kw-row')) row('');
            renumber();
            add.focus();
          },
        },
        'Remove',
      ),
    );
    list.append(el);
    renumber();
    if (focus) input.focus();
  };
  for (const v of values.length ? values : ['']) row(v);
  add.addEventListener('click', () => row('', true));
  return h(
    'fieldset',
    { class: 'kw-filter' },
    h('legend', null, 'Header keywords (KEYWORD=value, all must match)'),
    list,
    add,
  );
}

/** The sky map of the same search (all its results, not one page). */
function skyHref(s: Search): string {
  const q = toParams({ ...s, cursor: '' }).toString();
  return q ? `/sky?${q}` : '/sky';
}

export function explorePage(
  root: HTMLElement,
  params: URLSearchParams,
  nav: Navigate,
  depth: number,
): () => void {
  const s = fromParams(params);
  const abort = new AbortController();
  const go = (next: Search, keepDepth = false) => {
    const q = toParams(next).toString();
    nav(q ? `/?${q}` : '/', { depth: keepDepth ? depth + 1 : 0 });
  };

  const collection = h(
    'select',
    { id: 'f-collection', name: 'collection' },
    h('option', { value: '' }, 'All collections'),
    s.collection ? h('option', { value: s.collection, selected: true }, s.collection) : null,
  );
  const instruments = h('datalist', { id: 'dl-instrument' });
  const filters = h('datalist', { id: 'dl-filter' });
  const form = h(
    'form',
    { class: 'search', role: 'search', 'aria-label': 'Search observations' },
    h('div', { class: 'field' }, h('label', { for: 'f-collection' }, 'Collection'), collection),
    field('target', 'Target name contains', s, { placeholder: 'M 51' }),
    h(
      'fieldset',
      null,
      h('legend', null, 'Time range (UTC date, ISO time or MJD)'),
      field('start', 'From', s, { placeholder: '2022-06-29' }),
      field('end', 'To', s, { placeholder: '59760.5' }),
    ),
    h(
      'fieldset',
      null,
      h('legend', null, 'Cone (degrees or sexagesimal)'),
      field('ra', 'RA', s, { placeholder: '202.47 or 13:29:53' }),
      field('dec', 'Dec', s, { placeholder: '+47.2 or +47:11:43' }),
      field('radius', 'Radius', s, { placeholder: `0.1, 5' or 30"` }),
    ),
    field('instrument', 'Instrument', s, { list: 'dl-instrument' }),
    field('filter', 'Filter', s, { list: 'dl-filter' }),
    h(
      'fieldset',
      { class: 'exptime' },
      h('legend', null, 'Exposure time (seconds)'),
      field('exptime_min', 'Min (s)', s, { inputmode: 'decimal', placeholder: '0' }),
      field('exptime_max', 'Max (s)', s, { inputmode: 'decimal', placeholder: '300' }),
    ),
    keywordRows(s.kw),
    instruments,
    filters,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Search'),
      h('button', { type: 'button', onclick: () => go({ ...fromParams(new URLSearchParams()) }) }, 'Clear'),
    ),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const next = fromParams(new URLSearchParams());
    for (const k of FILTER_FIELDS) next[k] = String(data.get(k) ?? '');
    next.kw = data
      .getAll('kw')
      .map((k) => String(k).trim())
      .filter((k) => k !== '');
    next.sort = s.sort;
    go(next);
  });

  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' }, 'Searching…');
  const table = h('div', { class: 'table-wrap' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Result pages' });
  const facetBox = h('aside', { class: 'facets', 'aria-label': 'Facets' });
  const banner = h('div', { class: 'live-banner', hidden: true });
  const recent = recentPanel();
  replace(
    root,
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, 'Explore observations'),
      h('a', { href: skyHref(s), 'data-nav': true, class: 'sky-toggle' }, 'Sky map of these results'),
    ),
    h(
      'div',
      { class: 'explore' },
      h('div', { class: 'side' }, form, facetBox, recent.el),
      h('section', { class: 'results', 'aria-label': 'Results' }, status, banner, table, pager),
    ),
  );

  void api<{ collections: Collection[] }>('/api/collections', { signal: abort.signal })
    .then(({ collections }) => {
      replace(
        collection,
        h('option', { value: '' }, 'All collections'),
        collections.map((c) =>
          h(
            'option',
            { value: c.name, selected: c.name === s.collection },
            `${c.name} (${c.observations}${c.visibility === 'public' ? '' : `, ${c.visibility}`})`,
          ),
        ),
      );
    })
    .catch(() => {});

  // Live: observations that arrive while the page is open are announced; "show" runs the search again.
  let fresh = 0;
  const stopLive = subscribe(
    ['observation.created', 'file.ingested', 'ingest.failed'],
    (e) => {
      if (e.kind !== 'observation.created') return recent.poke();
      fresh++;
      replace(
        banner,
        h(
          'span',
          { role: 'status' },
          `${fresh} new observation${fresh === 1 ? '' : 's'} since this page was loaded — `,
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'link',
            onclick: () => {
              fresh = 0;
              banner.hidden = true;
              replace(banner);
              load();
            },
          },
          'show',
        ),
      );
      banner.hidden = false;
    },
    s.collection ? { collection: s.collection } : {},
  );
  const stop = () => {
    abort.abort();
    stopLive();
    recent.stop();
  };

  const f = apiFilters(s);
  if ('error' in f) {
    replace(status, h('span', { role: 'alert', class: 'error' }, f.error));
    return stop;
  }
  const q = new URLSearchParams(f.params);
  q.set('limit', String(PAGE));
  q.set('sort', s.sort);
  if (s.cursor) q.set('cursor', s.cursor);

  const load = () => {
    void api<SearchPage>(`/api/observations?${q}`, { signal: abort.signal })
      .then((page) => {
        const n = page.count ? `${page.count.exact ? '' : 'at least '}${page.count.value}` : '';
        const first = depth * PAGE + 1;
        status.textContent =
          page.rows.length === 0
            ? 'No observation matches.'
            : `${n} observation${page.count?.value === 1 ? '' : 's'} match; showing ${first}–${first + page.rows.length - 1}${s.cursor && !depth ? ' (from a shared page)' : ''}.`;
        renderTable(page.rows);
        replace(
          pager,
          s.cursor
            ? h('button', { type: 'button', onclick: () => go({ ...s, cursor: '' }) }, 'First page')
            : null,
          depth > 0 ? h('button', { type: 'button', onclick: () => history.back() }, 'Previous page') : null,
          page.next
            ? h(
                'button',
                { type: 'button', onclick: () => go({ ...s, cursor: page.next as string }, true) },
                'Next page',
              )
            : null,
        );
      })
      .catch((err: Error) => {
        if (abort.signal.aborted) return;
        replace(
          status,
          h('span', { role: 'alert', class: 'error' }, `Search failed: ${err.message}`),
          // A stored token that was revoked or expired: every call fails until the user signs in again.
          err instanceof ApiError && err.status === 401 && getToken()
            ? [' ', h('a', { href: '/signin', 'data-nav': true }, 'Sign in again or sign out')]
            : null,
        );
      });

    void api<Facets>(`/api/observations/facets?${f.params}`, { signal: abort.signal })
      .then((facets) => {
        replace(
          instruments,
          facets.instrument_name.map((x) => h('option', { value: x.value ?? '' })),
        );
        replace(
          filters,
          facets.filter.map((x) => h('option', { value: x.value ?? '' })),
        );
        renderFacets(facets);
      })
      .catch(() => {});
  };
  load();

  let sortKey = 't_min';
  let sortDir: 1 | -1 = s.sort === '-t_min' ? -1 : 1;
  let rows: Observation[] = [];

  function renderTable(list: Observation[]) {
    rows = list;
    if (!rows.length) return replace(table);
    const col = COLUMNS.find((c) => c.key === sortKey) as Column;
    const sorted =
      sortKey === 't_min'
        ? rows
        : [...rows].sort((a, b) => {
            const x = col.value(a);
            const y = col.value(b);
            if (x === y) return 0;
            if (x === null) return 1;
            if (y === null) return -1;
            return (x < y ? -1 : 1) * sortDir;
          });
    replace(
      table,
      h(
        'table',
        { class: 'results-table' },
        h(
          'caption',
          { class: 'sr-only' },
          'Observations. Start sorts the whole search; other columns sort this page.',
        ),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Preview')),
            COLUMNS.map((c) =>
              h(
                'th',
                {
                  scope: 'col',
                  class: c.numeric ? 'num' : null,
                  'aria-sort': c.key === sortKey ? (sortDir === 1 ? 'ascending' : 'descending') : null,
                },
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'sort',
                    title: c.key === 't_min' ? 'Sort the whole search by time' : 'Sort this page',
                    onclick: () => sortBy(c.key),
                  },
                  c.label,
                  h(
                    'span',
                    { 'aria-hidden': 'true' },
                    c.key === sortKey ? (sortDir === 1 ? ' ▲' : ' ▼') : '',
                  ),
                ),
              ),
            ),
          ),
        ),
        h(
          'tbody',
          null,
          sorted.map((o) =>
            h(
              'tr',
              { 'data-id': o.id },
              h('td', { class: 'thumb-cell' }, thumbnail(o)),
              COLUMNS.map((c) =>
                h('td', { class: c.numeric ? 'num' : null }, c.cell ? c.cell(o) : (c.value(o) ?? '')),
              ),
            ),
          ),
        ),
      ),
    );
  }

  function sortBy(key: string) {
    if (key === 't_min') {
      // The server orders by time (with the cursor following it): a new search from the first page.
      go({ ...s, sort: s.sort === 't_min' ? '-t_min' : 't_min', cursor: '' });
      return;
    }
    sortDir = sortKey === key ? (sortDir === 1 ? -1 : 1) : 1;
    sortKey = key;
    renderTable(rows);
    table.querySelector<HTMLButtonElement>('th[aria-sort] button')?.focus();
  }

  function renderFacets(facets: Facets) {
    const group = (title: string, name: keyof Facets, apply: ((v: string, on: boolean) => Search) | null) => {
      const values = facets[name];
      if (!values.length) return null;
      return h(
        'section',
        { class: 'facet' },
        h('h2', null, title),
        h(
          'ul',
          null,
          values.map((x) => {
            const v = x.value ?? '';
            const on =
              name === 'night'
                ? s.start === v && s.end === v
                : s[name === 'instrument_name' ? 'instrument' : (name as 'collection' | 'filter')] === v;
            return h(
              'li',
              null,
              x.value === null || !apply
                ? h(
                    'span',
                    { class: 'facet-value' },
                    x.value ?? 'none',
                    h('span', { class: 'count' }, String(x.count)),
                  )
                : h(
                    'button',
                    {
                      type: 'button',
                      class: 'facet-value',
                      'aria-pressed': on ? 'true' : 'false',
                      onclick: () => go(apply(v, on)),
                    },
                    v,
                    h('span', { class: 'count' }, String(x.count)),
                  ),
            );
          }),
        ),
      );
    };
    replace(
      facetBox,
      group('Collection', 'collection', (v, on) => ({ ...s, cursor: '', collection: on ? '' : v })),
      group('Instrument', 'instrument_name', (v, on) => ({ ...s, cursor: '', instrument: on ? '' : v })),
      group('Filter', 'filter', (v, on) => ({ ...s, cursor: '', filter: on ? '' : v })),
      group('Night', 'night', (v, on) => ({ ...s, cursor: '', start: on ? '' : v, end: on ? '' : v })),
      group('Product type', 'dataproduct_type', null),
    );
  }

  return stop;
}
