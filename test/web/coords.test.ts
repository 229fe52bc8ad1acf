// The web interface's pure parts: coordinates as people type them, and the search as the URL carries it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDec, formatRa, mjdToIso, parseDec, parseRa, parseRadius } from '../../src/web/coords.ts';
import { apiFilters, emptySearch, fromParams, toParams } from '../../src/web/search.ts';

const close = (a: number | null, b: number, eps = 1e-9) =>
  assert.ok(a !== null && Math.abs(a - b) < eps, `${a} ≈ ${b}`);

test('RA: degrees, or hours in sexagesimal', () => {
  close(parseRa('202.47'), 202.47);
  close(parseRa('202.47d'), 202.47);
  close(parseRa('13:29:52.7'), (13 + 29 / 60 + 52.7 / 3600) * 15);
  close(parseRa('13h29m52.7s'), (13 + 29 / 60 + 52.7 / 3600) * 15);
  close(parseRa('13 29 52.7'), (13 + 29 / 60 + 52.7 / 3600) * 15);
  for (const bad of ['', 'abc', '361', '-1', '13:61:00', '-13:29:52', '1:2:3:4'])
    assert.equal(parseRa(bad), null, bad);
});

test('Dec: degrees or ±dd:mm:ss, the sign applying to the whole angle', () => {
  close(parseDec('47.196'), 47.196);
  close(parseDec('+47:11:43'), 47 + 11 / 60 + 43 / 3600);
  close(parseDec('-29d37m08s'), -(29 + 37 / 60 + 8 / 3600));
  close(parseDec('-00:30:00'), -0.5);
  for (const bad of ['', '91', '-90:00:01', '10:60:00', 'x']) assert.equal(parseDec(bad), null, bad);
});

test('radius: degrees, arcminutes, arcseconds or d:m:s', () => {
  close(parseRadius('0.1'), 0.1);
  close(parseRadius('0.1d'), 0.1);
  close(parseRadius(`5'`), 5 / 60);
  close(parseRadius('5 arcmin'), 5 / 60);
  close(parseRadius('30"'), 30 / 3600);
  close(parseRadius('30s'), 30 / 3600);
  close(parseRadius('0:05:00'), 5 / 60);
  for (const bad of ['', '-1', '91', 'wide']) assert.equal(parseRadius(bad), null, bad);
});

test('formatting round-trips through parsing', () => {
  assert.equal(formatRa(202.4703023), '13:29:52.87');
  assert.equal(formatDec(-29.6189396), '-29:37:08.2');
  assert.equal(formatDec(47.1957397), '+47:11:44.7');
  close(parseRa(formatRa(83.6337)), 83.6337, 1e-4);
  close(parseDec(formatDec(-0.25)), -0.25, 1e-4);
  assert.equal(formatRa(359.99999999), '00:00:00.00', 'rounding up to 24h wraps to 0h');
  assert.equal(mjdToIso(59759.05444675926), '2022-06-29 01:18:24');
});

test('the search lives in the URL as typed, and reaches the API in degrees', () => {
  const s = {
    ...emptySearch(),
    target: 'M 51',
    ra: '13:29:53',
    dec: '+47:11:43',
    radius: `5'`,
    sort: '-t_min' as const,
  };
  const url = toParams(s).toString();
  assert.equal(url, `target=M+51&ra=13%3A29%3A53&dec=%2B47%3A11%3A43&radius=5%27&sort=-t_min`);
  assert.deepEqual(fromParams(new URLSearchParams(url)), s);
  const api = apiFilters(s);
  assert.ok('params' in api);
  assert.equal(api.params.get('target'), 'M 51');
  close(Number(api.params.get('ra')), (13 + 29 / 60 + 53 / 3600) * 15, 1e-9);
  close(Number(api.params.get('radius')), 5 / 60);
  assert.equal(api.params.get('sort'), null, 'sort and cursor are the page’s, not filters');
  const partial = apiFilters({ ...emptySearch(), ra: '10' });
  assert.ok('error' in partial && /RA, Dec and radius/.test(partial.error));
  const bad = apiFilters({ ...emptySearch(), ra: '25h', dec: '0', radius: '1' });
  assert.ok('error' in bad);
});
