import assert from 'node:assert/strict';
import { test } from 'node:test';
import { claim, complete, enqueue, fail } from '../../src/catalog/jobs.ts';
import { ENGINES, useEngines } from '../util/engines.ts';

const fresh = useEngines(55434);

for (const engine of ENGINES) {
  test(`${engine}: concurrent workers on separate connections never claim the same job`, async () => {
    const { cat, reopen } = await fresh(engine);
    await cat.migrate();
    const ids = new Set<number>();
    for (let i = 0; i < 60; i++) ids.add(await enqueue(cat, 'ingest', { key: `k${i}` }));
    const workers = Array.from({ length: 4 }, () => reopen());
    const claimed: number[] = [];
    await Promise.all(
      workers.map(async (w, wi) => {
        for (;;) {
          const jobs = await claim(w, `worker-${wi}`, ['ingest'], 3);
          if (!jobs.length) return;
          for (const j of jobs) {
            claimed.push(j.id);
            assert.equal(await complete(w, j, `worker-${wi}`), true);
          }
        }
      }),
    );
    assert.equal(claimed.length, 60, 'every job claimed once');
    assert.deepEqual(new Set(claimed), ids);
    for (const w of workers) await w.close();
    await cat.close();
  });

  test(`${engine}: an expired lease is taken over; the old owner can no longer complete it`, async () => {
    const { cat } = await fresh(engine);
    await cat.migrate();
    await enqueue(cat, 'ingest', { key: 'a' });
    const [first] = await claim(cat, 'dead-worker', ['ingest'], 1, 50);
    assert.deepEqual(await claim(cat, 'other', ['ingest']), [], 'leased jobs are not handed out');
    await new Promise((r) => setTimeout(r, 80));
    const [again] = await claim(cat, 'other', ['ingest']);
    assert.equal(again.id, first.id);
    assert.equal(again.attempts, 2);
    assert.equal(await complete(cat, first, 'dead-worker'), false);
    assert.equal(await complete(cat, again, 'other'), true);
    await cat.close();
  });

  test(`${engine}: failures back off, then park as failed with the error; permanent ones park at once`, async () => {
    const { cat } = await fresh(engine);
    await cat.migrate();
    await enqueue(cat, 'ingest', { key: 'flaky' }, { maxAttempts: 2 });
    let [j] = await claim(cat, 'w', ['ingest']);
    assert.equal(await fail(cat, j, 'w', 'S3 503', { backoffMs: 60 }), 'retry');
    assert.deepEqual(await claim(cat, 'w', ['ingest']), [], 'not before its backoff');
    await new Promise((r) => setTimeout(r, 80));
    [j] = await claim(cat, 'w', ['ingest']);
    assert.equal(await fail(cat, j, 'w', 'S3 503 again'), 'failed');
    await enqueue(cat, 'ingest', { key: 'corrupt' });
    const [k] = await claim(cat, 'w', ['ingest']);
    assert.equal(await fail(cat, k, 'w', 'not FITS', { retry: false }), 'failed');
    const rows = await cat.db
      .selectFrom('jobs')
      .select(['status', 'error', 'attempts'])
      .orderBy('id')
      .execute();
    assert.deepEqual(
      rows.map((r) => [r.status, r.error, Number(r.attempts)]),
      [
        ['failed', 'S3 503 again', 2],
        ['failed', 'not FITS', 1],
      ],
    );
    await cat.close();
  });
}
