// Operating the lake over real HTTP: the job list and failed files (curator+, filtered by what the
// caller may see), and ingest / reindex requests that queue real jobs a real worker then runs.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Worker } from '../../../src/ingest/worker.ts';
import { restAdmin } from '../../../src/services/rest/admin.ts';
import { populatedLake, type UserName } from './fixture.ts';

const fx = await populatedLake([restAdmin]);
after(() => fx.close());
const db = fx.lake.catalog.db;

interface Job {
  id: number;
  kind: string;
  status: string;
  payload: Record<string, unknown>;
  collection: string | null;
}
interface Failure {
  id: number;
  key: string;
  collection: string | null;
  error: string | null;
  url: string;
}
interface Page<T> {
  rows: T[];
  next?: string;
}
interface ErrorBody {
  error: { code: string; message: string };
}
interface Queued {
  queued: number;
  jobs: number[];
  missing: string[];
}

async function post<T>(path: string, body: unknown, user?: UserName): Promise<{ status: number; body: T }> {
  const r = await fetch(`${fx.srv.url}${path}`, {
    method: 'POST',
    headers: { ...fx.auth(user), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as T };
}

async function walk<T extends { id: number }>(path: string, user: UserName, limit: number): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (let n = 0; n < 10_000; n++) {
    const sep = path.includes('?') ? '&' : '?';
    const r = await fx.get<Page<T>>(`${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, user);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    if (r.body.next) assert.equal(r.body.rows.length, limit);
    out.push(...r.body.rows);
    if (!r.body.next) return out;
    cursor = r.body.next;
  }
  throw new Error('paging does not end');
}

/** Every job with the collection it works for, worked out here from the tables. */
async function jobsWithCollections(): Promise<
  { id: number; status: string; collection: string | null; payload: Record<string, unknown> }[]
> {
  const files = new Map(
    (await db.selectFrom('files').select(['id', 'collection']).execute()).map((f) => [
      Number(f.id),
      f.collection,
    ]),
  );
  return (
    await db.selectFrom('jobs').select(['id', 'status', 'payload']).orderBy('id', 'desc').execute()
  ).map((j) => {
    const p = JSON.parse(j.payload) as { key?: string; collection?: string; fileId?: number };
    const collection = p.key
      ? p.key.split('/')[0]
      : (p.collection ?? (p.fileId !== undefined ? (files.get(p.fileId) ?? null) : null));
    return { id: Number(j.id), status: j.status, collection, payload: p };
  });
}

test('only curators and admins see jobs and failures, or may queue work', async () => {
  for (const [method, path] of [
    ['GET', '/api/jobs'],
    ['GET', '/api/failures'],
    ['POST', '/api/ingest'],
    ['POST', '/api/reindex'],
  ] as const)
    for (const [user, status] of [
      [undefined, 401],
      ['cy', 403],
      ['ada', 403],
    ] as const) {
      const r =
        method === 'GET'
          ? await fx.get<ErrorBody>(path, user)
          : await post<ErrorBody>(path, { prefix: 'night/' }, user);
      assert.equal(r.status, status, `${method} ${path} as ${user}`);
      assert.match(r.body.error.message, /curator/);
    }
  assert.equal((await db.selectFrom('jobs').select('id').where('status', '=', 'queued').execute()).length, 0);
});

/** The embargoed observation's files: hidden from the curator (not its owner or group), keys and ids. */
async function embargoedFiles(): Promise<{ keys: Set<string>; ids: Set<number> }> {
  const rows = await db
    .selectFrom('artifacts')
    .innerJoin('files', 'files.id', 'artifacts.file_id')
    .select(['files.id', 'files.key', 'files.zone'])
    .where('artifacts.observation_id', '=', fx.embargoed)
    .execute();
  return {
    keys: new Set(rows.filter((r) => r.zone === 'raw').map((r) => r.key)),
    ids: new Set(rows.map((r) => Number(r.id))),
  };
}

test('the job list pages newest first; a curator sees the jobs of collections it may see', async () => {
  const jobs = await jobsWithCollections();
  const hidden = await embargoedFiles();
  assert.ok(hidden.keys.size > 0);
  // Jobs about the embargoed observation's files would name them: the curator does not see those.
  const curSees = (j: { collection: string | null; payload: Record<string, unknown> }) =>
    j.collection === 'night' &&
    !(typeof j.payload.key === 'string' && hidden.keys.has(j.payload.key)) &&
    !(typeof j.payload.fileId === 'number' && hidden.ids.has(j.payload.fileId));
  assert.ok(jobs.some((j) => j.collection === 'vault') && jobs.some((j) => j.collection === 'night'));
  const kinds = new Set((await db.selectFrom('jobs').select('kind').execute()).map((j) => j.kind));
  assert.deepEqual([...kinds].sort(), ['crawl', 'ingest', 'preview']);
  for (const limit of [7, 1000]) {
    const root = await walk<Job>('/api/jobs', 'root', limit);
    assert.deepEqual(
      root.map((j) => j.id),
      jobs.map((j) => j.id),
    );
    const cur = await walk<Job>('/api/jobs', 'cur', limit);
    assert.deepEqual(
      cur.map((j) => [j.id, j.collection]),
      jobs.filter(curSees).map((j) => [j.id, j.collection]),
    );
  }
  const previews = await walk<Job>('/api/jobs?kind=preview&status=done', 'root', 5);
  assert.ok(previews.length > 0 && previews.every((j) => j.kind === 'preview' && j.status === 'done'));
  const bad = await fx.get<ErrorBody>('/api/jobs?status=lost', 'root');
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /status/);
  const badCursor = await fx.get<ErrorBody>('/api/jobs?cursor=zzz', 'root');
  assert.equal(badCursor.status, 400);
  assert.match(badCursor.body.error.message, /cursor/);
});

test('ingest requests queue jobs for existing keys the caller may see; failures follow visibility', async () => {
  await fx.lake.zones.raw.put('vault/zz-bad.fits', new TextEncoder().encode('not FITS at all'));
  // A curator cannot reach the private collection: its key is reported like a missing one.
  const cur = await post<Queued>(
    '/api/ingest',
    { keys: ['vault/zz-bad.fits', 'night/none.fits', 'night/zz-broken.fits'] },
    'cur',
  );
  assert.equal(cur.status, 202, JSON.stringify(cur.body));
  assert.equal(cur.body.queued, 1);
  assert.deepEqual(cur.body.missing, ['vault/zz-bad.fits', 'night/none.fits']);
  const job = await db
    .selectFrom('jobs')
    .selectAll()
    .where('id', '=', cur.body.jobs[0])
    .executeTakeFirstOrThrow();
  assert.deepEqual(JSON.parse(job.payload), { zone: 'raw', key: 'night/zz-broken.fits' });
  const root = await post<Queued>('/api/ingest', { keys: ['vault/zz-bad.fits'], force: true }, 'root');
  assert.equal(root.body.queued, 1);
  const forced = await db
    .selectFrom('jobs')
    .selectAll()
    .where('id', '=', root.body.jobs[0])
    .executeTakeFirstOrThrow();
  assert.deepEqual(JSON.parse(forced.payload), { zone: 'raw', key: 'vault/zz-bad.fits', force: true });
  await new Worker(fx.lake).run({ untilIdle: true });

  const failed = await db
    .selectFrom('files')
    .select(['id', 'key', 'collection', 'error'])
    .where('status', '=', 'failed')
    .where('current', '=', 1)
    .orderBy('id', 'desc')
    .execute();
  assert.deepEqual(failed.map((f) => f.key).sort(), ['night/zz-broken.fits', 'vault/zz-bad.fits']);
  const all = await walk<Failure>('/api/failures', 'root', 1);
  assert.deepEqual(
    all.map((f) => [f.id, f.key, f.error]),
    failed.map((f) => [Number(f.id), f.key, f.error]),
  );
  assert.ok(
    all.every((f) => f.error && f.error.length > 0),
    'each failure says why',
  );
  assert.equal(
    all.find((f) => f.key === 'night/zz-broken.fits')?.url,
    '/api/files/night/zz-broken.fits?meta=1',
  );
  const curator = await walk<Failure>('/api/failures', 'cur', 5);
  assert.deepEqual(
    curator.map((f) => f.key),
    ['night/zz-broken.fits'],
  );
  const vault = await walk<Failure>('/api/failures?collection=vault', 'root', 5);
  assert.deepEqual(
    vault.map((f) => f.key),
    ['vault/zz-bad.fits'],
  );
});

test('ingest by prefix and reindex queue every raw object under the prefix the caller may see', async () => {
  const under = async (prefix: string) => {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await fx.lake.zones.raw.list({ prefix, ...(token ? { continuationToken: token } : {}) });
      keys.push(...page.objects.map((o) => o.key));
      token = page.nextToken;
    } while (token);
    return keys.sort();
  };
  const payloads = async (ids: number[]) =>
    (await db.selectFrom('jobs').select('payload').where('id', 'in', ids).execute())
      .map((j) => JSON.parse(j.payload) as { key: string; force?: boolean })
      .sort((a, b) => (a.key < b.key ? -1 : 1));

  // The embargoed observation's files stay out of a curator's requests (queuing them would reveal them).
  const hidden = (await embargoedFiles()).keys;
  const visible = (keys: string[]) => keys.filter((k) => !hidden.has(k));
  const prefix = 'night/kb001ms/';
  const ingest = await post<Queued>('/api/ingest', { prefix }, 'cur');
  assert.equal(ingest.status, 202);
  const want = visible(await under(prefix));
  assert.ok(
    [...hidden].some((k) => k.startsWith(prefix)),
    'the prefix holds embargoed files',
  );
  assert.ok(want.length > 5);
  assert.equal(ingest.body.queued, want.length);
  assert.deepEqual(
    await payloads(ingest.body.jobs),
    want.map((key) => ({ zone: 'raw', key })),
  );

  const reindex = await post<Queued>('/api/reindex', { prefix: '' }, 'cur');
  assert.equal(reindex.status, 202);
  const night = visible(await under('night/'));
  assert.deepEqual(
    await payloads(reindex.body.jobs),
    night.map((key) => ({ zone: 'raw', key, force: true })),
    'a curator re-extracts only collections it may see',
  );
  const everything = await post<Queued>('/api/reindex', { prefix: '' }, 'root');
  assert.equal(everything.body.queued, (await under('')).length);
  assert.ok((await under('vault/')).length > 0);

  for (const [path, body, names] of [
    ['/api/reindex', { prefix: '../etc/' }, /\.\./],
    ['/api/reindex', {}, /prefix/],
    ['/api/ingest', {}, /keys/],
    ['/api/ingest', { keys: 'night/x.fits' }, /keys/],
    ['/api/ingest', { keys: ['../x'] }, /\.\./],
  ] as const) {
    const r = await post<ErrorBody>(path, body, 'root');
    assert.equal(r.status, 400, `${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.error.message, names);
  }
});

test('openapi.json documents the admin routes', async () => {
  const doc = (await (await fetch(`${fx.srv.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  assert.ok(doc.paths['/api/jobs']?.get);
  assert.ok(doc.paths['/api/failures']?.get);
  assert.ok(doc.paths['/api/ingest']?.post);
  assert.ok(doc.paths['/api/reindex']?.post);
});
