import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fits from '../../src/fits/index.ts';
import { corpusBytes } from '../util/corpus.ts';

test('the package entry point exposes the reader end to end', async () => {
  const f = await fits.openFits(new fits.BufferSource(corpusBytes('synthetic/wcs_zea.fits')));
  const img = await fits.readImage(new fits.BufferSource(corpusBytes('synthetic/wcs_zea.fits')), f.hdus[0]);
  assert.deepEqual(img.shape, f.hdus[0].naxes);
  assert.equal(fits.describeWcs(f.hdus[0].header, img.shape)?.projection, 'ZEA');
  assert.ok(fits.FitsError.prototype instanceof Error);
});
