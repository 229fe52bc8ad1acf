// Files through the server when the lake lives in a real S3-compatible bucket (OpenStack Swift with
// s3api, started by scripts/s3-swift.sh): uploads stream into the bucket, downloads answer with a
// presigned redirect the client follows, and ?redirect=0 streams through the server with Range.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { encodeImageHdu } from '../../../src/fits/write.ts';
import { Worker } from '../../../src/ingest/worker.ts';
import type { Lake } from '../../../src/lake/lake.ts';
import { servicePlugins } from '../../../src/services/index.ts';
import { type RunningServer, startServer, tempLake } from '../../util/server.ts';

const PORT = 18100;
const swiftEnv = {
  ...process.env,
  S3_SWIFT_PORT: String(PORT),
  S3_SWIFT_OBJ_PORT: '16400',
  S3_SWIFT_MEMCACHE_PORT: '11411',
  S3_SWIFT_STATE: '/tmp/fitslake-s3-swift-files',
};
const endpoint = `http://127.0.0.1:${PORT}`;
const bucket = `files-${randomUUID().slice(0, 8)}`;
let lake: Lake;
let srv: RunningServer;

before(async () => {
  execFileSync('bash', ['scripts/s3-swift.sh'], { env: swiftEnv, stdio: 'inherit' });
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test:tester', secretAccessKey: 'testing' },
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  lake = await tempLake(
    ['storage:', '  kind: s3', '  s3:', `    endpoint: ${endpoint}`, `    bucket: ${bucket}`, ''].join('\n'),
    { FITSLAKE_S3_ACCESS_KEY_ID: 'test:tester', FITSLAKE_S3_SECRET_ACCESS_KEY: 'testing' },
  );
  srv = await startServer(lake, { plugins: servicePlugins });
});
after(async () => {
  await srv?.close();
  await lake?.close();
  execFileSync('bash', ['scripts/s3-swift-stop.sh'], {
    env: { ...swiftEnv, S3_SWIFT_WIPE: '1' },
    stdio: 'inherit',
  });
});

const frame = encodeImageHdu(
  new Int16Array(64 * 64).map((_, i) => i % 977),
  [64, 64],
  [
    ['OBJECT', 'M 31'],
    ['EXPTIME', 30],
  ],
);

test('an upload lands in the bucket, is ingested from it, and downloads by a presigned redirect', async () => {
  const key = 'survey/n1/m31.fits';
  const put = await fetch(`${srv.url}/api/files/${key}`, { method: 'PUT', body: Buffer.from(frame) });
  assert.equal(put.status, 201, await put.clone().text());
  const meta = (await put.json()) as { sha256: string; size: number };
  assert.equal(meta.size, frame.length);
  assert.equal(meta.sha256, createHash('sha256').update(frame).digest('hex'));
  // The object is really in the bucket, under the raw zone's prefix.
  assert.equal((await lake.zones.raw.head(key))?.size, frame.length);

  await new Worker(lake).run({ untilIdle: true });
  const file = await lake.catalog.db
    .selectFrom('files')
    .select(['status', 'kind'])
    .where('key', '=', key)
    .executeTakeFirstOrThrow();
  assert.deepEqual(file, { status: 'ingested', kind: 'fits' });

  const r = await fetch(`${srv.url}/api/files/${key}`, { redirect: 'manual' });
  assert.equal(r.status, 302);
  const location = r.headers.get('location') ?? '';
  assert.ok(location.startsWith(`${endpoint}/${bucket}/`), location);
  assert.match(location, /X-Amz-Signature=/);
  // The client follows it straight to the bucket; the bytes are the upload's, and the bucket answers
  // with the name and type the server would have sent (signed into the URL).
  const direct = await fetch(location);
  assert.equal(direct.status, 200);
  assert.equal(direct.headers.get('content-disposition'), 'attachment; filename="m31.fits"');
  assert.equal(direct.headers.get('content-type'), 'application/fits');
  assert.deepEqual(new Uint8Array(await direct.arrayBuffer()), frame);
});

test('?redirect=0 streams from the bucket through the server, with Range', async () => {
  const key = 'survey/n1/m31.fits';
  const r = await fetch(`${srv.url}/api/files/${key}?redirect=0`, { headers: { range: 'bytes=2880-2889' } });
  assert.equal(r.status, 206);
  assert.equal(r.headers.get('content-range'), `bytes 2880-2889/${frame.length}`);
  assert.deepEqual(new Uint8Array(await r.arrayBuffer()), frame.subarray(2880, 2890));
});
