// The SQL / ADQL console (`/sql`): an editor with the catalog's tables and columns beside it (from
// the TAP service's VODataService document), ADQL through `POST /tap/sync` or SQL through
// `POST /api/sql`, the results as a table, downloads as CSV / VOTable (and Parquet for SQL), and
// queries saved in this browser's localStorage (key `fitslake.queries`; the dashboard charts them).
// Loaded lazily: it is not part of the first load.
import { authHeaders, errorMessage, saveAs } from './api.ts';
import { h, replace } from './dom.ts';

export type Lang = 'adql' | 'sql';
type Format = 'json' | 'csv' | 'votable' | 'parquet';

export interface Saved {
  name: string;
  text: string;
  lang: Lang;
}

interface TableInfo {
  name: string;
  description: string;
  columns: { name: string; type: string; unit: string; description: string }[];
}

interface Result {
  columns: { name: string; unit?: string }[];
  rows: unknown[][];
  note: string;
}

const SAVED_KEY = 'fitslake.queries';
const SHOWN = 1000;

const DEFAULTS: Record<Lang, string> = {
  adql:
    'SELECT TOP 100 obs_id, target_name, instrument_name, filter, t_min, t_exptime, s_ra, s_dec\n' +
    'FROM ivoa.obscore\nORDER BY t_min',
  sql: 'SELECT obs_id, target_name, instrument_name, filter, t_exptime\nFROM observations\nORDER BY t_min\nLIMIT 100',
};

export function loadSaved(): Saved[] {
  try {
    const list = JSON.parse(localStorage.getItem(SAVED_KEY) ?? '[]') as Saved[];
    return Array.isArray(list) ? list.filter((q) => typeof q?.name === 'string') : [];
  } catch {
    return [];
  }
}

function storeSaved(list: Saved[]): void {
  localStorage.setItem(SAVED_KEY, JSON.stringify(list));
}

/**
 * A query's answer in one format, as the caller: ADQL through `POST /tap/sync` (which has no Parquet),
 * SQL through `POST /api/sql`.
 */
export function queryRequest(
  text: string,
  lang: Lang,
  format: Format,
  signal: AbortSignal,
): Promise<Response> {
  if (lang === 'adql')
    return fetch('/tap/sync', {
      method: 'POST',
      headers: authHeaders(),
      body: new URLSearchParams({ LANG: 'ADQL', QUERY: text, FORMAT: format }),
      signal,
    });
  return fetch('/api/sql', {
    method: 'POST',
    headers: { ...authHeaders(), 'content-type': 'application/json' },
    body: JSON.stringify({ sql: text, format }),
    signal,
  });
}

/** A query's rows as objects by column name, whichever the language; throws the server's message. */
export async function runQuery(
  text: string,
  lang: Lang,
  signal: AbortSignal,
): Promise<{ columns: string[]; rows: Record<string, unknown>[]; truncated: boolean }> {
  const r = await queryRequest(text, lang, 'json', signal);
  if (!r.ok) throw new Error(await errorMessage(r));
  if (lang === 'sql')
    return (await r.json()) as { columns: string[]; rows: Record<string, unknown>[]; truncated: boolean };
  const body = (await r.json()) as { metadata: { name: string }[]; data: unknown[][]; queryStatus: string };
  const columns = body.metadata.map((m) => m.name);
  return {
    columns,
    rows: body.data.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]]))),
    truncated: body.queryStatus === 'OVERFLOW',
  };
}

/** The tables of the TAP service's VODataService `tableset` document. */
function parseTables(xml: string): TableInfo[] {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const child = (el: Element, tag: string) =>
    Array.from(el.children)
      .find((c) => c.localName === tag)
      ?.textContent?.trim() ?? '';
  return Array.from(doc.getElementsByTagName('table')).map((t) => ({
    name: child(t, 'name'),
    description: child(t, 'description'),
    columns: Array.from(t.children)
      .filter((c) => c.localName === 'column')
      .map((c) => ({
        name: child(c, 'name'),
        type: child(c, 'dataType'),
        unit: child(c, 'unit'),
        description: child(c, 'description'),
      })),
  }));
}

