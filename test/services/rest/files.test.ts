// Files over real HTTP on a real lake: uploads (raw PUT and multipart) that stream into the raw zone
// and queue ingestion, downloads with Range / If-Range / ETag / Content-Disposition, headers and
// details, and the rules: roles, collection visibility, embargo, traversal, size limits, aborts.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeImageHdu } from '../../../src/fits/write.ts';
import { Worker } from '../../../src/ingest/worker.ts';
import type { Lake } from '../../../src/lake/lake.ts';
import type { LocalStore } from '../../../src/storage/local-store.ts';
import { restFiles } from '../../../src/services/rest/files.ts';
import { contentDisposition, parseRange } from '../../../src/services/rest/range.ts';
import { type RunningServer, startServer, tempLake, usersWithTokens } from '../../util/server.ts';

const CONFIG = `
collections:
  pub: { visibility: public }
  vault: { visibility: private, owner: root }
`;

const lake = await tempLake(CONFIG);
const srv = await startServer(lake, { plugins: [restFiles] });
const tokens = await usersWithTokens(lake.catalog, {
  root: ['admin'],
  ulla: ['uploader'],
  owen: ['uploader'],
  rita: ['reader'],
});
// The authenticator caches "no accounts yet" for a second: from now on no token means anonymous.
await new Promise((r) => setTimeout(r, 1100));
after(async () => {
  await srv.close();
  await lake.close();
});

const auth = (user?: string): Record<string, string> =>
  user ? { authorization: `Bearer ${tokens[user]}` } : {};
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const enc = (key: string) => key.split('/').map(encodeURIComponent).join('/');

async function put(key: string, body: Uint8Array, user = 'ulla', headers: Record<string, string> = {}) {
  return fetch(`${srv.url}/api/files/${enc(key)}`, {
    method: 'PUT',
    body: body as Uint8Array<ArrayBuffer>,
    headers: { ...auth(user), 'content-type': 'application/octet-stream', ...headers },
  });
}

async function get(key: string, user?: string, headers: Record<string, string> = {}, query = '') {
  return fetch(`${srv.url}/api/files/${enc(key)}${query}`, { headers: { ...auth(user), ...headers } });
}

const bytesOf = async (r: Response) => new Uint8Array(await r.arrayBuffer());

