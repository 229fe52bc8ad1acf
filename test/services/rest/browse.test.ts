// The bucket browser over real HTTP on a real lake (two generated nights ingested by the real worker,
// one observation under embargo, a private collection): every folder of every zone lists exactly what
// a hand-written oracle over the catalog says each caller may download — folders with their counts and
// bytes, files directly in the folder, in byte order — pages join up with no duplicate and no miss,
// the zone parameter, the zones summary, and bad input answering 400. Then the listing itself on both
// catalog engines (SQLite, PostgreSQL — one database in a non-C locale) with keys chosen to trip a
// range scan: neighbours of "/" in byte order, accents, astral characters, hidden and old versions.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { sql } from 'kysely';
import { ANONYMOUS, type Visibility } from '../../../src/catalog/access.ts';
import { type Catalog, openCatalog } from '../../../src/catalog/catalog.ts';
import { type BrowseListing, browse, restBrowse } from '../../../src/services/rest/browse.ts';
import { restFiles } from '../../../src/services/rest/files.ts';
import { ENGINES, useEngines } from '../../util/engines.ts';
import { populatedLake, type UserName } from './fixture.ts';

const f = await populatedLake([restFiles, restBrowse]);
after(() => f.close());
const db = f.lake.catalog.db;

// ---- the oracle: who may download what, written out by hand from the fixture's rules ----------

interface Row {
  id: number;
  zone: string;
  key: string;
  size: number;
  collection: string | null;
}
const rows: Row[] = (
  await db
    .selectFrom('files')
    .select(['id', 'zone', 'key', 'size', 'collection'])
    .where('current', '=', 1)
    .execute()
).map((r) => ({ ...r, id: Number(r.id), size: Number(r.size) }));
const embargoedFiles = new Set(
  (
    await db.selectFrom('artifacts').select('file_id').where('observation_id', '=', f.embargoed).execute()
  ).map((a) => Number(a.file_id)),
);
assert.ok(embargoedFiles.size >= 5, 'the embargoed observation has its files');

type Who = UserName | 'anon';
/** night: public, but the embargoed observation only for ada (owner), bob (group) and root; vault: ada's. */
function mayDownload(who: Who, r: Row): boolean {
  if (who === 'root') return true;
  if (r.collection === 'vault') return who === 'ada';
  if (r.collection !== 'night') return false;
  return !embargoedFiles.has(r.id) || who === 'ada' || who === 'bob';
}
const visible = (who: Who, zone: string) => rows.filter((r) => r.zone === zone && mayDownload(who, r));

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

interface Entry {
  /** A folder's prefix or a file's key. */
  at: string;
  folder?: { files: number; bytes: number };
  size?: number;
}
/** The listing of one folder by brute force: S3's delimiter rule over the visible keys. */
function expected(keys: { key: string; size: number }[], prefix: string): Entry[] {
  const folders = new Map<string, { files: number; bytes: number }>();
  const files: Entry[] = [];
  for (const r of keys) {
    if (!r.key.startsWith(prefix)) continue;
    const rest = r.key.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash < 0) files.push({ at: r.key, size: r.size });
    else {
      const p = prefix + rest.slice(0, slash + 1);
      const agg = folders.get(p) ?? { files: 0, bytes: 0 };
      agg.files++;
      agg.bytes += r.size;
      folders.set(p, agg);
    }
  }
  return [...[...folders].map(([at, folder]) => ({ at, folder })), ...files].sort((a, b) =>
    byteOrder(a.at, b.at),
  );
}
function entriesOf(page: BrowseListing): Entry[] {
  for (const d of page.folders) assert.equal(d.prefix, `${page.prefix}${d.name}/`);
  return [
    ...page.folders.map((d) => ({ at: d.prefix, folder: { files: d.files, bytes: d.bytes } })),
    ...page.files.map((x) => ({ at: x.key, size: x.size })),
  ].sort((a, b) => byteOrder(a.at, b.at));
}

