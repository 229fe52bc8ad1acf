/**
 * Spherical projections of FITS WCS Paper II (Calabretta & Greisen 2002): each turns projection-plane
 * coordinates (x, y) in degrees into native spherical coordinates (phi, theta) in degrees, and has a
 * native reference point (phi0, theta0). Returns null for points outside the projection's domain.
 */
export interface Projection {
  code: string;
  phi0: number;
  theta0: number;
  toNative(x: number, y: number): [number, number] | null;
}

const D2R = Math.PI / 180;
const R2D = 180 / Math.PI;
const atan2d = (y: number, x: number) => Math.atan2(y, x) * R2D;
const asind = (v: number) => Math.asin(clamp(v)) * R2D;
const clamp = (v: number) => Math.min(1, Math.max(-1, v));

/** Projection parameters PVi_m of the latitude axis (i = the lat axis), indexed by m. */
export type ProjectionParams = (m: number, dflt: number) => number;

function zenithal(code: string, thetaOfR: (r: number) => number | null): Projection {
  return {
    code,
    phi0: 0,
    theta0: 90,
    toNative(x, y) {
      const r = Math.hypot(x, y);
      const theta = thetaOfR(r);
      if (theta === null || Number.isNaN(theta)) return null;
      return [r === 0 ? 0 : atan2d(x, -y), theta];
    },
  };
}

/**
 * Inverse of the slant orthographic family (SIN with ξ, η; SZP): solves
 * (ξ²+η²+1) s² + 2(ξ(X−ξ)+η(Y−η)) s + (X−ξ)²+(Y−η)²−1 = 0 for s = sin θ, taking the root nearer 1.
 */
function slantInverse(X: number, Y: number, xi: number, eta: number): [number, number] | null {
  const a = xi * xi + eta * eta + 1;
  const b = xi * (X - xi) + eta * (Y - eta);
  const c = (X - xi) ** 2 + (Y - eta) ** 2 - 1;
  const disc = b * b - a * c;
  if (disc < 0) return null;
  const s1 = (-b + Math.sqrt(disc)) / a;
  const s2 = (-b - Math.sqrt(disc)) / a;
  const s = Math.abs(s1 - 1) < Math.abs(s2 - 1) ? s1 : s2;
  if (s < -1 || s > 1) return null;
  return [atan2d(X - xi * (1 - s), -(Y - eta * (1 - s))), Math.asin(s) * R2D];
}

/** Solves f(theta) = r for theta in [lo, hi] by bisection (f monotonic): for ZPN, AIR and friends. */
function invert(f: (theta: number) => number, r: number, lo: number, hi: number): number | null {
  let flo = f(lo) - r;
  const fhi = f(hi) - r;
  if (flo * fhi > 0) return null;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    const fm = f(mid) - r;
    if (Math.abs(fm) < 1e-13 || hi - lo < 1e-13) return mid;
    if (fm * flo > 0) {
      lo = mid;
      flo = fm;
    } else hi = mid;
  }
  return (lo + hi) / 2;
}