/** A raw HTTP request, so the path reaches the server exactly as written (fetch normalizes `..`). */
function raw(
  method: string,
  path: string,
  headers: Record<string, string | number> = {},
  body?: Uint8Array,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const { port } = new URL(srv.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function runWorker(l: Lake = lake) {
  await new Worker(l).run({ untilIdle: true, concurrency: 2, pollMs: 20 });
}

const tmpFiles = (l: Lake) => {
  try {
    return readdirSync(join((l.zones.raw as LocalStore).root, '.fitslake', 'tmp'));
  } catch {
    return [];
  }
};

async function eventually(what: string, check: () => Promise<boolean> | boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('uploads', () => {
  test('PUT streams a body to its key, queues ingestion, and downloads byte-identical', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const r = await put('pub/a/data.bin', body);
    assert.equal(r.status, 201, await r.clone().text());
    const out = (await r.json()) as { key: string; size: number; sha256: string; job: number };
    assert.equal(out.key, 'pub/a/data.bin');
    assert.equal(out.size, body.length);
    assert.equal(out.sha256, sha(body));
    const job = await lake.catalog.db
      .selectFrom('jobs')
      .selectAll()
      .where('id', '=', out.job)
      .executeTakeFirstOrThrow();
    assert.equal(job.kind, 'ingest');
    assert.deepEqual(JSON.parse(job.payload), { zone: 'raw', key: 'pub/a/data.bin' });
    const stored = await lake.zones.raw.head('pub/a/data.bin');
    assert.equal(stored?.metadata.owner, 'ulla', 'the uploader is recorded as owner');

    // Before ingestion only the uploader (and admins) may fetch it; a reader may not yet.
    let d = await get('pub/a/data.bin', 'ulla');
    assert.equal(d.status, 200);
    assert.equal(sha(await bytesOf(d)), sha(body));
    assert.equal((await get('pub/a/data.bin', 'rita')).status, 404);

    await runWorker();
    d = await get('pub/a/data.bin', 'rita');
    assert.equal(d.status, 200);
    assert.equal(d.headers.get('etag'), `"${sha(body)}"`);
    assert.equal(d.headers.get('accept-ranges'), 'bytes');
    assert.equal(d.headers.get('content-length'), String(body.length));
    assert.equal(d.headers.get('content-disposition'), 'attachment; filename="data.bin"');
    assert.equal(Buffer.compare(await bytesOf(d), body), 0, 'byte-identical');
  });

  test('a content type given on upload is served back from the catalog', async () => {
    const r = await put('pub/notes.csv', new TextEncoder().encode('a,b\n1,2\n'), 'ulla', {
      'content-type': 'text/csv; charset=utf-8',
    });
    assert.equal(r.status, 201);
    await runWorker();
    const d = await get('pub/notes.csv', 'rita');
    assert.equal(d.headers.get('content-type'), 'text/csv');
    assert.equal(await d.text(), 'a,b\n1,2\n');
  });

  test('POST /api/upload stores several files of a multipart form and queues each', async () => {
    const one = randomBytes(200_000);
    const two = randomBytes(1_500_000);
    const form = new FormData();
    form.append('collection', 'pub');
    form.append('path', 'night1/raw');
    form.append('file', new Blob([one]), 'one.bin');
    form.append('file', new Blob([two]), 'two.dat');
    const r = await fetch(`${srv.url}/api/upload`, { method: 'POST', body: form, headers: auth('ulla') });
    assert.equal(r.status, 201, await r.clone().text());
    const { files } = (await r.json()) as {
      files: { key: string; size: number; sha256: string; job: number }[];
    };
    assert.deepEqual(
      files.map((f) => [f.key, f.size, f.sha256]),
      [
        ['pub/night1/raw/one.bin', one.length, sha(one)],
        ['pub/night1/raw/two.dat', two.length, sha(two)],
      ],
    );
    assert.notEqual(files[0].job, files[1].job);
    const jobs = await lake.catalog.db
      .selectFrom('jobs')
      .select('payload')
      .where('id', 'in', [files[0].job, files[1].job])
      .execute();
    assert.equal(jobs.length, 2, 'one ingest job per file');
    await runWorker();
    for (const [f, body] of [
      [files[0], one],
      [files[1], two],
    ] as const) {
      const d = await get(f.key, 'rita');
      assert.equal(d.status, 200);
      assert.equal(Buffer.compare(await bytesOf(d), body), 0, `${f.key} byte-identical`);
    }
  });

  test('a multipart form without collection, or with a traversal filename, is refused', async () => {
    let form = new FormData();
    form.append('file', new Blob([new Uint8Array(10)]), 'x.bin');
    let r = await fetch(`${srv.url}/api/upload`, { method: 'POST', body: form, headers: auth('ulla') });
    assert.equal(r.status, 400);
    assert.match(
      ((await r.json()) as { error: { message: string } }).error.message,
      /"collection" must come before/,
    );
    form = new FormData();
    form.append('collection', 'pub');
    form.append('path', '../..');
    form.append('file', new Blob([new Uint8Array(10)]), 'escape.bin');
    r = await fetch(`${srv.url}/api/upload`, { method: 'POST', body: form, headers: auth('ulla') });
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: { message: string } }).error.message, /"\.\." segment/);
    assert.equal(await lake.zones.raw.head('escape.bin'), undefined);
    // A file name is only a name: busboy keeps its last segment, so "../../x" cannot climb out.
    form = new FormData();
    form.append('collection', 'pub');
    form.append('file', new Blob([new Uint8Array(10)]), '../../escaped.bin');
    r = await fetch(`${srv.url}/api/upload`, { method: 'POST', body: form, headers: auth('ulla') });
    assert.equal(r.status, 201);
    assert.deepEqual(
      ((await r.json()) as { files: { key: string }[] }).files.map((f) => f.key),
      ['pub/escaped.bin'],
    );
  });

  test('anonymous callers cannot upload (401); readers cannot (403)', async () => {
    let r = await put('pub/anon.bin', new Uint8Array(10), '');
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'unauthenticated');
    r = await put('pub/reader.bin', new Uint8Array(10), 'rita');
    assert.equal(r.status, 403);
    assert.match(((await r.json()) as { error: { message: string } }).error.message, /needs role uploader/);
    const form = new FormData();
    form.append('collection', 'pub');
    form.append('file', new Blob([new Uint8Array(10)]), 'anon.bin');
    r = await fetch(`${srv.url}/api/upload`, { method: 'POST', body: form });
    assert.equal(r.status, 401);
    assert.equal(await lake.zones.raw.head('pub/anon.bin'), undefined);
    assert.equal(await lake.zones.raw.head('pub/reader.bin'), undefined);
  });

  test('uploads into a collection the caller cannot see are refused, the same as unknown ones', async () => {
    const hidden = await put('vault/x.bin', new Uint8Array(10), 'ulla');
    assert.equal(hidden.status, 403);
    const hiddenErr = ((await hidden.json()) as { error: { message: string } }).error.message;
    assert.match(hiddenErr, /collection "vault" does not exist or is not visible to ulla/);
    const unknown = await put('nosuch/x.bin', new Uint8Array(10), 'ulla');
    assert.equal(unknown.status, 403, 'an unknown collection looks the same: no existence leak');
    const form = new FormData();
    form.append('collection', 'vault');
    form.append('file', new Blob([new Uint8Array(10)]), 'y.bin');
    const mp = await fetch(`${srv.url}/api/upload`, { method: 'POST', body: form, headers: auth('ulla') });
    assert.equal(mp.status, 403);
    assert.equal(await lake.zones.raw.head('vault/x.bin'), undefined);
    assert.equal(await lake.zones.raw.head('vault/y.bin'), undefined);
    // The collection's owner (an admin here) may.
    assert.equal((await put('vault/x.bin', new Uint8Array(10), 'root')).status, 201);
  });

  test('traversal, absolute, NUL, control and over-long keys are 400 on upload and download', async () => {
    const t = tokens.ulla;
    const bad = [
      '/api/files/../x',
      '/api/files/pub/../../x',
      '/api/files/%2e%2e/x',
      '/api/files/pub/%2E%2E/%2e%2e/x',
      '/api/files/pub/a%00b',
      '/api/files/pub/a%0d%0aSet-Cookie:%20x',
      '/api/files/%2Fetc/passwd',
      '/api/files/pub/a%5C..%5Cb',
      '/api/files/pub//x',
      '/api/files/pub/dir/',
      `/api/files/pub/${'a'.repeat(1100)}`,
    ];
    for (const path of bad) {
      const up = await raw(
        'PUT',
        path,
        { authorization: `Bearer ${t}`, 'content-length': 3 },
        new Uint8Array(3),
      );
      assert.equal(up.status, 400, `PUT ${path}: ${up.body}`);
      const err = JSON.parse(up.body) as { error: { code: string; message: string } };
      assert.ok(err.error.message.length > 10, `PUT ${path} says what was wrong: ${up.body}`);
      const down = await raw('GET', path, { authorization: `Bearer ${t}` });
      assert.equal(down.status, 400, `GET ${path}: ${down.body}`);
    }
    assert.deepEqual(
      (await lake.zones.raw.list()).objects.filter(
        (o) => !o.key.startsWith('pub/') && !o.key.startsWith('vault/'),
      ),
      [],
      'nothing was written outside a collection',
    );
    assert.deepEqual(tmpFiles(lake), []);
  });

  describe('size limits and aborted uploads', () => {
    let small: Lake;
    let s: RunningServer;
    before(async () => {
      small = await tempLake(`${CONFIG}server:\n  maxUploadBytes: 100000\n`);
      s = await startServer(small, { plugins: [restFiles] });
    });
    after(async () => {
      await s.close();
      await small.close();
    });
    const port = () => Number(new URL(s.url).port);

    test('a Content-Length over server.maxUploadBytes is refused before any byte is stored', async () => {
      const r = await fetch(`${s.url}/api/files/pub/big.bin`, {
        method: 'PUT',
        body: new Uint8Array(100_001),
      });
      assert.equal(r.status, 413);
      const e = (await r.json()) as { error: { code: string; message: string } };
      assert.equal(e.error.code, 'too-large');
      assert.match(e.error.message, /100001 bytes.*limit of 100000 bytes \(server\.maxUploadBytes\)/);
      assert.equal(await small.zones.raw.head('pub/big.bin'), undefined);
      // Exactly the limit is fine.
      assert.equal(
        (await fetch(`${s.url}/api/files/pub/ok.bin`, { method: 'PUT', body: new Uint8Array(100_000) }))
          .status,
        201,
      );
    });

    test('a chunked body that grows past the limit is cut off and leaves nothing', async () => {
      const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port: port(), method: 'PUT', path: '/api/files/pub/stream.bin' },
          (r) => {
            let body = '';
            r.on('data', (c) => {
              body += c;
            });
            r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        // No Content-Length: the limit must hold while streaming. Keep writing until the server answers.
        let sent = 0;
        const pump = () => {
          while (sent < 10_000_000 && req.write(new Uint8Array(16_384))) sent += 16_384;
          if (sent < 10_000_000) req.once('drain', pump);
          else req.end();
        };
        req.on('response', () => req.removeAllListeners('drain'));
        pump();
      });
      assert.equal(res.status, 413, res.body);
      assert.match(res.body, /larger than the server's limit of 100000 bytes/);
      await eventually('temporary files removed', () => tmpFiles(small).length === 0);
      assert.equal(await small.zones.raw.head('pub/stream.bin'), undefined);
    });

    test('a multipart file over the limit is refused and not stored (earlier files are kept)', async () => {
      const form = new FormData();
      form.append('collection', 'pub');
      form.append('file', new Blob([new Uint8Array(500)]), 'fits.bin');
      form.append('file', new Blob([new Uint8Array(200_000)]), 'toobig.bin');
      const r = await fetch(`${s.url}/api/upload`, { method: 'POST', body: form });
      assert.equal(r.status, 413);
      assert.match(
        ((await r.json()) as { error: { message: string } }).error.message,
        /file "toobig\.bin" is larger.*stored and queued before it: pub\/fits\.bin/,
      );
      assert.equal(await small.zones.raw.head('pub/toobig.bin'), undefined);
      assert.equal((await small.zones.raw.head('pub/fits.bin'))?.size, 500);
      assert.deepEqual(tmpFiles(small), []);
    });

    test('a client that disconnects mid-upload leaves nothing half-written and nothing queued', async () => {
      const jobsBefore = await small.catalog.db.selectFrom('jobs').select('id').execute();
      await new Promise<void>((resolve) => {
        const req = http.request({
          host: '127.0.0.1',
          port: port(),
          method: 'PUT',
          path: '/api/files/pub/cut.bin',
          headers: { 'content-length': 90_000 },
        });
        req.on('error', () => resolve());
        req.write(new Uint8Array(40_000), () => {
          // Give the server time to start writing, then vanish.
          setTimeout(() => {
            req.destroy();
            resolve();
          }, 200);
        });
      });
      await eventually('temporary files removed', () => tmpFiles(small).length === 0);
      // Let the server finish handling the aborted request before looking.
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(await small.zones.raw.head('pub/cut.bin'), undefined);
      const jobsAfter = await small.catalog.db.selectFrom('jobs').select('id').execute();
      assert.equal(jobsAfter.length, jobsBefore.length, 'no ingest job for an aborted upload');
    });
  });
});

