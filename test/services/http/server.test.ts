// The server's frame over real HTTP: health, metrics, OpenAPI, the error shape, security headers,
// tokens and the loopback rule.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { saveUser, createToken } from '../../../src/catalog/accounts.ts';
import { startServer, tempLake } from '../../util/server.ts';

const lake = await tempLake();
const srv = await startServer(lake);
after(async () => {
  await srv.close();
  await lake.close();
});

test('healthz answers from the catalog', async () => {
  const r = await fetch(`${srv.url}/healthz`);
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { status: 'ok', catalog: 'sqlite' });
});

test('security headers are set on every response', async () => {
  const r = await fetch(`${srv.url}/healthz`);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  assert.equal(r.headers.get('x-frame-options'), 'SAMEORIGIN');
});

test('unknown routes get the error shape with 404', async () => {
  const r = await fetch(`${srv.url}/nope?x=1`);
  assert.equal(r.status, 404);
  assert.deepEqual(await r.json(), { error: { code: 'not-found', message: 'no route GET /nope' } });
});

test('metrics are in Prometheus text format and count requests by route', async () => {
  await fetch(`${srv.url}/healthz`);
  const r = await fetch(`${srv.url}/metrics`);
  assert.equal(r.status, 200);
  const text = await r.text();
  assert.match(text, /fitslake_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
  assert.match(text, /^fitslake_ingest_files_per_second \d/m);
  assert.match(text, /^# TYPE fitslake_jobs gauge/m);
});

test('openapi.json describes the routes', async () => {
  const r = await fetch(`${srv.url}/openapi.json`);
  assert.equal(r.status, 200);
  const doc = (await r.json()) as { openapi: string; paths: Record<string, unknown> };
  assert.match(doc.openapi, /^3\./);
  assert.ok(doc.paths['/healthz'], 'healthz is documented');
  assert.ok(!doc.paths['/openapi.json'], 'the document hides itself');
});

test('a bad or unknown token is refused with 401, a good one is accepted', async () => {
  let r = await fetch(`${srv.url}/healthz`, { headers: { authorization: 'Basic abc' } });
  assert.equal(r.status, 401);
  assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'unauthenticated');
  r = await fetch(`${srv.url}/healthz`, { headers: { authorization: 'Bearer flk_nope' } });
  assert.equal(r.status, 401);
  await saveUser(lake.catalog, 'ada', ['reader']);
  const { token } = await createToken(lake.catalog, 'ada');
  r = await fetch(`${srv.url}/healthz`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
});
