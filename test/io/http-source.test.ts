// HttpSource against real HTTP servers on loopback: a correct Range server, one that ignores
// Range, one that fails transiently, and Debian's nginx.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openFits } from '../../src/fits/fits-file.ts';
import { HttpSource } from '../../src/io/http-source.ts';
import { CORPUS, corpusPath } from '../util/corpus.ts';

const FILE = 'fits/hst_acs_hrc_f555w.fits';
const bytes = new Uint8Array(readFileSync(corpusPath(FILE)));

interface Stats {
  requests: number;
  inFlight: number;
  maxInFlight: number;
  failuresLeft: number;
}
const stats: Stats = { requests: 0, inFlight: 0, maxInFlight: 0, failuresLeft: 0 };

function serveRange(req: IncomingMessage, res: ServerResponse, ignoreRange: boolean): void {
  stats.requests++;
  stats.inFlight++;
  stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
  // A little latency so concurrent requests overlap on the server.
  setTimeout(() => {
    stats.inFlight--;
    if (req.url === '/missing') return void res.writeHead(404).end();
    if (stats.failuresLeft > 0) {
      stats.failuresLeft--;
      return void res.writeHead(503, { 'retry-after': '0' }).end();
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (ignoreRange || !m) return void res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), bytes.length - 1);
    res.writeHead(206, {
      'content-range': `bytes ${start}-${end}/${bytes.length}`,
      'content-length': end - start + 1,
    });
    res.end(bytes.subarray(start, end + 1));
  }, 5);
}

let good: Server;
let bad: Server;
let goodUrl = '';
let badUrl = '';
before(async () => {
  good = createServer((q, r) => serveRange(q, r, false));
  bad = createServer((q, r) => serveRange(q, r, true));
  await Promise.all([good, bad].map((s) => new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok))));
  goodUrl = `http://127.0.0.1:${(good.address() as AddressInfo).port}`;
  badUrl = `http://127.0.0.1:${(bad.address() as AddressInfo).port}`;
});
after(() => {
  good.close();
  bad.close();
});

test('reads exact bytes by range, from the block cache the second time', async () => {
  const src = new HttpSource(`${goodUrl}/f`, { blockSize: 4096 });
  assert.equal(await src.size(), bytes.length);
  const a = await src.read(10000, 5000);
  assert.deepEqual(a, bytes.subarray(10000, 15000));
  const before = src.requests;
  assert.deepEqual(await src.read(11000, 100), bytes.subarray(11000, 11100));
  assert.equal(src.requests, before, 'served from the cache');
  assert.deepEqual(await src.read(bytes.length - 10, 100), bytes.subarray(bytes.length - 10));
});

test('connections are kept alive: sequential reads reuse one TCP connection', async () => {
  let connections = 0;
  const count = () => connections++;
  good.on('connection', count);
  try {
    const src = new HttpSource(`${goodUrl}/f`, { blockSize: 1024, cacheBytes: 0, coalesceGap: 0 });
    for (let i = 0; i < 10; i++) await src.read(i * 5000, 10);
    assert.ok(src.requests >= 10, `${src.requests} requests`);
    // At most one new connection (none when an earlier test's pooled connection is reused).
    assert.ok(connections <= 1, `${connections} connections for ${src.requests} requests`);
  } finally {
    good.off('connection', count);
  }
});

test('nearby ranges coalesce into one request; distant ones go in parallel within the limit', async () => {
  const src = new HttpSource(`${goodUrl}/f`, {
    blockSize: 1024,
    coalesceGap: 4096,
    concurrency: 2,
    cacheBytes: 1 << 20,
  });
  await src.size();
  const r0 = src.requests;
  const near = await src.readMany([
    { offset: 20000, length: 100 },
    { offset: 21000, length: 100 },
    { offset: 23000, length: 100 },
  ]);
  assert.equal(src.requests - r0, 1, 'three nearby ranges, one request');
  assert.deepEqual(near[2], bytes.subarray(23000, 23100));
  stats.maxInFlight = 0;
  const far = Array.from({ length: 8 }, (_, i) => ({ offset: 30000 + i * 6000, length: 10 }));
  const got = await src.readMany(far);
  for (const [i, g] of got.entries()) assert.deepEqual(g, bytes.subarray(far[i].offset, far[i].offset + 10));
  assert.ok(src.maxActive <= 2 && stats.maxInFlight <= 2, `in flight ${src.maxActive}/${stats.maxInFlight}`);
  assert.equal(src.maxActive, 2, 'the limit is used');
});

test('the block cache stays within its byte budget', async () => {
  const src = new HttpSource(`${goodUrl}/f`, { blockSize: 1024, cacheBytes: 8 * 1024, coalesceGap: 0 });
  for (let off = 0; off < 60000; off += 2048) await src.read(off, 10);
  const cache = (src as unknown as { cached: number }).cached;
  assert.ok(cache <= 8 * 1024, `cache holds ${cache} bytes`);
});

test('transient failures are retried with backoff; a 404 is not', async () => {
  stats.failuresLeft = 2;
  const src = new HttpSource(`${goodUrl}/f`, { backoffMs: 1 });
  assert.equal(await src.size(), bytes.length);
  assert.equal(src.requests, 3);
  const missing = new HttpSource(`${goodUrl}/missing`, { backoffMs: 1 });
  await assert.rejects(missing.size(), (e: Error) => e.name === 'FitsError' && /HTTP 404/.test(e.message));
  assert.equal(missing.requests, 1);
});

test('a server that ignores Range is refused at once with a clear error', async () => {
  const src = new HttpSource(`${badUrl}/f`);
  await assert.rejects(src.size(), /server ignored the Range header/);
  assert.equal(src.bytesFetched, 0);
});

test('against Debian nginx: openFits over HTTP reads the same HDUs as from disk', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-nginx-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 64; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port}; root ${CORPUS}; } }`,
  );
  const nginx = spawn('/usr/sbin/nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
  t.after(() => nginx.kill());
  const url = `http://127.0.0.1:${port}/${FILE}`;
  let fits: Awaited<ReturnType<typeof openFits>> | undefined;
  for (let i = 0; i < 50 && !fits; i++) {
    try {
      fits = await openFits(new HttpSource(url, { retries: 0 }));
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  assert.ok(fits, 'nginx answered');
  const local = await openFits(new (await import('../../src/fits/byte-source.ts')).BufferSource(bytes));
  assert.deepEqual(
    fits.hdus.map((h) => [h.headerOffset, h.dataOffset, h.dataSpan, h.header.cards.length]),
    local.hdus.map((h) => [h.headerOffset, h.dataOffset, h.dataSpan, h.header.cards.length]),
  );
});
