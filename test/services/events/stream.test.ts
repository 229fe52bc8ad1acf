// GET /api/events over real HTTP with a real EventSource: files ingested by the real Worker arrive
// live, each caller gets only what it may see, Last-Event-ID replays exactly what was missed, kinds
// and collection filters, heartbeats, one poller for every connection, and nothing left behind
// when clients go or the server closes.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openCatalog } from '../../../src/catalog/catalog.ts';
import { eventRoutesWith } from '../../../src/services/events/routes.ts';
import { startServer, usersWithTokens } from '../../util/server.ts';
import { arrive, lakeWith, type Received, SseClient, scienceFrames, sleep, tmp } from './helpers.ts';

const cat = openCatalog({ kind: 'sqlite', path: join(tmp('fitslake-ev-cat-'), 'catalog.sqlite') });
const lake = await lakeWith(cat);
const db = cat.db;
// Accounts first: loopback is then no longer an implicit admin, anonymous is anonymous.
const tokens = await usersWithTokens(cat, {
  olga: ['uploader'],
  rita: ['reader'],
  curt: ['curator'],
  ada: ['admin'],
});
const plugin = eventRoutesWith({ pollMs: 100, heartbeatMs: 150 });
const srv = await startServer(lake, { plugins: [plugin] });
const frames = await scienceFrames();
assert.ok(frames.length >= 6, `the sample night has ${frames.length} science frames`);
const clients: SseClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  const closing = srv.close();
  // Sockets the HTTP client opened and never used would hold close up until Node's headers timeout.
  srv.app.server.closeAllConnections();
  await closing;
  await lake.close();
});

function client(query = '', as?: string, opts: { lastEventId?: number; extraKinds?: string[] } = {}) {
  const params = new URLSearchParams(query);
  if (as) params.set('access_token', tokens[as]);
  const c = new SseClient(`${srv.url}/api/events?${params}`, opts);
  clients.push(c);
  return c;
}
const keyOf = (r: Received) => r.data.payload.key;
const ingestedKeys = (rs: Received[]) => rs.filter((r) => r.event === 'file.ingested').map(keyOf);

/** Every event row after `since`, with the collection it is about (payload, else its observation). */
async function rowsAfter(since: number) {
  const rows = await db.selectFrom('events').selectAll().where('id', '>', since).orderBy('id').execute();
  const obs = new Map(
    (await db.selectFrom('observations').select(['id', 'obs_collection']).execute()).map((o) => [
      Number(o.id),
      o.obs_collection,
    ]),
  );
  return rows.map((r) => {
    const p = JSON.parse(r.payload) as { collection?: string; observationId?: number };
    return {
      id: Number(r.id),
      kind: r.kind,
      collection: p.collection ?? obs.get(p.observationId ?? -1) ?? null,
    };
  });
}

test('a file ingested while a client is connected arrives as file.ingested and observation.created', async () => {
  const anon = client();
  await anon.opened;
  const key = `pub/${frames[0].name}`;
  await arrive(lake, [{ key, bytes: frames[0].bytes }]);
  const landed = Date.now();
  await anon.until(
    (rs) =>
      ingestedKeys(rs).includes(key) &&
      rs.some((r) => r.event === 'observation.created' && r.data.payload.collection === 'pub'),
    'file.ingested and observation.created',
    3000,
  );
  assert.ok(Date.now() - landed < 2500, `arrived ${Date.now() - landed} ms after the commit`);
  const msg = anon.received.find((r) => r.event === 'file.ingested')!;
  const row = await db.selectFrom('events').selectAll().where('id', '=', msg.id).executeTakeFirstOrThrow();
  assert.equal(row.kind, 'file.ingested', 'id: is the event row id');
  assert.deepEqual(msg.data, {
    id: msg.id,
    kind: 'file.ingested',
    time: row.created_at,
    payload: JSON.parse(row.payload),
  });
  assert.equal(msg.data.payload.collection, 'pub');
  assert.equal(typeof msg.data.payload.fileId, 'number');
  anon.close();
});

