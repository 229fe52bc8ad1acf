// Resumable uploads (tus 1.0 under /api/uploads/) over real HTTP on a real lake: a PATCH whose
// connection dies keeps what arrived, HEAD tells the offset, the rest completes it, and the file is
// stored and catalogued exactly like a PUT of the same bytes; the protocol's errors (409, 413), the
// access rules on every request (role, creator only), termination, expiry; the real tus-js-client
// through a connection that drops; and a 1 GiB upload into a server process whose memory stays flat.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as tus from 'tus-js-client';
import { initLake } from '../../../src/config/init.ts';
import { encodeImageHdu } from '../../../src/fits/write.ts';
import { Worker } from '../../../src/ingest/worker.ts';
import type { Lake } from '../../../src/lake/lake.ts';
import { restFiles } from '../../../src/services/rest/files.ts';
import { resumableUploads } from '../../../src/services/rest/resumable.ts';
import { startServer, tempLake, usersWithTokens } from '../../util/server.ts';

const LIMIT = 64 * 1024 ** 2;
const CONFIG = `
collections:
  pub: { visibility: public }
  vault: { visibility: private, owner: root }
server:
  maxUploadBytes: ${LIMIT}
`;

const lake = await tempLake(CONFIG);
const srv = await startServer(lake, { plugins: [restFiles, resumableUploads()], rateLimit: 0 });
const tokens = await usersWithTokens(lake.catalog, {
  root: ['admin'],
  ulla: ['uploader'],
  owen: ['uploader'],
  rita: ['reader'],
});
// The authenticator caches "no accounts yet" for a second: from now on no token means anonymous.
await new Promise((r) => setTimeout(r, 1100));
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await srv.close();
  await lake.close();
});

const uploadsDir = (l: Lake) => join(l.dir, '.fitslake', 'uploads');
const auth = (user?: string): Record<string, string> =>
  user ? { authorization: `Bearer ${tokens[user]}` } : {};
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const TUS = { 'tus-resumable': '1.0.0' };

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with exact headers and body (fetch hides HEAD bodies and socket control). */
function request(
  url: string,
  method: string,
  headers: Record<string, string | number> = {},
  body?: Uint8Array,
): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method, path: u.pathname + u.search, headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function create(
  key: string,
  length: number,
  user = 'ulla',
  base = srv.url,
): Promise<{ answer: Answer; url: string; id: string }> {
  const answer = await request(`${base}/api/uploads`, 'POST', {
    ...TUS,
    ...auth(user),
    'upload-length': length,
    'upload-metadata': `key ${b64(key)},filetype ${b64('application/fits')}`,
  });
  const location = answer.headers.location ?? '';
  return { answer, url: new URL(location, base).href, id: location.split('/').pop() ?? '' };
}

const patch = (url: string, offset: number, bytes: Uint8Array, user = 'ulla') =>
  request(
    url,
    'PATCH',
    {
      ...TUS,
      ...auth(user),
      'upload-offset': offset,
      'content-type': 'application/offset+octet-stream',
    },
    bytes,
  );
const head = (url: string, user = 'ulla') => request(url, 'HEAD', { ...TUS, ...auth(user) });
const errorOf = (a: Answer) => (JSON.parse(a.body) as { error: { code: string; message: string } }).error;

async function eventually(what: string, check: () => Promise<boolean> | boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** A real FITS image of about 4 MiB (so a PATCH takes many socket writes). */
function fitsImage(seed: number): Uint8Array {
  const n = 1024 * 1024;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i * 0.001 + seed) * 1000;
  return encodeImageHdu(
    data,
    [1024, 1024],
    [
      ['DATE-OBS', '2024-03-01T02:03:04'],
      ['EXPTIME', 30],
      ['OBJECT', `M${seed}`],
      ['INSTRUME', 'CAM'],
    ],
  );
}

