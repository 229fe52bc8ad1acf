// `fitslake serve`, `user` and `token` as real processes (node --import tsx src/cli/run.ts …): the
// refusal to serve beyond loopback without accounts, accounts and tokens against a running server,
// /healthz and /metrics, and a graceful shutdown that lets an upload in flight finish.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createToken, listTokens, listUsers, saveUser } from '../../src/catalog/accounts.ts';
import { initLake } from '../../src/config/init.ts';
import { openLake } from '../../src/lake/lake.ts';

const RUN = join(import.meta.dirname, '../../src/cli/run.ts');
const ROOT = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'fitslake-serve-'));
initLake(dir);

interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
}
function cli(...args: string[]): Promise<Done> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', RUN, ...args, '--lake', dir],
      { cwd: ROOT, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

interface Serving {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function serve(...args: string[]): Promise<Serving> {
  const child = spawn(process.execPath, ['--import', 'tsx', RUN, 'serve', '--lake', dir, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out} ${err}`)), 60_000);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /fitslake serving http:\/\/([^\s]+):(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${m[2]}`);
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out} ${err}`)));
  });
  return { child, url, stdout: () => out, stderr: () => err, exited };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

test('serve --host 0.0.0.0 without accounts refuses to start, with the reason', async () => {
  const r = await cli('serve', '--host', '0.0.0.0', '--port', '0');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /refusing to serve on 0\.0\.0\.0 without accounts/);
  assert.match(r.stderr, /fitslake user add NAME --role admin/);
  assert.doesNotMatch(r.stdout, /fitslake serving/);
});

let srv: Serving;
let rootToken = '';

test('accounts and tokens from the CLI work against a running server', async () => {
  // The operator's own account comes from the library (fewer processes); the rest from the CLI.
  const lake = await openLake(dir);
  await saveUser(lake.catalog, 'root', ['admin']);
  rootToken = (await createToken(lake.catalog, 'root')).token;
  await lake.close();

  let r = await cli('user', 'add', 'rita', '--role', 'reader', '--group', 'g1');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /user rita: roles reader; groups g1/);
  // With accounts, serving beyond loopback is allowed (started while the CLI goes on).
  const serving = serve('--host', '0.0.0.0', '--port', '0', '--quiet');
  r = await cli('user', 'list');
  assert.match(r.stdout, /^rita\troles=reader\tgroups=g1$/m);
  assert.match(r.stdout, /^root\troles=admin\tgroups=$/m);
  r = await cli('token', 'create', 'rita', '--label', 'laptop');
  assert.equal(r.code, 0, r.stderr);
  const ritaToken = r.stdout.trim();
  assert.match(ritaToken, /^flk_[A-Za-z0-9_-]{40,}$/);
  assert.match(r.stderr, /shown only now/);
  r = await cli('token', 'list');
  assert.equal(r.code, 0);
  const prefix = ritaToken.slice(0, 10);
  assert.match(r.stdout, new RegExp(`^\\d+\t${prefix}…\trita\tlaptop\t`, 'm'));
  assert.ok(r.stdout.includes(`${rootToken.slice(0, 10)}…`), r.stdout);
  assert.ok(!r.stdout.includes(ritaToken) && !r.stdout.includes(rootToken), 'token list never shows a token');
  assert.ok(!r.stdout.includes(ritaToken.slice(0, 14)), 'nor more than its prefix');

  srv = await serving;
  assert.match(srv.stdout(), /^fitslake serving http:\/\/0\.0\.0\.0:\d+$/m);
  let h = await fetch(`${srv.url}/api/jobs`, { headers: bearer(rootToken) });
  assert.equal(h.status, 200, await h.text());
  h = await fetch(`${srv.url}/api/jobs`, { headers: bearer(ritaToken) });
  assert.equal(h.status, 403, 'the CLI token works: rita is known, only not a curator');
  await h.arrayBuffer();
  h = await fetch(`${srv.url}/api/jobs`);
  assert.equal(h.status, 401, 'no token: anonymous, not the loopback admin');
  await h.arrayBuffer();
  h = await fetch(`${srv.url}/api/collections`, { headers: bearer(ritaToken) });
  assert.equal(h.status, 200);
  await h.arrayBuffer();

  r = await cli('token', 'revoke', prefix);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /revoked 1 token/);
  h = await fetch(`${srv.url}/api/collections`, { headers: bearer(ritaToken) });
  assert.equal(h.status, 401, 'revoked');
  assert.equal(((await h.json()) as { error: { code: string } }).error.code, 'unauthenticated');

  r = await cli('user', 'rm', 'rita');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /removed user rita and its tokens/);
  const check = await openLake(dir);
  assert.deepEqual(
    (await listUsers(check.catalog)).map((u) => u.name),
    ['root'],
  );
  assert.deepEqual(
    (await listTokens(check.catalog)).map((t) => t.user),
    ['root'],
  );
  await check.close();
});

test('/healthz and /metrics of the running server', async () => {
  // A job in the queue, for the queue depth gauge.
  const put = await fetch(`${srv.url}/api/files/night/note.txt`, {
    method: 'PUT',
    headers: bearer(rootToken),
    body: 'not a FITS file',
  });
  assert.equal(put.status, 201, await put.text());
  for (let i = 0; i < 3; i++) await (await fetch(`${srv.url}/healthz`)).arrayBuffer();
  const h = await fetch(`${srv.url}/healthz`);
  assert.equal(h.status, 200);
  assert.deepEqual(await h.json(), { status: 'ok', catalog: 'sqlite' });
  const m = await fetch(`${srv.url}/metrics`);
  assert.equal(m.status, 200);
  assert.match(m.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await m.text();
  const healthz = /fitslake_http_requests_total\{method="GET",route="\/healthz",status="200"\} (\d+)/.exec(
    text,
  );
  assert.ok(healthz && Number(healthz[1]) >= 3, text.slice(0, 500));
  assert.match(text, /fitslake_http_requests_total\{method="GET",route="\/api\/jobs",status="401"\} 1/);
  assert.match(text, /^# TYPE fitslake_jobs gauge$/m);
  assert.match(text, /^fitslake_jobs\{kind="ingest",status="(queued|running|done|failed)"\} 1$/m);
  assert.match(text, /^fitslake_ingest_files_per_second \d/m);
});

test('SIGTERM mid-upload: the upload completes (201, stored), new connections are refused, exit 0', async () => {
  const size = 4 << 20;
  const chunk = 64 << 10;
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = (i * 7919) % 251;
  const key = 'night/slow-upload.bin';
  const port = Number(new URL(srv.url).port);
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const req = http.request({
    host: '127.0.0.1',
    port,
    method: 'PUT',
    path: `/api/files/${key}`,
    headers: {
      ...bearer(rootToken),
      'content-length': String(size),
      'content-type': 'application/octet-stream',
    },
    agent: false,
  });
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
  });
  const write = (b: Buffer) =>
    new Promise<void>((resolve, reject) => req.write(b, (e) => (e ? reject(e) : resolve())));

  let sent = 0;
  let signalled = 0;
  let refused = false;
  while (sent < size) {
    await write(body.subarray(sent, sent + chunk));
    sent += chunk;
    await pause(25);
    if (!signalled && sent >= size / 4) {
      srv.child.kill('SIGTERM');
      signalled = Date.now();
    }
    // While the upload goes on, new connections are refused once the server has begun to close.
    if (signalled && !refused && Date.now() - signalled > 300) {
      try {
        const r = await fetch(`${srv.url}/healthz`, { signal: AbortSignal.timeout(2000) });
        await r.arrayBuffer();
        // A connection accepted while close is starting is answered 503 (return503OnClosing).
        assert.equal(r.status, 503, 'no normal answer after SIGTERM');
      } catch (err) {
        assert.match(String((err as { cause?: { code?: string } }).cause?.code), /ECONNREFUSED|ECONNRESET/);
        refused = true;
      }
    }
  }
  req.end();
  const r = await response;
  assert.ok(signalled, 'the signal came mid-upload');
  assert.ok(refused, 'a new connection was refused while the upload was still running');
  assert.equal(r.status, 201, r.text);
  const stored = JSON.parse(r.text) as { key: string; size: number; sha256: string };
  assert.equal(stored.size, size);
  const sha = createHash('sha256').update(body).digest('hex');
  assert.equal(stored.sha256, sha);
  const code = await Promise.race([srv.exited, pause(20_000).then(() => 'timeout' as const)]);
  assert.equal(code, 0, `exit: ${code}; stderr: ${srv.stderr()}`);
  assert.ok(Date.now() - signalled < 20_000);
  assert.match(srv.stderr(), /stopping \(finishing requests and jobs in flight\)/);
  // The bytes are in the raw zone, whole.
  const path = join(dir, 'data', 'raw', key);
  assert.equal(statSync(path).size, size);
  assert.equal(createHash('sha256').update(readFileSync(path)).digest('hex'), sha);
});
