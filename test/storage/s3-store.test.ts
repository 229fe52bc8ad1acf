// S3Store against a real S3-compatible server (OpenStack Swift with s3api, Debian's packages),
// started on loopback by scripts/s3-swift.sh.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { S3Store } from '../../src/storage/s3-store.ts';
import { objectStoreContract } from './object-store-contract.ts';

const PORT = 18080;
const env = {
  ...process.env,
  S3_SWIFT_PORT: String(PORT),
  S3_SWIFT_OBJ_PORT: '16200',
  S3_SWIFT_STATE: '/tmp/fitslake-s3-swift',
};
const endpoint = `http://127.0.0.1:${PORT}`;
const credentials = { accessKeyId: 'test:tester', secretAccessKey: 'testing' };

before(() => {
  execFileSync('bash', ['scripts/s3-swift.sh'], { env, stdio: 'inherit' });
});
after(() => {
  execFileSync('bash', ['scripts/s3-swift-stop.sh'], {
    env: { ...env, S3_SWIFT_WIPE: '1' },
    stdio: 'inherit',
  });
});

async function fresh(prefix?: string): Promise<S3Store> {
  const bucket = `t-${randomUUID().slice(0, 12)}`;
  const store = new S3Store({
    bucket,
    endpoint,
    credentials,
    forcePathStyle: true,
    partSize: 5 << 20,
    ...(prefix ? { prefix } : {}),
  });
  await store.client.send(new CreateBucketCommand({ Bucket: bucket }));
  return store;
}

objectStoreContract('S3Store', () => fresh());
objectStoreContract('S3Store under a zone prefix', () => fresh('raw/'));

test('S3Store: a 12 MB object goes up as a multipart upload and comes back intact, with its SHA-256', async () => {
  const store = await fresh();
  const big = new Uint8Array(12 << 20);
  for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
  async function* parts() {
    for (let i = 0; i < big.length; i += 1 << 20) yield big.subarray(i, i + (1 << 20));
  }
  const meta = await store.put('big/cube.fits', parts());
  assert.equal(meta.size, big.length);
  assert.equal(meta.sha256, (await import('node:crypto')).createHash('sha256').update(big).digest('hex'));
  const src = await store.source('big/cube.fits');
  assert.deepEqual(await src.read(5 << 20, 100), big.subarray(5 << 20, (5 << 20) + 100));
});

test('S3Store: presigned GET and PUT URLs work with plain HTTP', async () => {
  const store = await fresh();
  const put = await store.presign('p/x.txt', 'put', 300);
  const r = await fetch(put, { method: 'PUT', body: 'presigned!' });
  assert.equal(r.status, 200);
  const get = await store.presign('p/x.txt', 'get', 300);
  assert.equal(await (await fetch(get)).text(), 'presigned!');
});
