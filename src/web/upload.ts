// Upload (`/upload`): files and folders dropped (or chosen) go to `PUT /api/files/{collection}/{path}`
// one XMLHttpRequest each (for its upload progress), three at a time; then each file's ingest is
// followed on the event stream (file.ingested / ingest.failed name the key). Loaded lazily.
// Files above RESUMABLE_BYTES go by the tus protocol instead (`/api/uploads/`, tus-js-client, in
// this lazily loaded chunk): in chunks, retried after a network error, continued when the browser
// comes back online, and resumed after a page reload when the same file is chosen again (the
// client keeps each upload's URL in localStorage under a fingerprint of key, size and date).
import { Upload as TusUpload } from 'tus-js-client';
import { api, authHeaders, getToken } from './api.ts';
import { h, replace } from './dom.ts';
import { type LiveEvent, subscribe } from './live.ts';
import type { Collection } from './types.ts';

const PARALLEL = 3;
/** Files larger than this go by the resumable (tus) protocol; smaller ones by one PUT. */
export const RESUMABLE_BYTES = 8 * 1024 ** 2;
/** Bytes per PATCH of a resumable upload: what a dropped connection costs at most. */
const CHUNK_BYTES = 4 * 1024 ** 2;
/** Waits between automatic retries after a failed request (then the upload fails). */
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10_000, 20_000, 30_000, 60_000];

interface Item {
  file: File;
  path: string;
  key: string;
  row: HTMLTableRowElement;
  bar: HTMLProgressElement;
  state: HTMLElement;
  done: boolean;
}

function size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** Every file under a dropped entry (folders read recursively), with its path relative to the drop. */
async function filesOf(entry: FileSystemEntry, prefix = ''): Promise<{ file: File; path: string }[]> {
  if (entry.isFile)
    return new Promise((resolve, reject) =>
      (entry as FileSystemFileEntry).file((file) => resolve([{ file, path: prefix + entry.name }]), reject),
    );
  if (!entry.isDirectory) return [];
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const out: { file: File; path: string }[] = [];
  // readEntries answers in batches until it answers none.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
      reader.readEntries(resolve, reject),
    );
    if (!batch.length) break;
    for (const e of batch) out.push(...(await filesOf(e, `${prefix}${entry.name}/`)));
  }
  return out;
}

function putFile(url: string, file: File, onProgress: (loaded: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader('content-type', file.type || 'application/octet-stream');
    xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded));
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve();
      let message = `${xhr.status} ${xhr.statusText}`;
      try {
        message = (JSON.parse(xhr.responseText) as { error: { message: string } }).error.message;
      } catch {
        // not JSON
      }
      reject(new Error(message));
    });
    xhr.addEventListener('error', () => reject(new Error('the connection failed')));
    xhr.addEventListener('abort', () => reject(new Error('cancelled')));
    xhr.send(file);
  });
}

/** The API's error message in a tus-js-client error, else the client's own message. */
function tusMessage(err: Error): string {
  const body = (err as { originalResponse?: { getBody(): string } | null }).originalResponse?.getBody();
  if (body)
    try {
      return (JSON.parse(body) as { error: { message: string } }).error.message;
    } catch {
      // not JSON
    }
  return err.message.split(', originated from request')[0];
}

/**
 * A large file by the tus protocol. Resolves when the server has stored it (and queued its ingest);
 * while the browser is offline the upload waits and goes on from the server's offset once online.
 */
function resumableUpload(
  key: string,
  file: File,
  onProgress: (loaded: number) => void,
  onState: (text: string) => void,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let waiting: (() => void) | undefined;
    const upload = new TusUpload(file, {
      endpoint: '/api/uploads',
      headers: authHeaders(),
      metadata: { key, filetype: file.type || 'application/octet-stream' },
      chunkSize: CHUNK_BYTES,
      retryDelays: RETRY_DELAYS,
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      // The same file to the same key (after a reload) resumes; another key is another upload.
      fingerprint: async (f: File) =>
        ['fitslake-tus', key, f.size, f.lastModified, location.origin].join('|'),
      onProgress: (sent) => {
        onProgress(sent);
      },
      onSuccess: () => {
        signal.removeEventListener('abort', stop);
        resolve();
      },
      onError: (err) => {
        if (!navigator.onLine && !signal.aborted) {
          // tus-js-client does not retry while offline: go on once the browser is back online.
          onState('Offline — the upload resumes when the connection is back…');
          waiting = () => {
            waiting = undefined;
            onState('Uploading (resumed)…');
            upload.start();
          };
          window.addEventListener('online', waiting, { once: true });
          return;
        }
        signal.removeEventListener('abort', stop);
        reject(new Error(tusMessage(err)));
      },
    });
    const stop = () => {
      if (waiting) window.removeEventListener('online', waiting);
      // Leaving the page keeps the partial upload on the server: choosing the file again resumes it.
      void upload.abort(false);
    };
    signal.addEventListener('abort', stop, { once: true });
    void upload
      .findPreviousUploads()
      .then((previous) => {
        if (previous.length) {
          upload.resumeFromPreviousUpload(previous[0]);
          onState('Resuming an earlier upload…');
        }
        upload.start();
      })
      .catch((err: Error) => reject(err));
  });
}

