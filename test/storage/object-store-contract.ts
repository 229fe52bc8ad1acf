// The behaviour every ObjectStore must have. LocalStore runs it now; S3Store will run the same
// contract against a real S3-compatible server.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { openFits } from '../../src/fits/fits-file.ts';
import { StorageError } from '../../src/storage/errors.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { corpusBytes } from '../util/corpus.ts';

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

async function* chunks(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

export function objectStoreContract(name: string, make: () => Promise<ObjectStore>): void {
  test(`${name}: put a stream, head, get it back whole and by range, read FITS headers through source()`, async () => {
    const store = await make();
    const bytes = corpusBytes('fits/hst_acs_hrc_f555w.fits');
    const meta = await store.put('raw/2024/hst.fits', chunks(bytes, 7777), {
      contentType: 'application/fits',
      metadata: { night: '2024-01-02' },
    });
    assert.equal(meta.size, bytes.length);
    assert.equal(meta.sha256, createHash('sha256').update(bytes).digest('hex'));
    const head = await store.head('raw/2024/hst.fits');
    assert.equal(head?.contentType, 'application/fits');
    assert.deepEqual(head?.metadata, { night: '2024-01-02' });
    assert.deepEqual(await collect(await store.get('raw/2024/hst.fits')), bytes);
    assert.deepEqual(
      await collect(await store.get('raw/2024/hst.fits', { start: 100, end: 3000 })),
      bytes.subarray(100, 3000),
    );
    const src = await store.source('raw/2024/hst.fits');
    const fits = await openFits(src);
    assert.equal(fits.hdus.length, 2);
    await src.close?.();
    assert.equal(await store.head('raw/2024/none.fits'), undefined);
    await assert.rejects(
      store.get('raw/2024/none.fits'),
      (e: Error) => e instanceof StorageError && e.code === 'not-found',
    );
  });

  test(`${name}: list by prefix with a delimiter and stable pagination`, async () => {
    const store = await make();
    const keys = ['a/1.fits', 'a/2.fits', 'a/sub/3.fits', 'a-b.fits', 'b/4.fits', 'a/é.fits'];
    for (const k of keys) await store.put(k, new TextEncoder().encode(k));
    const top = await store.list({ delimiter: '/' });
    assert.deepEqual(
      top.objects.map((o) => o.key),
      ['a-b.fits'],
    );
    assert.deepEqual(top.prefixes, ['a/', 'b/']);
    const inA = await store.list({ prefix: 'a/', delimiter: '/' });
    assert.deepEqual(
      inA.objects.map((o) => o.key),
      ['a/1.fits', 'a/2.fits', 'a/é.fits'],
    );
    assert.deepEqual(inA.prefixes, ['a/sub/']);
    // Pages of 2 walk every key exactly once, in UTF-8 byte order.
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await store.list({ maxKeys: 2, ...(token ? { continuationToken: token } : {}) });
      assert.ok(page.objects.length <= 2);
      seen.push(...page.objects.map((o) => o.key));
      token = page.nextToken;
    } while (token);
    assert.deepEqual(
      seen,
      [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))),
    );
  });

  test(`${name}: copy keeps content and metadata; delete removes, and says when there was nothing`, async () => {
    const store = await make();
    await store.put('x/a.txt', new TextEncoder().encode('hello'), {
      contentType: 'text/plain',
      metadata: { k: 'v' },
    });
    const c = await store.copy('x/a.txt', 'y/b.txt');
    assert.equal(c.size, 5);
    assert.equal((await store.head('y/b.txt'))?.contentType, 'text/plain');
    assert.equal(await store.delete('x/a.txt'), true);
    assert.equal(await store.delete('x/a.txt'), false);
    assert.equal(await store.head('x/a.txt'), undefined);
    assert.deepEqual((await store.list({ prefix: 'x/' })).objects, []);
  });

  test(`${name}: keys are validated and normalised`, async () => {
    const store = await make();
    for (const bad of [
      '../etc/passwd',
      '/abs/path',
      'a/../b',
      'a//b',
      'nul\u0000byte',
      'back\\slash',
      '',
      'dir/',
      'x'.repeat(1100),
    ]) {
      await assert.rejects(
        store.put(bad, new Uint8Array(1)),
        (e: Error) => e instanceof StorageError && e.code === 'invalid-key',
        bad,
      );
    }
    // NFD and NFC spellings of the same name are one object.
    await store.put('caf\u0065\u0301.fits', new TextEncoder().encode('1'));
    assert.ok(await store.head('caf\u00e9.fits'));
  });

  test(`${name}: concurrent puts of one key leave one complete object`, async () => {
    const store = await make();
    const bodies = Array.from({ length: 8 }, (_, i) => new Uint8Array(200_000).fill(i + 1));
    await Promise.all(bodies.map((b) => store.put('race/one.bin', chunks(b, 4096))));
    const got = await collect(await store.get('race/one.bin'));
    assert.equal(got.length, 200_000);
    assert.ok(
      got.every((v) => v === got[0]),
      'no mix of two writers',
    );
    assert.equal((await store.head('race/one.bin'))?.sha256, createHash('sha256').update(got).digest('hex'));
  });
}
