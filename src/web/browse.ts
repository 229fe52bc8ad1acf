// Browse (`/browse?zone=&prefix=`): the lake's zones as a bucket browser — zone links with their
// counts, a breadcrumb of the folder, a table of its sub-folders (click to enter) and files (size,
// date, kind, status, observation, download), "Load more" with the listing's cursor. Everything comes
// from GET /api/browse, so a visitor sees exactly the files they may download. The zone and folder
// live in the URL: shareable, and back/forward walk the folders.
import './browse.css';
import { ApiError, api, getToken, linkUrl } from './api.ts';
import { type Child, h, replace } from './dom.ts';

interface Folder {
  name: string;
  prefix: string;
  files: number;
  bytes: number;
}
interface File {
  key: string;
  name: string;
  size: number;
  modified: string;
  kind: string | null;
  status: string;
  url: string;
  observationId: number | null;
}
interface Listing {
  zone: string;
  prefix: string;
  folders: Folder[];
  files: File[];
  next: string | null;
}
interface Zone {
  zone: string;
  files: number;
  bytes: number;
}

const ZONES = ['raw', 'derived', 'previews', 'mounted'];
/** Entries per page (`?limit=` in the URL, 1–1000). */
const PAGE = 100;

const ZONE_HELP: Record<string, string> = {
  raw: 'files as they were ingested',
  derived: 'files fitslake made (optimized copies, query results)',
  previews: 'rendered previews and thumbnails',
  mounted: 'files of mounted cloud indexes, where they lie',
};