let anonLastSeen = 0;

test('anonymous and readers get no event of a private collection or an embargoed observation; the owner does', async () => {
  const anon = client();
  const rita = client('', 'rita');
  const olga = client('', 'olga');
  await Promise.all([anon.opened, rita.opened, olga.opened]);
  const secret = `vault/${frames[1].name}`;
  const embargo = `embargo/${frames[2].name}`;
  const pub = `pub/${frames[3].name}`;
  // The public file last: once a client has it, it has been offered everything before it.
  await arrive(lake, [{ key: secret, bytes: frames[1].bytes }]);
  await arrive(lake, [{ key: embargo, bytes: frames[2].bytes }]);
  await arrive(lake, [{ key: pub, bytes: frames[3].bytes }]);
  const embargoed = await db
    .selectFrom('observations')
    .select(['id', 'public_date'])
    .where('obs_collection', '=', 'embargo')
    .executeTakeFirstOrThrow();
  assert.ok(embargoed.public_date! > new Date().toISOString(), 'the embargo collection embargoes');
  const hidden = new Set(
    (
      await db
        .selectFrom('observations')
        .select('id')
        .where('obs_collection', 'in', ['vault', 'embargo'])
        .execute()
    ).map((o) => Number(o.id)),
  );

  await olga.until(
    (rs) => [secret, embargo, pub].every((k) => ingestedKeys(rs).includes(k)),
    "olga's three files",
  );
  assert.ok(
    olga.received.some((r) => r.event === 'observation.created' && r.data.payload.collection === 'embargo'),
  );
  for (const c of [anon, rita]) {
    await c.until((rs) => ingestedKeys(rs).includes(pub), 'the public file');
    const leaked = c.received.filter(
      (r) =>
        r.data.payload.collection === 'vault' ||
        r.data.payload.collection === 'embargo' ||
        hidden.has(r.data.payload.observationId as number),
    );
    assert.deepEqual(leaked, [], 'nothing about the private or embargoed observations');
    assert.ok(
      c.received.some((r) => r.event === 'observation.created' && r.data.payload.collection === 'pub'),
    );
  }
  anonLastSeen = anon.received.at(-1)!.id;
  anon.close();
  rita.close();
  olga.close();
});

test('Last-Event-ID replays exactly the visible events missed while away, then goes live', async () => {
  assert.ok(anonLastSeen > 0);
  // While nobody listens: one private file, one public.
  await arrive(lake, [{ key: `vault/${frames[4].name}`, bytes: frames[4].bytes }]);
  await arrive(lake, [{ key: `pub/${frames[5].name}`, bytes: frames[5].bytes }]);
  const missed = await rowsAfter(anonLastSeen);
  const visible = missed.filter((r) => r.collection === 'pub' && r.kind !== 'job.failed').map((r) => r.id);
  assert.ok(visible.length > 0 && visible.length < missed.length, 'some missed events are private');

  const back = client('', undefined, { lastEventId: anonLastSeen });
  await back.until((rs) => rs.length >= visible.length, `${visible.length} replayed events`);
  await sleep(300);
  assert.deepEqual(
    back.received.map((r) => r.id),
    visible,
    'exactly the missed visible events, in order',
  );

  // The owner resuming from the same point gets every one of them.
  const olga = client('', 'olga', { lastEventId: anonLastSeen });
  const all = missed.filter((r) => r.kind !== 'job.failed').map((r) => r.id);
  await olga.until((rs) => rs.length >= all.length, `${all.length} replayed events`);
  assert.deepEqual(
    olga.received.map((r) => r.id),
    all,
  );

  // Then live: a new public event reaches the resumed client once.
  const pubObservation = Number(
    (
      await db
        .selectFrom('observations')
        .select('id')
        .where('obs_collection', '=', 'pub')
        .executeTakeFirstOrThrow()
    ).id,
  );
  await db
    .insertInto('events')
    .values({
      kind: 'object.deleted',
      payload: JSON.stringify({ zone: 'raw', key: 'pub/none.fits' }),
      created_at: new Date().toISOString(),
    })
    .execute();
  await db
    .insertInto('events')
    .values({
      kind: 'observation.completed',
      payload: JSON.stringify({
        collection: 'pub',
        obsId: 'x',
        observationId: pubObservation,
        status: 'complete',
      }),
      created_at: new Date().toISOString(),
    })
    .execute();
  await back.until((rs) => rs.some((r) => r.data.payload.obsId === 'x'), 'the live event');
  assert.equal(back.received.filter((r) => r.data.payload.obsId === 'x').length, 1);
  assert.ok(!back.received.some((r) => r.event === 'object.deleted'), 'deletions are for curators');
  back.close();
  olga.close();
});

