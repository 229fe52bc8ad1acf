// The access-control matrix over real HTTP: every caller × every route of /openapi.json × every access
// case (public, embargoed, private, shared), on a lake of generated FITS files ingested with previews
// by the real worker. Each cell asserts the exact status, that visible data is there, and that no
// string unique to a hidden case (obs_id, key, instrument, collection name) appears anywhere in the
// response — rows, counts, facets, error messages. A hidden object answers 404 with the very body a
// missing one gets. A route added to the server without an entry in ROUTES fails the first test.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, test } from 'node:test';
import { servicePlugins } from '../../src/services/index.ts';
import { startServer } from '../util/server.ts';
import {
  BAD_TOKENS,
  CALLERS,
  CASES,
  type CallerName,
  type Case,
  type CaseData,
  matrixLake,
  sees,
  USERS,
} from './matrix-fixture.ts';

const started = Date.now();
const m = await matrixLake();
const { cases, broken } = m;
const srv = await startServer(m.lake, { plugins: servicePlugins, rateLimit: 0 });
after(async () => {
  // Sockets the client opened but never used stay until Node's headersTimeout: drop them after a
  // grace second (requests in flight would have finished by then).
  const closing = srv.close();
  setTimeout(() => srv.app.server.closeAllConnections(), 1000).unref();
  await closing;
  await m.lake.close();
});

// A last event everybody who may see the public observation receives: the end of the SSE replay.
const sentinel = Number(
  (
    await m.lake.catalog.db
      .insertInto('events')
      .values({
        kind: 'observation.completed',
        payload: JSON.stringify({
          collection: 'pubsky',
          obsId: cases.open.obsId,
          observationId: cases.open.id,
          status: 'complete',
        }),
        created_at: new Date().toISOString(),
      })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id,
);

const sha = new Map<string, string>();
for (const f of await m.lake.catalog.db.selectFrom('files').select(['zone', 'key', 'sha256']).execute())
  sha.set(`${f.zone}:${f.key}`, f.sha256);

// ---------------------------------------------------------------------------------------------------
// The oracle: who sees what, written out by hand (never computed by the code under test).

const COLLECTIONS = ['pubsky', 'teamx', 'vaultx'] as const;
const collectionSeen: Record<string, (c: CallerName) => boolean> = {
  pubsky: (c) => !BAD_TOKENS.includes(c),
  vaultx: (c) => c === 'root',
  teamx: (c) => c === 'root' || c === 'tess',
};
const visibleCases = (c: CallerName) => CASES.filter((x) => sees(c, x));
const hiddenCases = (c: CallerName) => CASES.filter((x) => !sees(c, x));
/** Observations the caller sees per collection (zero entries omitted). */
function obsPerCollection(c: CallerName, only?: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of visibleCases(c))
    if (only === undefined || cases[x].collection === only)
      out[cases[x].collection] = (out[cases[x].collection] ?? 0) + 1;
  return out;
}
const RANK = { reader: 0, uploader: 1, curator: 2, admin: 3 } as const;
function hasRole(c: CallerName, role: keyof typeof RANK): boolean {
  if (!(c in USERS)) return false;
  return USERS[c as keyof typeof USERS].roles.some((r) => RANK[r] >= RANK[role]);
}
/** 401 without a token, 403 below the role, undefined when the role is there. */
const gate = (c: CallerName, role: keyof typeof RANK) =>
  c === 'anon' ? 401 : hasRole(c, role) ? undefined : 403;

// ---------------------------------------------------------------------------------------------------
// HTTP

interface Req {
  method: 'GET' | 'PUT' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | FormData;
  /** Server-Sent Events: read until the sentinel event, for at most a few seconds. */
  sse?: boolean;
  /** What a non-text body carries (a form's fields), which the answer may echo. */
  echo?: string;
}
interface Res {
  status: number;
  headers: Headers;
  /** The body as text (latin1 for bytes: every byte is searched). */
  text: string;
  bytes: Buffer;
  json<T = Record<string, unknown>>(): T;
}

async function send(caller: CallerName, req: Req): Promise<Res> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), req.sse ? 8000 : 20_000);
  try {
    const r = await fetch(srv.url + req.url, {
      method: req.method,
      headers: { ...m.headers(caller), ...req.headers },
      ...(req.body !== undefined ? { body: req.body as BodyInit } : {}),
      signal: ac.signal,
    });
    let bytes: Buffer;
    if (req.sse && r.status === 200 && r.body) {
      const reader = r.body.getReader();
      const parts: Buffer[] = [];
      const end = `id: ${sentinel}\n`;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parts.push(Buffer.from(value));
          if (Buffer.concat(parts).toString('utf8').includes(end)) break;
        }
      } catch (err) {
        if (!ac.signal.aborted) throw err;
      }
      ac.abort();
      bytes = Buffer.concat(parts);
    } else bytes = Buffer.from(await r.arrayBuffer());
    const text = bytes.toString('latin1');
    return {
      status: r.status,
      headers: r.headers,
      text,
      bytes,
      json: () => JSON.parse(bytes.toString('utf8')),
    };
  } finally {
    clearTimeout(timer);
  }
}

