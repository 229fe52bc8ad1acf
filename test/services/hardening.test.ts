// Hardening over real HTTP, on the matrix lake (real ingested FITS files): rate limit, body limit,
// header injection, path traversal on every key-taking route, oversize URLs, parameter validation,
// security headers, no stack traces, and tokens on the event stream.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, test } from 'node:test';
import { listRawKeys } from '../../src/ingest/requeue.ts';
import { servicePlugins } from '../../src/services/index.ts';
import { type RunningServer, startServer } from '../util/server.ts';
import { matrixLake } from './matrix-fixture.ts';

const m = await matrixLake();
const srv = await startServer(m.lake, { plugins: servicePlugins, rateLimit: 0 });
const servers: RunningServer[] = [srv];
after(async () => {
  for (const s of servers) {
    const closing = s.close();
    setTimeout(() => s.app.server.closeAllConnections(), 1000).unref();
    await closing;
  }
  await m.lake.close();
});
const root = m.headers('root');
const ulla = m.headers('ulla');

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  text: string;
}

/** A request with the path sent byte for byte (fetch would resolve dot segments first). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
  base = srv.url,
): Promise<Raw> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path, headers, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            text: Buffer.concat(parts).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function assertErrorShape(r: { status: number; text: string }, where: string, code?: string): void {
  let b: { error?: { code?: unknown; message?: unknown } };
  try {
    b = JSON.parse(r.text);
  } catch {
    assert.fail(`${where}: not JSON: ${r.text.slice(0, 200)}`);
  }
  assert.deepEqual(Object.keys(b), ['error'], `${where}: ${r.text.slice(0, 200)}`);
  assert.equal(typeof b.error?.message, 'string', where);
  if (code) assert.equal(b.error?.code, code, `${where}: ${r.text.slice(0, 200)}`);
  else assert.equal(typeof b.error?.code, 'string', where);
  assert.doesNotMatch(r.text, /\n\s+at |\bat .*\.ts:\d+|"stack"/, `${where}: a stack trace`);
}

/** No response header other than the server's own came from the request. */
function assertNoInjectedHeader(r: Raw, where: string): void {
  assert.equal(r.headers['x-injected'], undefined, `${where}: injected header`);
  for (let i = 0; i < r.rawHeaders.length; i += 2) {
    assert.doesNotMatch(r.rawHeaders[i], /x-injected/i, `${where}: header ${r.rawHeaders[i]}`);
    assert.doesNotMatch(r.rawHeaders[i + 1], /[\r\n]/, `${where}: value of ${r.rawHeaders[i]}`);
  }
}

const { open } = m.cases;
const enc = (key: string) => key.split('/').map(encodeURIComponent).join('/');

test('rate limit: after N requests a client gets 429 with the error shape', async () => {
  const limited = await startServer(m.lake, { plugins: servicePlugins, rateLimit: 5 });
  servers.push(limited);
  for (let i = 0; i < 5; i++) {
    const r = await fetch(`${limited.url}/api/collections`);
    assert.equal(r.status, 200, `request ${i + 1}`);
    await r.arrayBuffer();
  }
  const r = await raw('GET', '/api/collections', {}, undefined, limited.url);
  assert.equal(r.status, 429);
  assertErrorShape(r, '429', 'rate-limited');
  assert.match(JSON.parse(r.text).error.message, /more than 5 requests per minute/);
  assert.ok(r.headers['retry-after'], 'retry-after');
  assert.equal(r.headers['x-content-type-options'], 'nosniff', 'security headers on 429 too');
  // Every route is limited, the authenticated ones included.
  const s = await raw('GET', '/api/observations', root, undefined, limited.url);
  assert.equal(s.status, 429);
});

