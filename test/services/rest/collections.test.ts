// Collections over real HTTP on a lake the real worker ingested: the list and counts each caller
// may see, a collection's safe settings, the keyword inventory, and 404 for private collections.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { keywordInventory } from '../../../src/ingest/crawler.ts';
import { restCollections } from '../../../src/services/rest/collections.ts';
import { populatedLake, type UserName } from './fixture.ts';

const fx = await populatedLake([restCollections]);
after(() => fx.close());
const db = fx.lake.catalog.db;
const USERS: (UserName | undefined)[] = [undefined, 'cy', 'bob', 'ada', 'cur', 'root'];

/** Observations per collection, counted here from the catalog for the fixture's access rule. */
async function countsFor(user: UserName | undefined): Promise<Record<string, number>> {
  const rows = await db.selectFrom('observations').select(['id', 'obs_collection']).execute();
  const out: Record<string, number> = {};
  for (const r of rows) {
    const visible =
      user === 'root' ||
      (r.obs_collection === 'vault'
        ? user === 'ada'
        : Number(r.id) !== fx.embargoed || user === 'ada' || user === 'bob');
    if (visible) out[r.obs_collection] = (out[r.obs_collection] ?? 0) + 1;
  }
  return out;
}

interface List {
  collections: { name: string; visibility: string; observations: number; url: string }[];
}

test('the list holds the collections each caller may see, with its own counts', async () => {
  for (const user of USERS) {
    const r = await fx.get<List>('/api/collections', user);
    assert.equal(r.status, 200);
    const names = r.body.collections.map((c) => c.name);
    assert.deepEqual(names, user === 'ada' || user === 'root' ? ['night', 'vault'] : ['night'], `${user}`);
    const counts = await countsFor(user);
    for (const c of r.body.collections) {
      assert.equal(c.observations, counts[c.name], `${c.name} as ${user}`);
      assert.equal(c.url, `/api/collections/${c.name}`);
    }
  }
  // The counts differ where the embargo bites.
  assert.equal((await countsFor(undefined)).night, 20);
  assert.equal((await countsFor('bob')).night, 21);
});

test('one collection: settings safe to show, owner and groups for admins only', async () => {
  const r = await fx.get<Record<string, unknown>>('/api/collections/night', 'cy');
  assert.equal(r.status, 200);
  assert.equal(r.body.name, 'night');
  assert.equal(r.body.visibility, 'public');
  assert.equal(r.body.observations, 20);
  assert.equal(r.body.view, 'hdr_night');
  const inventory = await keywordInventory(fx.lake.catalog, 'night');
  assert.ok(inventory.length > 20, 'the crawler ran');
  assert.equal(r.body.keywords, inventory.length);
  assert.equal((r.body.settings as { proprietaryDays: number }).proprietaryDays, 0);
  assert.ok(!('owner' in r.body) && !('groups' in r.body), 'no owner or groups for a reader');
  const vault = await fx.get<Record<string, unknown>>('/api/collections/vault', 'root');
  assert.equal(vault.status, 200);
  assert.equal(vault.body.owner, 'ada');
  assert.deepEqual(vault.body.groups, []);
  assert.equal(vault.body.observations, 12);
  const own = await fx.get<Record<string, unknown>>('/api/collections/vault', 'ada');
  assert.equal(own.status, 200);
  assert.equal(own.body.visibility, 'private');
  assert.ok(!('owner' in own.body));
});

test('a private collection is 404 like a missing one for those who may not see it', async () => {
  for (const user of USERS)
    for (const path of ['/api/collections/vault', '/api/collections/vault/keywords']) {
      const r = await fx.get<{ error: { code: string; message: string } }>(path, user);
      const may = user === 'ada' || user === 'root';
      assert.equal(r.status, may ? 200 : 404, `${path} as ${user}`);
      if (!may) assert.deepEqual(r.body, { error: { code: 'not-found', message: 'no collection vault' } });
    }
  const missing = await fx.get<{ error: { code: string; message: string } }>('/api/collections/nope');
  assert.deepEqual(missing, {
    status: 404,
    body: { error: { code: 'not-found', message: 'no collection nope' } },
  });
});

test('the keyword inventory: whole for who sees every observation, without values otherwise', async () => {
  interface Kw {
    collection: string;
    complete: boolean;
    keywords: { keyword: string; type: string; count: number | null; examples: unknown[] }[];
  }
  const inventory = await keywordInventory(fx.lake.catalog, 'night');
  const whole = await fx.get<Kw>('/api/collections/night/keywords', 'bob');
  assert.equal(whole.status, 200);
  assert.equal(whole.body.complete, true, 'bob sees every observation of night');
  assert.deepEqual(whole.body.keywords, inventory);
  const exptime = whole.body.keywords.find((k) => k.keyword === 'EXPTIME');
  assert.ok(exptime?.count && exptime.count > 0 && exptime.examples.length > 0);
  // The inventory aggregates the embargoed observation's headers too: withheld from who cannot see it.
  for (const user of [undefined, 'cy'] as const) {
    const part = await fx.get<Kw>('/api/collections/night/keywords', user);
    assert.equal(part.status, 200);
    assert.equal(part.body.complete, false);
    assert.deepEqual(
      part.body.keywords.map((k) => [k.keyword, k.type]),
      inventory.map((k) => [k.keyword, k.type]),
    );
    assert.ok(part.body.keywords.every((k) => k.count === null && k.examples.length === 0));
  }
  const vault = await fx.get<Kw>('/api/collections/vault/keywords', 'ada');
  assert.equal(vault.body.complete, true);
  assert.deepEqual(vault.body.keywords, await keywordInventory(fx.lake.catalog, 'vault'));
});

test('openapi.json documents the collection routes', async () => {
  const doc = (await (await fetch(`${fx.srv.url}/openapi.json`)).json()) as {
    paths: Record<string, unknown>;
  };
  for (const p of ['/api/collections', '/api/collections/{name}', '/api/collections/{name}/keywords'])
    assert.ok(doc.paths[p], p);
});