const json = (body: unknown) => ({
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
const sql = (text: string): Req => ({ method: 'POST', url: '/api/sql', ...json({ sql: text }) });
const filePath = (key: string) => `/api/files/${key.split('/').map(encodeURIComponent).join('/')}`;

// ---------------------------------------------------------------------------------------------------
// The table: per route, its cases; per case, the request and what each caller must get.

interface Expect {
  status: number;
  /** Strings the response must contain. */
  present?: string[];
  /** More checks on the response. */
  check?: (r: Res) => void;
  /** A request for a missing object whose answer must equal this one once `[this, twin]` names are swapped. */
  twin?: { req: Req; swap: [string, string] };
}
interface MatrixCase {
  name: string;
  req: (c: CallerName) => Req;
  expect: (c: CallerName) => Expect;
}

/** Same as a missing object: 404 with the same body (names swapped). */
const missingLike = (req: Req, swap: [string, string]): Expect => ({ status: 404, twin: { req, swap } });
const twinOf = (req: Req, from: string, to: string): Req => ({
  ...req,
  url: req.url.replaceAll(from, to),
  ...(typeof req.body === 'string' ? { body: req.body.replaceAll(from, to) } : {}),
});

function rowsOf(r: Res): Record<string, unknown>[] {
  return r.json<{ rows: Record<string, unknown>[] }>().rows;
}
const sorted = (xs: Iterable<string>) => [...xs].sort();

/** GET /api/observations with a query; rows and count must be exactly the visible matches. */
function search(name: string, query: string, matches: (x: Case) => boolean, paged = false): MatrixCase {
  return {
    name,
    req: () => ({ method: 'GET', url: `/api/observations?${query}` }),
    expect: (c) => {
      const want = visibleCases(c).filter(matches);
      return {
        status: 200,
        present: paged ? [] : want.map((x) => cases[x].obsId),
        check: (r) => {
          const body = r.json<{ rows: { obs_id: string }[]; count?: { value: number }; next?: string }>();
          if (paged) {
            assert.equal(body.rows.length, Math.min(1, want.length), `${c}: one row per page`);
            assert.equal(body.next !== undefined, want.length > 1, `${c}: next iff more rows`);
          } else
            assert.deepEqual(
              sorted(body.rows.map((o) => o.obs_id)),
              sorted(want.map((x) => cases[x].obsId)),
              `${c}: rows`,
            );
          assert.equal(body.count?.value, want.length, `${c}: count`);
        },
      };
    },
  };
}

/** One download-route case per access case: the object's answer, or the missing-object answer. */
function perCase(
  name: string,
  build: (d: CaseData) => Req,
  visible: (d: CaseData, r: Res, c: CallerName) => void,
): MatrixCase[] {
  return CASES.map((x) => ({
    name: `${name} [${x}]`,
    req: () => build(cases[x]),
    expect: (c) => {
      const d = cases[x];
      if (!sees(c, x)) {
        const req = build(d);
        return missingLike(twinOf(req, d.obsId, 'nosuch-obs'), [d.obsId, 'nosuch-obs']);
      }
      return { status: 200, check: (r) => visible(d, r, c) };
    },
  }));
}

const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** POST /api/uploads (tus creation) of 10 bytes at `key`; the key travels in a header. */
const tusCreate = (key: string): Req => ({
  method: 'POST',
  url: '/api/uploads',
  headers: {
    'tus-resumable': '1.0.0',
    'upload-length': '10',
    'upload-metadata': `key ${Buffer.from(key).toString('base64')}`,
  },
  echo: key,
});
/** An upload ulla created (one per case: DELETE ends it), and an id that names none. */
async function tusUploadOfUlla(): Promise<{ url: string; missing: string; id: string }> {
  const r = await send('ulla', tusCreate('pubsky/tus/ulla-matrix.bin'));
  assert.equal(r.status, 201, r.text);
  const url = r.headers.get('location') ?? '';
  const id = url.split('/').pop() ?? '';
  return { url, id, missing: url.replace(id, '0'.repeat(32)) };
}
/** A tus request on ulla's upload: `ok` for ulla, the unknown-id answer for any other uploader. */
async function tusUploadCase(name: string, method: 'PATCH' | 'DELETE', ok: number): Promise<MatrixCase> {
  const u = await tusUploadOfUlla();
  const build = (url: string): Req => ({
    method: method as string as Req['method'],
    url,
    headers: {
      'tus-resumable': '1.0.0',
      ...(method === 'PATCH'
        ? { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }
        : {}),
    },
    ...(method === 'PATCH' ? { body: new Uint8Array(0) } : {}),
  });
  return {
    name,
    req: () => build(u.url),
    expect: (c) => {
      const g = gate(c, 'uploader');
      if (g) return { status: g };
      return c === 'ulla' ? { status: ok } : missingLike(build(u.missing), [u.id, '0'.repeat(32)]);
    },
  };
}

const ROUTES: Record<string, MatrixCase[]> = {
  'GET /healthz': [
    { name: 'health', req: () => ({ method: 'GET', url: '/healthz' }), expect: () => ({ status: 200 }) },
  ],
  'GET /metrics': [
    {
      name: 'metrics (no catalog data in them)',
      req: () => ({ method: 'GET', url: '/metrics' }),
      expect: () => ({ status: 200, present: ['fitslake_http_requests_total'] }),
    },
  ],
  'GET /api/collections': [
    {
      name: 'list with counts',
      req: () => ({ method: 'GET', url: '/api/collections' }),
      expect: (c) => ({
        status: 200,
        check: (r) => {
          const got = r.json<{ collections: { name: string; observations: number }[] }>().collections;
          const want = COLLECTIONS.filter((n) => collectionSeen[n](c));
          assert.deepEqual(
            got.map((x) => x.name),
            [...want],
            `${c}: collections`,
          );
          const counts = obsPerCollection(c);
          for (const x of got) assert.equal(x.observations, counts[x.name] ?? 0, `${c}: count of ${x.name}`);
        },
      }),
    },
  ],
  'GET /api/collections/{name}': COLLECTIONS.map((name) => ({
    name: `detail of ${name}`,
    req: () => ({ method: 'GET', url: `/api/collections/${name}` }),
    expect: (c) =>
      collectionSeen[name](c)
        ? {
            status: 200,
            check: (r) => {
              const b = r.json<{ name: string; observations: number; owner?: unknown; groups?: unknown }>();
              assert.equal(b.name, name);
              assert.equal(b.observations, obsPerCollection(c)[name] ?? 0, `${c}: count`);
              assert.equal('groups' in b, c === 'root', `${c}: groups shown to admins only`);
            },
          }
        : missingLike({ method: 'GET', url: '/api/collections/nosuchcoll' }, [name, 'nosuchcoll']),
  })),
  'GET /api/collections/{name}/keywords': COLLECTIONS.map((name) => ({
    name: `keyword inventory of ${name}`,
    req: () => ({ method: 'GET', url: `/api/collections/${name}/keywords` }),
    expect: (c) =>
      collectionSeen[name](c)
        ? {
            status: 200,
            present: ['NAXIS1'],
            check: (r) => {
              const b = r.json<{ complete: boolean; keywords: { examples: unknown[] }[] }>();
              // Complete only when every observation of the collection is visible.
              const all = CASES.filter((x) => cases[x].collection === name).every((x) => sees(c, x));
              assert.equal(b.complete, all, `${c}: complete`);
              if (!all)
                assert.ok(
                  b.keywords.every((k) => k.examples.length === 0),
                  `${c}: no examples`,
                );
            },
          }
        : missingLike({ method: 'GET', url: '/api/collections/nosuchcoll/keywords' }, [name, 'nosuchcoll']),
  })),
  'GET /api/observations': [
    search('everything, count=exact', 'count=exact&limit=100', () => true),
    search('everything, estimated count', '', () => true),
    search('paged (limit=1), count=exact', 'limit=1&count=exact', () => true, true),
    search('collection=pubsky', 'collection=pubsky&count=exact', (x) => cases[x].collection === 'pubsky'),
    search('collection=vaultx', 'collection=vaultx&count=exact', (x) => x === 'priv'),
    search(
      'instrument of the embargoed observation',
      `instrument=${encodeURIComponent(cases.embargoed.instrument ?? '')}&count=exact`,
      (x) => cases[x].instrument === cases.embargoed.instrument,
    ),
    search(
      'its night and time range',
      'start=2022-06-29&end=2022-06-30&count=exact',
      (x) => cases[x].collection === 'pubsky',
    ),
  ],
  'GET /api/observations/facets': [
    {
      name: 'facets of everything',
      req: () => ({ method: 'GET', url: '/api/observations/facets' }),
      expect: (c) => ({
        status: 200,
        check: (r) => {
          const b = r.json<Record<string, { value: string | null; count: number }[]>>();
          assert.deepEqual(
            Object.fromEntries(b.collection.map((f) => [f.value, f.count])),
            obsPerCollection(c),
            `${c}: collection facet`,
          );
          for (const facet of ['instrument_name', 'filter', 'night', 'dataproduct_type'])
            assert.equal(
              b[facet].reduce((n, f) => n + f.count, 0),
              visibleCases(c).length,
              `${c}: ${facet} facet total`,
            );
        },
      }),
    },
    {
      name: 'facets of collection=pubsky',
      req: () => ({ method: 'GET', url: '/api/observations/facets?collection=pubsky' }),
      expect: (c) => ({
        status: 200,
        check: (r) => {
          const b = r.json<Record<string, { value: string | null; count: number }[]>>();
          assert.deepEqual(
            Object.fromEntries(b.collection.map((f) => [f.value, f.count])),
            obsPerCollection(c, 'pubsky'),
          );
        },
      }),
    },
  ],
  'GET /api/observations/{id}': CASES.map((x) => ({
    name: `detail [${x}]`,
    req: () => ({ method: 'GET', url: `/api/observations/${cases[x].id}` }),
    expect: (c) =>
      sees(c, x)
        ? {
            status: 200,
            present: [cases[x].obsId, cases[x].previewKey],
            check: (r) => {
              const b = r.json<{
                observation: { obs_id: string };
                files: { key: string; zone: string; url: string }[];
                previews: { preview: string | null };
              }>();
              assert.equal(b.observation.obs_id, cases[x].obsId);
              const p = b.files.find((f) => f.key === cases[x].previewKey);
              assert.equal(p?.zone, 'previews');
              assert.match(p?.url ?? '', /\?zone=previews$/);
              assert.ok(b.previews.preview, 'a preview');
            },
          }
        : missingLike({ method: 'GET', url: '/api/observations/999999' }, [String(cases[x].id), '999999']),
  })),
  'GET /api/files/{*}': [
    ...perCase(
      'raw download',
      (d) => ({ method: 'GET', url: filePath(d.scienceKey) }),
      (d, r) => {
        assert.equal(hex(r.bytes), sha.get(`raw:${d.scienceKey}`));
        assert.match(r.headers.get('content-disposition') ?? '', /attachment/);
      },
    ),
    ...perCase(
      'previews-zone download',
      (d) => ({ method: 'GET', url: `${filePath(d.previewKey)}?zone=previews` }),
      (d, r) => {
        assert.equal(r.headers.get('content-type'), 'image/jpeg');
        assert.equal(hex(r.bytes), sha.get(`previews:${d.previewKey}`));
      },
    ),
    ...perCase(
      'Range request',
      (d) => ({ method: 'GET', url: filePath(d.smallKey), headers: { range: 'bytes=0-79' } }),
      (_d, r) => {
        // perCase expects 200: a Range answers 206; checked here and the status patched below.
        assert.equal(r.bytes.length, 80);
        assert.match(r.text, /^SIMPLE {2}=/);
        assert.match(r.headers.get('content-range') ?? '', /^bytes 0-79\/\d+$/);
      },
    ).map((mc) => ({
      ...mc,
      expect: (c: CallerName) => {
        const e = mc.expect(c);
        return e.status === 200 ? { ...e, status: 206 } : e;
      },
    })),
    ...perCase(
      '/header',
      (d) => ({ method: 'GET', url: `${filePath(d.smallKey)}/header` }),
      (d, r) => {
        const b = r.json<{ key: string; hdus: { cards: { keyword: string }[] }[] }>();
        assert.equal(b.key, d.smallKey);
        assert.equal(b.hdus[0].cards[0].keyword, 'SIMPLE');
      },
    ),
    ...perCase(
      '?meta=1 (raw)',
      (d) => ({ method: 'GET', url: `${filePath(d.scienceKey)}?meta=1` }),
      (d, r) => {
        const b = r.json<{ observations: { obsId: string }[]; collection: string }>();
        assert.deepEqual(
          b.observations.map((o) => o.obsId),
          [d.obsId],
        );
        assert.equal(b.collection, d.collection);
      },
    ),
    ...perCase(
      '?meta=1 (previews zone: catalogued and linked)',
      (d) => ({ method: 'GET', url: `${filePath(d.previewKey)}?zone=previews&meta=1` }),
      (d, r) => {
        const b = r.json<{
          observations: { obsId: string; role: string }[];
          collection: string;
          zone: string;
        }>();
        assert.equal(b.zone, 'previews');
        assert.equal(b.collection, d.collection);
        assert.deepEqual(
          b.observations.map((o) => [o.obsId, o.role]),
          [[d.obsId, 'auto-preview']],
        );
      },
    ),
  ],
  // The bucket browser lists only what the caller may download: folders, counts and bytes included.
  // (Before the uploads below, which add files to the lake.)
  ...(await browseRoutes()),
  'PUT /api/files/{*}': [
    ...(['pubsky', 'teamx', 'vaultx'] as const).map(
      (coll): MatrixCase => ({
        name: `upload a new key into ${coll}`,
        req: (c) => ({ method: 'PUT', url: `/api/files/${coll}/up/${c}.bin`, body: `bytes of ${c}` }),
        expect: (c) => {
          const g = gate(c, 'uploader');
          if (g) return { status: g };
          if (collectionSeen[coll](c)) return { status: 201, present: [`${coll}/up/${c}.bin`] };
          // Not visible: the answer a collection that does not exist gets.
          return {
            status: 403,
            twin: {
              req: { method: 'PUT', url: `/api/files/nosuchcoll/up/${c}.bin`, body: 'x' },
              swap: [coll, 'nosuchcoll'],
            },
          };
        },
      }),
    ),
    {
      // The key is taken by a file the caller may not see: refused (it cannot be replaced), worded
      // without anything about the file; admins replace it (same bytes here, to keep the fixture).
      name: 'upload onto the embargoed file’s key',
      req: () => ({
        method: 'PUT',
        url: filePath(cases.embargoed.smallKey),
        body: new Uint8Array(embargoedSmall),
      }),
      expect: (c) => {
        const g = gate(c, 'uploader');
        if (g) return { status: g };
        return c === 'root' ? { status: 201 } : { status: 403 };
      },
    },
  ],
  'POST /api/upload': (['pubsky', 'vaultx'] as const).map(
    (coll): MatrixCase => ({
      name: `multipart upload into ${coll}`,
      req: (c) => {
        const form = new FormData();
        form.append('collection', coll);
        form.append('file', new Blob([`multipart of ${c}`]), `${c}-mp.bin`);
        return { method: 'POST', url: '/api/upload', body: form, echo: coll };
      },
      expect: (c) => {
        const g = gate(c, 'uploader');
        if (g) return { status: g };
        return collectionSeen[coll](c) ? { status: 201, present: [`${coll}/${c}-mp.bin`] } : { status: 403 };
      },
    }),
  ),
  // Resumable uploads (tus): creating needs role uploader and a visible collection, as PUT does;
  // an upload answers its creator only — anyone else (admins too) gets what an unknown id gets.
  'POST /api/uploads': [
    ...(['pubsky', 'vaultx'] as const).map(
      (coll): MatrixCase => ({
        name: `create a resumable upload into ${coll}`,
        req: (c) => tusCreate(`${coll}/tus/${c}.bin`),
        expect: (c) => {
          const g = gate(c, 'uploader');
          if (g) return { status: g };
          if (collectionSeen[coll](c))
            return {
              status: 201,
              check: (r) => assert.match(r.headers.get('location') ?? '', /^\/api\/uploads\/[0-9a-f]{32}$/),
            };
          return {
            status: 403,
            twin: { req: tusCreate(`nosuchcoll/tus/${c}.bin`), swap: [coll, 'nosuchcoll'] },
          };
        },
      }),
    ),
    {
      name: 'create a resumable upload onto the embargoed file’s key',
      req: () => tusCreate(cases.embargoed.smallKey),
      expect: (c) => {
        const g = gate(c, 'uploader');
        if (g) return { status: g };
        return { status: c === 'root' ? 201 : 403 };
      },
    },
  ],
  'PATCH /api/uploads/{id}': [
    await tusUploadCase('append nothing at offset 0 to ulla’s upload', 'PATCH', 204),
  ],
  'DELETE /api/uploads/{id}': [await tusUploadCase('terminate ulla’s upload', 'DELETE', 204)],
  'GET /api/jobs': [
    {
      name: 'job list',
      req: () => ({ method: 'GET', url: '/api/jobs?limit=1000' }),
      expect: (c) => {
        const g = gate(c, 'curator');
        if (g) return { status: g };
        return { status: 200, present: visibleCases(c).map((x) => cases[x].scienceKey) };
      },
    },
    {
      name: 'done ingest jobs',
      req: () => ({ method: 'GET', url: '/api/jobs?limit=1000&status=done&kind=ingest' }),
      expect: (c) => {
        const g = gate(c, 'curator');
        if (g) return { status: g };
        return { status: 200, present: [broken.pub, ...visibleCases(c).map((x) => cases[x].smallKey)] };
      },
    },
  ],
  'GET /api/failures': [
    {
      name: 'failed files',
      req: () => ({ method: 'GET', url: '/api/failures' }),
      expect: (c) => {
        const g = gate(c, 'curator');
        if (g) return { status: g };
        return { status: 200, present: c === 'root' ? [broken.pub, broken.priv] : [broken.pub] };
      },
    },
  ],
  'POST /api/ingest': [
    ...CASES.map(
      (x): MatrixCase => ({
        name: `ingest request for the key of [${x}]`,
        req: () => ({ method: 'POST', url: '/api/ingest', ...json({ keys: [cases[x].smallKey] }) }),
        expect: (c) => {
          const g = gate(c, 'curator');
          if (g) return { status: g };
          if (sees(c, x))
            return { status: 202, check: (r) => assert.equal(r.json<{ queued: number }>().queued, 1) };
          // Reported exactly like a key that is not there.
          const req = { method: 'POST' as const, url: '/api/ingest', ...json({ keys: [cases[x].smallKey] }) };
          return {
            status: 202,
            check: (r) => assert.equal(r.json<{ queued: number }>().queued, 0),
            twin: { req: twinOf(req, cases[x].obsId, 'nosuch-obs'), swap: [cases[x].obsId, 'nosuch-obs'] },
          };
        },
      }),
    ),
    {
      name: 'ingest request for the embargoed observation’s folder',
      req: () => ({ method: 'POST', url: '/api/ingest', ...json({ prefix: 'pubsky/fa002ms/' }) }),
      expect: (c) => {
        const g = gate(c, 'curator');
        if (g) return { status: g };
        return {
          status: 202,
          check: (r) =>
            assert.equal(r.json<{ queued: number }>().queued, sees(c, 'embargoed') ? 5 : 0, `${c}: queued`),
        };
      },
    },
  ],
  'POST /api/reindex': (
    [
      ['pubsky/fa002ms/', 'embargoed'],
      ['vaultx/ep003ms/', 'priv'],
      ['teamx/kb001ms/', 'team'],
      ['pubsky/kb001ms/', 'open'],
    ] as const
  ).map(
    ([prefix, x]): MatrixCase => ({
      name: `reindex ${prefix}`,
      req: () => ({ method: 'POST', url: '/api/reindex', ...json({ prefix }) }),
      expect: (c) => {
        const g = gate(c, 'curator');
        if (g) return { status: g };
        return {
          status: 202,
          check: (r) => assert.equal(r.json<{ queued: number }>().queued, sees(c, x) ? 5 : 0, `${c}: queued`),
        };
      },
    }),
  ),
  // Each query runs in its own process (killable at its time limit): few queries, many checks each.
  'POST /api/sql': [
    {
      name: 'count(*), subqueries and group_concat over observations, files, collections',
      req: () =>
        sql(
          'SELECT (SELECT count(*) FROM observations) AS obs, ' +
            "(SELECT count(*) FROM observations WHERE public_date > '2100') AS embargoed, " +
            '(SELECT count(*) FROM files) AS files, ' +
            "(SELECT group_concat(obs_id, ' ') FROM (SELECT obs_id FROM observations ORDER BY obs_id)) AS obs_ids, " +
            "(SELECT group_concat(name, ' ') FROM (SELECT name FROM collections ORDER BY name)) AS names",
        ),
      expect: (c) => ({
        status: 200,
        check: (r) => {
          const row = rowsOf(r)[0];
          assert.equal(Number(row.obs), visibleCases(c).length, `${c}: count(*) of observations`);
          assert.equal(Number(row.embargoed), sees(c, 'embargoed') ? 1 : 0, `${c}: embargoed`);
          let files = visibleCases(c).reduce(
            (n, x) => n + cases[x].rawKeys.length + cases[x].previewKeys.length,
            0,
          );
          files += (collectionSeen.pubsky(c) ? 1 : 0) + (collectionSeen.vaultx(c) ? 1 : 0); // the broken ones
          assert.equal(Number(row.files), files, `${c}: count(*) of files`);
          assert.equal(row.obs_ids ?? '', sorted(visibleCases(c).map((x) => cases[x].obsId)).join(' '));
          assert.equal(row.names ?? '', COLLECTIONS.filter((n) => collectionSeen[n](c)).join(' '));
        },
      }),
    },
    {
      name: 'artifacts ⋈ files ⋈ observations ⟕ hdus (previews too)',
      req: () =>
        sql(
          'SELECT o.obs_id, a.role, f.zone, f.key, h.idx, h.cards FROM artifacts a ' +
            'JOIN files f ON f.id = a.file_id JOIN observations o ON o.id = a.observation_id ' +
            'LEFT JOIN hdus h ON h.file_id = f.id',
        ),
      expect: (c) => ({
        status: 200,
        check: (r) => {
          const rows = rowsOf(r);
          assert.deepEqual(
            sorted(new Set(rows.map((row) => String(row.obs_id)))),
            sorted(visibleCases(c).map((x) => cases[x].obsId)),
          );
          for (const x of visibleCases(c)) {
            const of = (key: string) => rows.filter((row) => row.key === key);
            assert.ok(
              of(cases[x].previewKey).some((row) => row.zone === 'previews' && row.role === 'auto-preview'),
              `${c}: the preview of ${x}`,
            );
            assert.ok(
              of(cases[x].smallKey).some((row) => row.idx === 0),
              `${c}: the HDUs of ${x}`,
            );
          }
        },
      }),
    },
    {
      name: 'the keyword inventory and the typed header view',
      req: () =>
        sql(
          'SELECT k.collection, k.keyword, k.count, k.examples, k.first_seen, ' +
            '(SELECT count(*) FROM hdr_pubsky) AS hdr_rows, (SELECT group_concat(instrume) FROM hdr_pubsky) AS hdr_instr ' +
            'FROM keywords k',
        ),
      expect: (c) => ({
        status: 200,
        check: (r) => {
          const rows = rowsOf(r);
          assert.deepEqual(
            sorted(new Set(rows.map((row) => String(row.collection)))),
            COLLECTIONS.filter((n) => collectionSeen[n](c)),
          );
          // Withheld exactly where a hidden observation is in the collection.
          for (const n of COLLECTIONS.filter((x) => collectionSeen[x](c))) {
            const all = CASES.filter((x) => cases[x].collection === n).every((x) => sees(c, x));
            const instr = rows.find((row) => row.collection === n && row.keyword === 'INSTRUME');
            assert.equal(instr?.count === null, !all, `${c}: ${n} INSTRUME count withheld`);
            assert.equal(instr?.examples === '[]', !all, `${c}: ${n} INSTRUME examples withheld`);
          }
        },
      }),
    },
    {
      name: 'events, jobs and tokens (queue internals)',
      req: () =>
        sql(
          "SELECT 'e' AS t, payload FROM events UNION ALL SELECT 'j', payload FROM jobs UNION ALL SELECT 't', hash FROM tokens",
        ),
      expect: (c) => ({
        status: 200,
        check: (r) => {
          const rows = rowsOf(r);
          if (c !== 'root') assert.deepEqual(rows, [], `${c}: internals are hidden`);
          else assert.ok(rows.some((row) => row.t === 'j') && rows.some((row) => row.t === 'e'));
          assert.ok(!rows.some((row) => row.t === 't'), `${c}: token hashes never`);
        },
      }),
    },
  ],
  'GET /api/events': [
    {
      name: 'SSE replay since=0',
      req: () => ({ method: 'GET', url: '/api/events?since=0', sse: true }),
      expect: (c) => ({
        status: 200,
        present: [
          `id: ${sentinel}\n`,
          ...visibleCases(c).flatMap((x) => [cases[x].scienceKey, cases[x].previewKey]),
        ],
      }),
    },
  ],
  'GET /api/uploads/recent': [
    {
      name: 'recent uploads',
      req: () => ({ method: 'GET', url: '/api/uploads/recent?limit=500' }),
      expect: (c) => ({
        status: 200,
        present: [
          ...visibleCases(c).flatMap((x) => cases[x].rawKeys),
          ...(collectionSeen.pubsky(c) ? [broken.pub] : []),
        ],
      }),
    },
  ],
  // Issue 5's services extend the matrix: a cutout or a link list of a hidden observation is the
  // answer for one that does not exist.
  'GET /soda': perCase(
    'SODA pixel cutout',
    (d) => ({ method: 'GET', url: `/soda?ID=${encodeURIComponent(did(d))}&PIXEL_1=1%208&PIXEL_2=1%208` }),
    (_d, r) => {
      assert.equal(r.headers.get('content-type'), 'application/fits');
      assert.equal(r.text.slice(0, 30), 'SIMPLE  =                    T');
    },
  ),
  'POST /soda': perCase(
    'SODA pixel cutout (form)',
    (d) => ({
      method: 'POST',
      url: '/soda',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ID: did(d), PIXEL_1: '2 9', PIXEL_2: '2 9' }).toString(),
    }),
    (_d, r) => assert.equal(r.text.slice(0, 30), 'SIMPLE  =                    T'),
  ),
  'GET /datalink': datalinkCases((d) => ({
    method: 'GET',
    url: `/datalink?ID=${encodeURIComponent(did(d))}`,
  })),
  'POST /datalink': datalinkCases((d) => ({
    method: 'POST',
    url: '/datalink',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ID: did(d) }).toString(),
  })),
  // TAP, SIA and cone search run ADQL over ivoa.obscore as the caller: rows are exactly the visible ones.
  'GET /tap/sync': [
    {
      name: 'TAP sync: all of ivoa.obscore',
      req: () => ({
        method: 'GET',
        url: `/tap/sync?${tapForm('SELECT obs_id, obs_collection FROM ivoa.obscore')}`,
      }),
      expect: (c) => ({
        status: 200,
        check: (r) => assert.deepEqual(csvIds(r), sorted(visibleObsIds(c)), c),
      }),
    },
    ...perCaseRows('TAP sync: WHERE obs_id', (d) => ({
      method: 'GET',
      url: `/tap/sync?${tapForm(`SELECT obs_id FROM ivoa.obscore WHERE obs_id = '${d.obsId}'`)}`,
    })),
  ],
  'POST /tap/sync': perCaseRows('TAP sync (form): WHERE obs_id', (d) => ({
    method: 'POST',
    url: '/tap/sync',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: tapForm(`SELECT obs_id FROM ivoa.obscore WHERE obs_id = '${d.obsId}'`),
  })),
  'GET /tap/tables': [
    {
      name: 'TAP tables: keyword views of visible collections only',
      req: () => ({ method: 'GET', url: '/tap/tables' }),
      expect: (c) => ({
        status: 200,
        present: [
          'ivoa.obscore',
          ...COLLECTIONS.filter((x) => collectionSeen[x](c) && x !== 'vaultx').map((x) => `hdr_${x}`),
        ],
      }),
    },
  ],
  'GET /sia/query': [
    {
      name: 'SIA 2: the whole sky',
      req: () => ({ method: 'GET', url: '/sia/query?POS=RANGE%200%20360%20-90%2090&RESPONSEFORMAT=csv' }),
      expect: (c) => ({
        status: 200,
        check: (r) => assert.deepEqual(csvIds(r), sorted(visibleObsIds(c)), c),
      }),
    },
  ],
  'POST /sia/query': perCaseRows('SIA 2 (form): ID', (d) => ({
    method: 'POST',
    url: '/sia/query',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ID: did(d), RESPONSEFORMAT: 'csv' }).toString(),
  })),
  'GET /scs': CASES.map((x) => ({
    name: `cone search at the observation [${x}]`,
    req: () => {
      const [ra, dec] = position.get(cases[x].id) as [number, number];
      return { method: 'GET', url: `/scs?RA=${ra}&DEC=${dec}&SR=0.001&VERB=1` };
    },
    expect: (c) => ({
      status: 200,
      check: (r) => assert.equal(r.text.includes(did(cases[x])), sees(c, x), `${c} sees ${x}`),
    }),
  })),
  'POST /scs': [
    {
      name: 'cone search (form) over the whole sky',
      req: () => ({
        method: 'POST',
        url: '/scs',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'RA=0&DEC=0&SR=180&VERB=1',
      }),
      expect: (c) => ({ status: 200, present: visibleCases(c).map((x) => did(cases[x])) }),
    },
  ],
};

