// GET /api/uploads/recent on both catalog engines: newest first, a corrupt file's failure reason,
// paging by cursor, the access rule applied in SQL, parked ingest jobs for operators, the TTL;
// and the event stream's replay on the same engine.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createToken, saveUser } from '../../../src/catalog/accounts.ts';
import { eventRoutesWith } from '../../../src/services/events/routes.ts';
import type { Catalog } from '../../../src/catalog/catalog.ts';
import type { RecentUpload } from '../../../src/services/events/uploads.ts';
import { ENGINES, useEngines } from '../../util/engines.ts';
import { startServer } from '../../util/server.ts';
import { arrive, lakeWith, SseClient, scienceFrames, sleep } from './helpers.ts';

const engines = useEngines(55461);
const frames = await scienceFrames(11);

// A FITS header that never ends: the reader must fail it with a reason, not hang or skip it.
const corrupt = Buffer.from(
  'SIMPLE  =                    T / broken'.padEnd(80) +
    'BITPIX  =                   16'.padEnd(80) +
    'NAXIS   =                    2'.padEnd(80),
);

for (const engine of ENGINES) {
  test(`${engine}: recent uploads, failures with their reason, paging, visibility, TTL`, async () => {
    const { cat } = await engines(engine);
    const lake = await lakeWith(cat, 'server:\n  eventTtlHours: 1\n');
    await saveUser(cat, 'olga', ['uploader']);
    await saveUser(cat, 'curt', ['curator']);
    await saveUser(cat, 'ada', ['admin']);
    const tok = {
      olga: (await createToken(cat, 'olga')).token,
      curt: (await createToken(cat, 'curt')).token,
      ada: (await createToken(cat, 'ada')).token,
    };
    const srv = await startServer(lake, { plugins: [eventRoutesWith({ pollMs: 100 })] });
    // Closed within the test: the engines' own after-hook stops PostgreSQL.
    try {
      await checks(lake, srv, cat, tok);
    } finally {
      await srv.close();
      await lake.close();
    }
  });
}

