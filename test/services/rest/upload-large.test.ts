// A 6 GiB upload streamed through a server in its own process, whose memory we watch: the body must
// flow from socket to disk without ever being held, and arrive whole (size and SHA-256), and its
// ingestion (a plain file by content) must not read it into memory either.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, test } from 'node:test';
import { initLake } from '../../../src/config/init.ts';
import { openLake } from '../../../src/lake/lake.ts';
import { servicePlugins } from '../../../src/services/index.ts';
import { restFiles } from '../../../src/services/rest/files.ts';

const SIZE = 6 * 1024 ** 3;
const KEY = 'big/sparse-6g.bin';
const RSS_LIMIT = 400 * 1024 ** 2;
/**
 * SHA-256 of 6 GiB of zero bytes, computed once with
 * `node -e "const h=require('crypto').createHash('sha256'),b=Buffer.alloc(1<<24);for(let i=0;i<384;i++)h.update(b);console.log(h.digest('hex'))"`
 * (hashing it here would cost the test ~10 s of CPU on every run).
 */
const ZEROS_SHA256 = '5c32c2b28999325bc5ad39d6530bcb46fbdf1f86375a991b7269764c50b0d109';

const work = mkdtempSync(join(tmpdir(), 'fitslake-large-'));
const lakeDir = join(work, 'lake');
const source = join(work, 'sparse.bin');
let child: ChildProcess | undefined;
after(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** Free bytes on the file system holding `dir` (df, as the brief of this test asks). */
function freeBytes(dir: string): number {
  const out = execFileSync('df', ['-Pk', dir], { encoding: 'utf8' }).trim().split('\n').pop()!;
  return Number(out.split(/\s+/)[3]) * 1024;
}

const rssOf = (pid: number) => {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
};

/**
 * Starts the server process: `fitslake serve` once the CLI has it, else the stand-in under
 * test/util. Resolves with its URL from the line it prints when listening.
 */
async function startChild(): Promise<{ url: string; proc: ChildProcess; how: string }> {
  // The real command once it mounts the file routes; until then the stand-in.
  const cli = servicePlugins.includes(restFiles);
  const args = cli
    ? ['--import', 'tsx', 'src/cli/run.ts', 'serve', '--lake', lakeDir, '--port', '0']
    : ['--import', 'tsx', 'test/util/serve-child.ts', '--lake', lakeDir, '--port', '0', '--worker'];
  const proc = spawn(process.execPath, args, {
    cwd: join(import.meta.dirname, '../../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (c) => {
    err += c;
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c) => {
      out += c;
      const m = /fitslake serving (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    proc.on('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${err}`)));
    setTimeout(() => reject(new Error(`server did not print its URL in 30 s: ${out} ${err}`)), 30_000);
  });
  return { url, proc, how: cli ? 'fitslake serve' : 'test/util/serve-child.ts' };
}

test('a 6 GiB sparse file uploads by PUT with flat server memory, whole and intact', {
  timeout: 600_000,
}, async (t) => {
  const free = freeBytes(tmpdir());
  if (free < SIZE + 2 * 1024 ** 3) {
    t.skip(`needs ${SIZE + 2 * 1024 ** 3} bytes free in ${tmpdir()}, has ${free}`);
    return;
  }
  initLake(lakeDir);
  writeFileSync(source, '');
  truncateSync(source, SIZE); // sparse: no disk used, reads give zeros
  const started = await startChild();
  const proc = started.proc;
  child = proc;
  const pid = proc.pid!;
  const baseline = rssOf(pid);
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssOf(pid));
  }, 50);
  const lake = await openLake(lakeDir);
  const upload = new AbortController();
  try {
    // Count what is sent (a sparse file reads as zeros, whose SHA-256 is precomputed above).
    let sentBytes = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        sentBytes += chunk.length;
        done(null, chunk);
      },
    });
    const t0 = Date.now();
    const { port } = new URL(started.url);
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'PUT',
          path: `/api/files/${KEY}`,
          headers: { 'content-length': SIZE, 'content-type': 'application/octet-stream' },
          signal: upload.signal,
        },
        (res) => {
          let body = '';
          res.on('data', (c) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      pipeline(createReadStream(source, { highWaterMark: 1 << 20 }), tap, req).catch(reject);
    });
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(reply.status, 201, reply.body);
    const out = JSON.parse(reply.body) as { key: string; size: number; sha256: string; job: number };
    const expected = ZEROS_SHA256;
    assert.equal(sentBytes, SIZE);
    assert.equal(out.size, SIZE, 'the stored object has every byte');
    assert.equal(out.sha256, expected, 'and the SHA-256 of what was sent');

    // The server's own worker ingests it (a plain file: read by its first block, never as a whole).
    const deadline = Date.now() + 20_000;
    let job: { status: string; error: string | null } | undefined;
    while (Date.now() < deadline) {
      job = await lake.catalog.db
        .selectFrom('jobs')
        .select(['status', 'error'])
        .where('id', '=', out.job)
        .executeTakeFirst();
      if (job?.status === 'done' || job?.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    clearInterval(sampler);
    assert.ok(job, 'the upload queued an ingest job');
    if (job.status === 'done') {
      const file = await lake.catalog.db
        .selectFrom('files')
        .select(['size', 'sha256', 'kind', 'status'])
        .where('key', '=', KEY)
        .executeTakeFirstOrThrow();
      assert.deepEqual(
        { ...file, size: Number(file.size) },
        { size: SIZE, sha256: expected, kind: 'plain', status: 'ingested' },
      );
    }
    const stored = await lake.zones.raw.head(KEY);
    assert.equal(stored?.size, SIZE);
    assert.equal(stored?.sha256, expected);
    t.diagnostic(
      `server: ${started.how}; 6 GiB PUT in ${seconds.toFixed(1)} s (${(SIZE / 1024 ** 2 / seconds).toFixed(0)} MiB/s); ` +
        `server RSS baseline ${(baseline / 1024 ** 2).toFixed(0)} MiB, peak ${(peak / 1024 ** 2).toFixed(0)} MiB; ingest job ${job.status}`,
    );
    assert.ok(peak < RSS_LIMIT, `server peak RSS ${(peak / 1024 ** 2).toFixed(0)} MiB stays under 400 MiB`);
    assert.ok(await lake.zones.raw.delete(KEY), 'the stored object is deleted afterwards');
  } finally {
    // Whatever failed, nothing may keep the test process alive: no sampler, no upload, no child.
    clearInterval(sampler);
    upload.abort();
    await lake.close();
    proc.kill('SIGTERM');
  }
});