export function makeProjection(code: string, pv: ProjectionParams): Projection | undefined {
  switch (code) {
    case 'TAN':
      return zenithal(code, (r) => (r === 0 ? 90 : atan2d(R2D, r)));
    case 'SIN': {
      const xi = pv(1, 0);
      const eta = pv(2, 0);
      if (xi === 0 && eta === 0)
        return zenithal(code, (r) => (r * D2R > 1 ? null : Math.acos(r * D2R) * R2D));
      // Slant orthographic (NCP is SIN with eta = cot(delta0)): Paper II eq. 44–46.
      return { code, phi0: 0, theta0: 90, toNative: (x, y) => slantInverse(x * D2R, y * D2R, xi, eta) };
    }
    case 'ARC':
      return zenithal(code, (r) => 90 - r);
    case 'ZEA':
      return zenithal(code, (r) => (r * D2R > 2 ? null : 90 - 2 * asind((r * D2R) / 2)));
    case 'STG':
      return zenithal(code, (r) => 90 - 2 * atan2d(r * D2R, 2));
    case 'AZP': {
      // Slant zenithal perspective (Paper II eq. 25–27): μ = PV_1, tilt γ = PV_2.
      const mu = pv(1, 0);
      const g = pv(2, 0) * D2R;
      return {
        code,
        phi0: 0,
        theta0: 90,
        toNative(x, y) {
          const r = Math.hypot(x, y * Math.cos(g));
          if (r === 0) return [0, 90];
          const rho = r / (R2D * (mu + 1) + y * Math.sin(g));
          const psi = atan2d(1, rho);
          const omega = asind((rho * mu) / Math.sqrt(rho * rho + 1));
          const cand = [psi - omega, psi + omega + 180]
            .map((t) => (t > 180 ? t - 360 : t))
            .filter((t) => t >= -90 && t <= 90);
          if (!cand.length) return null;
          return [atan2d(x, -y * Math.cos(g)), Math.max(...cand)];
        },
      };
    }
    case 'SZP': {
      const mu = pv(1, 0);
      const phic = pv(2, 0) * D2R;
      const thetac = pv(3, 90) * D2R;
      const xp = -mu * Math.cos(thetac) * Math.sin(phic);
      const yp = mu * Math.cos(thetac) * Math.cos(phic);
      const zp = mu * Math.sin(thetac) + 1;
      // Paper II eq. 52–55: the same quadratic as slant SIN, with (ξ, η) moving with the point.
      return {
        code,
        phi0: 0,
        theta0: 90,
        toNative(x, y) {
          const X = x * D2R;
          const Y = y * D2R;
          return slantInverse(X, Y, (X - xp) / zp, (Y - yp) / zp);
        },
      };
    }
    case 'ZPN': {
      const coeffs: number[] = [];
      for (let m = 0; m <= 20; m++) coeffs.push(pv(m, 0));
      let deg = 20;
      while (deg > 0 && coeffs[deg] === 0) deg--;
      const rOf = (theta: number) => {
        const z = (90 - theta) * D2R;
        let s = 0;
        for (let m = deg; m >= 0; m--) s = s * z + coeffs[m];
        return s * R2D;
      };
      if (deg === 1) return zenithal(code, (r) => 90 - ((r * D2R - coeffs[0]) / coeffs[1]) * R2D);
      // R(θ) is only invertible from the pole down to its first turning point (as in wcslib).
      let thetaMin = -90;
      for (let t = 90 - 0.01, prev = rOf(90); t >= -90; t -= 0.01) {
        const cur = rOf(t);
        if (cur < prev) {
          thetaMin = t + 0.01;
          break;
        }
        prev = cur;
      }
      return zenithal(code, (r) => invert(rOf, r, thetaMin, 90));
    }
    case 'AIR': {
      const thb = pv(1, 90);
      const xib = (90 - thb) * D2R;
      const cb = xib === 0 ? -0.5 : Math.log(Math.cos(xib / 2)) / Math.tan(xib / 2) ** 2;
      const rOf = (theta: number) => {
        const xi = ((90 - theta) * D2R) / 2;
        if (xi === 0) return 0;
        return -2 * R2D * (Math.log(Math.cos(xi)) / Math.tan(xi) + cb * Math.tan(xi));
      };
      return zenithal(code, (r) => (r === 0 ? 90 : invert(rOf, r, -89.999999, 90)));
    }
    case 'CAR':
      return { code, phi0: 0, theta0: 0, toNative: (x, y) => (Math.abs(y) > 90 ? null : [x, y]) };
    case 'CEA': {
      const lambda = pv(1, 1);
      return {
        code,
        phi0: 0,
        theta0: 0,
        toNative: (x, y) => {
          const s = (lambda * y * D2R) % 1e9;
          return Math.abs(s) > 1 ? null : [x, Math.asin(s) * R2D];
        },
      };
    }
    case 'MER':
      return {
        code,
        phi0: 0,
        theta0: 0,
        toNative: (x, y) => [x, 2 * Math.atan(Math.exp(y * D2R)) * R2D - 90],
      };
    case 'CYP': {
      const mu = pv(1, 1);
      const lambda = pv(2, 1);
      return {
        code,
        phi0: 0,
        theta0: 0,
        toNative: (x, y) => {
          const eta = (y * D2R) / (mu + lambda);
          return [x / lambda, atan2d(eta, 1) + asind((eta * mu) / Math.sqrt(eta * eta + 1))];
        },
      };
    }
    case 'SFL':
      return {
        code,
        phi0: 0,
        theta0: 0,
        toNative: (x, y) => (Math.abs(y) > 90 ? null : [Math.abs(y) === 90 ? 0 : x / Math.cos(y * D2R), y]),
      };
    case 'PAR':
      return {
        code,
        phi0: 0,
        theta0: 0,
        toNative: (x, y) => {
          const theta = 3 * asind(y / 180);
          const d = 1 - 4 * (y / 180) ** 2;
          return Math.abs(y) > 180 ? null : [d === 0 ? 0 : x / d, theta];
        },
      };
    case 'MOL': {
      const s2 = Math.SQRT2;
      return {
        code,
        phi0: 0,
        theta0: 0,
        toNative: (x, y) => {
          const X = x * D2R;
          const Y = y * D2R;
          const z = Y / s2;
          if (Math.abs(z) > 1) return null;
          const root = 2 - Y * Y;
          if (root <= 0) return Math.abs(X) < 1e-12 ? [0, Math.sign(Y) * 90] : null;
          const phi = ((Math.PI * X) / (2 * Math.sqrt(root))) * R2D;
          const arg = (2 * Math.asin(z)) / Math.PI + (Y * Math.sqrt(root)) / Math.PI;
          if (Math.abs(arg) > 1 + 1e-12 || Math.abs(phi) > 180 + 1e-9) return null;
          return [phi, asind(arg)];
        },
      };
    }
    case 'AIT':
      return {
        code,
        phi0: 0,
        theta0: 0,
        toNative: (x, y) => {
          const X = x * D2R;
          const Y = y * D2R;
          const zz = 1 - (X / 4) ** 2 - (Y / 2) ** 2;
          if (zz < 0.5) return null;
          const z = Math.sqrt(zz);
          return [2 * atan2d((z * X) / 2, 2 * z * z - 1), asind(Y * z)];
        },
      };
    case 'COP':
    case 'COE':
    case 'COD':
    case 'COO':
      return conic(code, pv(1, Number.NaN), pv(2, 0));
    default:
      return undefined;
  }
}