test('a JSON body over the limit is 413 with the error shape', async () => {
  const big = JSON.stringify({ sql: `SELECT '${'x'.repeat(2 << 20)}'` });
  for (const path of ['/api/sql', '/api/ingest', '/api/reindex']) {
    const r = await raw('POST', path, { ...root, 'content-type': 'application/json' }, big);
    assert.equal(r.status, 413, `${path}: ${r.text.slice(0, 200)}`);
    assertErrorShape(r, path);
  }
  // A small server limit holds too.
  const tight = await startServer(m.lake, { plugins: servicePlugins, rateLimit: 0, bodyLimit: 1024 });
  servers.push(tight);
  const r = await raw(
    'POST',
    '/api/sql',
    { 'content-type': 'application/json' },
    JSON.stringify({ sql: `SELECT '${'y'.repeat(2000)}'` }),
    tight.url,
  );
  assert.equal(r.status, 413);
  assertErrorShape(r, 'bodyLimit 1024');
});

test('header injection: CR/LF in keys, filenames and queries never reach a response header', async () => {
  const crlf = '%0d%0aX-Injected:%201';
  for (const [method, path] of [
    ['GET', `/api/files/pubsky/a${crlf}.fits`],
    ['GET', `/api/files/pubsky/a${crlf}.fits/header`],
    ['GET', `/api/files/pubsky/a${crlf}.fits?meta=1`],
    ['PUT', `/api/files/pubsky/a${crlf}.fits`],
  ] as const) {
    const r = await raw(
      method,
      path,
      method === 'PUT' ? { ...root, 'content-length': '1' } : root,
      method === 'PUT' ? 'x' : undefined,
    );
    assert.equal(r.status, 400, `${method} ${path}: ${r.text}`);
    assertErrorShape(r, path, 'invalid-key');
    assertNoInjectedHeader(r, path);
  }
  // In a query: answered (it is just text to search for), never echoed into a header.
  for (const path of [
    `/api/observations?target=${crlf}`,
    `/api/files/${enc(open.smallKey)}?zone=raw${crlf}`,
    `/api/events?collection=${crlf}&since=abc`,
    `/nope?x=${crlf}`,
  ]) {
    const r = await raw('GET', path, root);
    assert.ok(r.status < 500, `${path}: ${r.status}`);
    assertNoInjectedHeader(r, path);
  }
  // A multipart filename with a quote, CR/LF and a header-looking tail.
  const form = new FormData();
  form.append('collection', 'pubsky');
  form.append('file', new Blob(['abc']), 'evil"\r\nX-Injected: 1.fits');
  const up = await fetch(`${srv.url}/api/upload`, { method: 'POST', headers: root, body: form });
  const upText = await up.text();
  assert.ok([201, 400].includes(up.status), `multipart: ${up.status} ${upText}`);
  if (up.status === 201) {
    const key = (JSON.parse(upText) as { files: { key: string }[] }).files[0].key;
    const d = await raw('GET', `/api/files/${enc(key)}`, root);
    assert.equal(d.status, 200);
    assertNoInjectedHeader(d, 'download of the multipart upload');
  } else assertErrorShape({ status: up.status, text: upText }, 'multipart');
  // A key with quotes, semicolons and non-ASCII: Content-Disposition stays one well-formed header.
  const key = 'pubsky/odd/we"ird;name=x é.fits';
  const put = await fetch(`${srv.url}/api/files/${enc(key)}`, { method: 'PUT', headers: root, body: 'odd' });
  assert.equal(put.status, 201, await put.text());
  const d = await raw('GET', `/api/files/${enc(key)}`, root);
  assert.equal(d.status, 200);
  assertNoInjectedHeader(d, 'odd key');
  const cd = String(d.headers['content-disposition']);
  assert.match(cd, /^attachment; filename="[^"]*"; filename\*=UTF-8''[^"; ]+$/, cd);
  assert.match(cd, /filename\*=UTF-8''we%22ird%3Bname%3Dx%20%C3%A9\.fits/);
});

