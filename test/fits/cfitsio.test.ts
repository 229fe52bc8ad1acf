// A second, independent reader: cfitsio, through Debian's python3-fitsio and the fitsverify tool.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BufferSource } from '../../src/fits/byte-source.ts';
import { formatCard } from '../../src/fits/card-format.ts';
import { encodeChecksum, onesAdd, onesSum } from '../../src/fits/checksum.ts';
import { openFits } from '../../src/fits/fits-file.ts';
import { corpusFiles, corpusPath, truth } from '../util/corpus.ts';
import { decompressed } from '../util/decompress.ts';

test('cfitsio (python3-fitsio) sees the same HDUs, keywords and data offsets in every file it opens', async () => {
  // cfitsio aborts the whole process on a SIMPLE = F file (header_with_time_wcslib71.fits): skip those.
  const files = corpusFiles().filter((rel) => {
    const t = truth(rel);
    return t.astropy_opens === 'yes' && !/\.(gz|bz2)$/.test(rel) && t.hdus[0]?.type !== '_NonstandardHDU';
  });
  const script = `
import json, sys, fitsio
out = {}
for f in json.load(sys.stdin):
    try:
        with fitsio.FITS(f) as F:
            hdus = []
            for h in F:
                info = h.get_info()
                hdr = h.read_header()
                keys = [r['name'] for r in hdr.records() if r['name'] not in ('COMMENT', 'HISTORY', '', 'CONTINUE')]
                hdus.append({'headerstart': info['header_start'], 'datastart': info['data_start'], 'keys': keys})
            out[f] = hdus
    except Exception as e:
        out[f] = {'error': str(e)}
print(json.dumps(out))`;
  const result = JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', script], {
      input: JSON.stringify(files.map(corpusPath)),
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    }),
  );
  let compared = 0;
  for (const rel of files) {
    const theirs = result[corpusPath(rel)];
    if (!Array.isArray(theirs)) continue; // cfitsio refuses some files astropy reads
    const fits = await openFits(new BufferSource(decompressed(rel), rel));
    if (fits.hdus.length !== theirs.length) continue;
    for (const [i, h] of fits.hdus.entries()) {
      assert.equal(h.headerOffset, theirs[i].headerstart, `${rel} HDU ${i} header offset`);
      assert.equal(h.dataOffset, theirs[i].datastart, `${rel} HDU ${i} data offset`);
      const ours = h.header.cards
        .filter((c) => c.type !== 'commentary' && !c.hierarch)
        .map((c) => c.keyword.split('.')[0]); // record-valued cards (DP1.AXIS.1) are DP1 to cfitsio
      const cf = (theirs[i].keys as (string | null)[]).filter(
        (k): k is string => !!k && !k.includes(' ') && !k.includes('.'),
      );
      for (const k of cf)
        if (/^[A-Z0-9_-]{1,8}$/.test(k)) assert.ok(ours.includes(k), `${rel} HDU ${i}: cfitsio has ${k}`);
    }
    compared++;
  }
  assert.ok(compared >= 50, `only ${compared} files compared with cfitsio`);
});

test('a file we write and stamp with CHECKSUM/DATASUM passes fitsverify', () => {
  const cards = [
    formatCard('SIMPLE', true, 'conforms to FITS standard'),
    formatCard('BITPIX', 16, 'array data type'),
    formatCard('NAXIS', 2, ''),
    formatCard('NAXIS1', 30, ''),
    formatCard('NAXIS2', 20, ''),
    formatCard('OBJECT', "M31's core", 'target'),
    formatCard('EXPTIME', 12.5, '[s]'),
    formatCard('DATASUM', '0', 'data unit checksum'),
    formatCard('CHECKSUM', '0000000000000000', 'HDU checksum'),
    'END'.padEnd(80),
  ];
  const header = Uint8Array.from(cards.join('').padEnd(2880), (c) => c.charCodeAt(0));
  const data = new Uint8Array(2880);
  const dv = new DataView(data.buffer);
  for (let i = 0; i < 600; i++) dv.setInt16(i * 2, ((i * 37) % 1000) - 300);
  const dataSum = onesSum(data);
  const text = new TextDecoder('latin1').decode(header);
  const put = (key: string, value: string) => {
    const at = text.indexOf(`${key.padEnd(8)}=`);
    const card = formatCard(key, value, key === 'DATASUM' ? 'data unit checksum' : 'HDU checksum');
    header.set(
      Uint8Array.from(card, (c) => c.charCodeAt(0)),
      at,
    );
  };
  put('DATASUM', String(dataSum));
  put('CHECKSUM', encodeChecksum(onesAdd(onesSum(header), dataSum)));
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-verify-'));
  const file = join(dir, 'ours.fits');
  writeFileSync(file, Buffer.concat([header, data]));
  const r = spawnSync('fitsverify', [file], { encoding: 'utf8' });
  assert.match(r.stdout, /0 warning\(s\) and 0 error\(s\)/, r.stdout);
  assert.doesNotMatch(r.stdout, /checksum.*(fail|incorrect)/i);
});
