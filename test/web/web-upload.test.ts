// Resumable uploads through the Upload page in a real browser (Debian's chromium driven by
// playwright-core) against a real server with an in-process ingest worker: a file above the page's
// resumable threshold goes by tus in chunks; the network drops (a PATCH aborted while the browser is
// offline, another aborted while online) and the upload goes on from the server's offset and ends
// ingested; a page reload mid-upload resumes the same upload when the file is chosen again.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page, Route } from 'playwright-core';
import { createToken, saveUser } from '../../src/catalog/accounts.ts';
import { encodeImageHdu } from '../../src/fits/write.ts';
import { Worker } from '../../src/ingest/worker.ts';
import { servicePlugins } from '../../src/services/index.ts';
import { startServer, tempLake } from '../util/server.ts';
import { ensureBuilt, launchBrowser, openPage } from './browser.ts';

ensureBuilt();

/** The page's threshold (src/web/upload.ts RESUMABLE_BYTES) and chunk size. */
const THRESHOLD = 8 * 1024 ** 2;
const CHUNK = 4 * 1024 ** 2;

const lake = await tempLake('collections:\n  night: { visibility: public }\n');
const srv = await startServer(lake, { plugins: servicePlugins, rateLimit: 0 });
await saveUser(lake.catalog, 'ulla', ['uploader']);
const token = (await createToken(lake.catalog, 'ulla')).token;
const stopWorker = new AbortController();
const worker = new Worker(lake).run({ signal: stopWorker.signal, concurrency: 1, pollMs: 100 });
const dir = mkdtempSync(join(tmpdir(), 'fitslake-web-tus-'));
let browser: Browser;

before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  stopWorker.abort();
  await worker.catch(() => {});
  await srv.close();
  await lake.close();
});

/** A real FITS image of 16 MiB and a bit: above the threshold, four chunks and a tail. */
function bigFits(name: string, seed: number): { path: string; bytes: Buffer } {
  const w = 2048;
  const data = new Float32Array(w * w);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761 + seed) % 65536) / 7;
  const bytes = Buffer.from(
    encodeImageHdu(
      data,
      [w, w],
      [
        ['DATE-OBS', '2022-08-01T03:04:05'],
        ['EXPTIME', 60],
        ['OBJECT', `BIG${seed}`],
        ['INSTRUME', 'CAM'],
      ],
    ),
  );
  assert.ok(bytes.length > THRESHOLD);
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { path, bytes };
}

const open = () => openPage(browser, { token });