test('path traversal on every key-taking route is 400 with a clear message', async () => {
  const variants = [
    '../etc/passwd',
    'pubsky/../vaultx/x.fits',
    'pubsky/%2e%2e/vaultx/x.fits',
    'pubsky/%2e%2e%2fvaultx%2fx.fits',
    'pubsky/..%2fvaultx/x.fits',
    'pubsky/..%5cvaultx%5cx.fits',
    'pubsky/..\\vaultx\\x.fits',
    'pubsky/./x.fits',
    'pubsky//x.fits',
    '/etc/passwd',
    'pubsky/x%00.fits',
    `pubsky/${'a'.repeat(1100)}.fits`,
  ];
  // Double encoding: the router decodes once; what is left is a literal '%' name, never a path step.
  const doubles = ['pubsky/%252e%252e%252fvaultx%252fx.fits', 'pubsky/%252e%252e/x.fits'];
  let checked = 0;
  for (const v of variants) {
    for (const [method, path, body] of [
      ['GET', `/api/files/${v}`, undefined],
      ['GET', `/api/files/${v}/header`, undefined],
      ['GET', `/api/files/${v}?meta=1`, undefined],
      ['GET', `/api/files/${v}?zone=previews`, undefined],
      ['PUT', `/api/files/${v}`, 'x'],
    ] as const) {
      const r = await raw(method, path, { ...root, ...(body ? { 'content-length': '1' } : {}) }, body);
      assert.equal(r.status, 400, `${method} ${path}: ${r.status} ${r.text.slice(0, 200)}`);
      assertErrorShape(r, `${method} ${path}`);
      assert.match(JSON.parse(r.text).error.message, /key|segment|path|NUL|control|long|bytes/i);
      checked++;
    }
    const key = decodeURIComponent(v.replace(/%5c/gi, '\\'));
    for (const [path, body] of [
      ['/api/ingest', { keys: [key] }],
      ['/api/ingest', { prefix: key }],
      ['/api/reindex', { prefix: key }],
    ] as const) {
      if (path !== '/api/ingest' && key === 'pubsky/./x.fits') continue;
      const r = await raw(
        'POST',
        path,
        { ...root, 'content-type': 'application/json' },
        JSON.stringify(body),
      );
      if ('prefix' in body && /^pubsky\/\/|^pubsky\/a{1100}/.test(key)) continue;
      assert.equal(
        r.status,
        400,
        `${path} ${JSON.stringify(body).slice(0, 80)}: ${r.status} ${r.text.slice(0, 200)}`,
      );
      assertErrorShape(r, path);
      checked++;
    }
    // Multipart: the filename and the path field.
    for (const [field, value] of [
      ['filename', key.slice(key.indexOf('/') + 1)],
      ['path', key.slice(key.indexOf('/') + 1)],
    ] as const) {
      if (key.startsWith('/') || !key.startsWith('pubsky/')) continue;
      const form = new FormData();
      form.append('collection', 'pubsky');
      if (field === 'path') form.append('path', value.slice(0, value.lastIndexOf('/') + 1) || value);
      form.append('file', new Blob(['x']), field === 'filename' ? value : 'ok.fits');
      const r = await fetch(`${srv.url}/api/upload`, { method: 'POST', headers: root, body: form });
      const text = await r.text();
      if (field === 'path' && !/\.\.|\/\/|\\|\0/.test(value.slice(0, value.lastIndexOf('/') + 1))) continue;
      const where = `multipart ${field} ${JSON.stringify(value).slice(0, 60)}: ${text.slice(0, 200)}`;
      if (field === 'filename' && r.status === 201) {
        // busboy keeps only the filename's last segment: stored inside the collection, no step out.
        const stored = (JSON.parse(text) as { files: { key: string }[] }).files[0].key;
        assert.match(stored, /^pubsky\/[^/\\]+$/, where);
        assert.ok(!stored.includes('..'), where);
      } else {
        assert.equal(r.status, 400, where);
        assertErrorShape({ status: r.status, text }, `multipart ${field}`);
      }
      checked++;
    }
  }
  for (const v of doubles) {
    const r = await raw('GET', `/api/files/${v}`, root);
    assert.ok([400, 404].includes(r.status), `${v}: ${r.status}`);
    assertErrorShape(r, v);
    const p = await raw('PUT', `/api/files/${v}`, { ...ulla, 'content-length': '1' }, 'x');
    assert.ok(p.status === 400 || p.status === 201, `${v}: ${p.status}`);
    if (p.status === 201) assert.ok(!JSON.parse(p.text).key.includes('..'), 'no dot segment stored');
  }
  // Nothing was written outside the raw zone's collections.
  const keys = await listRawKeys(m.lake);
  assert.ok(
    keys.every((k) => !k.includes('..') && !k.startsWith('/') && !k.includes('\\')),
    keys.join(', '),
  );
  assert.ok(checked > 100, `checked ${checked}`);
});