export function uploadPage(root: HTMLElement): () => void {
  const abort = new AbortController();
  const items = new Map<string, Item>();
  /** Ingest events that arrived before their upload finished answering. */
  const early = new Map<string, LiveEvent>();
  const queue: Item[] = [];
  let active = 0;

  const collection = h('input', {
    id: 'up-collection',
    name: 'collection',
    type: 'text',
    required: true,
    autocomplete: 'off',
    list: 'dl-collections',
  });
  const collections = h('datalist', { id: 'dl-collections' });
  const prefix = h('input', {
    id: 'up-prefix',
    name: 'prefix',
    type: 'text',
    autocomplete: 'off',
    placeholder: 'raw/2024-05-01',
  });
  const picker = h('input', { id: 'up-files', name: 'files', type: 'file', multiple: true });
  const folder = h('input', { id: 'up-folder', name: 'folder', type: 'file', multiple: true });
  folder.setAttribute('webkitdirectory', '');
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const tbody = h('tbody');
  const table = h(
    'table',
    { class: 'uploads', hidden: true },
    h('caption', { class: 'sr-only' }, 'Files to upload and their status'),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { scope: 'col' }, 'File'),
        h('th', { scope: 'col', class: 'num' }, 'Size'),
        h('th', { scope: 'col' }, 'Progress'),
        h('th', { scope: 'col' }, 'Status'),
      ),
    ),
    tbody,
  );
  const drop = h(
    'div',
    { class: 'dropzone', id: 'dropzone' },
    h('p', null, h('strong', null, 'Drop files or folders here')),
    h(
      'p',
      { class: 'pickers' },
      h('label', { for: 'up-files' }, 'Choose files'),
      picker,
      h('label', { for: 'up-folder' }, 'Choose a folder'),
      folder,
    ),
  );

  const summary = () => {
    const all = [...items.values()];
    const by = (c: string) => all.filter((i) => i.row.dataset.state === c).length;
    status.textContent = `${all.length} file${all.length === 1 ? '' : 's'}: ${by('uploading') + by('queued')} to upload, ${by('waiting')} waiting for ingest, ${by('ingested')} ingested, ${by('failed')} failed.`;
  };

  const setState = (item: Item, state: string, ...text: (Node | string)[]) => {
    item.row.dataset.state = state;
    replace(item.state, ...text);
    summary();
  };

  const ingestEvent = (e: LiveEvent) => {
    const key = String(e.payload.key ?? '');
    const item = items.get(key);
    if (!item || item.row.dataset.state === 'queued' || item.row.dataset.state === 'uploading') {
      early.set(key, e);
      return;
    }
    applyEvent(item, e);
  };
  const applyEvent = (item: Item, e: LiveEvent) => {
    item.done = true;
    if (e.kind === 'file.ingested') {
      const obs = e.payload.observationId;
      setState(
        item,
        'ingested',
        'Ingested',
        typeof obs === 'number'
          ? h('a', { href: `/obs/${obs}`, 'data-nav': true }, ' — open observation')
          : '',
      );
    } else
      setState(
        item,
        'failed',
        h('span', { class: 'error' }, `Ingest failed: ${String(e.payload.error ?? 'no reason given')}`),
      );
  };
  const stop = subscribe(['file.ingested', 'ingest.failed'], ingestEvent, {
    onOpen: () => {
      root.dataset.live = 'open';
    },
  });

  const pump = () => {
    while (active < PARALLEL && queue.length) {
      const item = queue.shift() as Item;
      active++;
      setState(item, 'uploading', 'Uploading…');
      const url = `/api/files/${item.key.split('/').map(encodeURIComponent).join('/')}`;
      const progress = (loaded: number) => {
        item.bar.value = loaded;
      };
      const sent =
        item.file.size > RESUMABLE_BYTES
          ? resumableUpload(
              item.key,
              item.file,
              progress,
              (text) => {
                if (item.row.dataset.state === 'uploading') setState(item, 'uploading', text);
              },
              abort.signal,
            )
          : putFile(url, item.file, progress);
      sent
        .then(() => {
          item.bar.value = item.file.size;
          setState(item, 'waiting', 'Uploaded — waiting for ingest…');
          const e = early.get(item.key);
          if (e) applyEvent(item, e);
        })
        .catch((err: Error) =>
          setState(item, 'failed', h('span', { class: 'error' }, `Upload failed: ${err.message}`)),
        )
        .finally(() => {
          active--;
          pump();
        });
    }
  };

  const add = (files: { file: File; path: string }[]) => {
    const c = collection.value.trim().replace(/^\/+|\/+$/g, '');
    if (!c) {
      status.textContent = 'Choose the collection first.';
      collection.focus();
      return;
    }
    const p = prefix.value.trim().replace(/^\/+|\/+$/g, '');
    for (const { file, path } of files) {
      const key = [c, p, path].filter(Boolean).join('/');
      early.delete(key);
      const old = items.get(key);
      old?.row.remove();
      const bar = h('progress', { max: Math.max(file.size, 1), value: 0, 'aria-label': `Upload of ${path}` });
      const state = h('span', null, 'Queued');
      const row = h(
        'tr',
        { 'data-key': key, 'data-state': 'queued' },
        h('td', { class: 'path', title: key }, path),
        h('td', { class: 'num' }, size(file.size)),
        h('td', null, bar),
        h('td', { class: 'state' }, state),
      );
      tbody.append(row);
      const item: Item = { file, path, key, row, bar, state, done: false };
      items.set(key, item);
      queue.push(item);
    }
    table.hidden = items.size === 0;
    summary();
    pump();
  };

  picker.addEventListener('change', () => {
    add(Array.from(picker.files ?? []).map((file) => ({ file, path: file.name })));
    picker.value = '';
  });
  folder.addEventListener('change', () => {
    add(Array.from(folder.files ?? []).map((file) => ({ file, path: file.webkitRelativePath || file.name })));
    folder.value = '';
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const dt = e.dataTransfer;
    if (!dt) return;
    const entries = Array.from(dt.items)
      .map((i) => (i.kind === 'file' ? i.webkitGetAsEntry() : null))
      .filter((x): x is FileSystemEntry => x !== null);
    if (entries.length) {
      const lists = await Promise.all(entries.map((en) => filesOf(en)));
      add(lists.flat());
    } else add(Array.from(dt.files).map((file) => ({ file, path: file.name })));
  });

  replace(
    root,
    h('h1', null, 'Upload'),
    getToken()
      ? null
      : h(
          'p',
          { class: 'notice' },
          'Uploading needs the uploader role: ',
          h('a', { href: '/signin', 'data-nav': true }, 'sign in'),
          ' first.',
        ),
    h(
      'section',
      { class: 'panel upload', 'aria-label': 'Upload files' },
      h(
        'div',
        { class: 'upload-fields' },
        h(
          'div',
          { class: 'field' },
          h('label', { for: 'up-collection' }, 'Collection'),
          collection,
          collections,
        ),
        h(
          'div',
          { class: 'field' },
          h('label', { for: 'up-prefix' }, 'Folder in the collection (optional)'),
          prefix,
        ),
      ),
      drop,
      h(
        'p',
        { class: 'muted' },
        'Each file is stored under ',
        h('code', null, 'collection/folder/path'),
        ' in the raw zone and ingested; its status follows live below.',
      ),
      status,
      h('div', { class: 'table-wrap' }, table),
    ),
  );

  void api<{ collections: Collection[] }>('/api/collections', { signal: abort.signal })
    .then(({ collections: list }) => {
      replace(
        collections,
        list.map((c) => h('option', { value: c.name })),
      );
      if (!collection.value && list.length === 1) collection.value = list[0].name;
    })
    .catch(() => {});

  return () => {
    abort.abort();
    stop();
  };
}
