import assert from 'node:assert/strict';
import { test } from 'node:test';
import { corpusFiles, headerFromTruth, truth } from './corpus.ts';

test('the corpus copy is complete and every file has its truth', () => {
  const files = corpusFiles();
  assert.ok(files.length >= 100, `only ${files.length} corpus files`);
  const t = truth('fits/checksum.fits');
  const h = headerFromTruth(t.hdus[1].header);
  assert.equal(h.string('XTENSION'), 'BINTABLE');
  assert.equal(h.int('NAXIS2'), 5);
});
