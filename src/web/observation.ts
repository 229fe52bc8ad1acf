// The observation page (`/obs/<id>`): its columns, its files with their roles and downloads, the
// preview, the image viewer, every HDU's header of its science file with a keyword filter, and links
// to its DataLink document and its ObsCore row.
import { ApiError, api, imageUrl, linkUrl } from './api.ts';
import { formatDec, formatRa, mjdToIso } from './coords.ts';
import { h, replace } from './dom.ts';
import type { Detail, FileEntry, Header } from './types.ts';

function size(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function show(column: string, v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if ((column === 't_min' || column === 't_max') && Number.isFinite(v)) return `${v} (${mjdToIso(v)} UTC)`;
    if (column === 's_ra') return `${v} (${formatRa(v)})`;
    if (column === 's_dec') return `${v} (${formatDec(v)})`;
  }
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function cardValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  if (Array.isArray(v)) return `(${v.join(', ')})`;
  return String(v);
}

const ROLE_ORDER = ['science', 'small', 'preview', 'thumbnail', 'header'];
/** The group's own files first (science, small, preview…), then what fitslake derived. */
function roleRank(f: FileEntry): number {
  const i = ROLE_ORDER.indexOf(f.role);
  return (f.zone === 'raw' ? 0 : 100) + (i < 0 ? 50 : i);
}

/** The file whose header the page shows: the science file, else any with a header. */
function headerFile(files: FileEntry[]): FileEntry | undefined {
  return files.find((f) => f.role === 'science' && f.headerUrl) ?? files.find((f) => f.headerUrl);
}

export function observationPage(root: HTMLElement, id: string): () => void {
  const abort = new AbortController();
  replace(root, h('p', { role: 'status' }, 'Loading…'));
  if (!/^\d+$/.test(id)) {
    replace(root, h('h1', null, 'No such observation'), h('p', null, `“${id}” is not an observation id.`));
    return () => {};
  }
  void api<Detail>(`/api/observations/${id}`, { signal: abort.signal })
    .then((d) => render(d))
    .catch((err: Error) => {
      if (abort.signal.aborted) return;
      const missing = err instanceof ApiError && err.status === 404;
      replace(
        root,
        h('h1', null, missing ? 'Observation not found' : 'Could not load the observation'),
        h(
          'p',
          { role: 'alert', class: 'error' },
          missing
            ? `There is no observation ${id}, or you may not see it. Signing in may show more.`
            : err.message,
        ),
        h('p', null, h('a', { href: '/', 'data-nav': true }, 'Back to Explore')),
      );
    });

  function render(d: Detail) {
    const o = d.observation;
    document.title = `${o.obs_id} · fitslake`;
    const preview = h('figure', { class: 'preview' });
    const hdrBox = h('section', { class: 'headers', 'aria-labelledby': 'h-headers' });
    const viewerBox = h('section', { class: 'viewer', 'aria-labelledby': 'h-viewer' });
    const facts: [string, string][] = [
      ['Collection', o.obs_collection],
      ['Target', o.target_name ?? ''],
      ['Type', o.obs_type ?? ''],
      ['Instrument', o.instrument_name ?? ''],
      ['Filter', o.filter ?? ''],
      ['Start (UTC)', o.t_min === null ? '' : mjdToIso(o.t_min)],
      ['Exposure', o.t_exptime === null ? '' : `${o.t_exptime} s`],
      ['RA, Dec', o.s_ra === null || o.s_dec === null ? '' : `${formatRa(o.s_ra)} ${formatDec(o.s_dec)}`],
    ];
    const did = o.obs_publisher_did;
    replace(
      root,
      h(
        'p',
        { class: 'crumbs' },
        h('a', { href: '/', 'data-nav': true }, 'Explore'),
        ' / ',
        h(
          'a',
          { href: `/?collection=${encodeURIComponent(o.obs_collection)}`, 'data-nav': true },
          o.obs_collection,
        ),
      ),
      h('h1', null, o.obs_id),
      h(
        'div',
        { class: 'obs-top' },
        preview,
        h(
          'div',
          null,
          h(
            'dl',
            { class: 'facts' },
            facts.filter(([, v]) => v !== '').map(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
          ),
          h(
            'p',
            { class: 'links' },
            did
              ? h(
                  'a',
                  { href: linkUrl(`/datalink?ID=${encodeURIComponent(did)}`), rel: 'noreferrer' },
                  'DataLink (VOTable)',
                )
              : null,
            ' ',
            // The observation's ObsCore row, as SIA 2.0 answers for its DID.
            did
              ? h(
                  'a',
                  { href: linkUrl(`/sia/query?ID=${encodeURIComponent(did)}`), rel: 'noreferrer' },
                  'ObsCore row (VOTable)',
                )
              : null,
            ' ',
            h('a', { href: linkUrl(`/api/observations/${o.id}`), rel: 'noreferrer' }, 'JSON'),
          ),
          d.links.length
            ? h(
                'div',
                { class: 'related' },
                h('h2', null, 'Calibration'),
                h(
                  'ul',
                  null,
                  d.links.map((l) =>
                    h(
                      'li',
                      null,
                      `${l.relation}: `,
                      l.id === null ? l.obsId : h('a', { href: `/obs/${l.id}`, 'data-nav': true }, l.obsId),
                    ),
                  ),
                ),
              )
            : null,
        ),
      ),
      viewerBox,
      h(
        'section',
        { 'aria-labelledby': 'h-files' },
        h('h2', { id: 'h-files' }, 'Files'),
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'files' },
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                ['Role', 'File', 'Zone', 'Kind', 'Size', 'Status'].map((c) => h('th', { scope: 'col' }, c)),
              ),
            ),
            h(
              'tbody',
              null,
              [...d.files]
                .sort((a, b) => roleRank(a) - roleRank(b) || (a.key < b.key ? -1 : 1))
                .map((f) =>
                  h(
                    'tr',
                    null,
                    h('td', null, f.role),
                    h('td', null, h('a', { href: linkUrl(f.url), download: '', rel: 'noreferrer' }, f.key)),
                    h('td', null, f.zone),
                    h('td', null, f.kind ?? ''),
                    h('td', { class: 'num' }, size(f.size)),
                    h('td', null, f.status),
                  ),
                ),
            ),
          ),
        ),
      ),
      hdrBox,
      h(
        'details',
        { class: 'columns' },
        h('summary', null, 'All columns'),
        h(
          'dl',
          { class: 'facts' },
          Object.entries(o).map(([k, v]) => [h('dt', null, k), h('dd', null, show(k, v))]),
        ),
      ),
    );

    if (d.previews.preview) {
      const src = d.previews.preview;
      void imageUrl(src).then((url) => {
        if (url)
          replace(
            preview,
            h('img', { src: url, alt: `preview of ${o.obs_id}` }),
            h('figcaption', null, 'Preview'),
          );
        else replace(preview, h('figcaption', null, 'No preview could be loaded.'));
      });
    } else replace(preview, h('figcaption', null, 'No preview.'));

    // The image viewer reads the science file in the page: a separate chunk, loaded only here. A
    // browser cannot unpack bzip2, so a .bz2 science file is shown through the group's small copy.
    const readable = (f: FileEntry) => !/\.(bz2|xz|zip)$/i.test(f.key);
    const sci =
      d.files.find((f) => f.role === 'science' && f.zone === 'raw' && readable(f)) ??
      d.files.find((f) => f.role === 'small' && f.zone === 'raw' && /\.(fits?|fts)(\.gz)?$/i.test(f.key)) ??
      d.files.find((f) => f.role === 'science');
    if (sci)
      void import('./viewer.ts')
        .then((m) => m.mountViewer(viewerBox, sci, abort.signal, { did }))
        .catch((err: Error) => {
          if (!abort.signal.aborted)
            replace(
              viewerBox,
              h('h2', { id: 'h-viewer' }, 'Image'),
              h('p', { role: 'alert', class: 'error' }, err.message),
            );
        });
    else viewerBox.remove();

    const hf = headerFile(d.files);
    replace(hdrBox, h('h2', { id: 'h-headers' }, 'Header'));
    if (!hf?.headerUrl) {
      hdrBox.append(h('p', null, 'No FITS header for this observation.'));
      return;
    }
    hdrBox.append(h('p', { role: 'status' }, 'Loading the header…'));
    void api<Header>(hf.headerUrl, { signal: abort.signal })
      .then((hdr) => renderHeader(hdrBox, hf, hdr))
      .catch((err: Error) => {
        if (!abort.signal.aborted)
          replace(hdrBox, h('h2', { id: 'h-headers' }, 'Header'), h('p', { role: 'alert' }, err.message));
      });
  }

  return () => abort.abort();
}

