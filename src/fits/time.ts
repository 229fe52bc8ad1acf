import type { Header } from './header.ts';

/** When an observation happened, from whichever of the Standard's time keywords (§9) a header has. */
export interface ObservationTime {
  /** Start as MJD in the header's time scale. */
  mjdStart: number;
  /** End as MJD (from an explicit end keyword, TSTOP, or start + exposure). */
  mjdEnd?: number;
  /** Exposure in seconds. */
  exposure?: number;
  /** TIMESYS (UTC unless stated). */
  timesys: string;
  /** ISO 8601 form of the start (millisecond precision). */
  isoStart: string;
  /** Which keyword gave the start. */
  from: string;
}

const MJD_UNIX_EPOCH = 40587;
const UNIT_SECONDS: Record<string, number> = {
  s: 1,
  d: 86400,
  a: 365.25 * 86400,
  cy: 36525 * 86400,
  min: 60,
  h: 3600,
  yr: 365.25 * 86400,
};

/** ISO 8601 (or the old DD/MM/YY form) date-time → MJD; undefined when it is not a date. */
export function isoToMjd(text: string, timeOfDay?: string): number | undefined {
  const s = text.trim();
  let y: number;
  let mo: number;
  let d: number;
  let rest = '';
  const iso = /^(-?\d{4})-(\d{2})-(\d{2})(?:[T ](.*))?$/.exec(s);
  const old = /^(\d{2})\/(\d{2})\/(\d{2})$/.exec(s);
  if (iso) {
    [y, mo, d] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
    rest = iso[4] ?? '';
  } else if (old) {
    // Pre-2000 form DD/MM/YY means 19YY (Standard §4.4.2.2).
    [d, mo, y] = [Number(old[1]), Number(old[2]), 1900 + Number(old[3])];
  } else return undefined;
  if (!rest && timeOfDay) rest = timeOfDay.trim();
  const t = /^(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d*)?))?/.exec(rest);
  const seconds = t ? Number(t[1]) * 3600 + Number(t[2]) * 60 + Number(t[3] ?? 0) : 0;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || seconds >= 86401) return undefined;
  const days = Date.UTC(y, mo - 1, d) / 86400000;
  if (!Number.isFinite(days)) return undefined;
  return days + MJD_UNIX_EPOCH + seconds / 86400;
}

export function mjdToIso(mjd: number): string {
  return new Date(Math.round((mjd - MJD_UNIX_EPOCH) * 86400000)).toISOString().replace('Z', '');
}

export function observationTime(h: Header): ObservationTime | undefined {
  const timesys = (h.string('TIMESYS') ?? 'UTC').trim().toUpperCase();
  const exposure = firstNumber(h, ['XPOSURE', 'EXPTIME', 'EXPOSURE', 'TELAPSE', 'ONTIME', 'EXPOSURE_TIME']);
  const mjdref =
    (h.number('MJDREFI') ?? 0) + (h.number('MJDREFF') ?? 0) ||
    h.number('MJDREF') ||
    isoToMjd(h.string('DATEREF') ?? '');
  const unit = UNIT_SECONDS[(h.string('TIMEUNIT') ?? 's').trim()] ?? 1;
  const zero = h.number('TIMEZERO') ?? 0;
  const fromTstart = (k: string) => {
    const v = h.number(k);
    return v !== undefined && mjdref !== undefined ? mjdref + ((v + zero) * unit) / 86400 : undefined;
  };
  const startCandidates: [string, number | undefined][] = [
    ['MJD-BEG', h.number('MJD-BEG')],
    ['MJD-OBS', h.number('MJD-OBS')],
    ['DATE-BEG', isoToMjd(h.string('DATE-BEG') ?? '')],
    [
      'DATE-OBS',
      isoToMjd(h.string('DATE-OBS') ?? '', h.string('TIME-OBS') ?? h.string('UT') ?? h.string('UTSTART')),
    ],
    ['TSTART', fromTstart('TSTART')],
  ];
  const start = startCandidates.find(([, v]) => v !== undefined && Number.isFinite(v));
  if (!start) return undefined;
  const mjdStart = start[1]!;
  const endCandidates = [h.number('MJD-END'), isoToMjd(h.string('DATE-END') ?? ''), fromTstart('TSTOP')];
  let mjdEnd = endCandidates.find((v) => v !== undefined && Number.isFinite(v) && v >= mjdStart);
  if (mjdEnd === undefined && exposure !== undefined && exposure >= 0) mjdEnd = mjdStart + exposure / 86400;
  const out: ObservationTime = { mjdStart, timesys, isoStart: mjdToIso(mjdStart), from: start[0] };
  if (mjdEnd !== undefined) out.mjdEnd = mjdEnd;
  if (exposure !== undefined) out.exposure = exposure;
  return out;
}

function firstNumber(h: Header, keys: string[]): number | undefined {
  for (const k of keys) {
    const v = h.number(k);
    if (v !== undefined && Number.isFinite(v)) return v;
  }
  return undefined;
}
