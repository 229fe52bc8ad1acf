// `fitslake index s3://bucket/prefix` against a real S3-compatible server (OpenStack Swift with
// s3api, Debian's packages, scripts/s3-swift.sh), the index itself written to S3, the data read
// by the client from a served copy at another URL (--data-url-prefix).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { main } from '../../src/cli/main.ts';
import { openIndex } from '../../src/cloud/client.ts';
import { BufferSource } from '../../src/fits/byte-source.ts';
import { readCompressedImage } from '../../src/fits/compression/tiles.ts';
import { openFits } from '../../src/fits/fits-file.ts';
import { readRows } from '../../src/fits/table.ts';
import { CORPUS } from '../util/corpus.ts';
import { type Nginx, startNginx } from './nginx.ts';

const PORT = 18110;
const env = {
  ...process.env,
  S3_SWIFT_PORT: String(PORT),
  S3_SWIFT_OBJ_PORT: '16500',
  S3_SWIFT_MEMCACHE_PORT: '11511',
  S3_SWIFT_STATE: '/tmp/fitslake-s3-swift-cloud',
};
const endpoint = `http://127.0.0.1:${PORT}`;
const bucket = `cloud-${Date.now().toString(36)}`;
const FILES = ['synthetic/compressed_all.fits', 'synthetic/tables_alltypes.fits', 'fits/tdim.fits'];
let nginx: Nginx;
const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

const cli = async (...argv: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  const last = out[out.length - 1];
  return { code, out, err, summary: last?.startsWith('{') ? JSON.parse(last) : undefined };
};

before(async () => {
  execFileSync('bash', ['scripts/s3-swift.sh'], { env, stdio: 'inherit' });
  process.env.AWS_ACCESS_KEY_ID = 'test:tester';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  const s3 = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: 'test:tester', secretAccessKey: 'testing' },
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const f of FILES)
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: `survey/${f}`, Body: readFileSync(join(CORPUS, f)) }),
    );
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'survey/README.txt', Body: 'not FITS' }));
  nginx = await startNginx(CORPUS);
});

after(() => {
  nginx?.stop();
  process.env.AWS_ACCESS_KEY_ID = saved.id;
  process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
  if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
  if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
  execFileSync('bash', ['scripts/s3-swift-stop.sh'], {
    env: { ...env, S3_SWIFT_WIPE: '1' },
    stdio: 'inherit',
  });
});

test('index an S3 prefix in place, write the index to S3, read sections from the served copy', async () => {
  const out = `s3://${bucket}/indexes/survey.parquet`;
  const r = await cli(
    'index',
    `s3://${bucket}/survey/`,
    '--endpoint',
    endpoint,
    '--out',
    out,
    '--data-url-prefix',
    nginx.url,
    '--json',
  );
  assert.equal(r.code, 0, r.err.join('\n'));
  assert.deepEqual([r.summary.files, r.summary.indexed], [3, 3]);

  const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true });
  const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'indexes/survey.parquet' }));
  const index = await openIndex(await obj.Body!.transformToByteArray());
  assert.deepEqual(index.files.map((f) => f.path).sort(), [...FILES].sort());
  for (const f of index.files) {
    assert.equal(f.url, `${nginx.url}/${f.path}`);
    assert.match(f.etag ?? '', /^[0-9a-f]{32}$/, 'the S3 ETag');
  }

  // Sections of every tile-compressed image equal a full local read.
  const file = index.file('synthetic/compressed_all.fits');
  const local = new BufferSource(new Uint8Array(readFileSync(join(CORPUS, file.path))));
  const hdus = (await openFits(local)).hdus;
  let checked = 0;
  for (const h of file.hdus.filter((x) => x.kind === 'compressed-image' && x.shape.length === 2)) {
    let full: Awaited<ReturnType<typeof readCompressedImage>>;
    try {
      full = await readCompressedImage(local, hdus[h.index]);
    } catch {
      continue; // HCOMPRESS_1 is refused by both
    }
    const [nx, ny] = h.shape;
    const sec = await h.section([
      { start: 3, stop: nx - 2 },
      { start: 5, stop: ny - 1, step: 2 },
    ]);
    const want: unknown[] = [];
    for (let y = 5; y < ny - 1; y += 2) for (let x = 3; x < nx - 2; x++) want.push(full.data[x + nx * y]);
    assert.deepEqual(Array.from(sec.data as ArrayLike<unknown>), want, `HDU ${h.index}`);
    checked++;
  }
  assert.ok(checked >= 4, `${checked} compressed HDUs`);
  const tab = index.file('synthetic/tables_alltypes.fits');
  const tlocal = new BufferSource(new Uint8Array(readFileSync(join(CORPUS, tab.path))));
  const th = (await openFits(tlocal)).hdus;
  for (const h of tab.hdus.filter((x) => x.kind === 'bintable' || x.kind === 'table'))
    assert.deepEqual(await h.rows(0, 3), await readRows(tlocal, th[h.index], 0, 3));

  // Re-indexing compares size + ETag from the listing: nothing is read again.
  const again = await cli(
    'index',
    `s3://${bucket}/survey/`,
    '--endpoint',
    endpoint,
    '--out',
    out,
    '--data-url-prefix',
    nginx.url,
    '--json',
  );
  assert.deepEqual([again.summary.indexed, again.summary.reused, again.summary.bytesRead], [0, 3, 0]);
});

test('without --data-url-prefix the URLs are the objects on the endpoint; --no-sign-request sends unsigned requests', async () => {
  const out = join('/tmp', `${bucket}-index.json`);
  const r = await cli('index', `s3://${bucket}/survey`, '--endpoint', endpoint, '--out', out, '--json');
  assert.equal(r.code, 0, r.err.join('\n'));
  const doc = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(doc.files[0].url, `${endpoint}/${bucket}/survey/${doc.files[0].path}`);
  // This bucket is private: the unsigned listing is refused (Swift answers 412 to requests without auth).
  const anon = await cli(
    'index',
    `s3://${bucket}/survey`,
    '--endpoint',
    endpoint,
    '--out',
    `${out}.2`,
    '--no-sign-request',
  );
  assert.equal(anon.code, 1);
  assert.match(anon.err.join('\n'), /HTTP 4\d\d/);
});