// ---- the bucket browser's helpers ------------------------------------------------------------------

interface BrowseBody {
  folders: { name: string; prefix: string; files: number; bytes: number }[];
  files: { key: string; url: string; observationId: number | null }[];
  next: string | null;
}

/** The broken (failed) raw files the caller may download: catalogued in their collection, no observation. */
function brokenSeen(c: CallerName): string[] {
  return [
    ...(collectionSeen.pubsky(c) ? [broken.pub] : []),
    ...(collectionSeen.vaultx(c) ? [broken.priv] : []),
  ];
}

/**
 * GET /api/browse and /api/browse/zones. The listing: the top of raw, the public collection's folder (one of its two instrument folders
 * is the embargoed observation's), each case's folder in raw and previews — exactly the visible files,
 * or for a hidden one the answer a folder that does not exist gets — and paging.
 */
async function browseRoutes(): Promise<Record<string, MatrixCase[]>> {
  const size = new Map<string, number>();
  for (const f of await m.lake.catalog.db
    .selectFrom('files')
    .select(['zone', 'key', 'size'])
    .where('current', '=', 1)
    .execute())
    size.set(`${f.zone}:${f.key}`, Number(f.size));
  const bytesOf = (zone: string, keys: string[]) =>
    keys.reduce((n, k) => n + (size.get(`${zone}:${k}`) as number), 0);
  const dir = (x: Case) => `${cases[x].collection}/${cases[x].scienceKey.split('/')[1]}/`;
  const browseUrl = (prefix: string, more = '') => `/api/browse?prefix=${encodeURIComponent(prefix)}${more}`;
  const perFolder = (zone: 'raw' | 'previews'): MatrixCase[] =>
    CASES.map((x) => {
      const more = zone === 'raw' ? '' : '&zone=previews';
      const prefix = dir(x);
      return {
        name: `${zone} folder of [${x}] (${prefix})`,
        req: () => ({ method: 'GET', url: browseUrl(prefix, more) }),
        expect: (c) => {
          if (!sees(c, x))
            return {
              status: 200,
              check: (r) => assert.deepEqual(r.json<BrowseBody>().files, [], `${c}: nothing`),
              twin: {
                req: { method: 'GET', url: browseUrl('nosuch/dir/', more) },
                swap: [prefix, 'nosuch/dir/'],
              },
            };
          const keys = zone === 'raw' ? cases[x].rawKeys : cases[x].previewKeys;
          return {
            status: 200,
            check: (r) => {
              const b = r.json<BrowseBody>();
              assert.deepEqual(b.folders, [], `${c}: no sub-folder`);
              assert.deepEqual(sorted(b.files.map((f) => f.key)), sorted(keys), `${c}: the files`);
              for (const f of b.files) {
                assert.equal(f.url, `${filePath(f.key)}${zone === 'raw' ? '' : '?zone=previews'}`);
                assert.equal(f.observationId, cases[x].id, `${c}: ${f.key} names its observation`);
              }
              assert.equal(b.next, null);
            },
          };
        },
      };
    });
  const folder = (prefix: string, keys: string[]) => ({
    name: prefix.split('/').at(-2) as string,
    prefix,
    files: keys.length,
    bytes: bytesOf('raw', keys),
  });
  const browse: MatrixCase[] = [
    {
      name: 'the top of raw',
      req: () => ({ method: 'GET', url: '/api/browse' }),
      expect: (c) => ({
        status: 200,
        check: (r) => {
          const b = r.json<BrowseBody>();
          const want = COLLECTIONS.flatMap((coll) => {
            const keys = [
              ...visibleCases(c)
                .filter((x) => cases[x].collection === coll)
                .flatMap((x) => cases[x].rawKeys),
              ...brokenSeen(c).filter((k) => k.startsWith(`${coll}/`)),
            ];
            return keys.length ? [folder(`${coll}/`, keys)] : [];
          });
          assert.deepEqual(b.folders, want, `${c}: collections`);
          assert.deepEqual(b.files, []);
        },
      }),
    },
    {
      name: 'the public collection: the embargoed observation’s folder, counted or absent',
      req: () => ({ method: 'GET', url: browseUrl('pubsky/') }),
      expect: (c) => ({
        status: 200,
        check: (r) => {
          const b = r.json<BrowseBody>();
          const want = (['embargoed', 'open'] as const)
            .filter((x) => sees(c, x))
            .map((x) => folder(dir(x), cases[x].rawKeys))
            .sort((p, q) => (p.prefix < q.prefix ? -1 : 1));
          assert.deepEqual(b.folders, want, `${c}: folders`);
          assert.deepEqual(
            b.files.map((f) => [f.key, f.observationId]),
            [[broken.pub, null]],
          );
        },
      }),
    },
    ...perFolder('raw'),
    ...perFolder('previews'),
    {
      name: 'paged: limit=1 at the top',
      req: () => ({ method: 'GET', url: '/api/browse?limit=1' }),
      expect: (c) => ({
        status: 200,
        check: (r) => {
          const b = r.json<BrowseBody>();
          assert.deepEqual(
            b.folders.map((f) => f.prefix),
            ['pubsky/'],
          );
          const more = collectionSeen.teamx(c) || collectionSeen.vaultx(c);
          assert.equal(b.next !== null, more, `${c}: next iff more folders`);
        },
      }),
    },
  ];
  const zones: MatrixCase[] = [
    {
      name: 'zones with the caller’s file counts and bytes',
      req: () => ({ method: 'GET', url: '/api/browse/zones' }),
      expect: (c) => ({
        status: 200,
        check: (r) => {
          const raw = [...visibleCases(c).flatMap((x) => cases[x].rawKeys), ...brokenSeen(c)];
          const previews = visibleCases(c).flatMap((x) => cases[x].previewKeys);
          assert.deepEqual(
            r.json<{ zones: unknown[] }>().zones,
            [
              { zone: 'raw', files: raw.length, bytes: bytesOf('raw', raw) },
              { zone: 'derived', files: 0, bytes: 0 },
              { zone: 'previews', files: previews.length, bytes: bytesOf('previews', previews) },
              { zone: 'mounted', files: 0, bytes: 0 },
            ],
            `${c}: zones`,
          );
        },
      }),
    },
  ];
  return { 'GET /api/browse': browse, 'GET /api/browse/zones': zones };
}