test('?since= with kinds and collection filters', async () => {
  const rows = await rowsAfter(0);
  const want = rows.filter((r) => r.kind === 'observation.created').map((r) => r.id);
  const c = client('since=0&kinds=observation.created,no.such.kind', 'olga');
  await c.until((rs) => rs.length >= want.length, `${want.length} observation.created`);
  await sleep(200);
  assert.deepEqual(
    c.received.map((r) => r.id),
    want,
  );
  assert.ok(c.received.every((r) => r.event === 'observation.created'));

  const secretFiles = rows
    .filter((r) => r.kind === 'file.ingested' && r.collection === 'vault')
    .map((r) => r.id);
  assert.equal(secretFiles.length, 2);
  const s = client('since=0&kinds=file.ingested&collection=vault', 'olga');
  await s.until((rs) => rs.length >= secretFiles.length, 'the secret files');
  await sleep(200);
  assert.deepEqual(
    s.received.map((r) => r.id),
    secretFiles,
  );
  c.close();
  s.close();

  const bad = await fetch(`${srv.url}/api/events?kinds=a%0Ab`);
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: { message: string } }).error.message, /kinds must be/);
  const badId = await fetch(`${srv.url}/api/events`, { headers: { 'last-event-id': 'abc' } });
  assert.equal(badId.status, 400);
});

test('job failures, deletions and unknown kinds follow the documented rules', async () => {
  const before = Number(
    (
      await db
        .selectFrom('events')
        .select((eb) => eb.fn.max('id').as('m'))
        .executeTakeFirst()
    )?.m ?? 0,
  );
  const as = { anon: client('', undefined, { extraKinds: ['custom.thing'] }) } as Record<string, SseClient>;
  for (const name of ['rita', 'olga', 'curt', 'ada'])
    as[name] = client('', name, { extraKinds: ['custom.thing'] });
  await Promise.all(Object.values(as).map((c) => c.opened));
  const events: [string, object][] = [
    ['job.failed', { job: 1, kind: 'ingest', payload: { zone: 'raw', key: 'vault/gone.fits' }, error: 'e1' }],
    ['job.failed', { job: 2, kind: 'ingest', payload: { zone: 'raw', key: 'pub/gone.fits' }, error: 'e2' }],
    ['object.expired', { zone: 'raw', key: 'vault/old.fits', collection: 'vault' }],
    ['object.expired', { zone: 'raw', key: 'pub/old.fits', collection: 'pub' }],
    ['custom.thing', { collection: 'vault', n: 5 }],
    ['custom.thing', { n: 6 }],
    ['custom.thing', { collection: 'pub', n: 7 }],
  ];
  const ts = new Date().toISOString();
  for (const [kind, payload] of events)
    await db
      .insertInto('events')
      .values({ kind, payload: JSON.stringify(payload), created_at: ts })
      .execute();
  const label = (r: Received) =>
    r.event === 'job.failed'
      ? `job:${r.data.payload.error}`
      : r.event === 'object.expired'
        ? `exp:${r.data.payload.collection}`
        : `c${r.data.payload.n}`;
  const expected: Record<string, string[]> = {
    anon: ['c7'],
    rita: ['c7'],
    // The owner of the private collection sees its events, but job and lifecycle internals need curator.
    olga: ['c5', 'c7'],
    // A curator sees operations where the collection is visible to it.
    curt: ['job:e2', 'exp:pub', 'c7'],
    ada: ['job:e1', 'job:e2', 'exp:vault', 'exp:pub', 'c5', 'c6', 'c7'],
  };
  for (const [name, c] of Object.entries(as)) {
    // The last event (c7) is visible to all: once it is in, every earlier one was judged.
    await c.until((rs) => rs.some((r) => r.id > before && r.data.payload.n === 7), `${name}: the last event`);
    assert.deepEqual(c.received.filter((r) => r.id > before).map(label), expected[name], name);
    c.close();
  }
});

