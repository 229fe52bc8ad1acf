// `fitslake ingest DIR --watch`: files that appear in a watched folder (also one written slowly, in
// pieces) are copied in and catalogued while the command runs; SIGTERM stops it cleanly.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeImageHdu } from '../../src/fits/write.ts';
import { openLake } from '../../src/lake/lake.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const frame = (object: string) => encodeImageHdu(new Int16Array(64), [8, 8], [['OBJECT', object]]);

test('a watched folder feeds the lake until the command is stopped', async () => {
  const lake = mkdtempSync(join(tmpdir(), 'fitslake-watch-'));
  const inbox = mkdtempSync(join(tmpdir(), 'fitslake-inbox-'));
  writeFileSync(join(inbox, 'before.fits'), frame('present at start'));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/run.ts', 'ingest', inbox, '--watch', '--collection', 'w', '--lake', lake],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FITSLAKE_INGEST_POLL_SECONDS: '0.5' } },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('close', r));
  const l = await (async () => {
    for (let i = 0; i < 100 && !out.includes('watching'); i++) await sleep(100);
    return openLake(lake);
  })();
  try {
    writeFileSync(join(inbox, 'new.fits'), frame('arrived later'));
    // Written in two halves with a pause: only the whole file may be taken.
    const slow = frame('written slowly');
    writeFileSync(join(inbox, 'slow.fits'), slow.subarray(0, 2880));
    await sleep(300);
    appendFileSync(join(inbox, 'slow.fits'), slow.subarray(2880));
    const deadline = Date.now() + 30_000;
    let rows: { key: string; status: string; sha256: string }[] = [];
    while (Date.now() < deadline) {
      rows = await l.catalog.db
        .selectFrom('files')
        .select(['key', 'status', 'sha256'])
        .where('zone', '=', 'raw')
        .where('current', '=', 1)
        .execute();
      if (rows.length === 3 && rows.every((r) => r.status === 'ingested')) break;
      await sleep(200);
    }
    assert.deepEqual(rows.map((r) => r.key).sort(), ['w/before.fits', 'w/new.fits', 'w/slow.fits'], out);
    assert.ok(
      rows.every((r) => r.status === 'ingested'),
      JSON.stringify(rows),
    );
    const versions = await l.catalog.db
      .selectFrom('files')
      .select('key')
      .where('key', '=', 'w/slow.fits')
      .execute();
    assert.equal(versions.length, 1, 'the half-written file was never catalogued');
    const obs = await l.catalog.db.selectFrom('observations').select('target_name').execute();
    assert.deepEqual(obs.map((o) => o.target_name).sort(), [
      'arrived later',
      'present at start',
      'written slowly',
    ]);
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, out);
    await l.close();
  }
});
