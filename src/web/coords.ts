// Sky coordinates and times as people type and read them: degrees or sexagesimal, MJD or ISO.

const NUM = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

function parts(text: string): { sign: number; values: number[] } | null {
  const s = text.trim();
  const sign = s.startsWith('-') ? -1 : 1;
  const body = s.replace(/^[-+]/, '');
  const tokens = body.split(/[\s:hmsd°'′"″]+/i).filter((t) => t !== '');
  if (tokens.length < 1 || tokens.length > 3 || !tokens.every((t) => NUM.test(t))) return null;
  const values = tokens.map(Number);
  if (values.slice(1).some((v) => v < 0 || v >= 60)) return null;
  return { sign, values };
}

const sexagesimal = (text: string) => /[:hms°'′"″]|\d\s+\d/i.test(text.trim().replace(/[dD]$/, ''));

/** Right ascension in degrees: "202.47", "202.47d" (degrees) or "13:29:52.7", "13h29m52.7s" (hours). */
export function parseRa(text: string): number | null {
  const s = text.trim();
  if (!s) return null;
  let deg: number;
  if (sexagesimal(s) && !/[d°]/i.test(s)) {
    const p = parts(s);
    if (!p || p.sign < 0) return null;
    const [hh, mm = 0, ss = 0] = p.values;
    deg = (hh + mm / 60 + ss / 3600) * 15;
  } else {
    const p = parts(s.replace(/[d°]$/i, ''));
    if (p?.values.length !== 1) return null;
    deg = p.sign * p.values[0];
  }
  return deg >= 0 && deg <= 360 ? deg : null;
}

/** Declination in degrees: "47.196" or "+47:11:43", "-29d37m08s", "47 11 43". */
export function parseDec(text: string): number | null {
  const s = text.trim();
  if (!s) return null;
  const p = parts(s);
  if (!p) return null;
  const [d, m = 0, sec = 0] = p.values;
  const deg = p.sign * (d + m / 60 + sec / 3600);
  return Math.abs(deg) <= 90 ? deg : null;
}

/** A radius in degrees: "0.1" or "0.1d" (degrees), "5'" or "5m" (arcminutes), "30\"" or "30s" (arcseconds), or "0:05:00". */
export function parseRadius(text: string): number | null {
  const s = text.trim().toLowerCase();
  if (!s) return null;
  const unit = /^(\d+\.?\d*|\.\d+)\s*(d|deg|°|'|′|m|arcmin|"|″|s|arcsec)?$/.exec(s);
  let deg: number | null = null;
  if (unit) {
    const v = Number(unit[1]);
    const u = unit[2] ?? 'd';
    deg = ["'", '′', 'm', 'arcmin'].includes(u)
      ? v / 60
      : ['"', '″', 's', 'arcsec'].includes(u)
        ? v / 3600
        : v;
  } else {
    const p = parts(s);
    if (p && p.sign > 0) deg = p.values[0] + (p.values[1] ?? 0) / 60 + (p.values[2] ?? 0) / 3600;
  }
  return deg !== null && deg >= 0 && deg <= 90 ? deg : null;
}

function sexa(v: number, decimals: number): string {
  const total = Math.round(Math.abs(v) * 3600 * 10 ** decimals) / 10 ** decimals;
  const a = Math.floor(total / 3600);
  const b = Math.floor((total - a * 3600) / 60);
  const c = total - a * 3600 - b * 60;
  const cs = c.toFixed(decimals).padStart(decimals ? 3 + decimals : 2, '0');
  return `${String(a).padStart(2, '0')}:${String(b).padStart(2, '0')}:${cs}`;
}

/** RA degrees as hh:mm:ss.ss. */
export const formatRa = (deg: number) => sexa((((deg % 360) + 360) % 360) / 15, 2).replace(/^24:/, '00:');
/** Dec degrees as ±dd:mm:ss.s. */
export const formatDec = (deg: number) => `${deg < 0 ? '-' : '+'}${sexa(deg, 1)}`;

/** An MJD as "YYYY-MM-DD hh:mm:ss" (UTC). */
export function mjdToIso(mjd: number): string {
  const ms = Math.round((mjd - 40587) * 86400000);
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}