describe('downloads', () => {
  const body = randomBytes(100_000);
  const key = 'pub/ranges/frame.bin';
  before(async () => {
    assert.equal((await put(key, body)).status, 201);
    await runWorker();
  });

  const ranged = async (range: string, extra: Record<string, string> = {}) =>
    get(key, 'rita', { range, ...extra });

  test('a single byte range: first, middle, suffix and open-ended give 206 with Content-Range', async () => {
    const cases: [string, number, number][] = [
      ['bytes=0-99', 0, 100],
      ['bytes=1000-1999', 1000, 2000],
      ['bytes=-500', body.length - 500, body.length],
      ['bytes=95000-', 95000, body.length],
      ['bytes=99990-200000', 99990, body.length],
    ];
    for (const [range, start, end] of cases) {
      const r = await ranged(range);
      assert.equal(r.status, 206, range);
      assert.equal(r.headers.get('content-range'), `bytes ${start}-${end - 1}/${body.length}`, range);
      assert.equal(r.headers.get('content-length'), String(end - start), range);
      assert.equal(
        Buffer.compare(await bytesOf(r), body.subarray(start, end)),
        0,
        `${range}: the right bytes`,
      );
    }
  });

  test('unsatisfiable ranges are 416 with the size; several ranges or junk get the whole file', async () => {
    for (const range of ['bytes=100000-', 'bytes=200000-300000', 'bytes=-0']) {
      const r = await ranged(range);
      assert.equal(r.status, 416, range);
      assert.equal(r.headers.get('content-range'), `bytes */${body.length}`);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'range-not-satisfiable');
    }
    for (const range of ['bytes=0-9,20-29', 'items=0-9', 'bytes=9-0', 'bytes=x-y']) {
      const r = await ranged(range);
      assert.equal(r.status, 200, range);
      assert.equal((await bytesOf(r)).length, body.length);
    }
  });

  test('a download cut halfway resumes with Range + If-Range to the exact file', async () => {
    // First attempt: read about half, then drop the connection, as a failing client would.
    const first = await get(key, 'rita');
    const etag = first.headers.get('etag')!;
    const reader = first.body!.getReader();
    const got: Uint8Array[] = [];
    let n = 0;
    while (n < body.length / 2) {
      const { value, done } = await reader.read();
      if (done) break;
      got.push(value);
      n += value.length;
    }
    await reader.cancel();
    assert.ok(n >= body.length / 2 && n < body.length, `got part of the file (${n} bytes)`);
    // Resume from where it stopped, only if the file is still the same.
    const rest = await get(key, 'rita', { range: `bytes=${n}-`, 'if-range': etag });
    assert.equal(rest.status, 206);
    assert.equal(rest.headers.get('content-range'), `bytes ${n}-${body.length - 1}/${body.length}`);
    got.push(await bytesOf(rest));
    const whole = Buffer.concat(got);
    assert.equal(sha(whole), sha(body), 'the resumed download hashes to the file');
    assert.equal(`"${sha(whole)}"`, etag, 'and to its ETag');
    // A stale validator (the file changed since) gets the whole file instead of a wrong splice.
    const stale = await get(key, 'rita', { range: `bytes=${n}-`, 'if-range': `"${'0'.repeat(64)}"` });
    assert.equal(stale.status, 200);
    assert.equal((await bytesOf(stale)).length, body.length);
    // If-Range with the Last-Modified date works too.
    const byDate = await get(key, 'rita', {
      range: 'bytes=10-19',
      'if-range': first.headers.get('last-modified')!,
    });
    assert.equal(byDate.status, 206);
  });

  test('ETag and If-None-Match: 304 when unchanged, 200 otherwise', async () => {
    const etag = `"${sha(body)}"`;
    let r = await get(key, 'rita', { 'if-none-match': etag });
    assert.equal(r.status, 304);
    assert.equal(r.headers.get('etag'), etag);
    assert.equal((await bytesOf(r)).length, 0);
    r = await get(key, 'rita', { 'if-none-match': `"other", W/${etag}` });
    assert.equal(r.status, 304, 'weak comparison and lists');
    r = await get(key, 'rita', { 'if-none-match': '"other"' });
    assert.equal(r.status, 200);
    assert.equal((await bytesOf(r)).length, body.length);
  });

  test('Content-Disposition survives a nasty file name: quoted, ASCII fallback, RFC 5987 exact name', async () => {
    const name = 'evil"; filename=hack.exe; ñé 星.fits';
    const k = `pub/${name}`;
    assert.equal((await put(k, new Uint8Array(2880))).status, 201);
    const r = await get(k, 'ulla');
    assert.equal(r.status, 200);
    const cd = r.headers.get('content-disposition')!;
    assert.equal(
      cd,
      `attachment; filename="evil_; filename=hack.exe; __ _.fits"; filename*=UTF-8''${encodeURIComponent(name)}`,
    );
    const star = /filename\*=UTF-8''(.+)$/.exec(cd)![1];
    assert.equal(decodeURIComponent(star), name, 'the exact name round-trips');
    // Names that reach the header can never carry CR/LF or break out of the quotes.
    const crlf = contentDisposition('a"\r\nSet-Cookie: x=1');
    assert.doesNotMatch(crlf, /[\r\n]/);
    assert.match(
      crlf,
      /^attachment; filename="a___Set-Cookie: x=1"; filename\*=UTF-8''a%22%0D%0ASet-Cookie%3A%20x%3D1$/,
    );
  });

  test('parseRange edge cases', () => {
    assert.deepEqual(parseRange('bytes=0-0', 1), { kind: 'partial', start: 0, end: 1 });
    assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=-5', 3), { kind: 'partial', start: 0, end: 3 });
    assert.deepEqual(parseRange('bytes=99999999999999999999-', 10), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange(undefined, 10), { kind: 'full' });
  });

  test('a missing file and a hidden zone answer 404 with the error shape', async () => {
    const r = await get('pub/no/such.bin', 'rita');
    assert.equal(r.status, 404);
    assert.deepEqual(await r.json(), {
      error: { code: 'not-found', message: 'no file "pub/no/such.bin" in the raw zone' },
    });
    assert.equal((await get(key, 'rita', {}, '?zone=derived')).status, 404);
    assert.equal((await get(key, 'rita', {}, '?zone=recycle')).status, 400, 'only raw, derived, previews');
  });
});

