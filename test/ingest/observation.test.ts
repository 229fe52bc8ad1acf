import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BufferSource } from '../../src/fits/byte-source.ts';
import { openFits } from '../../src/fits/fits-file.ts';
import { deriveObservation, parseAngle } from '../../src/ingest/observation.ts';
import { corpusHdus } from '../util/corpus-hdus.ts';

test('sexagesimal and decimal angles', () => {
  assert.ok(Math.abs(parseAngle('12:34:56.789', true)! - (12 + 34 / 60 + 56.789 / 3600) * 15) < 1e-12);
  assert.ok(Math.abs(parseAngle('-45 12 34.56', false)! + (45 + 12 / 60 + 34.56 / 3600)) < 1e-12);
  assert.equal(parseAngle('-00:30:00', false), -0.5);
  assert.equal(parseAngle(201.25, false), 201.25);
  assert.equal(parseAngle('201.25', false), 201.25);
  assert.equal(parseAngle('north', false), null);
});

test('every corpus image with a celestial WCS gets its centre, footprint polygon and pixel counts', async () => {
  let n = 0;
  for await (const { rel, th, hdu, fits } of corpusHdus()) {
    const w = th.wcs;
    if (!w?.has_celestial || !w.footprint || th.naxisn?.length !== 2) continue;
    const o = deriveObservation(hdu, fits.hdus[0]);
    if (o.s_region === null) continue; // the projections we deliberately do not do (see the WCS test)
    const c = w.centre_pixel_to_world?.[0];
    if (c?.lon_deg !== undefined && !rel.includes('dss')) {
      assert.ok(Math.abs(o.s_dec! - c.lat_deg) < 1e-6, `${rel}: dec ${o.s_dec} vs ${c.lat_deg}`);
    }
    const corners = o.s_region.replace('POLYGON ICRS ', '').split(' ').map(Number);
    assert.equal(corners.length, 8, rel);
    assert.deepEqual([o.s_xel1, o.s_xel2], th.naxisn, rel);
    assert.equal(o.dataproduct_type, 'image', rel);
    n++;
  }
  assert.ok(n >= 20, `only ${n} images`);
});

test('an observatory-style frame without WCS: sexagesimal RA/DEC, time, exposure, filter, night', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fitslake-obs-'));
  execFileSync(process.execPath, ['--import', 'tsx', 'bench/make-small-files.ts', dir, '3']);
  const bytes = new Uint8Array(readFileSync(join(dir, 'frame00002.fits')));
  const fits = await openFits(new BufferSource(bytes));
  const o = deriveObservation(fits.hdus[0]);
  // This frame has a TAN WCS too; the centre comes from it, the rest from the keywords.
  assert.equal(o.instrument_name, 'qhy600');
  assert.equal(o.filter, 'ip');
  assert.deepEqual([o.em_min, o.em_max], [691e-9, 819e-9], "em range from the i' passband");
  assert.equal(o.target_name, 'NGC 1002');
  assert.equal(o.t_exptime, 60);
  assert.ok(Math.abs(o.t_max! - o.t_min! - 60 / 86400) < 1e-9);
  assert.equal(o.airmass, 1.02);
  assert.equal(o.site, 'lsc');
  assert.match(o.night!, /^\d{4}-\d{2}-\d{2}$/);
  // Without the WCS cards, RA/DEC come from the sexagesimal keywords.
  const noWcs = fits.hdus[0].header.cards.filter((c) => !/^(CTYPE|CRPIX|CRVAL|CD\d)/.test(c.keyword));
  const { Header } = await import('../../src/fits/header.ts');
  const h = { ...fits.hdus[0], header: new Header(noWcs) };
  const o2 = deriveObservation(h);
  assert.ok(Math.abs(o2.s_ra! - 188.73662083) < 1e-6, String(o2.s_ra));
  assert.ok(Math.abs(o2.s_dec! + 45.2096) < 1e-6, String(o2.s_dec));
  assert.equal(o2.s_region, null);
});

test('a spectral cube is a cube with its wavelength range', async () => {
  const bytes = new Uint8Array(readFileSync(join('test/fixtures/corpus/synthetic/cube_spectral.fits')));
  const fits = await openFits(new BufferSource(bytes));
  const o = deriveObservation(fits.hdus[0]);
  assert.equal(o.dataproduct_type, 'cube');
  assert.ok(o.em_min! > 0.0013 && o.em_max! < 0.00131 && o.em_min! < o.em_max!);
  assert.equal(o.em_xel, 16);
});