/** Conic projections (Paper II §5.5): native reference at (0, θa), with θa = PV_1 and η = PV_2. */
function conic(code: string, thetaA: number, eta: number): Projection | undefined {
  if (Number.isNaN(thetaA)) return undefined;
  const ta = thetaA * D2R;
  const s1 = Math.sin((thetaA - eta) * D2R);
  const s2 = Math.sin((thetaA + eta) * D2R);
  let C: number;
  let Y0: number;
  let thetaOf: (r: number) => number | null;
  if (code === 'COP') {
    C = Math.sin(ta);
    const D = R2D * Math.cos(eta * D2R);
    Y0 = D / Math.tan(ta);
    thetaOf = (r) => thetaA + Math.atan(1 / Math.tan(ta) - r / D) * R2D;
  } else if (code === 'COE') {
    const g = s1 + s2;
    C = g / 2;
    const k = (R2D * 2) / g;
    Y0 = k * Math.sqrt(1 + s1 * s2 - g * Math.sin(ta));
    thetaOf = (r) => {
      const v = (1 + s1 * s2 - (r / k) ** 2) / g;
      return Math.abs(v) > 1 ? null : Math.asin(v) * R2D;
    };
  } else if (code === 'COD') {
    const etaR = eta * D2R;
    C = eta === 0 ? Math.sin(ta) : (Math.sin(ta) * Math.sin(etaR)) / etaR;
    Y0 = (eta === 0 ? R2D : (eta * Math.cos(etaR)) / Math.sin(etaR)) / Math.tan(ta);
    thetaOf = (r) => thetaA + Y0 - r;
  } else {
    const c1 = Math.cos((thetaA - eta) * D2R);
    const c2 = Math.cos((thetaA + eta) * D2R);
    const h = (t: number) => Math.tan(((90 - t) * D2R) / 2);
    C = eta === 0 ? Math.sin(ta) : Math.log(c2 / c1) / Math.log(h(thetaA + eta) / h(thetaA - eta));
    const psi = (R2D * c1) / (C * h(thetaA - eta) ** C);
    Y0 = psi * h(thetaA) ** C;
    thetaOf = (r) => 90 - 2 * Math.atan((r / psi) ** (1 / C)) * R2D;
  }
  return {
    code,
    phi0: 0,
    theta0: thetaA,
    toNative(x, y) {
      const dy = Y0 - y;
      const r = Math.sign(thetaA) * Math.hypot(x, dy);
      const phi = r === 0 ? 0 : atan2d(x / r, dy / r) / C;
      const theta = thetaOf(r);
      return theta === null || Number.isNaN(theta) ? null : [phi, theta];
    },
  };
}
