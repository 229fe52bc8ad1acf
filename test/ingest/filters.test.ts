import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PASSBANDS, passbandFor } from '../../src/ingest/filters.ts';

test('FILTER spellings from real headers map to their passbands', () => {
  const cases: [string, string][] = [
    ['V', 'V'],
    ['Bessell-R', 'R'],
    ['rp', "r'"],
    ["g'", "g'"],
    ['SDSS-i', "i'"],
    ['zs', 'z_P1'],
    ['Ks', 'Ks'],
    ['H-alpha', 'H-alpha'],
    ['Ha', 'H-alpha'],
    ['OIII', '[OIII]'],
    ['[SII]', '[SII]'],
    ['Stromgren b', 'b'],
  ];
  for (const [header, name] of cases) assert.equal(passbandFor(header)?.name, name, header);
  assert.equal(passbandFor('CLEAR'), undefined);
  assert.equal(passbandFor(null), undefined);
  assert.equal(
    passbandFor('L3', [{ name: 'L3', system: 'site', min: 4e-7, max: 7e-7 }])?.max,
    7e-7,
    'a lake can add its own',
  );
});

test('passbands are sane: ordered, optical/NIR, and each broad band contains its textbook centre', () => {
  for (const p of PASSBANDS) assert.ok(p.min > 2e-7 && p.max < 3e-6 && p.min < p.max, p.name);
  const centre: Record<string, number> = {
    U: 365e-9,
    B: 445e-9,
    V: 551e-9,
    R: 658e-9,
    I: 806e-9,
    "g'": 477e-9,
    "r'": 623e-9,
    J: 1.25e-6,
    Ks: 2.16e-6,
    'H-alpha': 656.3e-9,
  };
  for (const [name, c] of Object.entries(centre)) {
    const p = PASSBANDS.find((x) => x.name === name)!;
    assert.ok(p.min < c && c < p.max, `${name}: ${c} outside ${p.min}..${p.max}`);
  }
});
