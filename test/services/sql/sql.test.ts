// POST /api/sql over real HTTP: the caller's token decides which rows the SQL sees; limits hold;
// results come in every format.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createToken, saveUser } from '../../../src/catalog/accounts.ts';
import { main } from '../../../src/cli/main.ts';
import { sqlRoutes } from '../../../src/services/sql/routes.ts';
import { seedAccessCases } from '../../util/access-seed.ts';
import { startServer, tempLake } from '../../util/server.ts';

const lake = await tempLake('server:\n  sqlMaxRows: 3\n  sqlTimeoutMs: 3000\n');
await seedAccessCases(lake.catalog);
await saveUser(lake.catalog, 'root', ['admin']);
const ada = (await createToken(lake.catalog, 'ada')).token;
const root = (await createToken(lake.catalog, 'root')).token;
const srv = await startServer(lake, { plugins: [sqlRoutes] });
after(async () => {
  await srv.close();
  await lake.close();
});

async function sql(body: Record<string, unknown>, token?: string) {
  const r = await fetch(`${srv.url}/api/sql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text(), headers: r.headers };
}
const ids = (text: string) => {
  const body = JSON.parse(text) as { rows?: { obs_id: string }[] };
  assert.ok(body.rows, text);
  return body.rows.map((r) => r.obs_id);
};

test('each caller sees its own rows through the same SQL', async () => {
  const q = { sql: 'SELECT obs_id FROM observations ORDER BY obs_id' };
  assert.deepEqual(ids((await sql(q)).text), ['open'], 'anonymous: public and out of embargo only');
  assert.deepEqual(ids((await sql(q, ada)).text), ['embargoed', 'open'], 'the owner sees her embargoed data');
  assert.deepEqual(
    ids((await sql(q, root)).text),
    ['embargoed', 'open', 'secret'],
    'an admin sees all (3-row limit)',
  );
});

test('row and time limits hold and are reported', async () => {
  const r = await sql({ sql: 'SELECT obs_id FROM observations', maxRows: 100 }, root);
  const body = JSON.parse(r.text) as { rows: unknown[]; truncated: boolean };
  assert.equal(body.rows.length, 3, 'the server limit wins over a larger request');
  assert.equal(body.truncated, true);
  assert.equal(r.headers.get('x-truncated'), 'true');
  const slow = await sql({
    sql: 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n',
  });
  assert.equal(slow.status, 408);
  assert.equal(JSON.parse(slow.text).error.code, 'sql-timeout');
});

test('writes and ways around the views are refused with 403; bad SQL is a 400', async () => {
  for (const [text, code] of [
    ['DELETE FROM observations', 'sql-not-read-only'],
    ["ATTACH DATABASE '/tmp/x' AS x", 'sql-not-read-only'],
    ['SELECT * FROM main.tokens', 'sql-not-allowed'],
    ['SELECT * FROM sqlite_master', 'sql-not-allowed'],
  ]) {
    const r = await sql({ sql: text }, root);
    assert.equal(r.status, 403, text);
    assert.equal(JSON.parse(r.text).error.code, code, text);
  }
  const bad = await sql({ sql: 'SELECT nope FROM observations' });
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.text).error.message, /no such column: nope/);
  const invalid = await sql({ sql: '' });
  assert.equal(invalid.status, 400);
  assert.equal(JSON.parse(invalid.text).error.code, 'invalid-request');
});

test('results as CSV, VOTable and Parquet', async () => {
  const q = 'SELECT obs_id, obs_collection FROM observations ORDER BY obs_id';
  const csv = await sql({ sql: q, format: 'csv' });
  assert.equal(csv.type, 'text/csv; charset=utf-8');
  assert.equal(csv.text, 'obs_id,obs_collection\nopen,pub\n');
  const vot = await sql({ sql: q, format: 'votable' });
  assert.match(vot.type ?? '', /votable/);
  assert.match(vot.text, /<TD>open<\/TD>/);
  assert.doesNotMatch(vot.text, /embargoed/);
  const pq = await fetch(`${srv.url}/api/sql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql: q, format: 'parquet' }),
  });
  const bytes = new Uint8Array(await pq.arrayBuffer());
  assert.equal(Buffer.from(bytes.subarray(0, 4)).toString(), 'PAR1');
});

test('the CLI query pointed at the server sees what the token may see', async () => {
  const run = async (...args: string[]) => {
    let out = '';
    let err = '';
    const code = await main(['query', ...args], { out: (t) => void (out += t), err: (t) => void (err += t) });
    return { code, out, err };
  };
  const q = 'SELECT obs_id FROM observations ORDER BY obs_id';
  let r = await run(q, '--server', srv.url, '--format', 'csv');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'obs_id\nopen\n');
  r = await run(q, '--server', srv.url, '--token', ada, '--format', 'csv');
  assert.equal(r.out, 'obs_id\nembargoed\nopen\n');
  r = await run('SELECT * FROM main.files', '--server', srv.url);
  assert.equal(r.code, 1);
  assert.match(r.err, /answered 403: schema-qualified name/);
  r = await run(q, '--server', srv.url, '--token', 'flk_wrong');
  assert.match(r.err, /answered 401: unknown, revoked or expired token/);
});