// ---- the VO query services' helpers ---------------------------------------------------------------

const position = new Map<number, [number, number]>();
for (const o of await m.lake.catalog.db.selectFrom('observations').select(['id', 's_ra', 's_dec']).execute())
  if (o.s_ra !== null && o.s_dec !== null) position.set(Number(o.id), [Number(o.s_ra), Number(o.s_dec)]);

function tapForm(query: string): string {
  return new URLSearchParams({ LANG: 'ADQL', QUERY: query, FORMAT: 'csv', MAXREC: '1000' }).toString();
}
/** The obs_id column of a CSV answer (its values hold no commas or quotes here). */
function csvIds(r: Res): string[] {
  const [head, ...lines] = r.bytes.toString('utf8').trim().split(/\r?\n/);
  const at = head.split(',').indexOf('obs_id');
  assert.ok(at >= 0, `an obs_id column: ${head}`);
  return sorted(lines.map((l) => l.split(',')[at]));
}
/** The observations the caller sees (the matrix lake holds one observation per case). */
function visibleObsIds(c: CallerName): string[] {
  return visibleCases(c).map((x) => cases[x].obsId);
}
/** A query naming one case's observation: its row, or (hidden) the answer for an obs_id that does not exist. */
function perCaseRows(name: string, build: (d: CaseData) => Req): MatrixCase[] {
  return CASES.map((x) => ({
    name: `${name} [${x}]`,
    req: () => build(cases[x]),
    expect: (c) => {
      const d = cases[x];
      if (!sees(c, x))
        return {
          status: 200,
          check: (r) => assert.deepEqual(csvIds(r), [], `${c}: no row`),
          twin: { req: twinOf(build(d), d.obsId, 'nosuch-obs'), swap: [d.obsId, 'nosuch-obs'] },
        };
      return { status: 200, check: (r) => assert.deepEqual(csvIds(r), [d.obsId]) };
    },
  }));
}

