// Statistics computed the way truth.py computes them, to compare decoded pixels with astropy's.
import assert from 'node:assert/strict';
import type { Pixels } from '../../src/fits/image.ts';

/** Shewchuk's exact floating-point sum with correct final rounding, as Python's math.fsum. */
export function fsum(values: Iterable<number>): number {
  const partials: number[] = [];
  for (let x of values) {
    let i = 0;
    for (let j = 0; j < partials.length; j++) {
      let y = partials[j];
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[i++] = lo;
      x = hi;
    }
    partials.length = i;
    partials.push(x);
  }
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n];
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n];
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi;
}

const num = (v: unknown) => (typeof v === 'string' ? (/^-?\d+$/.test(v) ? BigInt(v) : Number(v)) : v);
const same = (a: number | bigint, b: unknown) => {
  const t = num(b);
  if (typeof t === 'bigint' || typeof a === 'bigint') return BigInt(a) === BigInt(t as number);
  if (Number.isNaN(t as number)) return Number.isNaN(a as number);
  return a === t || Math.abs((a as number) - (t as number)) <= 1e-12 * Math.abs(t as number);
};

// biome-ignore lint/suspicious/noExplicitAny: truth data_stats is free-form JSON
export function compareStats(where: string, data: Pixels, dtype: string, st: any): void {
  assert.equal(dtype, st.dtype_name, `${where}: dtype`);
  assert.equal(data.length, st.size, `${where}: size`);
  for (const [i, v] of (st.first_values ?? []).entries())
    assert.ok(same(data[i], v), `${where}: value ${i} ${data[i]} vs ${v}`);
  for (const { i, v } of st.samples ?? [])
    assert.ok(same(data[i], v), `${where}: sample ${i} ${data[i]} vs ${v}`);
  if (st.sum === undefined || data.length === 0) return;
  if (dtype.startsWith('float')) {
    let nan = 0;
    const finite: number[] = [];
    for (const v of data as Float64Array) {
      if (Number.isNaN(v)) nan++;
      else if (Number.isFinite(v)) finite.push(v);
    }
    assert.equal(nan, st.n_nan, `${where}: NaN count`);
    assert.ok(same(fsum(finite), st.sum), `${where}: sum ${fsum(finite)} vs ${st.sum}`);
  } else {
    let s = 0n;
    for (const v of data) s += BigInt(v);
    assert.equal(s, BigInt(num(st.sum) as number), `${where}: sum`);
  }
}
