// SIA 2.0 and cone-search parameters → ADQL over ivoa.obscore: the mapping, ORs within a parameter
// and ANDs across, open intervals, and usage errors that name the parameter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  coneQuery,
  collectParams,
  posGeometry,
  siaQuery,
  UsageFault,
} from '../../../src/services/sia/params.ts';

const p = (q: string) => collectParams(new URLSearchParams(q));

test('names are case-insensitive and repeat', () => {
  assert.deepEqual(p('pos=CIRCLE 1 2 3&POS=CIRCLE 4 5 6&band=1e-7 2e-7'), {
    POS: ['CIRCLE 1 2 3', 'CIRCLE 4 5 6'],
    BAND: ['1e-7 2e-7'],
  });
});

test('POS shapes become ADQL geometries', () => {
  assert.equal(posGeometry('CIRCLE 10.68 41.27 0.5'), "CIRCLE('ICRS', 10.68, 41.27, 0.5)");
  assert.equal(posGeometry('POLYGON 1 1 2 1 2 2'), "POLYGON('ICRS', 1, 1, 2, 1, 2, 2)");
  assert.equal(posGeometry('RANGE 0 360 -90 90'), null, 'the whole sky constrains nothing');
  assert.equal(posGeometry('RANGE -Inf +Inf -Inf +Inf'), null);
  const range = posGeometry('RANGE 10 20 -5 5') ?? '';
  // Parallels are followed in steps of at most 5 degrees: 3 points per edge, 6 in all.
  assert.equal(range, "POLYGON('ICRS', 10, -5, 15, -5, 20, -5, 20, 5, 15, 5, 10, 5)");
});

test('an SIA query ORs values of one parameter and ANDs parameters', () => {
  const q = siaQuery(
    p(
      'POS=CIRCLE 1 2 3&POS=CIRCLE 4 5 6&BAND=5e-7 6e-7&TIME=59000 +Inf&INSTRUMENT=kb001ms&CALIB=1&MAXREC=10',
    ),
  );
  assert.equal(
    q.adql,
    "SELECT * FROM ivoa.obscore WHERE (INTERSECTS(s_region, CIRCLE('ICRS', 1, 2, 3)) = 1 OR " +
      "INTERSECTS(s_region, CIRCLE('ICRS', 4, 5, 6)) = 1) AND (em_min <= 6e-7 AND em_max >= 5e-7) AND " +
      "(t_max >= 59000) AND instrument_name = 'kb001ms' AND calib_level = 1 ORDER BY t_min, obs_id",
  );
  assert.equal(q.maxrec, 10);
});

test('text values are quoted, never spliced', () => {
  const q = siaQuery(p(`TARGET=M 31' OR 1=1 --`));
  assert.match(q.adql, /target_name = 'M 31'' OR 1=1 --'/);
});

test('a single number is an interval of width 0; open ends are dropped', () => {
  assert.match(siaQuery(p('EXPTIME=30')).adql, /\(t_exptime >= 30 AND t_exptime <= 30\)/);
  assert.match(siaQuery(p('FOV=-Inf 0.5')).adql, /WHERE \(s_fov <= 0.5\) ORDER/);
  assert.doesNotMatch(siaQuery(p('EXPTIME=-Inf +Inf')).adql, /WHERE/);
});

test('bad values are usage faults that name the parameter', () => {
  for (const [q, re] of [
    ['POS=CIRCLE 1 2', /POS CIRCLE needs/],
    ['POS=CIRCLE 1 95 1', /declination 95/],
    ['POS=CIRCLE 1 2 -1', /radius -1/],
    ['POS=SQUARE 1 2 3', /unknown shape "SQUARE"/],
    ['POS=RANGE 0 200 0 10', /180 degrees or more/],
    ['BAND=abc', /BAND: "abc" is not a number/],
    ['TIME=5 4', /lower bound 5 is above upper bound 4/],
    ['CALIB=7', /CALIB: "7"/],
    ['POL=Z', /POL: unknown state/],
    ['MAXREC=-1', /MAXREC/],
  ] as const)
    assert.throws(
      () => siaQuery(p(q)),
      (e: unknown) => e instanceof UsageFault && re.test(e.message),
      q,
    );
});

test('a cone search sorts by distance and selects columns by VERB', () => {
  const q = coneQuery(p('RA=10.5&DEC=-30&SR=0.25&VERB=1'));
  assert.equal(
    q.adql,
    "SELECT obs_publisher_did, s_ra, s_dec, DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', 10.5, -30)) AS dist " +
      "FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 10.5, -30, 0.25)) = 1 ORDER BY dist",
  );
  assert.match(coneQuery(p('RA=1&DEC=2&SR=0')).adql, /WHERE 1 = 0/, 'SR=0 asks for metadata only');
  assert.match(coneQuery(p('RA=1&DEC=2&SR=1&VERB=3')).adql, /^SELECT \*, DISTANCE/);
  assert.throws(() => coneQuery(p('RA=1&DEC=2')), /SR is required/);
  assert.throws(() => coneQuery(p('RA=400&DEC=2&SR=1')), /RA 400/);
  assert.throws(() => coneQuery(p('RA=1&DEC=2&SR=1&VERB=4')), /VERB "4"/);
});
