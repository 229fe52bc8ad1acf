// User SQL sees only the caller's rows, on both engines: the views in front of every table, the
// refused ways around them (schema-qualified names, SQLite internals, PostgreSQL functions that run
// SQL text or read files), and writes of any kind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Caller,
  catalogCollections,
  LOCAL_ADMIN,
  type Role,
  visibilityFor,
} from '../../src/catalog/access.ts';
import { QueryError, readOnlyQuery } from '../../src/catalog/readonly.ts';
import { seedAccessCases } from '../util/access-seed.ts';
import { ENGINES, useEngines } from '../util/engines.ts';

const engines = useEngines(55440);
const caller = (user: string | null, groups: string[] = [], roles: Role[] = ['reader']): Caller => ({
  user,
  roles: user === null ? [] : roles,
  groups,
});

for (const engine of ENGINES) {
  test(`${engine}: each caller's SQL sees exactly its rows`, async () => {
    const { cat } = await engines(engine);
    await seedAccessCases(cat);
    const list = catalogCollections(cat);
    const run = async (c: Caller, text: string) =>
      (await readOnlyQuery(cat, text, { timeoutMs: 20_000 }, await visibilityFor(c, list))).rows;
    const obsIds = async (c: Caller) =>
      (await run(c, 'SELECT obs_id FROM observations ORDER BY obs_id')).map((r) => r.obs_id);
    assert.deepEqual(await obsIds(caller(null)), ['open']);
    assert.deepEqual(await obsIds(caller('ada', ['g2'])), ['embargoed', 'open']);
    assert.deepEqual(await obsIds(caller('carl', ['g1'])), ['open', 'teamwork']);
    assert.deepEqual(
      await obsIds(caller('gus', ['g2'])),
      ['embargoed', 'open'],
      'group g2 sees its embargoed data',
    );
    assert.deepEqual(await obsIds(LOCAL_ADMIN), ['embargoed', 'open', 'secret', 'teamwork']);
    // Tables that follow observations and files follow the same rule; private ones are empty.
    const anon = caller(null);
    const keys = (await run(anon, 'SELECT key FROM files ORDER BY key')).map((r) => r.key);
    assert.deepEqual(keys, ['pub/open.fits']);
    const cards = await run(anon, 'SELECT h.cards FROM hdus h JOIN files f ON f.id = h.file_id');
    assert.deepEqual(
      cards.map((r) => r.cards),
      ['[["OBJECT","open"]]'],
    );
    assert.equal((await run(anon, 'SELECT * FROM artifacts')).length, 1);
    assert.equal((await run(anon, 'SELECT * FROM observation_cells')).length, 1);
    assert.deepEqual(
      (await run(anon, 'SELECT name FROM collections ORDER BY name')).map((r) => r.name),
      ['pub'],
    );
    for (const hidden of ['users', 'tokens', 'jobs', 'events'])
      assert.equal((await run(anon, `SELECT * FROM ${hidden}`)).length, 0, `${hidden} is empty for readers`);
    // Counts and aggregates cannot see past the views either.
    assert.equal(Number((await run(anon, 'SELECT count(*) AS n FROM observations'))[0].n), 1);
    // Admins see everything but token hashes.
    assert.equal((await run(LOCAL_ADMIN, 'SELECT * FROM jobs')).length, 1);
    assert.equal((await run(LOCAL_ADMIN, 'SELECT * FROM tokens')).length, 0);
    await cat.close();
  });

  test(`${engine}: ways around the views and writes are refused`, async () => {
    const { cat } = await engines(engine);
    await seedAccessCases(cat);
    const v = await visibilityFor(caller(null), catalogCollections(cat));
    const refused = async (text: string, code: QueryError['code'] | QueryError['code'][] | RegExp) => {
      await assert.rejects(readOnlyQuery(cat, text, { timeoutMs: 20_000 }, v), (err: unknown) => {
        assert.ok(err instanceof QueryError, `${text}: ${err}`);
        if (typeof code === 'string') assert.equal(err.code, code, `${text}: ${err.message}`);
        else if (Array.isArray(code))
          assert.ok(code.includes(err.code), `${text}: ${err.code} ${err.message}`);
        else assert.match(err.message, code, text);
        return true;
      });
    };
    const qualified =
      engine === 'sqlite'
        ? ['main.observations', '"main"."observations"', 'temp.observations']
        : ['public.observations', '"public"."tokens"'];
    // On SQLite `temp.observations` is the view itself, but naming schemas is refused outright.
    for (const q of qualified) await refused(`SELECT * FROM ${q}`, 'not-allowed');
    await refused('DELETE FROM observations', 'not-read-only');
    await refused("ATTACH DATABASE '/tmp/x.db' AS x", 'not-read-only');
    await refused('PRAGMA table_info(observations)', 'not-read-only');
    await refused(
      'WITH gone AS (DELETE FROM observations RETURNING id) SELECT * FROM gone',
      engine === 'sqlite' ? /syntax|not-read|read/i : ['not-read-only', 'not-allowed'],
    );
    await refused('SELECT 1; SELECT 2', 'not-allowed');
    if (engine === 'sqlite') {
      await refused('SELECT * FROM sqlite_master', 'not-allowed');
      await refused("SELECT * FROM pragma_table_info('observations')", 'not-allowed');
      await refused("SELECT load_extension('/tmp/x')", 'not-allowed');
      await refused('SELECT * FROM "sqlite_master"', 'not-allowed');
    } else {
      await refused("SELECT query_to_xml('select * from public.tokens', true, true, '')", 'not-allowed');
      await refused("SELECT pg_read_file('/etc/passwd')", 'not-allowed');
      // set_config('role', …) would switch back to the session user mid-statement.
      await refused(
        "SELECT set_config('role', 'postgres', true) AS a, query_to_xml('select hash from public.tokens', true, true, '') AS b",
        'not-allowed',
      );
      await refused('SELECT 1; RESET ROLE; SELECT hash FROM public.tokens', 'not-allowed');
      await refused('SELECT "pg_catalog"."set_config"(\'role\', \'postgres\', true)', 'not-allowed');
      // Statistics of tables the role cannot read stay hidden.
      assert.equal(
        (await readOnlyQuery(cat, "SELECT * FROM pg_stats WHERE tablename = 'observations'", {}, v)).rows
          .length,
        0,
      );
    }
    await cat.close();
  });
}
