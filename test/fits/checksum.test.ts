import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { BufferSource } from '../../src/fits/byte-source.ts';
import { encodeChecksum, onesSum, verifyChecksums } from '../../src/fits/checksum.ts';
import { openFits } from '../../src/fits/fits-file.ts';
import { corpusFiles, truth } from '../util/corpus.ts';
import { decompressed } from '../util/decompress.ts';

// astropy's _verify_checksum/_verify_datasum codes.
const CODE: Record<number, string> = { 1: 'ok', 0: 'bad', 2: 'absent' };

test('CHECKSUM/DATASUM status and data bytes agree with astropy on every corpus HDU', async () => {
  let verified = 0;
  let hashed = 0;
  for (const rel of corpusFiles()) {
    const t = truth(rel);
    if (!t.hdus?.length || t.header_only_parse) continue;
    const bytes = decompressed(rel);
    const fits = await openFits(new BufferSource(bytes, rel));
    if (fits.hdus.length !== t.hdus.length) continue; // the two deliberate layout differences
    for (const [i, th] of t.hdus.entries()) {
      const h = fits.hdus[i];
      if (th.raw_data_sha256 && th.hdrLoc !== undefined) {
        assert.equal(h.dataSize, th.raw_data_size, `${rel} HDU ${i} data size`);
        const data = bytes.subarray(h.dataOffset, h.dataOffset + h.dataSize);
        assert.equal(
          createHash('sha256').update(data).digest('hex'),
          th.raw_data_sha256,
          `${rel} HDU ${i} data sha256`,
        );
        hashed++;
      }
      if (typeof th.verify_checksum !== 'number' && typeof th.verify_datasum !== 'number') continue;
      const r = await verifyChecksums(new BufferSource(bytes, rel), h);
      if (typeof th.verify_checksum === 'number')
        assert.equal(r.checksum, CODE[th.verify_checksum], `${rel} HDU ${i} CHECKSUM`);
      if (typeof th.verify_datasum === 'number')
        assert.equal(r.datasum, CODE[th.verify_datasum], `${rel} HDU ${i} DATASUM`);
      verified++;
    }
  }
  assert.ok(verified >= 15, `only ${verified} HDUs with checksum truth`);
  assert.ok(hashed >= 150, `only ${hashed} HDUs hashed`);
});

test("memtest.fits: DATASUM = '' is reported bad (astropy raises ValueError on it)", async () => {
  const bytes = decompressed('fits/memtest.fits');
  const fits = await openFits(new BufferSource(bytes));
  const h = fits.hdus.find((x) => x.header.has('DATASUM') && String(x.header.get('DATASUM')).trim() === '');
  assert.ok(h, 'memtest.fits has an empty DATASUM');
  assert.equal((await verifyChecksums(new BufferSource(bytes), h)).datasum, 'bad');
});

test('encodeChecksum stamps a header so the HDU sums to -0, as fitsverify expects', async () => {
  const bytes = decompressed('synthetic/checksum_ok.fits').slice();
  const fits = await openFits(new BufferSource(bytes));
  const h = fits.hdus[0];
  const text = new TextDecoder('latin1').decode(bytes.subarray(h.headerOffset, h.dataOffset));
  const at = h.headerOffset + text.indexOf('CHECKSUM=') + 11;
  bytes.set(new TextEncoder().encode('0000000000000000'), at);
  const headerSum = onesSum(bytes.subarray(h.headerOffset, h.dataOffset));
  const dataSum = onesSum(bytes.subarray(h.dataOffset, h.dataOffset + h.dataSpan));
  const total = headerSum + dataSum > 0xffffffff ? headerSum + dataSum - 0xffffffff : headerSum + dataSum;
  bytes.set(new TextEncoder().encode(encodeChecksum(total)), at);
  assert.equal((await verifyChecksums(new BufferSource(bytes), h)).checksum, 'ok');
  bytes[h.dataOffset] ^= 1;
  assert.equal((await verifyChecksums(new BufferSource(bytes), h)).checksum, 'bad');
});