const q = (params: Record<string, string | number>) =>
  `/api/browse?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))}`;

async function listing(who: Who, params: Record<string, string | number>): Promise<BrowseListing> {
  const r = await f.get<BrowseListing>(q(params), who === 'anon' ? undefined : who);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** Every entry of a folder, page after page; asserts the pages join with no duplicate. */
async function walk(who: Who, zone: string, prefix: string, limit: number): Promise<Entry[]> {
  const out: Entry[] = [];
  let cursor: string | null = null;
  for (let pages = 0; ; pages++) {
    assert.ok(pages < 1000, 'paging ends');
    const page: BrowseListing = await listing(who, {
      zone,
      prefix,
      limit,
      ...(cursor !== null ? { cursor } : {}),
    });
    const entries = entriesOf(page);
    assert.ok(entries.length <= limit, 'no page is over its limit');
    if (page.next !== null) assert.equal(entries.length, limit, 'a page before the last is full');
    out.push(...entries);
    if (page.next === null) break;
    cursor = page.next;
  }
  const ats = out.map((e) => e.at);
  assert.deepEqual(ats, [...ats].sort(byteOrder), 'pages continue in key order');
  assert.equal(new Set(ats).size, ats.length, 'no entry twice');
  return out;
}

const WHO: Who[] = ['anon', 'cy', 'ada', 'bob', 'root'];

test('every folder of every zone lists what each caller may download: folders with counts and bytes, files', async () => {
  for (const who of WHO)
    for (const zone of ['raw', 'previews']) {
      const keys = visible(who, zone);
      // Every folder that exists for this caller, from the top down.
      const todo = [''];
      let folders = 0;
      while (todo.length) {
        const prefix = todo.shift() as string;
        const page = await listing(who, { zone, prefix, limit: 1000 });
        assert.equal(page.zone, zone);
        assert.equal(page.prefix, prefix);
        assert.equal(page.next, null);
        const want = expected(keys, prefix);
        assert.deepEqual(entriesOf(page), want, `${who} ${zone}:${prefix}`);
        for (const d of page.folders) {
          assert.ok(d.files > 0, 'no empty folder');
          todo.push(d.prefix);
          folders++;
        }
        for (const x of page.files) {
          assert.equal(x.name, x.key.slice(x.key.lastIndexOf('/') + 1));
          assert.equal(
            x.url,
            `/api/files/${x.key.split('/').map(encodeURIComponent).join('/')}${zone === 'raw' ? '' : `?zone=${zone}`}`,
          );
        }
      }
      assert.ok(folders >= (zone === 'raw' ? 4 : 1), `${who} ${zone}: folders walked (${folders})`);
    }
  // The top of raw: the private collection is ada's and root's only.
  const top = async (who: Who) => (await listing(who, {})).folders.map((d) => d.name);
  assert.deepEqual(await top('anon'), ['night']);
  assert.deepEqual(await top('bob'), ['night']);
  assert.deepEqual(await top('ada'), ['night', 'vault']);
  assert.deepEqual(await top('root'), ['night', 'vault']);
});

test('pages of every size join up with no duplicate and no miss', async () => {
  for (const who of ['anon', 'ada'] as Who[])
    for (const prefix of ['', 'night/', 'night/kb001ms/', 'vault/fa002ms/', 'nothing/here/'])
      for (const limit of [1, 2, 3, 7]) {
        const all = await walk(who, 'raw', prefix, limit);
        assert.deepEqual(all, expected(visible(who, 'raw'), prefix), `${who} ${prefix} limit=${limit}`);
      }
  // Previews, deep: more files than one page.
  const deep = await walk('root', 'previews', 'night/kb001ms/', 4);
  assert.ok(deep.length > 8, `previews of night/kb001ms/: ${deep.length}`);
  assert.deepEqual(deep, expected(visible('root', 'previews'), 'night/kb001ms/'));
  // A cursor is bound to its zone and prefix.
  const first = await listing('anon', { prefix: 'night/kb001ms/', limit: 2 });
  assert.ok(first.next);
  const others: Record<string, string>[] = [
    { prefix: 'night/fa002ms/', cursor: first.next },
    { prefix: 'night/kb001ms/', zone: 'previews', cursor: first.next },
    { prefix: 'night/kb001ms/', cursor: 'not-a-cursor' },
    {
      prefix: 'night/kb001ms/',
      cursor: Buffer.from('{"z":"raw","p":"night/kb001ms/"}').toString('base64url'),
    },
  ];
  for (const other of others) {
    const r = await f.get<{ error: { code: string } }>(q(other));
    assert.equal(r.status, 400, JSON.stringify(other));
    assert.equal(r.body.error.code, 'invalid-cursor');
  }
});

test('embargoed files are invisible to an anonymous caller — rows, counts and bytes — and visible to their owner', async () => {
  const hidden = rows.filter((r) => r.zone === 'raw' && embargoedFiles.has(r.id));
  const folder = `${hidden[0].key.slice(0, hidden[0].key.lastIndexOf('/'))}/`;
  for (const who of ['anon', 'cy', 'ada', 'bob'] as Who[]) {
    const r = await fetch(`${f.srv.url}${q({ prefix: folder, limit: 1000 })}`, {
      headers: f.auth(who === 'anon' ? undefined : (who as UserName)),
    });
    const text = await r.text();
    const sees = who === 'ada' || who === 'bob';
    for (const h of hidden) {
      const name = h.key.slice(h.key.lastIndexOf('/') + 1);
      assert.equal(text.includes(name), sees, `${who}: ${name}`);
    }
    // The folder above: its count and bytes include them exactly when the caller may download them.
    const up = await listing(who, { prefix: 'night/' });
    const d = up.folders.find((x) => x.prefix === folder);
    const all = rows.filter((x) => x.zone === 'raw' && x.key.startsWith(folder));
    const shown = sees ? all : all.filter((x) => !embargoedFiles.has(x.id));
    assert.equal(d?.files, shown.length, `${who}: count`);
    assert.equal(
      d?.bytes,
      shown.reduce((n, x) => n + x.size, 0),
      `${who}: bytes`,
    );
    assert.ok(all.length > shown.length || sees);
    // And the zone totals.
    const z = await f.get<{ zones: { zone: string; files: number; bytes: number }[] }>(
      '/api/browse/zones',
      who === 'anon' ? undefined : (who as UserName),
    );
    assert.equal(z.status, 200);
    for (const zone of ['raw', 'derived', 'previews', 'mounted']) {
      const v = visible(who, zone);
      assert.deepEqual(
        z.body.zones.find((x) => x.zone === zone),
        { zone, files: v.length, bytes: v.reduce((n, x) => n + x.size, 0) },
        `${who}: zone ${zone}`,
      );
    }
  }
  // A private collection's folder is an empty listing for others, as a folder that does not exist.
  const vault = await listing('bob', { prefix: 'vault/' });
  const none = await listing('bob', { prefix: 'nosuch/' });
  assert.deepEqual({ ...vault, prefix: '' }, { ...none, prefix: '' });
  assert.deepEqual(vault.folders, []);
});

test('a listed file downloads at its url with its stored bytes; it names its observation', async () => {
  const page = await listing('anon', { prefix: 'night/ep003ms/', limit: 1000 });
  const science = page.files.find((x) => x.key.endsWith('-small.fits'));
  assert.ok(science, 'a small FITS copy is listed');
  assert.equal(science.kind, 'fits');
  assert.equal(science.status, 'ingested');
  assert.ok(!Number.isNaN(Date.parse(science.modified)));
  const r = await fetch(`${f.srv.url}${science.url}`);
  assert.equal(r.status, 200);
  const bytes = Buffer.from(await r.arrayBuffer());
  const stored: Uint8Array[] = [];
  for await (const p of await f.lake.zones.raw.get(science.key)) stored.push(p);
  assert.ok(Buffer.concat(stored).equals(bytes));
  assert.equal(bytes.length, science.size);
  const link = await db
    .selectFrom('artifacts')
    .innerJoin('files', 'files.id', 'artifacts.file_id')
    .select('artifacts.observation_id')
    .where('files.key', '=', science.key)
    .where('files.zone', '=', 'raw')
    .executeTakeFirstOrThrow();
  assert.equal(science.observationId, Number(link.observation_id));
  const broken = (await listing('anon', { prefix: 'night/' })).files.find(
    (x) => x.key === 'night/zz-broken.fits',
  );
  assert.equal(broken?.status, 'failed');
  assert.equal(broken?.observationId, null);
  // Previews download with ?zone=previews.
  const prev = (await listing('anon', { zone: 'previews', prefix: 'night/ep003ms/' })).files[0];
  assert.match(prev.url, /\?zone=previews$/);
  const pr = await fetch(`${f.srv.url}${prev.url}`);
  assert.equal(pr.status, 200);
  assert.equal(Buffer.from(await pr.arrayBuffer()).length, prev.size);
  assert.equal(
    createHash('sha256')
      .update(Buffer.from(await (await fetch(`${f.srv.url}${prev.url}`)).arrayBuffer()))
      .digest('hex'),
    (
      await db
        .selectFrom('files')
        .select('sha256')
        .where('zone', '=', 'previews')
        .where('key', '=', prev.key)
        .executeTakeFirstOrThrow()
    ).sha256,
  );
});

test('bad input answers 400 with the error shape', async () => {
  const cases: [Record<string, string>, string][] = [
    [{ prefix: 'night' }, 'invalid-prefix'],
    [{ prefix: 'night/kb001ms' }, 'invalid-prefix'],
    [{ prefix: '/night/' }, 'invalid-prefix'],
    [{ prefix: '../' }, 'invalid-prefix'],
    [{ prefix: 'night/../vault/' }, 'invalid-prefix'],
    [{ prefix: 'night//' }, 'invalid-prefix'],
    [{ prefix: '/' }, 'invalid-prefix'],
    [{ prefix: 'a\\b/' }, 'invalid-prefix'],
    [{ prefix: 'a\u0001/' }, 'invalid-prefix'],
    [{ prefix: `${'x'.repeat(1030)}/` }, 'invalid-request'],
    [{ zone: 'recycle' }, 'invalid-request'],
    [{ zone: 'nope' }, 'invalid-request'],
    [{ limit: '0' }, 'invalid-request'],
    [{ limit: '1001' }, 'invalid-request'],
    [{ limit: 'many' }, 'invalid-request'],
  ];
  for (const [params, code] of cases) {
    const r = await fetch(`${f.srv.url}${q(params)}`);
    const body = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(r.status, 400, JSON.stringify(params));
    assert.deepEqual(Object.keys(body), ['error']);
    assert.equal(body.error.code, code, JSON.stringify(params));
    assert.equal(typeof body.error.message, 'string');
  }
  // A bad token is refused, not anonymous.
  const r = await fetch(`${f.srv.url}/api/browse`, { headers: { authorization: 'Bearer nope' } });
  assert.equal(r.status, 401);
});

// ---- the listing on both engines, keys chosen to trip a range scan ------------------------------

const KEYS = [
  'c/a/1',
  'c/a/2.fits',
  'c/a/b/c/d/e',
  'c/a0',
  'c/a.b',
  'c/a-b/x',
  'c/a b/x',
  'c/A/x',
  'c/ab/x',
  'c/é/x',
  'c/e\u0301x/y', // NFD in a stored key (kept as stored)
  'c/😀/x',
  'c/😀x',
  'c/\uffff/x',
  'c/\ue000/x',
  'c/z',
  'c/zz/y',
  'c0/x',
  'c.d/x',
  'd/x',
];
const HIDDEN = ['hidden/x', 'c/a/secret-of-hidden', 'c/only-hidden/x'];
const OLD = ['c/old/x'];

const engines = useEngines(55483);

async function fill(cat: Catalog) {
  await cat.migrate();
  const now = new Date().toISOString();
  let n = 0;
  const put = (key: string, collection: string, current: number) => ({
    zone: 'raw',
    key,
    sha256: createHash('sha256').update(`${key}#${n++}`).digest('hex'),
    size: key.length * 10 + n,
    status: 'ingested',
    collection,
    current,
    created_at: now,
    updated_at: now,
  });
  await cat.db
    .insertInto('files')
    .values([
      ...KEYS.map((k) => put(k, 'c', 1)),
      ...HIDDEN.map((k) => put(k, 'hidden', 1)),
      ...OLD.map((k) => put(k, 'c', 0)),
      // Another zone, same keys: never in raw's listing.
      put('c/a/other-zone', 'c', 1),
    ])
    .execute();
  await cat.db.updateTable('files').set({ zone: 'previews' }).where('key', '=', 'c/a/other-zone').execute();
  const sizes = await cat.db
    .selectFrom('files')
    .select(['key', 'size'])
    .where('current', '=', 1)
    .where('zone', '=', 'raw')
    .execute();
  return new Map(sizes.map((s) => [s.key, Number(s.size)]));
}

const vis: Visibility = { caller: ANONYMOUS, all: false, collections: ['c'], now: new Date().toISOString() };

async function checkEngine(cat: Catalog) {
  const sizes = await fill(cat);
  const keys = KEYS.map((key) => ({ key, size: sizes.get(key) as number }));
  const prefixes = new Set<string>(['']);
  for (const k of KEYS) {
    const parts = k.split('/');
    for (let i = 1; i < parts.length; i++) prefixes.add(`${parts.slice(0, i).join('/')}/`);
  }
  for (const p of [...prefixes, 'hidden/', 'c/old/', 'c/only-hidden/', 'nothing/'])
    for (const limit of [1, 2, 3, 1000]) {
      const got: Entry[] = [];
      let cursor: string | undefined;
      for (let pages = 0; ; pages++) {
        assert.ok(pages <= KEYS.length, `${cat.dialect} ${JSON.stringify(p)}: paging ends`);
        const page = await browse(cat, vis, 'raw', p, limit, cursor);
        const e = entriesOf(page);
        assert.ok(e.length <= limit);
        got.push(...e);
        if (page.next === null) break;
        cursor = page.next;
      }
      assert.deepEqual(got, expected(keys, p), `${cat.dialect} ${JSON.stringify(p)} limit=${limit}`);
    }
}

describe('the listing on both engines', () => {
  for (const engine of ENGINES)
    test(engine, async () => {
      const { cat } = await engines(engine);
      try {
        await checkEngine(cat);
      } finally {
        await cat.close();
      }
    });

  test('postgres, a database in a locale that ignores punctuation (ICU en-US, shifted)', async () => {
    const { cat: admin } = await engines('postgres');
    const database = `browse_icu_${process.pid}`;
    await sql
      .raw(
        `CREATE DATABASE ${database} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US-u-ka-shifted' LOCALE 'C.UTF-8'`,
      )
      .execute(admin.db);
    const port = (admin.options as { port: number }).port;
    await admin.close();
    const cat = openCatalog({ kind: 'postgres', host: '127.0.0.1', port, database, user: 'postgres' });
    try {
      // The trap is real: this locale does not order keys bytewise.
      const order = await sql<{
        k: string;
      }>`SELECT k FROM (VALUES ('c/a/z'), ('c/a0'), ('c/ab')) t(k) ORDER BY k`.execute(cat.db);
      assert.deepEqual(
        order.rows.map((r) => r.k),
        ['c/a0', 'c/ab', 'c/a/z'],
      );
      await checkEngine(cat);
    } finally {
      await cat.close();
    }
  });
});