/** An observation's publisher DID, the ID the VO services take. */
function did(d: CaseData): string {
  return `ivo://fitslake/${d.collection}?${d.obsId}`;
}

/**
 * DataLink answers 200 either way: the links of a visible observation, or one NotFoundFault row for
 * a hidden one — worded as for an ID that does not exist (the twin), so nothing tells them apart.
 */
function datalinkCases(build: (d: CaseData) => Req): MatrixCase[] {
  return CASES.map((x) => ({
    name: `DataLink [${x}]`,
    req: () => build(cases[x]),
    expect: (c) => {
      const d = cases[x];
      if (!sees(c, x)) {
        const twin = twinOf(build(d), d.obsId, 'nosuch-obs');
        return {
          status: 200,
          present: ['NotFoundFault'],
          twin: { req: twin, swap: [d.obsId, 'nosuch-obs'] },
        };
      }
      return { status: 200, present: ['#this', d.scienceKey.split('/').pop() as string, '/soda'] };
    },
  }));
}

const embargoedSmall = await (async () => {
  const parts: Uint8Array[] = [];
  for await (const p of await m.lake.zones.raw.get(cases.embargoed.smallKey)) parts.push(p);
  return Buffer.concat(parts);
})();

// ---------------------------------------------------------------------------------------------------

