import type { CollectionSettings } from '../config/config.ts';

/**
 * Which observation a file belongs to, and as what. Observatories write every product of one
 * exposure under one base name — `sro-kb001ms-20220629-00010442-EX10.fits.bz2` (large FITS),
 * `…-EX10-small.fits`, `…-EX10.jpg`, `…-EX10-thumb.jpg`, `…-EX10.txt` — and the files arrive in
 * any order, so the base name is the observation's identity from the first file on.
 */
export interface Grouping {
  /** The observation's obs_id. */
  base: string;
  role: string;
  /** Fields the pattern names (site, instrument, date, seq, type, level…). */
  fields: Record<string, string>;
}

/**
 * {site}-{instrument}-{YYYYMMDD}-{sequence}-{type}{reduction level}: the naming of LCO-style
 * observatory pipelines (also `ogg2m001-fs02-20141211-0095-e91`).
 */
export const DEFAULT_GROUPING =
  '^(?<base>(?<site>[a-z0-9]+)-(?<instrument>[a-z0-9]+)-(?<date>\\d{8})-(?<seq>\\d{4,8})-(?<type>[a-z]{1,3}?)(?<level>\\d{2}))(?=[-_.]|$)';

/** [pattern over the file name, role], first match wins. */
export const DEFAULT_ROLES: [string, string][] = [
  ['[-_](thumb|thumbnail|th)\\.(jpe?g|png)$', 'thumbnail'],
  ['[-_](small|sm)\\.(fits?|fts|fz)(\\.(gz|bz2))?$', 'small'],
  ['\\.(jpe?g|png)$', 'preview'],
  ['\\.(txt|hdr|head)$', 'header'],
  ['\\.(fits?|fts|fz)(\\.(gz|bz2))?$', 'science'],
];

/** Header keyword naming a calibration frame → how it relates. */
export const DEFAULT_RELATED: Record<string, string> = {
  L1IDBIAS: 'bias',
  L1IDDARK: 'dark',
  L1IDFLAT: 'flat',
  L1IDSHUT: 'shutter',
  L1IDMASK: 'mask',
};

/** Frame-type codes in observatory names. */
const TYPE_CODES: Record<string, string> = {
  e: 'EXPOSE',
  ex: 'EXPOSE',
  b: 'BIAS',
  bi: 'BIAS',
  d: 'DARK',
  dk: 'DARK',
  f: 'FLAT',
  fl: 'FLAT',
  sk: 'SKYFLAT',
  a: 'ARC',
  ar: 'ARC',
  w: 'LAMPFLAT',
  x: 'EXPERIMENTAL',
};

const cache = new Map<string, RegExp>();
function re(pattern: string): RegExp {
  let r = cache.get(pattern);
  if (!r) {
    r = new RegExp(pattern, 'i');
    cache.set(pattern, r);
  }
  return r;
}

/** Strips role suffixes and extensions: `m31_r_001_thumb.jpg` → `m31_r_001`. */
function stem(name: string): string {
  let s = name.replace(/(\.(gz|bz2|fz))+$/i, '');
  s = s.replace(/\.[a-z0-9]{1,5}$/i, '');
  return s.replace(/[-_](thumb|thumbnail|th|small|sm|preview|hdr|header)$/i, '');
}

/**
 * Groups a file by its name (the part of the key after the collection). Files whose names the
 * pattern does not understand group by folder + name stem, so `a/m31.fits` and `a/m31.jpg` pair.
 */
export function groupOf(relKey: string, settings: CollectionSettings = {}, kind?: string): Grouping {
  const slash = relKey.lastIndexOf('/');
  const name = relKey.slice(slash + 1);
  const folder = slash >= 0 ? relKey.slice(0, slash + 1) : '';
  const roles = settings.roles ?? DEFAULT_ROLES;
  let role = roles.find(([p]) => re(p).test(name))?.[1];
  if (!role)
    role =
      kind === 'fits' ? 'science' : kind === 'image' ? 'preview' : kind === 'header' ? 'header' : 'auxiliary';
  const m = re(settings.grouping ?? DEFAULT_GROUPING).exec(name);
  if (m?.groups?.base) {
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.groups)) if (v !== undefined && k !== 'base') fields[k] = v;
    return { base: m.groups.base, role, fields };
  }
  return { base: folder + stem(name), role, fields: {} };
}

/** The frame type a name's type code stands for (EX → EXPOSE, BI → BIAS…). */
export function frameType(code: string | undefined): string | null {
  if (!code) return null;
  return TYPE_CODES[code.toLowerCase()] ?? code.toUpperCase();
}

/** The obs_id a calibration keyword's value names (a file name or an id). */
export function relatedObsId(value: string, settings: CollectionSettings = {}): string {
  const name = value.trim().split('/').pop() ?? value;
  return groupOf(name, settings).base;
}
