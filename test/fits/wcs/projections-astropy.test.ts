// Projections the corpus has no image for (STG, MOL, PAR, MER, CYP, conics…): synthetic headers,
// with astropy.wcs (wcslib, Debian's python3-astropy) computing the expected world coordinates.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { makeCard } from '../../../src/fits/card-format.ts';
import { Header } from '../../../src/fits/header.ts';
import { separation, wcsFromHeader } from '../../../src/fits/wcs/wcs.ts';

type Cards = Record<string, string | number>;

const base = (code: string, crval: [number, number], extra: Cards = {}): Cards => ({
  NAXIS: 2,
  NAXIS1: 200,
  NAXIS2: 150,
  CTYPE1: `RA---${code}`,
  CTYPE2: `DEC--${code}`,
  CRPIX1: 100.5,
  CRPIX2: 75.5,
  CRVAL1: crval[0],
  CRVAL2: crval[1],
  CDELT1: -0.2,
  CDELT2: 0.2,
  PC1_1: 0.98,
  PC1_2: -0.17,
  PC2_1: 0.17,
  PC2_2: 0.98,
  ...extra,
});

const CASES: Record<string, Cards> = {
  STG: base('STG', [120, 35]),
  MOL: base('MOL', [10, 0]),
  'MOL off-equator': base('MOL', [200, -20]),
  AIT: base('AIT', [300, 10]),
  PAR: base('PAR', [45, 5]),
  MER: base('MER', [90, 12]),
  CYP: base('CYP', [30, -5], { PV2_1: 1, PV2_2: 0.7 }),
  CEA: base('CEA', [30, 5], { PV2_1: 0.8 }),
  COP: base('COP', [150, 40], { PV2_1: 45, PV2_2: 10 }),
  COE: base('COE', [150, -40], { PV2_1: -45, PV2_2: 15 }),
  COD: base('COD', [10, 30], { PV2_1: 30, PV2_2: 5 }),
  COO: base('COO', [10, 50], { PV2_1: 45, PV2_2: 10 }),
  SZP: base('SZP', [250, 60], { PV2_1: 2, PV2_2: 30, PV2_3: 60 }),
  AIR: base('AIR', [80, -70], { PV2_1: 45 }),
  'ZPN cubic': base('ZPN', [5, 80], { PV2_0: 0, PV2_1: 1, PV2_2: 0, PV2_3: -0.1 }),
  'SIN slant': base('SIN', [330, -30], { PV2_1: 0.1, PV2_2: -0.05 }),
  'TAN near pole': base('TAN', [10, 89.9], { CDELT1: -0.01, CDELT2: 0.01 }),
  'CAR across RA 0': base('CAR', [0.5, 0], { CDELT1: -0.05, CDELT2: 0.05 }),
  'galactic ZEA': { ...base('ZEA', [0, -90]), CTYPE1: 'GLON-ZEA', CTYPE2: 'GLAT-ZEA' },
  'CD matrix + LONPOLE': {
    ...base('ARC', [60, 45]),
    PC1_1: 1,
    PC1_2: 0,
    PC2_1: 0,
    PC2_2: 1,
    CD1_1: -0.1,
    CD1_2: 0.02,
    CD2_1: 0.03,
    CD2_2: 0.1,
    LONPOLE: 150,
  },
  'CROTA2 legacy': { ...base('TAN', [200, -10]), PC1_1: 1, PC1_2: 0, PC2_1: 0, PC2_2: 1, CROTA2: 30 },
};

const PIXELS = [
  [1, 1],
  [1, 150],
  [200, 150],
  [200, 1],
  [100.5, 75.5],
  [37, 120],
];

function astropyWorld(cases: Record<string, Cards>): Record<string, (number[] | null)[]> {
  const script = `
import json, sys, warnings
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
warnings.simplefilter('ignore')
cases, pixels = json.load(sys.stdin)
out = {}
for name, cards in cases.items():
    h = fits.Header()
    for k, v in cards.items():
        h[k] = v
    if 'CD1_1' in cards:
        for k in ('PC1_1', 'PC1_2', 'PC2_1', 'PC2_2'):
            del h[k]
    w = WCS(h)
    world = w.all_pix2world(np.array(pixels, dtype=float), 1)
    out[name] = [None if not np.all(np.isfinite(p)) else list(p) for p in world]
print(json.dumps(out))
`;
  const stdout = execFileSync('/usr/bin/python3', ['-c', script], {
    input: JSON.stringify([cases, PIXELS]),
    encoding: 'utf8',
  });
  return JSON.parse(stdout);
}

test('projections without corpus images agree with astropy.wcs to 1e-6 degree', () => {
  const expected = astropyWorld(CASES);
  for (const [name, cards] of Object.entries(CASES)) {
    const list = Object.entries(cards).filter(([k]) => !('CD1_1' in cards && k.startsWith('PC')));
    const header = new Header(list.map(([k, v]) => makeCard(k, v)));
    const wcs = wcsFromHeader(header);
    assert.ok(wcs, `${name}: no WCS`);
    for (const [i, p] of PIXELS.entries()) {
      const theirs = expected[name][i];
      const ours = wcs.pixToWorld(p);
      if (theirs === null) {
        assert.equal(ours, null, `${name} pixel ${p}: astropy says off the projection`);
        continue;
      }
      assert.ok(ours, `${name} pixel ${p}: we say off the projection, astropy ${theirs}`);
      const d = separation(ours[0], ours[1], theirs[0], theirs[1]);
      assert.ok(d < 1e-6, `${name} pixel ${p}: ours ${ours}, astropy ${theirs} (${d.toExponential(2)} deg)`);
    }
  }
});
