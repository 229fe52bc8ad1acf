import type { Header } from '../header.ts';

/** A 2-D polynomial distortion term f(u, v). */
export type Polynomial = (u: number, v: number) => number;

/** SIP forward polynomial A or B (Shupe et al. 2005): Σ X_p_q u^p v^q for p + q ≤ X_ORDER. */
export function readSip(header: Header, which: 'A' | 'B'): Polynomial | undefined {
  const order = header.int(`${which}_ORDER`);
  if (order === undefined || order < 0 || order > 20) return undefined;
  const terms: [number, number, number][] = [];
  for (let p = 0; p <= order; p++) {
    for (let q = 0; q + p <= order; q++) {
      const c = header.number(`${which}_${p}_${q}`);
      if (c) terms.push([p, q, c]);
    }
  }
  return (u, v) => {
    let s = 0;
    for (const [p, q, c] of terms) s += c * u ** p * v ** q;
    return s;
  };
}

export type Tpv = (xi: number, eta: number) => [number, number];

// TPV term k as powers of (x, y) and of r = √(x² + y²) (the odd-r terms 3, 11, 23, 39).
const TPV_TERMS: [number, number, number][] = (() => {
  const out: [number, number, number][] = [[0, 0, 0]];
  for (let n = 1; n <= 7; n++) {
    for (let i = n; i >= 0; i--) out.push([i, n - i, 0]);
    if (n % 2 === 1) out.push([0, 0, n]);
  }
  return out;
})();

/** The TPV polynomial (TAN plus PVi_k terms), applied to intermediate coordinates in degrees. */
export function readTpv(
  header: Header,
  key: (k: string) => string,
  lonAxis: number,
  latAxis: number,
): Tpv | undefined {
  const coeffs = (axis: number) =>
    TPV_TERMS.map((_, k) => header.number(key(`PV${axis + 1}_${k}`)) ?? (k === 1 ? 1 : 0));
  const c1 = coeffs(lonAxis);
  const c2 = coeffs(latAxis);
  const poly = (c: number[], x: number, y: number) => {
    const r = Math.hypot(x, y);
    let s = 0;
    for (let k = 0; k < TPV_TERMS.length; k++) {
      if (!c[k]) continue;
      const [px, py, pr] = TPV_TERMS[k];
      s += c[k] * x ** px * y ** py * r ** pr;
    }
    return s;
  };
  return (xi, eta) => [poly(c1, xi, eta), poly(c2, eta, xi)];
}
