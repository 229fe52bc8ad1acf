// HEALPix NESTED against astropy-healpix (Debian's python3-astropy-healpix), including RA 0/360 and the poles.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { cellCenter, cellRadius, coneCoverage, lonLatToCell } from '../../src/catalog/healpix.ts';

function py(script: string, input: unknown): unknown {
  return JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', script], {
      input: JSON.stringify(input),
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    }),
  );
}

// Deterministic points: a spiral over the sphere plus the hard places.
const points: [number, number][] = [];
for (let i = 0; i < 2000; i++) {
  const lat = Math.asin(-1 + (2 * (i + 0.5)) / 2000) * (180 / Math.PI);
  points.push([(i * 137.50776) % 360, lat]);
}
points.push(
  [0, 0],
  [359.9999999, 0.1],
  [0, 89.9999],
  [180, -89.9999],
  [45, 41.8103149],
  [90, -41.8103149],
  [0, 90],
  [123, -90],
);

test('lonLatToCell and cellCenter agree with astropy-healpix at orders 0, 1, 5, 12, 24', () => {
  const orders = [0, 1, 5, 12, 24];
  const expected = py(
    `import json, sys
import numpy as np
from astropy import units as u
from astropy_healpix import lonlat_to_healpix, healpix_to_lonlat
pts, orders = json.load(sys.stdin)
lon = np.array([p[0] for p in pts]) * u.deg
lat = np.array([p[1] for p in pts]) * u.deg
out = {}
eps = 1e-7 * u.deg
for o in orders:
    cells = lonlat_to_healpix(lon, lat, 2 ** o, order='nested')
    clon, clat = healpix_to_lonlat(cells, 2 ** o, order='nested')
    # A point exactly on a cell boundary belongs to either side; list the cells around it.
    near = [lonlat_to_healpix(lon + dx * eps, np.clip(lat + dy * eps, -90 * u.deg, 90 * u.deg), 2 ** o, order='nested')
            for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy]
    out[o] = [[int(c), float(a.to_value(u.deg)), float(b.to_value(u.deg)), sorted({int(n[i]) for n in near})]
              for i, (c, a, b) in enumerate(zip(cells, clon, clat))]
print(json.dumps(out))`,
    [points, orders],
  ) as Record<string, [number, number, number, number[]][]>;
  let boundary = 0;
  for (const o of orders) {
    for (const [i, [lon, lat]] of points.entries()) {
      const [cell, clon, clat, around] = expected[o][i];
      const ours = lonLatToCell(o, lon, lat);
      if (around.length > 1) {
        // On a boundary: any adjacent cell is right (HEALPix leaves the tie to the implementation).
        assert.ok(around.includes(ours), `order ${o} boundary point ${lon},${lat}: ${ours} not in ${around}`);
        boundary++;
        continue;
      }
      assert.equal(ours, cell, `order ${o} point ${lon},${lat}`);
      const [ours0, ours1] = cellCenter(o, cell);
      const dlon = Math.abs(((ours0 - clon + 540) % 360) - 180) * Math.cos((clat * Math.PI) / 180);
      assert.ok(
        dlon < 1e-9 && Math.abs(ours1 - clat) < 1e-9,
        `centre of ${cell} at order ${o}: ${ours0},${ours1} vs ${clon},${clat}`,
      );
    }
  }
  assert.ok(boundary < points.length, 'most points are not on a boundary');
});

test('cellRadius bounds every cell: no boundary point is farther from its centre', () => {
  const orders = [0, 1, 2, 3, 8, 16];
  const far = py(
    `import json, sys
import numpy as np
from astropy import units as u
from astropy_healpix import HEALPix
orders = json.load(sys.stdin)
out = {}
for o in orders:
    n = 12 * 4 ** o
    cells = np.unique(np.linspace(0, n - 1, min(n, 3000)).astype(np.int64))
    hp = HEALPix(nside=2 ** o, order='nested')
    blon, blat = hp.boundaries_lonlat(cells, 8)
    clon, clat = hp.healpix_to_lonlat(cells)
    a1, b1 = clon.to_value(u.rad)[:, None], clat.to_value(u.rad)[:, None]
    a2, b2 = blon.to_value(u.rad), blat.to_value(u.rad)
    d = 2 * np.arcsin(np.sqrt(np.sin((b2 - b1) / 2) ** 2 + np.cos(b1) * np.cos(b2) * np.sin((a2 - a1) / 2) ** 2))
    out[o] = float(d.max())
print(json.dumps(out))`,
    orders,
  ) as Record<string, number>;
  for (const o of orders)
    assert.ok(far[o] <= cellRadius(o), `order ${o}: a cell reaches ${far[o]} rad, bound ${cellRadius(o)}`);
});

const inRanges = (ranges: [number, number][], c: number) => ranges.some(([a, b]) => c >= a && c <= b);
const sep = (l1: number, b1: number, l2: number, b2: number) => {
  const r = Math.PI / 180;
  const s =
    Math.sin(((b2 - b1) * r) / 2) ** 2 +
    Math.cos(b1 * r) * Math.cos(b2 * r) * Math.sin(((l2 - l1) * r) / 2) ** 2;
  return (2 * Math.asin(Math.min(1, Math.sqrt(s)))) / r;
};

test('cone coverage never misses a point inside the cone — across RA 0/360, at the poles, tiny and huge cones', () => {
  const cones: [number, number, number][] = [
    [0.01, 0, 0.5],
    [359.99, 10, 1],
    [180, 89.9, 2],
    [0, -90, 5],
    [10, 45, 0.001],
    [250, -30, 30],
    [0, 0, 179],
  ];
  for (const [lon, lat, r] of cones) {
    for (const order of [3, 8, 13]) {
      const cov = coneCoverage(order, lon, lat, r);
      let inside = 0;
      // Points on rings inside the cone, all around it.
      for (let k = 1; k <= 10; k++) {
        for (let a = 0; a < 360; a += 7.5) {
          const rho = (r * k) / 10.0001;
          const p = offset(lon, lat, rho, a);
          if (sep(lon, lat, p[0], p[1]) > r) continue;
          inside++;
          assert.ok(
            inRanges(cov, lonLatToCell(order, p[0], p[1])),
            `cone ${lon},${lat},${r} order ${order}: missed ${p}`,
          );
        }
      }
      assert.ok(inside > 100);
      const cells = cov.reduce((s, [a, b]) => s + b - a + 1, 0);
      if (r < 1 && order === 8) assert.ok(cells < 200, `a small cone covers only a few cells (${cells})`);
    }
  }
});

/** The point at distance rho (deg) and position angle pa (deg) from (lon, lat). */
function offset(lon: number, lat: number, rho: number, pa: number): [number, number] {
  const r = Math.PI / 180;
  const [l, b, d, t] = [lon * r, lat * r, rho * r, pa * r];
  const b2 = Math.asin(Math.sin(b) * Math.cos(d) + Math.cos(b) * Math.sin(d) * Math.cos(t));
  const l2 =
    l + Math.atan2(Math.sin(t) * Math.sin(d) * Math.cos(b), Math.cos(d) - Math.sin(b) * Math.sin(b2));
  return [(((l2 / r) % 360) + 360) % 360, b2 / r];
}
