// TAP on a PostgreSQL catalog: the 0005_tap migration (jobs table, ADQL geometry functions), sync
// queries run as the privilege-less query role over the caller's views (embargo honoured), a cone
// search through the geometry functions, TAP_SCHEMA, and an async job persisted in PostgreSQL.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sql } from 'kysely';
import { createToken, saveUser } from '../../../src/catalog/accounts.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { writeSampleNight } from '../../../src/demo/sample-night.ts';
import { queueIngest } from '../../../src/ingest/sources.ts';
import { Worker } from '../../../src/ingest/worker.ts';
import { lakeOf } from '../../../src/lake/lake.ts';
import { tapPlugin } from '../../../src/services/tap/routes.ts';
import { useEngines } from '../../util/engines.ts';
import { type RunningServer, startServer } from '../../util/server.ts';

const engines = useEngines(55471);
let srv: RunningServer | undefined;
after(() => srv?.close());

test('postgres: sync, cone search, TAP_SCHEMA, embargo and an async job', async () => {
  const { cat } = await engines('postgres');
  await cat.migrate();
  const lake = lakeOf(loadConfig(mkdtempSync(join(tmpdir(), 'fitslake-tap-pg-')), {}), cat);
  const night = mkdtempSync(join(tmpdir(), 'fitslake-tap-pg-night-'));
  const files = await writeSampleNight(night, { exposures: 2, size: 64, seed: 3 });
  const keys: string[] = [];
  for (const f of files) {
    await lake.zones.raw.put(`sky/${f.path}`, readFileSync(join(night, f.path)));
    keys.push(`sky/${f.path}`);
  }
  await queueIngest(lake, keys);
  await new Worker(lake).run({ untilIdle: true, concurrency: 2 });
  const science = await cat.db
    .selectFrom('observations')
    .select(['id', 'obs_id', 's_ra', 's_dec'])
    .where('obs_type', '=', 'EXPOSE')
    .orderBy('obs_id')
    .execute();
  assert.ok(science.length >= 2);
  const hidden = science.at(-1) as (typeof science)[number];
  await cat.db
    .updateTable('observations')
    .set({ public_date: '2999-01-01T00:00:00.000Z', owner: 'ada' })
    .where('id', '=', hidden.id)
    .execute();
  await saveUser(cat, 'ada', ['reader'], []);
  const ada = { authorization: `Bearer ${(await createToken(cat, 'ada')).token}` };
  srv = await startServer(lake, { plugins: [tapPlugin({ sweepMs: 1000 })], rateLimit: 0 });

  const sync = async (query: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`${srv?.url}/tap/sync`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ LANG: 'ADQL', QUERY: query, FORMAT: 'json' }).toString(),
    });
    const text = await r.text();
    assert.equal(r.status, 200, text);
    return JSON.parse(text) as { data: unknown[][]; metadata: { name: string }[] };
  };
  const exposures = "SELECT obs_id FROM ivoa.obscore WHERE obs_type = 'EXPOSE' ORDER BY obs_id";
  assert.deepEqual(
    (await sync(exposures)).data,
    science.slice(0, -1).map((s) => [s.obs_id]),
    'anonymous: embargoed hidden',
  );
  assert.deepEqual(
    (await sync(exposures, ada)).data,
    science.map((s) => [s.obs_id]),
    'the owner sees it',
  );
  const [{ s_ra, s_dec }] = science;
  const cone = await sync(
    `SELECT obs_id FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', ${s_ra}, ${s_dec}, 0.01))`,
  );
  assert.ok(
    cone.data.some(([id]) => id === science[0].obs_id),
    JSON.stringify(cone.data),
  );
  assert.ok(!cone.data.some(([id]) => id === hidden.obs_id));
  const cols = await sync(
    "SELECT column_name, unit FROM TAP_SCHEMA.columns WHERE table_name = 'ivoa.obscore'",
  );
  assert.ok(cols.data.some(([n, u]) => n === 't_min' && u === 'd'));

  const created = await fetch(`${srv.url}/tap/async`, {
    method: 'POST',
    headers: { ...ada, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      LANG: 'ADQL',
      QUERY: 'SELECT COUNT(*) AS n FROM ivoa.obscore',
      PHASE: 'RUN',
      FORMAT: 'csv',
    }).toString(),
    redirect: 'manual',
  });
  assert.equal(created.status, 303);
  const job = created.headers.get('location') as string;
  let phase = '';
  for (let i = 0; i < 20 && !['COMPLETED', 'ERROR'].includes(phase); i++)
    phase =
      /<uws:phase>(\w+)</.exec(await (await fetch(`${job}?WAIT=5`, { headers: ada })).text())?.[1] ?? '';
  assert.equal(phase, 'COMPLETED');
  const csv = await (await fetch(`${job}/results/result`, { headers: ada })).text();
  const total = await cat.db
    .selectFrom('observations')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  assert.equal(csv, `n\n${Number(total.n)}\n`);
  const row = await cat.db.selectFrom('tap_jobs').select(['phase', 'owner']).executeTakeFirstOrThrow();
  assert.deepEqual(row, { phase: 'COMPLETED', owner: 'ada' });

  // ABORT cancels the backend's statement (pg_cancel_backend), not just the job's phase.
  const from = Array.from({ length: 8 }, (_, i) => `ivoa.obscore t${i}`).join(', ');
  const slow = await fetch(`${srv.url}/tap/async`, {
    method: 'POST',
    headers: { ...ada, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      LANG: 'ADQL',
      QUERY: `SELECT COUNT(*) AS slow_marker FROM ${from}`,
      PHASE: 'RUN',
    }).toString(),
    redirect: 'manual',
  });
  const slowJob = slow.headers.get('location') as string;
  const active = async () =>
    Number(
      (
        await sql<{ n: number }>`SELECT count(*) AS n FROM pg_stat_activity
          WHERE state = 'active' AND query LIKE '%slow_marker%' AND pid <> pg_backend_pid()`.execute(cat.db)
      ).rows[0].n,
    );
  for (let i = 0; i < 100 && (await active()) === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await active(), 1, 'the slow statement runs');
  const aborted = await fetch(`${slowJob}/phase`, {
    method: 'POST',
    headers: { ...ada, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'PHASE=ABORT',
    redirect: 'manual',
  });
  assert.equal(aborted.status, 303);
  for (let i = 0; i < 100 && (await active()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await active(), 0, 'cancelled within seconds of the ABORT');
  await srv.close();
  srv = undefined;
  await lake.close();
});