test('text/event-stream framing and heartbeats over plain fetch', async () => {
  const ac = new AbortController();
  const r = await fetch(`${srv.url}/api/events?since=0&kinds=file.ingested&access_token=${tokens.ada}`, {
    signal: ac.signal,
  });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
  assert.equal(r.headers.get('cache-control'), 'no-cache, no-transform');
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff', 'security headers on the stream too');
  const reader = r.body!.getReader();
  let text = '';
  const deadline = Date.now() + 3000;
  while (!text.includes(': keep-alive') && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString('utf8');
  }
  ac.abort();
  assert.match(text, /^retry: \d+\n/);
  assert.match(text, /\n\n: keep-alive\n\n/, 'a heartbeat comment');
  assert.match(
    text,
    /id: \d+\nevent: file\.ingested\ndata: \{"id":\d+,"kind":"file\.ingested","time":"[^"]+","payload":\{/,
  );
});

test('one poller serves every connection; clients leaving release everything', async () => {
  await sleep(300);
  const idle = plugin.stats();
  assert.deepEqual(
    idle,
    { ...idle, streams: 0, subscribers: 0, polling: false },
    'nothing left from earlier tests',
  );
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const timersBefore = timers();

  const many = [client(), client('', 'olga'), client('', 'ada'), client('kinds=preview.ready')];
  await Promise.all(many.map((c) => c.opened));
  await sleep(100);
  assert.equal(plugin.stats().streams, 4);
  assert.equal(plugin.stats().subscribers, 4);
  assert.ok(timers() > timersBefore, 'connections hold their heartbeat timers');
  const p0 = plugin.stats().polls;
  await sleep(1000);
  const polls = plugin.stats().polls - p0;
  // pollMs is 100: about 10 polls a second for all four, not 40.
  assert.ok(polls >= 5 && polls <= 13, `${polls} polls in a second for four connections`);

  for (const c of many) c.close();
  const deadline = Date.now() + 3000;
  while (plugin.stats().streams > 0 && Date.now() < deadline) await sleep(50);
  assert.deepEqual(plugin.stats(), { ...plugin.stats(), streams: 0, subscribers: 0, polling: false });
  const pollsAfter = plugin.stats().polls;
  await sleep(400);
  assert.equal(plugin.stats().polls, pollsAfter, 'no polling without listeners');
  assert.ok(timers() <= timersBefore, `timers back to ${timersBefore} (now ${timers()})`);
});

test('closing the server ends open streams instead of waiting for them', async () => {
  // A server of its own: sockets that test clients opened and left earlier are not the point here.
  const own = eventRoutesWith({ pollMs: 100 });
  const server = await startServer(lake, { plugins: [own] });
  const r = await fetch(`${server.url}/api/events?access_token=${tokens.ada}`);
  const reader = r.body!.getReader();
  await reader.read();
  assert.equal(own.stats().streams, 1);
  const t0 = Date.now();
  const closing = server.close();
  // The server ends the stream: the client sees its end at once.
  for (;;) if ((await reader.read()).done) break;
  assert.ok(Date.now() - t0 < 2000, `stream ended after ${Date.now() - t0} ms`);
  await Promise.race([
    closing,
    sleep(5000).then(() => {
      throw new Error('server close hung on an open event stream');
    }),
  ]);
  assert.deepEqual(own.stats(), { streams: 0, subscribers: 0, polling: false, polls: 0 });
});