/** Bytes for people: 1536 → "1.5 kB". */
export function humanSize(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

const plural = (n: number, one: string, many = `${one}s`) =>
  `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

/** The page URL of a zone and folder (raw and the top are the defaults, left out). */
export function browseHref(zone: string, prefix: string): string {
  const q = new URLSearchParams();
  if (zone !== 'raw') q.set('zone', zone);
  if (prefix) q.set('prefix', prefix);
  const s = q.toString();
  return s ? `/browse?${s}` : '/browse';
}

function when(iso: string): Child {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return h(
    'time',
    { datetime: d.toISOString(), title: d.toISOString() },
    `${d.toISOString().slice(0, 16).replace('T', ' ')}`,
  );
}

// The zone totals scan every visible file: fetched once for a while, not on each folder visited.
let counted: { token: string | null; at: number; zones: Promise<Zone[]> } | null = null;
function zoneCounts(signal: AbortSignal): Promise<Zone[]> {
  const token = getToken();
  if (!counted || counted.token !== token || Date.now() - counted.at > 30_000) {
    const zones = api<{ zones: Zone[] }>('/api/browse/zones').then((r) => r.zones);
    counted = { token, at: Date.now(), zones };
    zones.catch(() => {
      if (counted?.zones === zones) counted = null;
    });
  }
  const zones = counted.zones;
  return new Promise((resolve, reject) => {
    signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
    zones.then(resolve, reject);
  });
}

export function browsePage(
  root: HTMLElement,
  params: URLSearchParams,
  navigate: (url: string) => void,
): () => void {
  const zone = ZONES.includes(params.get('zone') ?? '') ? (params.get('zone') as string) : 'raw';
  let prefix = params.get('prefix') ?? '';
  if (prefix && !prefix.endsWith('/')) prefix += '/';
  const asked = Number(params.get('limit'));
  const limit = Number.isInteger(asked) && asked >= 1 && asked <= 1000 ? asked : PAGE;
  const abort = new AbortController();
  const signal = abort.signal;

  const zoneNav = h('ul', { class: 'zone-list' });
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' }, 'Loading…');
  const problem = h('div', { class: 'browse-error' });
  const body = h('tbody');
  const more = h('button', { type: 'button', class: 'load-more', hidden: true }, 'Load more');
  const here = prefix ? `${zone}/${prefix}` : `${zone}/`;

  // The breadcrumb: the zone's top, then each folder down to this one (the current one not a link).
  const segments = prefix.split('/').filter(Boolean);
  const crumbs: Child[] = [
    h(
      'li',
      null,
      segments.length
        ? h('a', { href: browseHref(zone, ''), 'data-nav': true }, zone)
        : h('span', { 'aria-current': 'page' }, zone),
    ),
    ...segments.map((s, i) => {
      const p = `${segments.slice(0, i + 1).join('/')}/`;
      return h(
        'li',
        null,
        i === segments.length - 1
          ? h('span', { 'aria-current': 'page' }, s)
          : h('a', { href: browseHref(zone, p), 'data-nav': true }, s),
      );
    }),
  ];

  // Jump to a folder by its path (the breadcrumb's text, editable).
  const pathInput = h('input', {
    id: 'browse-path',
    name: 'prefix',
    type: 'text',
    value: prefix,
    placeholder: 'collection/folder/',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const goTo = h(
    'form',
    {
      class: 'go-to',
      role: 'search',
      'aria-label': 'Go to a folder',
      onsubmit: (e: Event) => {
        e.preventDefault();
        let p = pathInput.value.trim().replace(/^\/+/, '');
        if (p && !p.endsWith('/')) p += '/';
        navigate(browseHref(zone, p));
      },
    },
    h('label', { for: 'browse-path' }, 'Folder path'),
    pathInput,
    h('button', { type: 'submit' }, 'Go'),
  );

  const table = h(
    'table',
    { class: 'browse-table' },
    h('caption', { class: 'sr-only' }, `Folders and files in ${here}`),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { scope: 'col' }, 'Name'),
        h('th', { scope: 'col', class: 'num' }, 'Size'),
        h('th', { scope: 'col', class: 'opt' }, 'Modified (UTC)'),
        h('th', { scope: 'col', class: 'opt' }, 'Kind'),
        h('th', { scope: 'col' }, 'Status'),
        h('th', { scope: 'col', class: 'opt' }, 'Observation'),
        h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Download')),
      ),
    ),
    body,
  );

  replace(
    root,
    h(
      'div',
      { class: 'browse' },
      h('h1', null, 'Browse'),
      h(
        'p',
        { class: 'muted browse-intro' },
        'The lake’s zones, folder by folder',
        getToken() ? '' : ' (signed out: public files only)',
        '.',
      ),
      h('nav', { class: 'zones', 'aria-label': 'Zones' }, zoneNav),
      h(
        'div',
        { class: 'where' },
        h('nav', { class: 'breadcrumb', 'aria-label': 'Folder' }, h('ol', null, crumbs)),
        goTo,
      ),
      problem,
      status,
      h('div', { class: 'table-wrap' }, table),
      h('div', { class: 'pager' }, more),
    ),
  );

  // Zone links, with what the visitor may download of each (mounted only when it holds something).
  const zoneLinks = (zones: Zone[]) => {
    replace(
      zoneNav,
      zones
        .filter((z) => z.zone !== 'mounted' || z.files !== 0 || z.zone === zone)
        .map((z) =>
          h(
            'li',
            null,
            h(
              'a',
              {
                href: browseHref(z.zone, ''),
                'data-nav': true,
                'aria-current': z.zone === zone ? 'page' : false,
                title: ZONE_HELP[z.zone] ?? z.zone,
              },
              h('span', { class: 'zone-name' }, z.zone),
              // files -1: not counted yet.
              h(
                'span',
                { class: 'zone-count' },
                z.files < 0 ? '' : `${plural(z.files, 'file')} · ${humanSize(z.bytes)}`,
              ),
            ),
          ),
        ),
    );
  };
  zoneLinks(
    ZONES.filter((z) => z !== 'mounted' || z === zone).map((z) => ({ zone: z, files: -1, bytes: 0 })),
  );
  zoneCounts(signal)
    .then(zoneLinks)
    .catch(() => {
      // The listing below reports the failure (the same token, the same server).
    });

  let folders = 0;
  let files = 0;
  const folderRow = (d: Folder) =>
    h(
      'tr',
      { class: 'folder' },
      h(
        'td',
        null,
        h(
          'a',
          { href: browseHref(zone, d.prefix), 'data-nav': true, class: 'entry' },
          h('span', { class: 'icon', 'aria-hidden': 'true' }),
          `${d.name}/`,
        ),
      ),
      h('td', { class: 'num' }, humanSize(d.bytes)),
      h('td', { class: 'opt' }),
      h('td', { class: 'opt' }, 'folder'),
      h('td', null, plural(d.files, 'file')),
      h('td', { class: 'opt' }),
      h('td'),
    );
  const fileRow = (f: File) =>
    h(
      'tr',
      { class: 'file' },
      h(
        'td',
        null,
        h(
          'span',
          { class: 'entry', title: f.key },
          h('span', { class: 'icon', 'aria-hidden': 'true' }),
          f.name,
        ),
      ),
      h(
        'td',
        { class: 'num' },
        h('span', { title: `${f.size.toLocaleString('en')} bytes` }, humanSize(f.size)),
      ),
      h('td', { class: 'opt' }, when(f.modified)),
      h('td', { class: 'opt' }, f.kind ?? ''),
      h('td', null, h('span', { class: `tag ${f.status}` }, f.status)),
      h(
        'td',
        { class: 'opt' },
        f.observationId === null
          ? ''
          : h(
              'a',
              { href: `/obs/${f.observationId}`, 'data-nav': true, 'aria-label': `Observation of ${f.name}` },
              'Observation',
            ),
      ),
      h(
        'td',
        null,
        h(
          'a',
          {
            href: linkUrl(f.url),
            download: f.name,
            rel: 'noreferrer',
            class: 'download',
            'aria-label': `Download ${f.name} (${humanSize(f.size)})`,
          },
          'Download',
        ),
      ),
    );

  const summary = (next: string | null) => {
    if (folders + files === 0)
      return prefix
        ? 'Nothing here: this folder does not exist, or holds nothing you may see.'
        : `The ${zone} zone holds nothing you may see.`;
    const parts = [folders ? plural(folders, 'folder') : '', files ? plural(files, 'file') : ''];
    return `${parts.filter(Boolean).join(', ')}${next ? ' shown; more follow' : ''}.`;
  };

  const load = async (cursor: string | null) => {
    more.disabled = true;
    status.textContent = cursor ? 'Loading more…' : 'Loading…';
    const q = new URLSearchParams({ zone, prefix, limit: String(limit) });
    if (cursor) q.set('cursor', cursor);
    try {
      const page = await api<Listing>(`/api/browse?${q}`, { signal });
      const rows: HTMLElement[] = [];
      if (!cursor && prefix) {
        const up = segments.length > 1 ? `${segments.slice(0, -1).join('/')}/` : '';
        rows.push(
          h(
            'tr',
            { class: 'parent' },
            h(
              'td',
              { colspan: 7 },
              h('a', { href: browseHref(zone, up), 'data-nav': true, class: 'entry' }, '↑ Parent folder'),
            ),
          ),
        );
      }
      // Folders and files in key order, as the listing pages them.
      const entries: [string, HTMLElement][] = [
        ...page.folders.map((d): [string, HTMLElement] => [d.prefix, folderRow(d)]),
        ...page.files.map((f): [string, HTMLElement] => [f.key, fileRow(f)]),
      ].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      rows.push(...entries.map((e) => e[1]));
      folders += page.folders.length;
      files += page.files.length;
      body.append(...rows);
      status.textContent = summary(page.next);
      more.hidden = page.next === null;
      more.disabled = false;
      more.onclick = page.next === null ? null : () => void load(page.next);
    } catch (err) {
      if (signal.aborted) return;
      status.textContent = '';
      const e = err as Error;
      replace(
        problem,
        h(
          'p',
          { class: 'error', role: 'alert' },
          `The listing failed: ${e.message}`,
          e instanceof ApiError && e.status === 401
            ? [' — ', h('a', { href: '/signin', 'data-nav': true }, 'Sign in again or sign out')]
            : null,
        ),
      );
      more.disabled = false;
    }
  };
  void load(null);

  return () => abort.abort();
}