let cells = 0;
let requests = 0;

/** Every secret of a case the caller may not see, unless the request itself carries it. */
function assertNoLeak(caller: CallerName, req: Req, r: Res, where: string): void {
  const asked = `${decodeURIComponent(req.url)} ${typeof req.body === 'string' ? req.body : ''} ${req.echo ?? ''}`;
  for (const x of hiddenCases(caller))
    for (const s of cases[x].secrets)
      if (!asked.includes(s))
        assert.ok(!r.text.includes(s), `${where}: leaks ${x} (${s}): ${r.text.slice(0, 400)}`);
}

/** The IVOA services answer errors as their standards say (DALI text/plain faults, VOTable documents). */
const VO_ROUTE = /^(GET|POST) \/(soda|datalink|tap|sia|scs)\b/;

function assertErrorShape(r: Res, where: string): void {
  // (A bad token is refused before any service runs: the server's own JSON shape.)
  if (VO_ROUTE.test(where.split(' × ')[1] ?? '') && !r.text.startsWith('{')) {
    assert.match(
      r.text,
      /^(UsageError|NotFoundFault|MultiValuedParamNotSupported|Error)\b|QUERY_STATUS/,
      where,
    );
    assert.doesNotMatch(r.text, /\n\s+at |stack/, `${where}: no stack trace`);
    return;
  }
  const b = r.json<{ error?: { code?: unknown; message?: unknown } }>();
  assert.equal(typeof b.error?.code, 'string', `${where}: error.code`);
  assert.equal(typeof b.error?.message, 'string', `${where}: error.message`);
  assert.deepEqual(Object.keys(b), ['error'], `${where}: only the error`);
  assert.doesNotMatch(r.text, /\n\s+at |stack/, `${where}: no stack trace`);
}

