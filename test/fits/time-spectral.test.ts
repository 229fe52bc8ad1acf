// Observation time and spectral range against astropy.time / astropy.wcs (Debian's python3-astropy).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { BufferSource } from '../../src/fits/byte-source.ts';
import { openFits } from '../../src/fits/fits-file.ts';
import { spectralAxis } from '../../src/fits/spectral.ts';
import { isoToMjd, observationTime } from '../../src/fits/time.ts';
import { corpusFiles } from '../util/corpus.ts';
import { decompressed } from '../util/decompress.ts';

function astropy(script: string, input: unknown): unknown {
  return JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify(input), encoding: 'utf8' }),
  );
}

test('DATE-OBS of every corpus header converts to the MJD astropy.time gives', async () => {
  const dates: string[] = [];
  const ours: number[] = [];
  for (const rel of corpusFiles()) {
    const bytes = decompressed(rel);
    if (!bytes.length) continue;
    const fits = await openFits(new BufferSource(bytes, rel));
    for (const h of fits.hdus) {
      const d = h.header.string('DATE-OBS');
      if (!d || !/^\d{4}-\d{2}-\d{2}/.test(d.trim())) continue;
      const t = observationTime(h.header);
      if (t?.from !== 'DATE-OBS' || h.header.has('TIME-OBS')) continue;
      dates.push(d.trim());
      ours.push(t.mjdStart);
    }
  }
  assert.ok(dates.length >= 10, `only ${dates.length} DATE-OBS values`);
  const expected = astropy(
    `import json,sys
from astropy.time import Time
print(json.dumps([Time(d, format='isot' if 'T' in d else 'iso', scale='utc').mjd for d in json.load(sys.stdin)]))`,
    dates,
  ) as number[];
  for (const [i, d] of dates.entries()) {
    assert.ok(Math.abs(ours[i] - expected[i]) * 86400 < 1e-3, `${d}: ${ours[i]} vs astropy ${expected[i]}`);
  }
});

test('time keywords: precedence, old date form, TSTART/MJDREF, end from exposure', () => {
  const hdr = (cards: Record<string, string | number>) => ({
    string: (k: string) => (typeof cards[k] === 'string' ? (cards[k] as string) : undefined),
    number: (k: string) => (typeof cards[k] === 'number' ? (cards[k] as number) : undefined),
  });
  assert.equal(isoToMjd('11/03/76'), isoToMjd('1976-03-11'));
  assert.equal(isoToMjd('2000-01-01T12:00:00'), 51544.5);
  const a = observationTime(hdr({ 'DATE-OBS': '2010-10-16T19:12:18', EXPTIME: 86.4 }) as never)!;
  assert.equal(a.from, 'DATE-OBS');
  assert.ok(Math.abs((a.mjdEnd! - a.mjdStart) * 86400 - 86.4) < 1e-6);
  const b = observationTime(
    hdr({ TSTART: 86400, TSTOP: 172800, MJDREFI: 50000, MJDREFF: 0.5, TIMESYS: 'TT' }) as never,
  )!;
  assert.deepEqual([b.mjdStart, b.mjdEnd, b.timesys, b.from], [50001.5, 50002.5, 'TT', 'TSTART']);
  const c = observationTime(hdr({ 'MJD-OBS': 55000.25, 'DATE-OBS': '1999-01-01' }) as never)!;
  assert.equal(c.from, 'MJD-OBS');
  assert.equal(observationTime(hdr({ OBJECT: 'x' }) as never), undefined);
});

test('spectral axes: world range at the pixel edges agrees with astropy.wcs, and converts to wavelength', async () => {
  const cases: [string, number][] = [];
  const ours: [number, number][] = [];
  const waves: ([number, number] | undefined)[] = [];
  const headers: Record<string, string | number>[] = [];
  for (const rel of [
    'fits/orion-freq-4.hdr',
    'fits/orion-velo-1.hdr',
    'synthetic/cube_spectral.fits',
    'fits/example_cube.fits',
  ]) {
    const fits = await openFits(new BufferSource(decompressed(rel), rel));
    const h = fits.hdus[0].header;
    const s = spectralAxis(h);
    assert.ok(s, `${rel}: no spectral axis`);
    cases.push([rel, s.axis]);
    ours.push(s.range);
    waves.push(s.wavelength);
    const cards: Record<string, string | number> = {};
    for (const c of h.cards)
      if (
        (c.type === 'int' || c.type === 'float' || c.type === 'string') &&
        !/^(COMMENT|HISTORY)$/.test(c.keyword)
      )
        cards[c.keyword] = c.value as string | number;
    headers.push(cards);
  }
  const expected = astropy(
    `import json, sys, warnings
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
warnings.simplefilter('ignore')
cases = json.load(sys.stdin)
out = []
for cards, axis in cases:
    h = fits.Header()
    for k, v in cards.items():
        try: h[k] = v
        except Exception: pass
    w = WCS(h)
    n = h.get('NAXIS%d' % (axis + 1), 1)
    pix = np.ones((2, w.naxis))
    pix[0, axis] = 0.5
    pix[1, axis] = n + 0.5
    world = w.wcs_pix2world(pix, 1)
    u = w.wcs.cunit[axis]
    out.append([float(world[0, axis]) * u.to(h.get('CUNIT%d' % (axis + 1), u.to_string()) or u), float(world[1, axis]) * u.to(h.get('CUNIT%d' % (axis + 1), u.to_string()) or u)])
print(json.dumps(out))`,
    headers.map((c, i) => [c, cases[i][1]]),
  ) as [number, number][];
  for (const [i, [rel]] of cases.entries()) {
    for (const k of [0, 1]) {
      const rel_err = Math.abs(ours[i][k] - expected[i][k]) / Math.max(1, Math.abs(expected[i][k]));
      assert.ok(rel_err < 1e-9, `${rel} edge ${k}: ${ours[i][k]} vs astropy ${expected[i][k]}`);
    }
  }
  // FREQ → wavelength: λ = c/ν, ascending.
  const f = ours[0];
  const w = waves[0]!;
  assert.ok(Math.abs(w[0] - 299792458 / Math.max(...f)) < 1e-15 && w[0] < w[1]);
});
