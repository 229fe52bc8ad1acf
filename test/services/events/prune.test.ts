// The events table's time-to-live: old rows go, rows within the TTL stay (to the minute), and the
// server prunes at start with the configured eventTtlHours.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openCatalog } from '../../../src/catalog/catalog.ts';
import { pruneEvents } from '../../../src/services/events/prune.ts';
import { eventRoutesWith } from '../../../src/services/events/routes.ts';
import { startServer } from '../../util/server.ts';
import { lakeWith, sleep, tmp } from './helpers.ts';

const cat = openCatalog({ kind: 'sqlite', path: join(tmp('fitslake-ev-cat-'), 'catalog.sqlite') });
const lake = await lakeWith(cat, 'server:\n  eventTtlHours: 2\n');
after(() => lake.close());
const db = cat.db;
const hoursAgo = (h: number, now = Date.now()) => new Date(now - h * 3_600_000).toISOString();

async function seed(ages: number[], now = Date.now()): Promise<void> {
  await db.deleteFrom('events').execute();
  for (const [i, h] of ages.entries())
    await db
      .insertInto('events')
      .values({
        kind: 'custom.age',
        payload: JSON.stringify({ n: i, hours: h }),
        created_at: hoursAgo(h, now),
      })
      .execute();
}
const left = async () =>
  (await db.selectFrom('events').select('payload').orderBy('id').execute()).map(
    (r) => (JSON.parse(r.payload) as { hours: number }).hours,
  );

test('pruneEvents removes events older than the TTL and keeps every newer one', async () => {
  const now = Date.now();
  await seed([100, 25, 24.02, 23.98, 1, 0], now);
  const n = await pruneEvents(cat, 24, new Date(now));
  assert.equal(n, 3);
  assert.deepEqual(await left(), [23.98, 1, 0]);
  assert.equal(await pruneEvents(cat, 24, new Date(now)), 0, 'idempotent');
});

test('pruning a large backlog goes in chunks and stops at the TTL', async () => {
  const now = Date.now();
  await db.deleteFrom('events').execute();
  const old = hoursAgo(10, now);
  const rows = Array.from({ length: 12_000 }, (_, i) => ({
    kind: 'custom.old',
    payload: `{"i":${i}}`,
    created_at: old,
  }));
  for (let i = 0; i < rows.length; i += 1000)
    await db
      .insertInto('events')
      .values(rows.slice(i, i + 1000))
      .execute();
  await db
    .insertInto('events')
    .values({ kind: 'custom.new', payload: '{}', created_at: hoursAgo(0.5, now) })
    .execute();
  assert.equal(await pruneEvents(cat, 1, new Date(now)), 12_000);
  const kinds = (await db.selectFrom('events').select('kind').execute()).map((r) => r.kind);
  assert.deepEqual(kinds, ['custom.new']);
});

test('a TTL that is not a positive number is refused', async () => {
  await assert.rejects(pruneEvents(cat, 0), /positive number of hours/);
  await assert.rejects(pruneEvents(cat, Number.NaN), /positive number of hours/);
});

test('the server prunes at start with server.eventTtlHours', async () => {
  await seed([3, 2.1, 1.9, 0]);
  const srv = await startServer(lake, { plugins: [eventRoutesWith({ pruneEveryMs: 60_000 })] });
  try {
    const deadline = Date.now() + 3000;
    while ((await left()).length > 2 && Date.now() < deadline) await sleep(50);
    assert.deepEqual(await left(), [1.9, 0]);
  } finally {
    await srv.close();
  }
});

test('the server prunes periodically', async () => {
  const srv = await startServer(lake, { plugins: [eventRoutesWith({ pruneEveryMs: 100 })] });
  try {
    await sleep(200);
    // Rows that grow old while the server runs.
    await seed([5, 0]);
    const deadline = Date.now() + 3000;
    while ((await left()).length > 1 && Date.now() < deadline) await sleep(50);
    assert.deepEqual(await left(), [0]);
  } finally {
    await srv.close();
  }
});