/** The catalog's rows for a file: its version and its HDUs, without ids, key and times. */
async function catalogued(key: string) {
  const file = await lake.catalog.db
    .selectFrom('files')
    .selectAll()
    .where('zone', '=', 'raw')
    .where('key', '=', key)
    .where('current', '=', 1)
    .executeTakeFirstOrThrow();
  const hdus = await lake.catalog.db
    .selectFrom('hdus')
    .select([
      'idx',
      'kind',
      'header_offset',
      'data_offset',
      'data_span',
      'shape',
      'checksum',
      'datasum',
      'cards',
    ])
    .where('file_id', '=', file.id)
    .orderBy('idx')
    .execute();
  const obs = await lake.catalog.db
    .selectFrom('artifacts')
    .innerJoin('observations', 'observations.id', 'artifacts.observation_id')
    .select(['observations.owner', 'observations.target_name', 'observations.t_exptime', 'artifacts.role'])
    .where('artifacts.file_id', '=', file.id)
    .execute();
  const { id: _id, key: _key, created_at: _c, updated_at: _u, ...rest } = file;
  return { file: { ...rest, size: Number(rest.size) }, hdus, obs };
}

describe('tus protocol', () => {
  test('a PATCH whose connection dies keeps what arrived; HEAD resumes it; the file ends up catalogued like a PUT', async () => {
    const bytes = fitsImage(31);
    const half = Math.floor(bytes.length / 2);
    const key = 'pub/tus/resumed.fits';
    const { answer, url, id } = await create(key, bytes.length);
    assert.equal(answer.status, 201, answer.body);
    assert.equal(answer.headers['tus-resumable'], '1.0.0');
    assert.match(answer.headers.location ?? '', /^\/api\/uploads\/[0-9a-f]{32}$/);
    assert.ok(answer.headers['upload-expires'], 'an unfinished upload says when it expires');

    // A PATCH announcing every byte sends half of them, then its connection dies.
    const partial = join(uploadsDir(lake), id);
    const { port } = new URL(srv.url);
    const dying = http.request({
      host: '127.0.0.1',
      port,
      method: 'PATCH',
      path: `/api/uploads/${id}`,
      headers: {
        ...TUS,
        ...auth('ulla'),
        'upload-offset': 0,
        'content-type': 'application/offset+octet-stream',
        'content-length': bytes.length,
      },
    });
    const died = new Promise<void>((resolve) => {
      dying.on('error', () => resolve());
      dying.on('close', () => resolve());
    });
    dying.write(bytes.subarray(0, half));
    await eventually('the first half on the server’s disk', () => statSync(partial).size === half);
    dying.destroy();
    await died;

    // The server kept exactly what arrived, on disk (never in memory), and tells the offset.
    let h = await head(url);
    assert.equal(h.status, 200, h.body);
    assert.equal(h.headers['upload-offset'], String(half));
    assert.equal(h.headers['upload-length'], String(bytes.length));
    assert.equal(h.headers['cache-control'], 'no-store');
    assert.deepEqual(readFileSync(partial), Buffer.from(bytes.subarray(0, half)));

    // A wrong offset is a conflict and changes nothing.
    const conflict = await patch(url, half + 1, bytes.subarray(half + 1));
    assert.equal(conflict.status, 409, conflict.body);
    assert.equal(errorOf(conflict).code, 'offset-conflict');
    h = await head(url);
    assert.equal(h.headers['upload-offset'], String(half));

    // The rest completes it: 200 with what the raw PUT answers.
    const done = await patch(url, half, bytes.subarray(half));
    assert.equal(done.status, 200, done.body);
    assert.equal(done.headers['upload-offset'], String(bytes.length));
    const stored = JSON.parse(done.body) as { key: string; size: number; sha256: string; job: number };
    assert.equal(stored.key, key);
    assert.equal(stored.size, bytes.length);
    assert.equal(stored.sha256, sha(bytes));
    assert.ok(stored.job > 0, 'an ingest job was queued');
    // The partial is gone; the upload id too.
    assert.ok(!existsSync(partial) && !existsSync(`${partial}.json`), 'the partial upload is deleted');
    assert.equal((await head(url)).status, 404);

    // The same bytes by raw PUT, ingested by the same worker: the same catalog rows.
    const putKey = 'pub/tus/by-put.fits';
    const put = await fetch(`${srv.url}/api/files/${putKey}`, {
      method: 'PUT',
      body: bytes as Uint8Array<ArrayBuffer>,
      headers: { ...auth('ulla'), 'content-type': 'application/fits' },
    });
    assert.equal(put.status, 201);
    assert.equal(((await put.json()) as { sha256: string }).sha256, stored.sha256);
    await new Worker(lake).run({ untilIdle: true, concurrency: 2, pollMs: 20 });
    const viaTus = await catalogued(key);
    const viaPut = await catalogued(putKey);
    assert.equal(viaTus.file.status, 'ingested');
    assert.equal(viaTus.file.sha256, sha(bytes));
    assert.equal(viaTus.file.content_type, 'application/fits');
    assert.equal(viaTus.hdus.length, 1);
    assert.deepEqual(
      viaTus.obs.map((o) => o.owner),
      ['ulla'],
      'the uploader owns its observation',
    );
    assert.deepEqual(viaTus, viaPut);
    const meta = await lake.zones.raw.head(key);
    assert.equal(meta?.metadata.owner, 'ulla');
    // Ingestion announced it as it does any upload.
    const events = await lake.catalog.db
      .selectFrom('events')
      .select('payload')
      .where('kind', '=', 'file.ingested')
      .execute();
    assert.ok(
      events.some((e) => JSON.parse(e.payload).key === key),
      'file.ingested names the key',
    );
  });

  test('every request is checked: role to create, creator only for HEAD/PATCH/DELETE', async () => {
    // Readers cannot create (403), anonymous callers neither (401), and nothing is kept.
    const before = readdirSync(uploadsDir(lake)).length;
    let a = (await create('pub/tus/reader.bin', 10, 'rita')).answer;
    assert.equal(a.status, 403, a.body);
    assert.match(errorOf(a).message, /needs role uploader/);
    a = (await create('pub/tus/anon.bin', 10, '')).answer;
    assert.equal(a.status, 401, a.body);
    // An invisible collection is refused as for PUT; so is a key without a collection.
    a = (await create('vault/tus/x.bin', 10)).answer;
    assert.equal(a.status, 403, a.body);
    a = (await create('nosuch/tus/x.bin', 10)).answer;
    assert.equal(a.status, 403, a.body);
    a = (await create('nocollection.bin', 10)).answer;
    assert.equal(a.status, 400, a.body);
    a = (await create('pub/../etc/passwd', 10)).answer;
    assert.equal(a.status, 400, a.body);
    assert.equal(readdirSync(uploadsDir(lake)).length, before, 'refused creations leave nothing');

    const { answer, url, id } = await create('pub/tus/owned.bin', 1000);
    assert.equal(answer.status, 201, answer.body);
    assert.equal((await patch(url, 0, new Uint8Array(100))).status, 204);
    const missing = url.replace(id, 'f'.repeat(32));
    for (const other of ['owen', 'root']) {
      // Another uploader, even an admin: the answer an unknown id gets.
      const h = await head(url, other);
      assert.equal(h.status, 404, `${other} HEAD`);
      assert.equal(h.status, (await head(missing, other)).status);
      const p = await patch(url, 100, new Uint8Array(10), other);
      assert.equal(p.status, 404, `${other} PATCH: ${p.body}`);
      assert.equal(
        p.body.replace(id, '<id>'),
        (await patch(missing, 100, new Uint8Array(10), other)).body.replace('f'.repeat(32), '<id>'),
      );
      const d = await request(url, 'DELETE', { ...TUS, ...auth(other) });
      assert.equal(d.status, 404, `${other} DELETE: ${d.body}`);
    }
    assert.equal((await head(url, 'rita')).status, 403, 'a reader');
    assert.equal((await head(url, '')).status, 401, 'anonymous');
    const bad = await request(url, 'HEAD', { ...TUS, authorization: 'Bearer nonsense' });
    assert.equal(bad.status, 401, 'a bad token');
    // Nothing of that touched it.
    const h = await head(url);
    assert.equal(h.status, 200);
    assert.equal(h.headers['upload-offset'], '100');

    // Without Tus-Resumable: 412.
    const noTus = await request(url, 'HEAD', auth('ulla'));
    assert.equal(noTus.status, 412);

    // The creator terminates it: gone from disk and from the protocol.
    const del = await request(url, 'DELETE', { ...TUS, ...auth('ulla') });
    assert.equal(del.status, 204, del.body);
    assert.ok(!existsSync(join(uploadsDir(lake), id)) && !existsSync(join(uploadsDir(lake), `${id}.json`)));
    assert.equal((await head(url)).status, 404);
    assert.equal(await lake.zones.raw.head('pub/tus/owned.bin'), undefined, 'nothing was stored');
  });

  test('Upload-Length above server.maxUploadBytes is 413; bytes beyond Upload-Length are refused', async () => {
    const { answer } = await create('pub/tus/huge.bin', LIMIT + 1);
    assert.equal(answer.status, 413, answer.body);
    assert.equal(errorOf(answer).code, 'too-large');
    assert.match(errorOf(answer).message, /maxUploadBytes/);
    const ok = await create('pub/tus/limit.bin', LIMIT);
    assert.equal(ok.answer.status, 201);
    // More bytes than the upload's length: refused, nothing appended.
    const small = await create('pub/tus/small.bin', 10);
    const over = await patch(small.url, 0, new Uint8Array(11));
    assert.equal(over.status, 413, over.body);
    assert.equal((await head(small.url)).headers['upload-offset'], '0');
    for (const u of [ok.url, small.url]) await request(u, 'DELETE', { ...TUS, ...auth('ulla') });
  });

  test('a zero-byte upload is stored at creation; metadata may name collection, path and filename', async () => {
    const a = await request(`${srv.url}/api/uploads`, 'POST', {
      ...TUS,
      ...auth('ulla'),
      'upload-length': 0,
      'upload-metadata': `collection ${b64('pub')},path ${b64('tus/empty')},filename ${b64('zero.bin')}`,
    });
    assert.equal(a.status, 201, a.body);
    const stored = JSON.parse(a.body) as { key: string; size: number; sha256: string };
    assert.deepEqual({ key: stored.key, size: stored.size }, { key: 'pub/tus/empty/zero.bin', size: 0 });
    assert.equal(stored.sha256, sha(new Uint8Array(0)));
    assert.equal((await lake.zones.raw.head('pub/tus/empty/zero.bin'))?.size, 0);
    const id = (a.headers.location ?? '').split('/').pop() ?? '';
    assert.match(id, /^[0-9a-f]{32}$/);
    await eventually('its partial to go', () => !existsSync(join(uploadsDir(lake), `${id}.json`)));
  });

  test('the target is checked again at the last byte; a failed hand-off is retried by HEAD', async () => {
    const setVisibility = async (visibility: string, owner?: string) => {
      const settings = JSON.stringify({ visibility, ...(owner ? { owner } : {}) });
      const row = await lake.catalog.db
        .selectFrom('collections')
        .select('name')
        .where('name', '=', 'shift')
        .executeTakeFirst();
      if (row)
        await lake.catalog.db
          .updateTable('collections')
          .set({ settings, visibility })
          .where('name', '=', 'shift')
          .execute();
      else
        await lake.catalog.db
          .insertInto('collections')
          .values({ name: 'shift', created_at: new Date().toISOString(), settings, visibility })
          .execute();
    };
    await setVisibility('public');
    const bytes = new Uint8Array(randomBytes(100_000));
    const key = 'shift/late.bin';
    const { answer, url, id } = await create(key, bytes.length);
    assert.equal(answer.status, 201, answer.body);
    assert.equal((await patch(url, 0, bytes.subarray(0, 50_000))).status, 204);
    // The collection turns private before the last byte: the upload completes, the hand-off is refused.
    await setVisibility('private', 'root');
    const refused = await patch(url, 50_000, bytes.subarray(50_000));
    assert.equal(refused.status, 403, refused.body);
    assert.equal(errorOf(refused).code, 'forbidden');
    assert.equal(await lake.zones.raw.head(key), undefined, 'nothing stored');
    assert.equal(statSync(join(uploadsDir(lake), id)).size, bytes.length, 'the complete partial is kept');
    assert.equal((await head(url)).status, 403, 'HEAD tries the hand-off again, still refused');
    // Public again: a HEAD finishes it, and says the upload is complete.
    await setVisibility('public');
    const h = await head(url);
    assert.equal(h.status, 200);
    assert.equal(h.headers['upload-offset'], String(bytes.length));
    const stored = await lake.zones.raw.head(key);
    assert.equal(stored?.sha256, sha(bytes));
    assert.equal(stored?.metadata.owner, 'ulla');
    const job = await lake.catalog.db
      .selectFrom('jobs')
      .select('payload')
      .where('kind', '=', 'ingest')
      .execute();
    assert.equal(job.filter((j) => JSON.parse(j.payload).key === key).length, 1, 'one ingest job queued');
    assert.ok(!existsSync(join(uploadsDir(lake), id)), 'the partial is gone');
    assert.equal((await head(url)).status, 404);
  });

  test('abandoned uploads expire (unfinished, or complete with a refused hand-off): swept on a timer', async () => {
    const l = await tempLake(CONFIG);
    const s = await startServer(l, { plugins: [resumableUploads({ expiryMs: 1000, sweepMs: 100 })] });
    cleanups.push(async () => {
      await s.close();
      await l.close();
    });
    // No accounts in this lake: the loopback caller is the local operator.
    const { answer, url, id } = await create('pub/tus/old.bin', 100, '', s.url);
    assert.equal(answer.status, 201, answer.body);
    assert.equal((await patch(url, 0, new Uint8Array(10), '')).status, 204);
    assert.ok(existsSync(join(uploadsDir(l), id)));
    // A complete upload whose hand-off was refused (its collection became a read-only mount) expires too.
    await l.catalog.db
      .insertInto('collections')
      .values({ name: 'mnt', created_at: new Date().toISOString(), settings: '{}' })
      .execute();
    const stuck = await create('mnt/x.bin', 10, '', s.url);
    assert.equal(stuck.answer.status, 201, stuck.answer.body);
    await l.catalog.db
      .updateTable('collections')
      .set({ settings: JSON.stringify({ mount: 'https://example.org/index.json' }) })
      .where('name', '=', 'mnt')
      .execute();
    const refused = await patch(stuck.url, 0, new Uint8Array(10), '');
    assert.equal(refused.status, 409, refused.body);
    assert.equal(errorOf(refused).code, 'read-only');
    assert.equal(statSync(join(uploadsDir(l), stuck.id)).size, 10, 'complete, kept for a retry');
    // The store removes an upload's data, then its info file: wait for both.
    for (const u of [id, stuck.id])
      await eventually(
        `upload ${u} to be swept`,
        () => !existsSync(join(uploadsDir(l), u)) && !existsSync(join(uploadsDir(l), `${u}.json`)),
        5000,
      );
    assert.deepEqual(readdirSync(uploadsDir(l)), [], 'nothing left, info files included');
    assert.equal((await head(url, '')).status, 404);
    assert.equal((await head(stuck.url, '')).status, 404);
  });
});