async function checks(
  lake: Awaited<ReturnType<typeof lakeWith>>,
  srv: { url: string },
  cat: Catalog,
  tok: Record<'olga' | 'curt' | 'ada', string>,
): Promise<void> {
  const keys = {
    a: `pub/${frames[0].name}`,
    b: `vault/${frames[1].name}`,
    broken: 'pub/broken-frame.fits',
    c: `embargo/${frames[2].name}`,
  };
  await arrive(lake, [{ key: keys.a, bytes: frames[0].bytes }]);
  await arrive(lake, [{ key: keys.b, bytes: frames[1].bytes }]);
  await arrive(lake, [{ key: keys.broken, bytes: corrupt }]);
  await arrive(lake, [{ key: keys.c, bytes: frames[2].bytes }]);

  const get = async (query: string, token?: string) => {
    const r = await fetch(`${srv.url}/api/uploads/recent${query}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    assert.equal(r.status, 200, await r.clone().text());
    return (await r.json()) as { items: RecentUpload[]; next: number | null };
  };

  // Anonymous: the public collection only, newest first, the failure with its reason.
  const anon = await get('');
  assert.deepEqual(
    anon.items.map((i) => [i.key, i.status]),
    [
      [keys.broken, 'failed'],
      [keys.a, 'ingested'],
    ],
  );
  const broken = anon.items[0];
  const row = await cat.db
    .selectFrom('files')
    .selectAll()
    .where('key', '=', keys.broken)
    .executeTakeFirstOrThrow();
  assert.equal(row.status, 'failed');
  assert.ok(broken.error && broken.error.length > 5, `a reason: ${broken.error}`);
  assert.equal(broken.error, row.error);
  assert.equal(broken.fileId, Number(row.id));
  assert.equal(broken.collection, 'pub');
  assert.equal(anon.items[1].kind, 'fits');
  assert.equal(anon.items[1].size, frames[0].bytes.length);
  assert.equal(typeof anon.items[1].observationId, 'number');

  // The owner sees her private and embargoed uploads too.
  const olga = await get('', tok.olga);
  assert.deepEqual(
    olga.items.map((i) => i.key),
    [keys.c, keys.broken, keys.b, keys.a],
  );
  assert.equal(olga.next, null);

  // Paging by cursor gives the same list, one at a time.
  const paged: string[] = [];
  let cursor: number | null = null;
  do {
    const page = await get(`?limit=1${cursor ? `&cursor=${cursor}` : ''}`, tok.olga);
    assert.ok(page.items.length <= 1);
    paged.push(...page.items.map((i) => i.key));
    cursor = page.next;
  } while (cursor !== null);
  assert.deepEqual(
    paged,
    olga.items.map((i) => i.key),
  );

  assert.deepEqual(
    (await get('?collection=vault', tok.olga)).items.map((i) => i.key),
    [keys.b],
  );
  assert.deepEqual((await get('?collection=vault')).items, [], 'a filter does not widen what one sees');

  // An ingest job given up on before any file row: for curators who see the collection.
  const ts = new Date().toISOString();
  for (const key of ['vault/lost.fits', 'pub/lost.fits'])
    await cat.db
      .insertInto('events')
      .values({
        kind: 'job.failed',
        payload: JSON.stringify({
          job: 9,
          kind: 'ingest',
          payload: { zone: 'raw', key },
          error: 'object vanished',
        }),
        created_at: ts,
      })
      .execute();
  const lost = (items: RecentUpload[]) => items.filter((i) => i.key.endsWith('lost.fits')).map((i) => i.key);
  assert.deepEqual(lost((await get('', tok.ada)).items), ['pub/lost.fits', 'vault/lost.fits']);
  assert.deepEqual(lost((await get('', tok.curt)).items), ['pub/lost.fits']);
  assert.deepEqual(lost((await get('', tok.olga)).items), []);
  assert.deepEqual(lost((await get('')).items), []);
  const parked = (await get('', tok.ada)).items[0];
  assert.deepEqual(
    { ...parked, id: 0, time: '' },
    {
      id: 0,
      time: '',
      status: 'failed',
      zone: 'raw',
      key: 'pub/lost.fits',
      collection: 'pub',
      fileId: null,
      kind: null,
      size: null,
      observationId: null,
      error: 'object vanished',
    },
  );

  // Older than the TTL (1 h): out of the log even before pruning removes it.
  await cat.db
    .updateTable('events')
    .set({ created_at: new Date(Date.now() - 2 * 3_600_000).toISOString() })
    .where('kind', '=', 'file.ingested')
    .where('payload', 'like', `%${frames[0].name}%`)
    .execute();
  assert.deepEqual(
    (await get('')).items.map((i) => i.key),
    [keys.broken],
  );

  const bad = await fetch(`${srv.url}/api/uploads/recent?limit=0`);
  assert.equal(bad.status, 400);

  // The stream on this engine: replay from the start, each caller its share.
  const url = `${srv.url}/api/events?since=0&kinds=file.ingested,ingest.failed`;
  const everyone = new SseClient(`${url}&access_token=${tok.olga}`);
  const nobody = new SseClient(url);
  try {
    await everyone.until((rs) => rs.length >= 4, 'four uploads');
    await nobody.until((rs) => rs.length >= 2, 'two public uploads');
    await sleep(300);
    assert.deepEqual(
      everyone.received.map((r) => [r.event, r.data.payload.key]),
      [
        ['file.ingested', keys.a],
        ['file.ingested', keys.b],
        ['ingest.failed', keys.broken],
        ['file.ingested', keys.c],
      ],
    );
    assert.deepEqual(
      nobody.received.map((r) => [r.event, r.data.payload.key]),
      [
        ['file.ingested', keys.a],
        ['ingest.failed', keys.broken],
      ],
    );
    assert.equal(nobody.received[1].data.payload.error, row.error);
  } finally {
    everyone.close();
    nobody.close();
  }
}
