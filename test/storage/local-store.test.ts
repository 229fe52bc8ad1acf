import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalStore } from '../../src/storage/local-store.ts';
import { objectStoreContract } from './object-store-contract.ts';

const fresh = async () => new LocalStore(mkdtempSync(join(tmpdir(), 'fitslake-store-')));

objectStoreContract('LocalStore', fresh);

test('LocalStore: objects are plain files; fitslake internals stay out of listings and keys', async () => {
  const store = await fresh();
  await store.put('raw/a.fits', new TextEncoder().encode('abc'));
  assert.deepEqual(readdirSync(join(store.root, 'raw')), ['a.fits']);
  assert.deepEqual(
    (await store.list()).objects.map((o) => o.key),
    ['raw/a.fits'],
  );
  await assert.rejects(store.put('.fitslake/meta/x', new Uint8Array(1)), /reserved/);
});

test('LocalStore: a file dropped in by hand, or a stale sidecar after a crash, is re-hashed', async () => {
  const store = await fresh();
  await store.put('k/f.txt', new TextEncoder().encode('old'));
  // Simulate a crash after the sidecar of a new version was written but before its data landed.
  writeFileSync(join(store.root, 'k', 'f.txt'), 'replaced by hand');
  const m = await store.head('k/f.txt');
  assert.equal(m?.size, 'replaced by hand'.length);
  assert.equal(
    m?.sha256,
    (await import('node:crypto')).createHash('sha256').update('replaced by hand').digest('hex'),
  );
  await mkdir(join(store.root, 'dropped'), { recursive: true });
  await writeFile(join(store.root, 'dropped', 'new.fits'), 'x');
  assert.equal((await store.head('dropped/new.fits'))?.size, 1);
});

test('LocalStore: recover() clears temporary files a crash left behind', async () => {
  const store = await fresh();
  await mkdir(join(store.root, '.fitslake', 'tmp'), { recursive: true });
  writeFileSync(join(store.root, '.fitslake', 'tmp', 'half-written'), 'partial');
  assert.equal(await store.recover(), 1);
  assert.deepEqual(readdirSync(join(store.root, '.fitslake', 'tmp')), []);
});

test('LocalStore: putSync stores what put does, replaces a key atomically and validates keys', async () => {
  const store = await fresh();
  const bytes = new TextEncoder().encode('SIMPLE  =                    T');
  const meta = store.putSync('raw/night/a.fits', bytes, {
    contentType: 'application/fits',
    metadata: { by: 'x' },
  });
  const expected = (await import('node:crypto')).createHash('sha256').update(bytes).digest('hex');
  assert.equal(meta.sha256, expected);
  assert.equal(meta.size, bytes.length);
  // What head() reads back is the sidecar putSync wrote (not a re-hash: the content type survives).
  const head = await store.head('raw/night/a.fits');
  assert.equal(head?.sha256, expected);
  assert.equal(head?.contentType, 'application/fits');
  assert.deepEqual(head?.metadata, { by: 'x' });
  const again = store.putSync('raw/night/a.fits', new TextEncoder().encode('v2'));
  assert.equal((await store.head('raw/night/a.fits'))?.sha256, again.sha256);
  assert.equal((await store.head('raw/night/a.fits'))?.contentType, undefined);
  // Nothing left behind in the temporary folder.
  assert.deepEqual(readdirSync(join(store.root, '.fitslake', 'tmp')), []);
  assert.throws(() => store.putSync('../escape', bytes), /key/);
  assert.throws(() => store.putSync('.fitslake/meta/x', bytes), /reserved/);
});