async function cell(route: string, mc: MatrixCase, caller: CallerName): Promise<void> {
  const req = mc.req(caller);
  const where = `${caller} × ${route} × ${mc.name}`;
  const r = await send(caller, req);
  requests++;
  cells++;
  assertNoLeak(caller, req, r, where);
  if (BAD_TOKENS.includes(caller)) {
    assert.equal(r.status, 401, `${where}: ${r.text.slice(0, 200)}`);
    assertErrorShape(r, where);
    assert.equal(r.json<{ error: { code: string } }>().error.code, 'unauthenticated');
    return;
  }
  const e = mc.expect(caller);
  assert.equal(r.status, e.status, `${where}: ${r.text.slice(0, 300)}`);
  if (r.status >= 400) assertErrorShape(r, where);
  for (const p of e.present ?? []) assert.ok(r.text.includes(p), `${where}: missing ${p}`);
  e.check?.(r);
  if (e.twin) {
    const t = await send(caller, e.twin.req);
    requests++;
    assert.equal(t.status, r.status, `${where}: the missing twin's status`);
    const [mine, theirs] = e.twin.swap;
    assert.equal(
      r.text.replaceAll(mine, '<X>').replace(/"job":\d+/g, ''),
      t.text.replaceAll(theirs, '<X>').replace(/"job":\d+/g, ''),
      `${where}: answers like a missing object`,
    );
  }
}

