import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { constants, deflateRawSync, gunzipSync, gzipSync, inflateRawSync } from 'node:zlib';
import { BufferSource } from '../../src/fits/byte-source.ts';
import {
  buildGzipIndex,
  decodeGzipIndex,
  encodeGzipIndex,
  type GzipIndex,
  GzipIndexer,
  gunzip,
  inflateFromCheckpoint,
  inflateRaw,
  planGzipRead,
  readGzipRange,
  zlibStreamAt,
} from '../../src/fits/compression/inflate-index.ts';
import { FitsError } from '../../src/fits/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'fitslake-inflate-index-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

let seed = 987654321;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 2 ** 32;
};

/** Incompressible bytes (xorshift32). */
function noise(n: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = 2463534242;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x >>> 24;
  }
  return b;
}

/** FITS-like bytes: a text header, then smooth 16-bit data with noisy low bits and some runs. */
function sample(n: number): Uint8Array {
  const b = new Uint8Array(n);
  const head = new TextEncoder().encode(`SIMPLE  =                    T${' '.repeat(50)}`.repeat(36));
  b.set(head.subarray(0, Math.min(n, head.length)));
  for (let i = head.length; i < n; i += 2) {
    const v =
      1000 + Math.round(300 * Math.sin(i / 5000) + (rnd() - 0.5) * 16) + (i % 100000 < 3000 ? 7000 : 0);
    b[i] = v >> 8;
    if (i + 1 < n) b[i + 1] = v & 0xff;
  }
  b.fill(0, Math.floor(n * 0.6), Math.floor(n * 0.6) + 200000); // a long zero run (long matches)
  // incompressible stretches: zlib stores them (stored blocks at odd bit offsets among Huffman ones)
  for (const at of [0.3, 0.8]) b.set(noise(150000), Math.floor(n * at));
  return b;
}

const eq = (a: Uint8Array, b: Uint8Array, what: string) => {
  assert.equal(a.length, b.length, `${what}: length`);
  assert.ok(Buffer.from(a).equals(Buffer.from(b)), `${what}: bytes differ`);
};