describe('FITS headers, details and embargo', () => {
  const fits = encodeImageHdu(
    new Int16Array(32 * 32).map((_, i) => i),
    [32, 32],
    [
      ['DATE-OBS', '2024-03-01T02:03:04'],
      ['EXPTIME', 30],
      ['OBJECT', 'M31'],
      ['INSTRUME', 'CAM'],
      ['FILTER', 'R'],
    ],
  );
  const open = 'pub/fits/open.fits';
  const hidden = 'pub/fits/embargoed.fits';
  before(async () => {
    assert.equal((await put(open, fits, 'ulla')).status, 201);
    const other = encodeImageHdu(
      new Int16Array(16 * 16),
      [16, 16],
      [
        ['DATE-OBS', '2024-03-02T02:03:04'],
        ['OBJECT', 'M33'],
        ['INSTRUME', 'CAM'],
      ],
    );
    assert.equal((await put(hidden, other, 'owen')).status, 201);
    await runWorker();
    const obs = await lake.catalog.db
      .selectFrom('artifacts')
      .innerJoin('files', 'files.id', 'artifacts.file_id')
      .select('artifacts.observation_id')
      .where('files.key', '=', hidden)
      .where('files.current', '=', 1)
      .executeTakeFirstOrThrow();
    await lake.catalog.db
      .updateTable('observations')
      .set({ public_date: '2999-01-01T00:00:00.000Z', owner: 'owen' })
      .where('id', '=', obs.observation_id)
      .execute();
  });

  test('GET …/header answers every HDU with its cards', async () => {
    const r = await get(`${open}/header`, 'rita');
    assert.equal(r.status, 200, await r.clone().text());
    const h = (await r.json()) as {
      key: string;
      hdus: {
        index: number;
        kind: string;
        headerOffset: number;
        dataOffset: number;
        shape: number[];
        cards: { keyword: string; value: unknown }[];
      }[];
    };
    assert.equal(h.key, open);
    assert.equal(h.hdus.length, 1);
    assert.equal(h.hdus[0].index, 0);
    assert.equal(h.hdus[0].headerOffset, 0);
    assert.equal(h.hdus[0].dataOffset, 2880);
    assert.deepEqual(h.hdus[0].shape, [32, 32]);
    const card = (k: string) => h.hdus[0].cards.find((c) => c.keyword === k)?.value;
    assert.equal(card('SIMPLE'), true);
    assert.equal(card('NAXIS1'), 32);
    assert.equal(card('OBJECT'), 'M31');
    assert.equal(card('EXPTIME'), 30);
    assert.equal(
      (await get(`${open}/header`, 'rita', {}, '?literal=1')).status,
      404,
      'literal: the key is …/header',
    );
  });

  test('?meta=1 answers the file details with its observation', async () => {
    const r = await get(open, 'rita', {}, '?meta=1');
    assert.equal(r.status, 200);
    const d = (await r.json()) as {
      size: number;
      sha256: string;
      kind: string;
      status: string;
      versions: { sha256: string; current: boolean }[];
      observations: { obsId: string; role: string }[];
    };
    assert.equal(d.size, fits.length);
    assert.equal(d.sha256, sha(fits));
    assert.equal(d.kind, 'fits');
    assert.equal(d.status, 'ingested');
    assert.deepEqual(
      d.versions.map((v) => [v.sha256, v.current]),
      [[sha(fits), true]],
    );
    assert.equal(d.observations.length, 1);
    const dl = await get(open, 'rita');
    assert.equal(dl.headers.get('content-type'), 'application/fits');
    assert.equal(sha(await bytesOf(dl)), sha(fits));
  });

  test('an embargoed observation’s file is 404 to others (bytes, header, details) and 200 to its owner', async () => {
    for (const user of ['rita', 'ulla', undefined]) {
      for (const [path, q] of [
        [hidden, ''],
        [`${hidden}/header`, ''],
        [hidden, '?meta=1'],
      ] as const) {
        const r = await get(path, user, {}, q);
        assert.equal(r.status, 404, `${user ?? 'anonymous'} ${path}${q}`);
        assert.deepEqual(await r.json(), {
          error: { code: 'not-found', message: `no file ${JSON.stringify(hidden)} in the raw zone` },
        });
      }
      // Range and conditional requests reveal nothing either.
      assert.equal((await get(hidden, user, { range: 'bytes=0-1' })).status, 404);
    }
    for (const user of ['owen', 'root']) {
      const r = await get(hidden, user);
      assert.equal(r.status, 200, user);
      assert.equal((await bytesOf(r)).length, 2880 + 2880);
      assert.equal((await get(`${hidden}/header`, user)).status, 200);
    }
  });

  test('an uploader cannot replace an embargoed file it cannot see; its owner can', async () => {
    const before = await lake.zones.raw.head(hidden);
    const r = await put(hidden, new Uint8Array(5), 'ulla');
    assert.equal(r.status, 403);
    assert.match(((await r.json()) as { error: { message: string } }).error.message, /may not replace/);
    assert.equal((await lake.zones.raw.head(hidden))?.sha256, before?.sha256, 'the bytes are untouched');
    const form = new FormData();
    form.append('collection', 'pub');
    form.append('path', 'fits');
    form.append('file', new Blob([new Uint8Array(5)]), 'embargoed.fits');
    assert.equal(
      (await fetch(`${srv.url}/api/upload`, { method: 'POST', body: form, headers: auth('ulla') })).status,
      403,
    );
    assert.equal((await lake.zones.raw.head(hidden))?.sha256, before?.sha256);
  });

  test('HEAD answers the headers of a download without its bytes', async () => {
    const r = await fetch(`${srv.url}/api/files/${enc(open)}`, { method: 'HEAD', headers: auth('rita') });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-length'), String(fits.length));
    assert.equal(r.headers.get('etag'), `"${sha(fits)}"`);
    assert.equal(
      (await fetch(`${srv.url}/api/files/${enc(hidden)}`, { method: 'HEAD', headers: auth('rita') })).status,
      404,
    );
  });

  test('the routes are in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${srv.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { summary?: string; parameters?: { name: string }[] }>>;
    };
    const files = Object.entries(doc.paths).find(([p]) => p.startsWith('/api/files/'));
    assert.ok(files, `a /api/files/ path among ${Object.keys(doc.paths).join(', ')}`);
    assert.ok(files[1].put?.summary && files[1].get?.summary);
    assert.ok(files[1].get.parameters?.some((p) => p.name === 'meta'));
    assert.ok(doc.paths['/api/upload']?.post);
  });
});