async function uploadPage(page: Page, reload = false): Promise<void> {
  if (reload) await page.reload();
  else await page.goto(`${srv.url}/upload`);
  await page.waitForSelector('h1:text("Upload")');
  await page.waitForFunction(() => document.getElementById('main')?.dataset.live === 'open');
  await page.getByLabel('Collection', { exact: true }).fill('night');
  await page.getByLabel('Folder in the collection (optional)').fill('big');
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function catalogued(key: string) {
  return lake.catalog.db
    .selectFrom('files')
    .select(['status', 'sha256', 'size'])
    .where('zone', '=', 'raw')
    .where('key', '=', key)
    .where('current', '=', 1)
    .executeTakeFirst();
}

const rowOf = (page: Page, key: string) => page.locator(`table.uploads tr[data-key="${key}"]`);

const partials = () => readdirSync(join(lake.dir, '.fitslake', 'uploads'));

test('a large file goes by tus, survives the network dropping twice, and ends ingested', async () => {
  const { path, bytes } = bigFits('drop.fits', 1);
  const key = 'night/big/drop.fits';
  const { ctx, page, problems } = await open();
  await uploadPage(page);

  // The network: PATCH 2 dies while the browser is offline (back online 1.5 s later); PATCH 4
  // dies while online (the client retries by itself). Every request of the protocol is recorded.
  const seen: { method: string; offset: string | null; status: string }[] = [];
  let patches = 0;
  await page.route('**/api/uploads**', async (route: Route) => {
    const req = route.request();
    const entry = { method: req.method(), offset: req.headers()['upload-offset'] ?? null, status: 'sent' };
    seen.push(entry);
    if (req.method() === 'PATCH') {
      patches++;
      if (patches === 2) {
        entry.status = 'dropped offline';
        await ctx.setOffline(true);
        await route.abort('internetdisconnected');
        setTimeout(() => void ctx.setOffline(false), 1500);
        return;
      }
      if (patches === 4) {
        entry.status = 'dropped';
        await route.abort('connectionreset');
        return;
      }
    }
    await route.continue();
  });

  // Every text the row's state shows, as it changes.
  await page.evaluate(() => {
    const w = window as unknown as { states: string[] };
    w.states = [];
    new MutationObserver(() => {
      for (const td of Array.from(document.querySelectorAll('table.uploads td.state'))) {
        const t = td.textContent ?? '';
        if (w.states[w.states.length - 1] !== t) w.states.push(t);
      }
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await page.setInputFiles('#up-files', path);
  const row = page.locator(`table.uploads tr[data-key="${key}"]`);
  await row.waitFor();
  await page.waitForSelector(`table.uploads tr[data-key="${key}"][data-state="ingested"]`, {
    timeout: 60_000,
  });
  const states = await page.evaluate(() => (window as unknown as { states: string[] }).states);
  assert.deepEqual(
    states,
    [
      'Uploading…',
      'Offline — the upload resumes when the connection is back…',
      'Uploading (resumed)…',
      'Uploaded — waiting for ingest…',
      'Ingested — open observation',
    ],
    `the row said it waits for the connection while offline, then went on: ${JSON.stringify(seen)}`,
  );
  assert.equal(
    await row.locator('progress').evaluate((p) => (p as HTMLProgressElement).value),
    bytes.length,
    'the progress bar reached the file size',
  );
  assert.match((await row.locator('a').getAttribute('href')) ?? '', /^\/obs\/\d+$/);

  // The protocol as it happened: one creation, chunks from the server's offsets, a HEAD after each
  // drop asking where to go on, no chunk sent twice from 0.
  const methods = seen.map((s) => s.method);
  assert.equal(methods.filter((m) => m === 'POST').length, 1, `one creation: ${JSON.stringify(seen)}`);
  assert.ok(
    methods.filter((m) => m === 'HEAD').length >= 2,
    `a HEAD after each drop: ${JSON.stringify(seen)}`,
  );
  const sentOffsets = seen
    .filter((s) => s.method === 'PATCH' && s.status === 'sent')
    .map((s) => Number(s.offset));
  assert.deepEqual(
    sentOffsets,
    Array.from({ length: Math.ceil(bytes.length / CHUNK) }, (_, i) => i * CHUNK),
    'every chunk went once, in order, from where the server was',
  );

  const file = await catalogued(key);
  assert.deepEqual(
    { ...file, size: Number(file?.size) },
    { status: 'ingested', sha256: sha(bytes), size: bytes.length },
  );
  assert.deepEqual(partials(), [], 'no partial upload left on the server');
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('a reload mid-upload resumes the same upload when the file is chosen again', async () => {
  const { path, bytes } = bigFits('reload.fits', 2);
  const key = 'night/big/reload.fits';
  const { ctx, page, problems } = await open();
  await uploadPage(page);

  // The first visit: chunk 1 arrives, chunk 2 hangs until the page goes away.
  let patches = 0;
  let reloaded = false;
  let uploadUrl = '';
  const hanging = new Promise<void>((resolve) => {
    void page.route('**/api/uploads**', async (route: Route) => {
      const req = route.request();
      if (req.method() === 'POST' && !reloaded) {
        const res = await route.fetch();
        uploadUrl = res.headers().location ?? '';
        await route.fulfill({ response: res });
        return;
      }
      if (req.method() === 'PATCH' && !reloaded && ++patches === 2) {
        resolve();
        return; // never answered: the reload cancels it
      }
      await route.continue();
    });
  });
  await page.setInputFiles('#up-files', path);
  await hanging;
  assert.match(uploadUrl, /^\/api\/uploads\/[0-9a-f]{32}$/);
  const id = uploadUrl.split('/').pop() as string;
  assert.ok(partials().includes(id), 'the partial upload is on the server');

  // Reload; the same file chosen again: the page finds the upload and sends only the rest.
  reloaded = true;
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  const offsets: string[] = [];
  const creations: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/uploads')) {
      if (r.method() === 'PATCH') offsets.push(r.headers()['upload-offset'] ?? '');
      if (r.method() === 'POST') creations.push(r.url());
    }
  });
  await uploadPage(page, true);
  // What the server holds once the cancelled PATCH has ended (part of chunk 2 may have arrived).
  const partial = join(lake.dir, '.fitslake', 'uploads', id);
  let held = -1;
  for (let same = 0; same < 5; ) {
    const size = statSync(partial).size;
    same = size === held ? same + 1 : 0;
    held = size;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(held >= CHUNK && held < bytes.length, `the server holds chunk 1 at least (${held})`);
  await page.setInputFiles('#up-files', path);
  await page.waitForSelector(`table.uploads tr[data-key="${key}"][data-state="ingested"]`, {
    timeout: 60_000,
  });
  assert.deepEqual(creations, [], 'no new upload was created');
  assert.equal(offsets[0], String(held), `resumed at the server's offset: ${offsets.join(', ')}`);
  assert.ok((await rowOf(page, key).textContent())?.includes('Ingested'), 'the row shows the ingest outcome');
  const file = await catalogued(key);
  assert.deepEqual(
    { ...file, size: Number(file?.size) },
    { status: 'ingested', sha256: sha(bytes), size: bytes.length },
  );
  assert.deepEqual(partials(), [], 'no partial upload left on the server');
  assert.equal(
    await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('tus::')).length),
    0,
    'the finished upload is forgotten by the browser',
  );
  assert.deepEqual(problems, []);
  await ctx.close();
});