/** Every checkpoint, plus `n` random ranges (some crossing checkpoints), both ways (own inflate, zlib). */
function checkIndex(gz: Uint8Array, plain: Uint8Array, index: GzipIndex, n: number, what: string) {
  assert.equal(index.size, plain.length, `${what}: size`);
  assert.equal(index.compressedSize, gz.length);
  assert.equal(index.checkpoints[0].out, 0);
  for (let i = 1; i < index.checkpoints.length; i++) {
    const [a, b] = [index.checkpoints[i - 1], index.checkpoints[i]];
    assert.ok(b.out - a.out >= index.span && b.bit > a.bit, `${what}: checkpoint ${i} order`);
  }
  for (const [i, cp] of index.checkpoints.entries()) {
    const end = Math.min(plain.length, cp.out + 70000);
    const plan = planGzipRead(index, cp.out, end);
    assert.equal(plan.checkpoint, i);
    const got = inflateFromCheckpoint(cp, gz.subarray(plan.from, plan.to), plan.from, cp.out, end);
    eq(got, plain.subarray(cp.out, end), `${what}: from checkpoint ${i}`);
    // Node's zlib from the same place, the window as preset dictionary
    const z = inflateRawSync(zlibStreamAt(gz.subarray(plan.from, plan.to), plan.from, cp.bit), {
      dictionary: cp.window,
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    eq(z.subarray(0, end - cp.out), plain.subarray(cp.out, end), `${what}: zlib from checkpoint ${i}`);
  }
  for (let k = 0; k < n; k++) {
    const start = Math.floor(rnd() * plain.length);
    const len = Math.min(plain.length - start, Math.floor(rnd() * (k % 3 === 0 ? 3 * index.span : 5000)) + 1);
    const plan = planGzipRead(index, start, start + len);
    const cp = index.checkpoints[plan.checkpoint];
    const got = inflateFromCheckpoint(cp, gz.subarray(plan.from, plan.to), plan.from, start, start + len);
    eq(got, plain.subarray(start, start + len), `${what}: range ${start}+${len}`);
  }
}

/** The type (0 stored, 1 fixed, 2 dynamic) of every deflate block the index builder saw. */
function blockTypes(gz: Uint8Array): Set<number> {
  const index = buildGzipIndex(gz, 1); // a checkpoint at every block
  return new Set(
    index.checkpoints.map((c) => ((gz[c.bit >> 3] | (gz[(c.bit >> 3) + 1] << 8)) >> ((c.bit & 7) + 1)) & 3),
  );
}

test('corpus .fits.gz files: every checkpoint and random ranges match gunzipSync', () => {
  const root = join(import.meta.dirname, '../fixtures/corpus');
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => /\.gz$/.test(f));
  assert.ok(files.length >= 5, 'corpus gzip files');
  for (const f of files) {
    const gz = readFileSync(join(root, f));
    const plain = gunzipSync(gz);
    eq(gunzip(gz), plain, f);
    checkIndex(gz, plain, buildGzipIndex(gz, 4096), 30, f);
  }
});

const big = sample(6_000_000);

for (const level of [1, 6, 9]) {
  test(`zlib level ${level}, 6 MB: checkpoints every 1 MiB and 256 KiB`, () => {
    const gz = gzipSync(big, { level });
    eq(gunzip(gz), big, `level ${level}`);
    const index = buildGzipIndex(gz);
    assert.ok(index.checkpoints.length >= 4, `level ${level}: ${index.checkpoints.length} checkpoints`);
    checkIndex(gz, big, index, 40, `level ${level}`);
    checkIndex(gz, big, buildGzipIndex(gz, 1 << 18), 20, `level ${level}, 256 KiB`);
    assert.ok(blockTypes(gz).has(2), 'dynamic blocks');
    assert.ok(blockTypes(gz).has(0), 'stored blocks');
  });
}

test('gzip(1) command line file (FNAME header field)', { skip: !has('gzip') }, () => {
  const path = join(dir, 'big.fits');
  writeFileSync(path, big);
  const r = spawnSync('gzip', ['-9', '-k', '-f', path]);
  assert.equal(r.status, 0, String(r.stderr));
  const gz = readFileSync(`${path}.gz`);
  assert.ok(gz[3] & 8, 'FNAME set');
  checkIndex(gz, big, buildGzipIndex(gz), 40, 'gzip -9');
});

test('stored blocks (level 0) and fixed-Huffman blocks (tiny input)', () => {
  const plain = big.subarray(0, 400000);
  const gz0 = gzipSync(plain, { level: 0 });
  assert.deepEqual([...blockTypes(gz0)], [0]);
  checkIndex(gz0, plain, buildGzipIndex(gz0, 50000), 40, 'level 0');
  const tiny = new TextEncoder().encode('SIMPLE  =                    T / tiny tiny tiny tiny');
  const gz1 = gzipSync(tiny);
  assert.deepEqual([...blockTypes(gz1)], [1]);
  checkIndex(gz1, tiny, buildGzipIndex(gz1, 10), 20, 'fixed');
  // stored blocks after Huffman ones start at odd bit offsets: a checkpoint at every block
  const mixed = Buffer.concat([big.subarray(0, 100000), noise(200000), big.subarray(0, 50000)]);
  const gz2 = gzipSync(mixed, { level: 6 });
  assert.deepEqual([...blockTypes(gz2)].sort(), [0, 2]);
  const every = buildGzipIndex(gz2, 1);
  assert.ok(every.checkpoints.some((c) => c.bit % 8 !== 0 && c.out > 100000));
  checkIndex(gz2, mixed, every, 20, 'mixed');
  const empty = gzipSync(new Uint8Array(0));
  eq(gunzip(empty), new Uint8Array(0), 'empty');
  assert.equal(buildGzipIndex(empty).size, 0);
});

test('multi-member file, extra header fields, reads across members', () => {
  const a = big.subarray(0, 1_500_000);
  const b = big.subarray(1_500_000, 1_600_000);
  const c = big.subarray(1_600_000, 3_000_000);
  // member 2 with FEXTRA, FNAME, FCOMMENT and FHCRC
  const m2 = gzipSync(b, { level: 0 });
  const extra = [4, 0, 65, 66, 2, 0, 120, 121];
  const name = [...new TextEncoder().encode('b.fits'), 0];
  const comment = [...new TextEncoder().encode('a comment'), 0];
  const head = [...m2.subarray(0, 10), ...extra, ...name, ...comment];
  head[3] = 4 | 8 | 16 | 2;
  const crc = gunzipCrc(new Uint8Array(head));
  const m2x = Buffer.concat([
    Buffer.from(head),
    Buffer.from([crc & 0xff, (crc >> 8) & 0xff]),
    m2.subarray(10),
  ]);
  const gz = Buffer.concat([gzipSync(a, { level: 6 }), m2x, gzipSync(c, { level: 9 })]);
  const plain = Buffer.concat([a, b, c]);
  eq(gunzipSync(gz), plain, 'zlib agrees');
  const index = buildGzipIndex(gz, 1 << 18);
  checkIndex(gz, plain, index, 40, 'multi-member');
  const across = inflateFromCheckpoint(index.checkpoints[5], gz, 0, 1_400_000, 1_700_000);
  eq(across, plain.subarray(1_400_000, 1_700_000), 'across members');
  // a window never reaches back into the previous member
  for (const cp of index.checkpoints) {
    const memberStart = cp.out >= 1_600_000 ? 1_600_000 : cp.out >= 1_500_000 ? 1_500_000 : 0;
    assert.equal(cp.window.length, Math.min(32768, cp.out - memberStart));
  }
  const first = buildGzipIndex(gz, 1_500_000).checkpoints[1];
  assert.deepEqual([first.out, first.window.length], [1_500_000, 0]);
});

function gunzipCrc(b: Uint8Array): number {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return ~c >>> 0;
}

test('streaming builder fed small chunks gives the same index; serialised index round-trips', async () => {
  const gz = gzipSync(big, { level: 6 });
  const whole = buildGzipIndex(gz);
  const ix = new GzipIndexer();
  for (let p = 0; p < gz.length; p += 777) ix.push(gz.subarray(p, p + 777));
  const streamed = ix.finish();
  assert.deepEqual(
    streamed.checkpoints.map((c) => [c.bit, c.out]),
    whole.checkpoints.map((c) => [c.bit, c.out]),
  );
  for (const [i, c] of streamed.checkpoints.entries())
    eq(c.window, whole.checkpoints[i].window, `window ${i}`);
  const packed = encodeGzipIndex(whole, (w) => deflateRawSync(w));
  const raw = encodeGzipIndex(whole);
  assert.ok(packed.length < raw.length, `${packed.length} < ${raw.length}`);
  const back = decodeGzipIndex(packed);
  assert.deepEqual(
    back.checkpoints.map((c) => [c.bit, c.out]),
    whole.checkpoints.map((c) => [c.bit, c.out]),
  );
  for (const [i, c] of back.checkpoints.entries()) eq(c.window, whole.checkpoints[i].window, `decoded ${i}`);
  // one range request from a byte source
  const src = new BufferSource(gz);
  const got = await readGzipRange(src, back, 3_000_000, 20000);
  eq(got, big.subarray(3_000_000, 3_020_000), 'readGzipRange');
  assert.equal(src.reads, 1);
  assert.ok(src.bytesRead < gz.length / 3, `read ${src.bytesRead} of ${gz.length}`);
  eq(inflateRaw(deflateRawSync(big.subarray(0, 100000))), big.subarray(0, 100000), 'inflateRaw');
});

test('corrupt and truncated input fail with a FitsError, never hang', () => {
  const plain = big.subarray(0, 300000);
  for (const level of [0, 1, 9]) {
    const gz = gzipSync(plain, { level });
    for (const cut of [5, 12, 20, 100, gz.length >> 1, gz.length - 9, gz.length - 1]) {
      assert.throws(() => buildGzipIndex(gz.subarray(0, cut)), FitsError, `level ${level} cut ${cut}`);
    }
    for (let k = 0; k < 60; k++) {
      const bad = Buffer.from(gz);
      const p = 10 + Math.floor(rnd() * (gz.length - 10));
      bad[p] ^= 1 << Math.floor(rnd() * 8);
      // caught by the deflate decoder or, at the latest, by the CRC-32 / length check — exactly when
      // zlib rejects it too (a rare flip leaves the output unchanged: both then accept it)
      let zlib: Uint8Array | undefined;
      try {
        zlib = gunzipSync(bad);
      } catch {}
      if (zlib) eq(gunzip(bad), zlib, `level ${level}, harmless flip at ${p}`);
      else assert.throws(() => buildGzipIndex(bad), FitsError, `level ${level}, bit flipped at ${p}`);
    }
    for (let k = 0; k < 30; k++) {
      const bad = Buffer.from(gz);
      const p = 10 + Math.floor(rnd() * (gz.length - 20));
      for (let i = 0; i < 8; i++) bad[p + i] = Math.floor(rnd() * 256);
      assert.throws(() => buildGzipIndex(bad), FitsError);
    }
  }
  // reading through an index over damaged bytes: data or a FitsError (no CRC mid-stream), no hang
  const gz = gzipSync(big, { level: 6 });
  const index = buildGzipIndex(gz, 1 << 18);
  for (let k = 0; k < 40; k++) {
    const bad = Buffer.from(gz);
    for (let i = 0; i < 4; i++) bad[Math.floor(rnd() * gz.length)] = Math.floor(rnd() * 256);
    const start = Math.floor(rnd() * (big.length - 100000));
    const plan = planGzipRead(index, start, start + 100000);
    try {
      inflateFromCheckpoint(
        index.checkpoints[plan.checkpoint],
        bad.subarray(plan.from, plan.to),
        plan.from,
        start,
        start + 100000,
      );
    } catch (e) {
      assert.ok(e instanceof FitsError, String(e));
    }
  }
  assert.throws(() => buildGzipIndex(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])), FitsError);
  assert.throws(() => inflateRaw(new Uint8Array([0xff, 0xff, 0xff])), FitsError);
  assert.throws(() => planGzipRead(index, 0, big.length + 1), FitsError);
});

test('zlibStreamAt: empty-block prefixes for every bit alignment', () => {
  const data = big.subarray(0, 200000);
  const d = deflateRawSync(data, { level: 6 }); // Huffman blocks only (no stored block to realign)
  for (let k = 0; k < 8; k++) {
    // the stream starting at bit k of byte 3 of a buffer, after junk bits
    const b = new Uint8Array(d.length + 4).fill(0xa5, 0, 3);
    b[3] = 0x5a & ((1 << k) - 1);
    for (let i = 0; i < d.length; i++) {
      b[3 + i] |= (d[i] << k) & 0xff;
      b[4 + i] |= d[i] >> (8 - k);
    }
    const s = zlibStreamAt(b.subarray(2), 102, 103 * 8 + k);
    eq(inflateRawSync(s, { finishFlush: constants.Z_SYNC_FLUSH }), data, `zlib, k=${k}`);
    eq(inflateRaw(s), data, `own inflate, k=${k}`);
  }
});