/**
 * A TCP proxy in front of the server that cuts the connection carrying the `cutAt`-th byte of
 * request data (once): a network that drops in the middle of a PATCH.
 */
async function flakyProxy(
  target: string,
  cutAt: number,
): Promise<{ url: string; cuts: number; close(): Promise<void> }> {
  const { port } = new URL(target);
  let sent = 0;
  const state = { cuts: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (state.cuts === 0 && sent >= cutAt) {
        state.cuts++;
        drop();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', drop);
    upstream.on('error', drop);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    get cuts() {
      return state.cuts;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** An in-memory tus-js-client URL storage: what a browser's localStorage keeps across reloads. */
function memoryStorage(): tus.UrlStorage & {
  entries: Map<string, tus.PreviousUpload & { fingerprint: string }>;
} {
  const entries = new Map<string, tus.PreviousUpload & { fingerprint: string }>();
  let n = 0;
  return {
    entries,
    findAllUploads: async () => [...entries.values()],
    findUploadsByFingerprint: async (fp) => [...entries.values()].filter((e) => e.fingerprint === fp),
    removeUpload: async (k) => {
      entries.delete(k);
    },
    addUpload: async (fp, upload) => {
      const key = `tus::${fp}::${++n}`;
      entries.set(key, { ...upload, urlStorageKey: key, fingerprint: fp });
      return key;
    },
  };
}

describe('tus-js-client (Node) against the server', () => {
  test('retries through a dropped connection, and resumes after a restart of the client', async () => {
    const bytes = new Uint8Array(randomBytes(6 * 1024 ** 2));
    const key = 'pub/tus/client.bin';
    const proxy = await flakyProxy(srv.url, 2.5 * 1024 ** 2);
    cleanups.push(() => proxy.close());
    const storage = memoryStorage();
    const options = (onProgress: (sent: number) => void): tus.UploadOptions => ({
      endpoint: `${proxy.url}/api/uploads`,
      headers: auth('ulla'),
      metadata: { key, filetype: 'application/octet-stream' },
      chunkSize: 1024 ** 2,
      retryDelays: [0, 100, 300, 1000],
      urlStorage: storage,
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onProgress,
    });

    // First run: the network drops mid-chunk (the client retries by itself: HEAD, then PATCH on);
    // then the "page" goes away at half the file.
    let firstUrl = '';
    await new Promise<void>((resolve, reject) => {
      const upload: tus.Upload = new tus.Upload(Buffer.from(bytes), {
        ...options((sent) => {
          if (sent >= 3 * 1024 ** 2) {
            firstUrl = upload.url ?? '';
            void upload.abort().then(resolve);
          }
        }),
        onError: reject,
        onSuccess: () => reject(new Error('should have been aborted first')),
      });
      upload.start();
    });
    assert.equal(proxy.cuts, 1, 'the connection was cut once, and the client carried on');
    assert.match(firstUrl, /\/api\/uploads\/[0-9a-f]{32}$/);
    const held = Number((await head(firstUrl.replace(proxy.url, srv.url))).headers['upload-offset']);
    assert.ok(held >= 2 * 1024 ** 2 && held < bytes.length, `the server holds part of it (${held})`);
    assert.equal(storage.entries.size, 1, 'the client remembered the upload');

    // Second run (a reload): the client finds the previous upload by fingerprint and resumes it.
    let firstProgress = -1;
    let response = '';
    await new Promise<void>((resolve, reject) => {
      const upload: tus.Upload = new tus.Upload(Buffer.from(bytes), {
        ...options((sent) => {
          if (firstProgress < 0) firstProgress = sent;
        }),
        onError: reject,
        onSuccess: ({ lastResponse }) => {
          response = lastResponse.getBody();
          resolve();
        },
      });
      void upload.findPreviousUploads().then((previous) => {
        assert.equal(previous.length, 1);
        upload.resumeFromPreviousUpload(previous[0]);
        upload.start();
      });
    });
    assert.ok(firstProgress >= held, `resumed from the held bytes, not from 0 (${firstProgress} of ${held})`);
    const stored = JSON.parse(response) as { key: string; size: number; sha256: string };
    assert.deepEqual(stored.key, key);
    assert.equal(stored.size, bytes.length);
    assert.equal(stored.sha256, sha(bytes));
    assert.equal(storage.entries.size, 0, 'a finished upload is forgotten');
    const chunks: Uint8Array[] = [];
    for await (const c of await lake.zones.raw.get(key)) chunks.push(c);
    assert.equal(sha(Buffer.concat(chunks)), sha(bytes), 'the lake holds the same bytes');
  });
});

// ---------------------------------------------------------------------------------------------------

const rssOf = (pid: number) => {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
};

describe('a large resumable upload', () => {
  test('1 GiB in two PATCHes into `fitslake serve` keeps its memory flat', {
    timeout: 600_000,
  }, async (t) => {
    const SIZE = 1024 ** 3;
    const RSS_LIMIT = 400 * 1024 ** 2;
    const work = mkdtempSync(join(tmpdir(), 'fitslake-tus-large-'));
    cleanups.push(() => rmSync(work, { recursive: true, force: true }));
    const lakeDir = join(work, 'big');
    initLake(lakeDir);
    const proc: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/run.ts', 'serve', '--lake', lakeDir, '--port', '0'],
      { cwd: join(import.meta.dirname, '../../..'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(() => {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    });
    let err = '';
    proc.stderr?.on('data', (c) => {
      err += c;
    });
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout?.on('data', (c) => {
        out += c;
        const m = /fitslake serving (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      proc.on('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
      setTimeout(() => reject(new Error(`server did not start: ${out} ${err}`)), 30_000);
    });
    const pid = proc.pid as number;
    const baseline = rssOf(pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssOf(pid));
    }, 50);
    try {
      // No accounts: the loopback caller is the local operator.
      const { answer, url } = await create('big/zeros.bin', SIZE, '', base);
      assert.equal(answer.status, 201, answer.body);
      const hash = createHash('sha256');
      const block = Buffer.alloc(1 << 20, 7);
      /** Streams `n` MiB of generated bytes as one PATCH at `offset`. */
      const send = (offset: number, n: number) =>
        new Promise<Answer>((resolve, reject) => {
          const u = new URL(url);
          const req = http.request(
            {
              host: u.hostname,
              port: u.port,
              method: 'PATCH',
              path: u.pathname,
              headers: {
                ...TUS,
                'upload-offset': offset,
                'content-type': 'application/offset+octet-stream',
                'content-length': n * block.length,
              },
            },
            (res) => {
              let text = '';
              res.on('data', (c) => {
                text += c;
              });
              res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
            },
          );
          req.on('error', reject);
          let i = 0;
          const pump = () => {
            while (i < n) {
              i++;
              hash.update(block);
              if (!req.write(block)) {
                req.once('drain', pump);
                return;
              }
            }
            req.end();
          };
          pump();
        });
      const t0 = Date.now();
      const first = await send(0, 512);
      assert.equal(first.status, 204, first.body);
      assert.equal(first.headers['upload-offset'], String(SIZE / 2));
      const last = await send(SIZE / 2, 512);
      const seconds = (Date.now() - t0) / 1000;
      clearInterval(sampler);
      assert.equal(last.status, 200, last.body);
      const stored = JSON.parse(last.body) as { size: number; sha256: string };
      assert.equal(stored.size, SIZE);
      assert.equal(stored.sha256, hash.digest('hex'));
      assert.deepEqual(readdirSync(join(lakeDir, '.fitslake', 'uploads')), [], 'no partial left');
      t.diagnostic(
        `1 GiB by tus in ${seconds.toFixed(1)} s; server RSS baseline ${(baseline / 1024 ** 2).toFixed(0)} MiB, peak ${(peak / 1024 ** 2).toFixed(0)} MiB`,
      );
      assert.ok(peak < RSS_LIMIT, `server peak RSS ${(peak / 1024 ** 2).toFixed(0)} MiB stays under 400 MiB`);
      assert.ok(peak - baseline < 200 * 1024 ** 2, 'and grows by less than 200 MiB');
    } finally {
      clearInterval(sampler);
      proc.kill('SIGTERM');
    }
  });
});
