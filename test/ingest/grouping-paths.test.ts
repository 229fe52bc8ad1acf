// Grouping files into observations by name, and path columns (Hive folders, templates).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { frameType, groupOf, relatedObsId } from '../../src/ingest/grouping.ts';
import { compileTemplate, PathTemplateError, pathFields } from '../../src/ingest/paths.ts';

test('observatory names: every product of one exposure shares the base name, each with its role', () => {
  const base = 'sro-kb001ms-20220629-00010442-EX10';
  const cases: [string, string][] = [
    [`${base}.fits.bz2`, 'science'],
    [`${base}.fits.fz`, 'science'],
    [`${base}-small.fits`, 'small'],
    [`${base}.jpg`, 'preview'],
    [`${base}-thumb.jpg`, 'thumbnail'],
    [`${base}.txt`, 'header'],
  ];
  for (const [name, role] of cases) {
    const g = groupOf(`kb001ms/${name}`);
    assert.equal(g.base, base, name);
    assert.equal(g.role, role, name);
    assert.deepEqual(g.fields, {
      site: 'sro',
      instrument: 'kb001ms',
      date: '20220629',
      seq: '00010442',
      type: 'EX',
      level: '10',
    });
  }
  // LCO's own spelling of the same convention.
  const lco = groupOf('ogg2m001-fs02-20141211-0095-e91.fits.fz');
  assert.equal(lco.base, 'ogg2m001-fs02-20141211-0095-e91');
  assert.equal(frameType(lco.fields.type), 'EXPOSE');
  assert.equal(frameType('BI'), 'BIAS');
  assert.equal(frameType('fl'), 'FLAT');
});

test('other names group by folder and stem, so a FITS and its JPEG and dump pair up', () => {
  for (const name of [
    'm31_r_001.fits',
    'm31_r_001.fits.gz',
    'm31_r_001.jpg',
    'm31_r_001_thumb.jpg',
    'm31_r_001.hdr',
  ]) {
    assert.equal(groupOf(`n1/${name}`).base, 'n1/m31_r_001', name);
  }
  assert.notEqual(
    groupOf('n1/m31.fits').base,
    groupOf('n2/m31.fits').base,
    'different folders, different observations',
  );
  // Content decides the role when the name says nothing.
  assert.equal(groupOf('n1/frame0001', {}, 'fits').role, 'science');
  assert.equal(groupOf('n1/frame0001', {}, 'image').role, 'preview');
  assert.equal(groupOf('n1/frame0001', {}, 'plain').role, 'auxiliary');
});

test('a collection can bring its own grouping pattern and roles', () => {
  const settings = {
    grouping: '^(?<base>TESS-s(?<sector>\\d{4})-(?<camera>\\d)-(?<ccd>\\d))',
    roles: [
      ['_ffic\\.fits$', 'calibrated'],
      ['_ffir\\.fits$', 'raw'],
    ] as [string, string][],
  };
  const g = groupOf('tess/TESS-s0042-1-3_ffic.fits', settings);
  assert.equal(g.base, 'TESS-s0042-1-3');
  assert.equal(g.role, 'calibrated');
  assert.deepEqual(g.fields, { sector: '0042', camera: '1', ccd: '3' });
  assert.equal(groupOf('tess/TESS-s0042-1-3_ffir.fits', settings).role, 'raw');
});

test('calibration keywords name related observations by file name', () => {
  assert.equal(
    relatedObsId('sro-kb001ms-20220628-00010001-BI11.fits.fz'),
    'sro-kb001ms-20220628-00010001-BI11',
  );
  assert.equal(
    relatedObsId('  /archive/bias/sro-kb001ms-20220628-00010001-BI11.fits '),
    'sro-kb001ms-20220628-00010001-BI11',
  );
});

test('Hive-style folders become columns; a template names the others', () => {
  assert.deepEqual(pathFields('night=2022-06-29/filter=R/a.fits'), { night: '2022-06-29', filter: 'R' });
  assert.deepEqual(pathFields('site=lsc%20a/x.fits'), { site: 'lsc a' }, 'values are URL-decoded');
  assert.deepEqual(pathFields('kb001ms/2022-06-29/raw/frame.fits', '{instrument}/{night}/{stage}/{file}'), {
    instrument: 'kb001ms',
    night: '2022-06-29',
    stage: 'raw',
    file: 'frame.fits',
  });
  // The last field takes the rest of the key; literals in a segment are matched exactly.
  assert.deepEqual(compileTemplate('{instrument}/night-{night}/{file}')('qhy/night-20230101/sub/f.fits'), {
    instrument: 'qhy',
    night: '20230101',
    file: 'sub/f.fits',
  });
  assert.equal(compileTemplate('{instrument}/night-{night}/{file}')('qhy/20230101/f.fits'), null);
  // A key the template does not match still gets its Hive columns.
  assert.deepEqual(pathFields('year=2023/f.fits', '{a}/{b}/{c}'), { year: '2023' });
  assert.throws(() => compileTemplate('{bad name}/{file}'), PathTemplateError);
});