test('over-long URLs and query strings are 4xx, never 500', async () => {
  for (const [path, want] of [
    [`/api/observations?target=${'a'.repeat(5000)}`, 400],
    [`/api/observations?collection=${'a'.repeat(5000)}`, 400],
    [`/api/files/pubsky/${'b'.repeat(3000)}.fits`, 0],
    [`/api/observations?${'x=1&'.repeat(5000)}`, 431],
    [`/api/observations?${'kw=A%3D1&'.repeat(200)}`, 400],
    [`/api/observations?target=${'a'.repeat(100_000)}`, 431],
    [`/api/collections/${'c'.repeat(4000)}`, 0],
  ] as const) {
    const r = await raw('GET', path, root);
    assert.ok(
      r.status >= 400 && r.status < 500,
      `${path.slice(0, 60)}…: ${r.status} ${r.text.slice(0, 200)}`,
    );
    if (want) assert.equal(r.status, want, `${path.slice(0, 60)}…`);
    if (r.status !== 431) assertErrorShape(r, path.slice(0, 60));
  }
});

test('invalid query parameter types are 400 naming the parameter', async () => {
  for (const [path, name] of [
    ['/api/observations?limit=abc', 'limit'],
    ['/api/observations?limit=0', 'limit'],
    ['/api/observations?ra=north&dec=1&radius=1', 'ra'],
    ['/api/observations?dec=91&ra=1&radius=1', 'dec'],
    ['/api/observations?start=yesterday', 'start'],
    ['/api/observations?sort=random', 'sort'],
    ['/api/observations?count=maybe', 'count'],
    ['/api/observations?box=1,2,3', 'box'],
    ['/api/observations?kw=NOEQUALS', 'kw'],
    ['/api/observations/facets?exptime_min=-1', 'exptime_min'],
    ['/api/observations/abc', 'id'],
    ['/api/jobs?limit=5000', 'limit'],
    ['/api/jobs?status=sleeping', 'status'],
    ['/api/failures?limit=-2', 'limit'],
    ['/api/uploads/recent?cursor=-1', 'cursor'],
    [`/api/files/${enc(open.smallKey)}?meta=perhaps`, 'meta'],
    [`/api/files/${enc(open.smallKey)}?zone=recycle`, 'zone'],
    ['/api/events?since=abc', 'since'],
  ] as const) {
    const r = await raw('GET', path, root);
    assert.equal(r.status, 400, `${path}: ${r.status} ${r.text.slice(0, 200)}`);
    assertErrorShape(r, path);
    assert.match(JSON.parse(r.text).error.message, new RegExp(`\\b${name}\\b`), `${path}: ${r.text}`);
  }
  for (const [body, name] of [
    [{ sql: 'SELECT 1', maxRows: 'ten' }, 'maxRows'],
    [{ sql: 'SELECT 1', format: 'xls' }, 'format'],
    [{ sql: 42 }, 'sql'],
  ] as const) {
    const r = await raw(
      'POST',
      '/api/sql',
      { ...root, 'content-type': 'application/json' },
      JSON.stringify(body),
    );
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.match(JSON.parse(r.text).error.message, new RegExp(`\\b${name}\\b`));
  }
  const bad = await raw('POST', '/api/sql', { ...root, 'content-type': 'application/json' }, '{"sql": ');
  assert.equal(bad.status, 400);
  assertErrorShape(bad, 'broken JSON');
});