function renderHeader(box: HTMLElement, file: FileEntry, hdr: Header) {
  const filter = h('input', {
    id: 'kw-filter',
    type: 'search',
    placeholder: 'EXPTIME, DATE, WCS…',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const counter = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const tables = hdr.hdus.map((hdu) => {
    const rows = hdu.cards.map((c) =>
      h(
        'tr',
        {
          'data-keyword': c.keyword,
          'data-text': `${c.keyword} ${cardValue(c.value)} ${c.comment}`.toLowerCase(),
        },
        h('th', { scope: 'row', class: 'kw' }, c.keyword),
        h(
          'td',
          { class: c.type === 'string' || c.type === 'commentary' ? 'str' : 'num' },
          cardValue(c.value),
        ),
        h('td', { class: 'comment' }, c.comment),
      ),
    );
    const section = h(
      'section',
      { class: 'hdu', 'data-hdu': hdu.index },
      h(
        'h3',
        null,
        `HDU ${hdu.index} · ${hdu.kind}${hdu.shape.length ? ` · ${hdu.shape.join(' × ')}` : ''}`,
        hdu.checksum ? h('span', { class: 'tag' }, `checksum ${hdu.checksum}`) : null,
      ),
      h(
        'table',
        { class: 'cards' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, 'Keyword'),
            h('th', { scope: 'col' }, 'Value'),
            h('th', { scope: 'col' }, 'Comment'),
          ),
        ),
        h('tbody', null, rows),
      ),
    );
    return { section, rows };
  });
  const total = tables.reduce((n, t) => n + t.rows.length, 0);
  const apply = () => {
    const q = filter.value.trim().toLowerCase();
    let shown = 0;
    for (const t of tables) {
      let here = 0;
      for (const r of t.rows) {
        const hit = !q || (r.dataset.text ?? '').includes(q);
        r.hidden = !hit;
        if (hit) here++;
      }
      t.section.hidden = here === 0;
      shown += here;
    }
    counter.textContent = q
      ? `${shown} of ${total} cards match “${filter.value.trim()}”.`
      : `${total} cards in ${tables.length} HDU${tables.length === 1 ? '' : 's'}.`;
  };
  filter.addEventListener('input', apply);
  replace(
    box,
    h('h2', { id: 'h-headers' }, 'Header'),
    h('p', { class: 'muted' }, `of ${file.key}`),
    h('div', { class: 'field inline' }, h('label', { for: 'kw-filter' }, 'Filter keywords'), filter),
    counter,
    tables.map((t) => t.section),
  );
  apply();
}