/** The offset in `text` of an ADQL error's "line L, column C" (1-based), or null. */
export function errorOffset(text: string, message: string): number | null {
  const m = /line (\d+), column (\d+)/.exec(message);
  if (!m) return null;
  const lines = text.split('\n');
  const line = Number(m[1]) - 1;
  if (line >= lines.length) return text.length;
  let off = 0;
  for (let i = 0; i < line; i++) off += lines[i].length + 1;
  return Math.min(off + Number(m[2]) - 1, text.length);
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function sqlPage(root: HTMLElement): () => void {
  const abort = new AbortController();
  let lang: Lang = 'adql';
  let running: AbortController | null = null;

  const editor = h('textarea', {
    id: 'query',
    name: 'query',
    rows: 9,
    spellcheck: 'false',
    autocomplete: 'off',
    'aria-describedby': 'query-help',
  });
  editor.value = DEFAULTS.adql;
  const langInputs = (['adql', 'sql'] as Lang[]).map((l) =>
    h('input', { type: 'radio', name: 'lang', id: `lang-${l}`, value: l, checked: l === lang }),
  );
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const errorBox = h('div', { class: 'query-error' });
  const results = h('div', { class: 'table-wrap' });
  const tables = h('div', { class: 'tables-list' }, h('p', { class: 'muted' }, 'Loading tables…'));
  const savedList = h('ul', { class: 'saved-list' });
  const saveName = h('input', { id: 'save-name', name: 'save-name', type: 'text', autocomplete: 'off' });

  // Parquet comes from `POST /api/sql` only: the button waits for the SQL language.
  const parquetButton = h(
    'button',
    { type: 'button', 'aria-describedby': 'parquet-help', onclick: () => void download('parquet') },
    'Download Parquet',
  );
  const parquetHelp = h('span', { id: 'parquet-help', class: 'muted' });
  const setLang = (l: Lang) => {
    if (editor.value.trim() === DEFAULTS[lang] || !editor.value.trim()) editor.value = DEFAULTS[l];
    lang = l;
    for (const i of langInputs) i.checked = i.value === l;
    parquetButton.disabled = l !== 'sql';
    // The app's stylesheet has no disabled look: dim it here.
    parquetButton.style.opacity = l === 'sql' ? '' : '0.55';
    parquetButton.style.cursor = l === 'sql' ? '' : 'not-allowed';
    parquetHelp.textContent = l === 'sql' ? '' : 'Parquet: SQL (catalog) queries only.';
  };
  for (const i of langInputs) i.addEventListener('change', () => i.checked && setLang(i.value as Lang));
  setLang(lang);

  const request = (format: Format, signal: AbortSignal): Promise<Response> =>
    queryRequest(editor.value, lang, format, signal);

  const showError = (message: string) => {
    const text = editor.value;
    const off = lang === 'adql' ? errorOffset(text, message) : null;
    status.textContent = 'The query failed.';
    let where: HTMLElement | null = null;
    if (off !== null) {
      // The line in error with a caret under the column, and the editor's cursor put there.
      const start = text.lastIndexOf('\n', off - 1) + 1;
      const endAt = text.indexOf('\n', off);
      const line = text.slice(start, endAt < 0 ? text.length : endAt);
      where = h('pre', { class: 'caret', 'aria-hidden': 'true' }, `${line}\n${' '.repeat(off - start)}^`);
      editor.focus();
      editor.setSelectionRange(off, Math.min(off + 1, text.length));
    }
    replace(errorBox, h('div', { role: 'alert', class: 'error' }, message), where);
    replace(results);
  };

  const run = async () => {
    running?.abort();
    const ctl = new AbortController();
    running = ctl;
    status.textContent = 'Running…';
    replace(errorBox);
    const t0 = performance.now();
    try {
      const r = await request('json', ctl.signal);
      if (!r.ok) return showError(await errorMessage(r));
      let res: Result;
      if (lang === 'adql') {
        const body = (await r.json()) as {
          metadata: { name: string; unit?: string }[];
          data: unknown[][];
          queryStatus: string;
        };
        res = {
          columns: body.metadata,
          rows: body.data,
          note: body.queryStatus === 'OVERFLOW' ? ' (cut at the row limit)' : '',
        };
      } else {
        const body = (await r.json()) as {
          columns: string[];
          rows: Record<string, unknown>[];
          truncated: boolean;
        };
        res = {
          columns: body.columns.map((name) => ({ name })),
          rows: body.rows.map((row) => body.columns.map((c) => row[c])),
          note: body.truncated ? ' (cut at the row limit)' : '',
        };
      }
      const ms = Math.round(performance.now() - t0);
      status.textContent = `${res.rows.length} row${res.rows.length === 1 ? '' : 's'}${res.note} in ${ms} ms${res.rows.length > SHOWN ? `; the first ${SHOWN} are shown` : ''}.`;
      renderResult(res);
    } catch (err) {
      if (ctl.signal.aborted) return;
      showError((err as Error).message);
    } finally {
      if (running === ctl) running = null;
    }
  };

  const renderResult = (res: Result) => {
    replace(
      results,
      h(
        'table',
        { class: 'query-results' },
        h('caption', { class: 'sr-only' }, 'Query results'),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            res.columns.map((c) =>
              h('th', { scope: 'col', title: c.unit ? `unit: ${c.unit}` : null }, c.name),
            ),
          ),
        ),
        h(
          'tbody',
          null,
          res.rows.slice(0, SHOWN).map((row) =>
            h(
              'tr',
              null,
              row.map((v) => h('td', { class: typeof v === 'number' ? 'num' : null }, cell(v))),
            ),
          ),
        ),
      ),
    );
  };

  const FILES = {
    csv: { name: 'query.csv', what: 'CSV' },
    votable: { name: 'query.vot', what: 'VOTable' },
    parquet: { name: 'query.parquet', what: 'Parquet' },
  } as const;
  const download = async (format: keyof typeof FILES) => {
    const file = FILES[format];
    if (format === 'parquet' && lang !== 'sql') {
      status.textContent =
        'Parquet downloads are for SQL (catalog) queries; the TAP service gives VOTable or CSV.';
      return;
    }
    status.textContent = `Preparing the ${file.what} file…`;
    try {
      const r = await request(format, abort.signal);
      if (!r.ok) return showError(await errorMessage(r));
      await saveAs(r, file.name);
      status.textContent = `Downloaded ${file.name}.`;
    } catch (err) {
      if (!abort.signal.aborted) showError((err as Error).message);
    }
  };

  const renderSaved = () => {
    const list = loadSaved();
    replace(
      savedList,
      list.length
        ? list.map((q) =>
            h(
              'li',
              null,
              h(
                'button',
                {
                  type: 'button',
                  class: 'link',
                  title: q.text,
                  onclick: () => {
                    setLang(q.lang);
                    editor.value = q.text;
                    saveName.value = q.name;
                    editor.focus();
                    status.textContent = `Loaded “${q.name}”.`;
                  },
                },
                q.name,
              ),
              h('span', { class: 'tag' }, q.lang.toUpperCase()),
              h(
                'button',
                {
                  type: 'button',
                  class: 'small',
                  'aria-label': `Delete ${q.name}`,
                  onclick: () => {
                    storeSaved(loadSaved().filter((x) => x.name !== q.name));
                    renderSaved();
                    status.textContent = `Deleted “${q.name}”.`;
                  },
                },
                'Delete',
              ),
            ),
          )
        : h('li', { class: 'muted' }, 'No saved query yet.'),
    );
  };

  const save = (e: Event) => {
    e.preventDefault();
    const name = saveName.value.trim();
    if (!name) {
      saveName.focus();
      status.textContent = 'Give the query a name to save it.';
      return;
    }
    const list = loadSaved().filter((q) => q.name !== name);
    list.push({ name, text: editor.value, lang });
    list.sort((a, b) => a.name.localeCompare(b.name));
    storeSaved(list);
    renderSaved();
    status.textContent = `Saved “${name}” in this browser.`;
  };

  const insert = (text: string) => {
    const { selectionStart: a, selectionEnd: b, value } = editor;
    editor.value = value.slice(0, a) + text + value.slice(b);
    editor.focus();
    editor.setSelectionRange(a + text.length, a + text.length);
  };

  editor.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void run();
    }
  });

  const form = h(
    'form',
    { class: 'console', 'aria-label': 'Query form' },
    h(
      'fieldset',
      { class: 'lang' },
      h('legend', null, 'Language'),
      h('span', { class: 'choice' }, langInputs[0], h('label', { for: 'lang-adql' }, 'ADQL (TAP)')),
      h('span', { class: 'choice' }, langInputs[1], h('label', { for: 'lang-sql' }, 'SQL (catalog)')),
    ),
    h('div', { class: 'field' }, h('label', { for: 'query' }, 'Query'), editor),
    h(
      'p',
      { class: 'muted', id: 'query-help' },
      'Ctrl+Enter runs the query. You see only the rows you may see; results are cut at the server’s row limit.',
    ),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Run'),
      h('button', { type: 'button', onclick: () => void download('csv') }, 'Download CSV'),
      h('button', { type: 'button', onclick: () => void download('votable') }, 'Download VOTable'),
      parquetButton,
      parquetHelp,
    ),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void run();
  });
  const saveForm = h(
    'form',
    { class: 'save', 'aria-labelledby': 'h-saved' },
    h('h2', { id: 'h-saved' }, 'Saved queries'),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'save-name' }, 'Name'),
      h('div', { class: 'save-row' }, saveName, h('button', { type: 'submit' }, 'Save')),
    ),
    savedList,
  );
  saveForm.addEventListener('submit', save);

  replace(
    root,
    h('h1', null, 'SQL / ADQL console'),
    h(
      'div',
      { class: 'sql' },
      h(
        'aside',
        { class: 'side' },
        h(
          'section',
          { class: 'panel', 'aria-labelledby': 'h-tables' },
          h('h2', { id: 'h-tables' }, 'Tables'),
          tables,
        ),
        h('section', { class: 'panel' }, saveForm),
      ),
      h(
        'section',
        { class: 'panel results', 'aria-label': 'Query and results' },
        form,
        status,
        errorBox,
        results,
      ),
    ),
  );
  renderSaved();

  void fetch('/tap/tables', { headers: authHeaders(), signal: abort.signal })
    .then(async (r) => {
      if (!r.ok) throw new Error(await errorMessage(r));
      const list = parseTables(await r.text()).filter((t) => !t.name.startsWith('TAP_SCHEMA.'));
      replace(
        tables,
        list.map((t, i) =>
          h(
            'details',
            { class: 'table', open: i === 0, 'data-table': t.name },
            h('summary', { title: t.description }, t.name),
            h(
              'ul',
              null,
              t.columns.map((c) =>
                h(
                  'li',
                  null,
                  h(
                    'button',
                    {
                      type: 'button',
                      class: 'link',
                      title: `${c.description}${c.unit ? ` [${c.unit}]` : ''} — insert in the query`,
                      onclick: () => insert(c.name),
                    },
                    c.name,
                  ),
                  h('span', { class: 'muted type' }, c.type),
                ),
              ),
            ),
          ),
        ),
        h(
          'p',
          { class: 'muted' },
          'SQL runs over the catalog itself: observations, files, hdus and the hdr_ views.',
        ),
      );
    })
    .catch((err: Error) => {
      if (!abort.signal.aborted) replace(tables, h('p', { class: 'error' }, `Tables: ${err.message}`));
    });

  return () => {
    abort.abort();
    running?.abort();
  };
}