test('the matrix covers every route of /openapi.json, and nothing else', async () => {
  const r = await fetch(`${srv.url}/openapi.json`);
  const doc = (await r.json()) as { paths: Record<string, Record<string, unknown>> };
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
  );
  assert.deepEqual(sorted(documented), sorted(Object.keys(ROUTES)));
  for (const [route, list] of Object.entries(ROUTES)) assert.ok(list.length > 0, `${route} has cases`);
});

test('the fixture: previews are catalogued in their collection and linked as artifacts', async () => {
  for (const x of CASES) {
    const d = cases[x];
    assert.ok(d.previewKeys.length >= 4, `${x}: previews`);
    const rows = await m.lake.catalog.db
      .selectFrom('files')
      .select(['collection', 'status'])
      .where('zone', '=', 'previews')
      .where('key', 'in', d.previewKeys)
      .execute();
    assert.ok(rows.length === d.previewKeys.length && rows.every((f) => f.collection === d.collection));
    assert.ok(await m.lake.zones.previews.head(d.previewKey), `${x}: preview stored`);
  }
});

for (const [route, list] of Object.entries(ROUTES))
  for (const mc of list)
    test(`${route} — ${mc.name}`, async () => {
      // Callers in parallel: the matrix is about answers, not timing.
      const results = await Promise.allSettled(CALLERS.map((c) => cell(route, mc, c)));
      const failed = results.flatMap((x) => (x.status === 'rejected' ? [x.reason as Error] : []));
      if (failed.length)
        throw failed.length === 1
          ? failed[0]
          : new AggregateError(failed, failed.map((e) => e.message).join('\n---\n'));
    });

test('matrix size', (t) => {
  const caseCount = Object.values(ROUTES).reduce((n, l) => n + l.length, 0);
  t.diagnostic(
    `${CALLERS.length} callers × ${Object.keys(ROUTES).length} routes (${caseCount} route cases) = ${cells} cells, ${requests} requests, ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  assert.equal(cells, CALLERS.length * caseCount);
});
