// The recent uploads panel (Explore's side column): `GET /api/uploads/recent` — the failures with
// their reasons first, then the newest arrivals — refreshed live as files are ingested or fail.
import { api } from './api.ts';
import { h, replace } from './dom.ts';

interface RecentUpload {
  id: number;
  time: string;
  status: 'ingested' | 'failed';
  key: string;
  collection: string | null;
  observationId: number | null;
  error: string | null;
}

const LATEST = 6;
const FAILURES = 5;

function ago(time: string): string {
  const s = Math.max(0, (Date.now() - Date.parse(time)) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

function item(u: RecentUpload): HTMLElement {
  const name = u.key.split('/').pop() ?? u.key;
  return h(
    'li',
    { class: `upload-item ${u.status}`, 'data-key': u.key },
    h(
      'div',
      { class: 'upload-line' },
      h('span', { class: `tag ${u.status}` }, u.status),
      u.observationId !== null && u.status === 'ingested'
        ? h('a', { href: `/obs/${u.observationId}`, 'data-nav': true, title: u.key }, name)
        : h('span', { class: 'upload-name', title: u.key }, name),
    ),
    u.error ? h('div', { class: 'reason error' }, u.error) : null,
    h('time', { class: 'muted', datetime: u.time, title: u.time }, ago(u.time)),
  );
}

export function recentPanel(): { el: HTMLElement; poke: () => void; stop: () => void } {
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const el = h(
    'section',
    { class: 'recent', 'aria-labelledby': 'h-recent' },
    h('h2', { id: 'h-recent' }, 'Recent uploads'),
    body,
  );
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const load = () =>
    api<{ items: RecentUpload[] }>('/api/uploads/recent?limit=100', { signal: abort.signal })
      .then(({ items }) => {
        const failed = items.filter((i) => i.status === 'failed').slice(0, FAILURES);
        const latest = items.slice(0, LATEST);
        replace(
          body,
          items.length ? null : h('p', { class: 'muted' }, 'Nothing arrived lately.'),
          failed.length
            ? [
                h('h3', null, `Failed (${failed.length})`),
                h('ul', { class: 'failed-list' }, failed.map(item)),
              ]
            : null,
          latest.length
            ? [h('h3', null, 'Latest'), h('ul', { class: 'latest-list' }, latest.map(item))]
            : null,
        );
      })
      .catch((err: Error) => {
        if (!abort.signal.aborted) replace(body, h('p', { class: 'muted' }, `Unavailable: ${err.message}`));
      });
  void load();
  return {
    el,
    // Called on file.ingested / ingest.failed: a burst of ingests makes one reload, not one each.
    poke: () => {
      clearTimeout(timer);
      timer = setTimeout(() => void load(), 300);
    },
    stop: () => {
      abort.abort();
      clearTimeout(timer);
    },
  };
}