test('security headers on JSON, error and download responses; no x-powered-by', async () => {
  const responses: [string, Raw][] = [
    ['json', await raw('GET', '/api/collections', root)],
    ['error 404', await raw('GET', '/api/observations/999999', root)],
    ['error 400', await raw('GET', '/api/observations?limit=x', root)],
    ['error 401', await raw('GET', '/api/collections', m.headers('garbage'))],
    ['route 404', await raw('GET', '/no/such/route')],
    ['download', await raw('GET', `/api/files/${enc(open.smallKey)}`, root)],
    ['range', await raw('GET', `/api/files/${enc(open.smallKey)}`, { ...root, range: 'bytes=0-9' })],
    ['preview', await raw('GET', `/api/files/${enc(open.previewKey)}?zone=previews`, root)],
    ['header', await raw('GET', `/api/files/${enc(open.smallKey)}/header`, root)],
    [
      'sql',
      await raw('POST', '/api/sql', { ...root, 'content-type': 'application/json' }, '{"sql":"SELECT 1"}'),
    ],
    ['metrics', await raw('GET', '/metrics')],
  ];
  for (const [what, r] of responses) {
    assert.ok(r.status < 500, `${what}: ${r.status}`);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', what);
    assert.match(String(r.headers['content-security-policy']), /default-src 'self'/, what);
    assert.match(String(r.headers['content-security-policy']), /frame-ancestors 'self'/, what);
    assert.equal(r.headers['x-frame-options'], 'SAMEORIGIN', what);
    assert.equal(r.headers['referrer-policy'], 'no-referrer', what);
    assert.equal(r.headers['x-powered-by'], undefined, what);
    if (r.status >= 400) assertErrorShape(r, what);
  }
  const d = responses.find(([w]) => w === 'download')?.[1] as Raw;
  assert.equal(d.headers['content-type'], 'application/fits');
  assert.match(String(d.headers['content-disposition']), /^attachment/);
  assert.equal(d.headers['cache-control'], 'private, no-cache');
});

test('error responses never carry stack traces or server paths', async () => {
  const errors = [
    await raw(
      'POST',
      '/api/sql',
      { ...root, 'content-type': 'application/json' },
      '{"sql":"SELECT * FROM nowhere"}',
    ),
    await raw(
      'POST',
      '/api/sql',
      { ...root, 'content-type': 'application/json' },
      '{"sql":"DELETE FROM files"}',
    ),
    await raw(
      'POST',
      '/api/sql',
      { ...root, 'content-type': 'application/json' },
      '{"sql":"SELECT load_extension(1)"}',
    ),
    await raw('POST', '/api/sql', { ...root, 'content-type': 'text/plain' }, 'SELECT 1'),
    await raw('POST', '/api/ingest', { ...root, 'content-type': 'application/json' }, '{}'),
    await raw('GET', `/api/files/${enc(open.smallKey)}`, { ...root, range: 'bytes=999999-' }),
    await raw('GET', '/api/collections', { authorization: 'Basic abc' }),
    await raw('PUT', '/api/files/nocollection', { ...root, 'content-length': '1' }, 'x'),
  ];
  for (const r of errors) {
    assert.ok(r.status >= 400 && r.status < 500, `${r.status}: ${r.text}`);
    assertErrorShape(r, r.text.slice(0, 80));
    assert.ok(!r.text.includes(m.lake.dir), `a server path: ${r.text}`);
  }
});

test('the event stream refuses unknown tokens with 401 (header and ?access_token=)', async () => {
  for (const [path, headers] of [
    ['/api/events', m.headers('garbage')],
    ['/api/events', m.headers('revoked')],
    ['/api/events', m.headers('expired')],
    ['/api/events?access_token=flk_nope', {}],
    [`/api/events?access_token=${m.tokens.revoked}`, {}],
    ['/api/uploads/recent?access_token=flk_nope', {}],
  ] as const) {
    const r = await raw('GET', path, headers);
    assert.equal(r.status, 401, path);
    assertErrorShape(r, path, 'unauthenticated');
    assert.notEqual(r.headers['content-type'], 'text/event-stream; charset=utf-8');
  }
  // A good token in the query works (EventSource cannot send headers) and is never echoed.
  const ac = new AbortController();
  const r = await fetch(`${srv.url}/api/events?access_token=${m.tokens.rita}`, { signal: ac.signal });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
  ac.abort();
});
