import { FitsError } from './errors.ts';

/** A binary-table column format (Standard §7.3.1): repeat count, type code, and for P/Q the element type. */
export interface BinaryFormat {
  repeat: number;
  code: 'L' | 'X' | 'B' | 'I' | 'J' | 'K' | 'A' | 'E' | 'D' | 'C' | 'M' | 'P' | 'Q';
  /** For P/Q (variable-length arrays): the element type and declared maximum length. */
  vla?: { code: Exclude<BinaryFormat['code'], 'P' | 'Q'>; max?: number };
  /** Bytes the column takes in each row. */
  width: number;
}

export const ELEMENT_BYTES: Record<string, number> = {
  L: 1,
  B: 1,
  I: 2,
  J: 4,
  K: 8,
  A: 1,
  E: 4,
  D: 8,
  C: 8,
  M: 16,
  P: 8,
  Q: 16,
};

export function parseBinaryFormat(tform: string, where: { hdu?: number; card?: string } = {}): BinaryFormat {
  const m = /^\s*(\d*)([LXBIJKAEDCMPQ])(?:([LXBIJKAEDCM])(?:\((\d+)\))?)?/.exec(tform.toUpperCase());
  if (!m)
    throw new FitsError('bad-keyword', `TFORM ${JSON.stringify(tform)} is not a binary table format`, where);
  const repeat = m[1] === '' ? 1 : Number(m[1]);
  const code = m[2] as BinaryFormat['code'];
  const f: BinaryFormat = { repeat, code, width: 0 };
  if (code === 'P' || code === 'Q') {
    if (!m[3])
      throw new FitsError('bad-keyword', `TFORM ${JSON.stringify(tform)}: P/Q needs an element type`, where);
    f.vla = {
      code: m[3] as NonNullable<BinaryFormat['vla']>['code'],
      ...(m[4] ? { max: Number(m[4]) } : {}),
    };
    f.width = Math.min(repeat, 1) * ELEMENT_BYTES[code];
  } else f.width = code === 'X' ? Math.ceil(repeat / 8) : repeat * ELEMENT_BYTES[code];
  return f;
}

/** An ASCII-table column format (Standard §7.2.1): Aw, Iw, Fw.d, Ew.d, Dw.d. */
export interface AsciiFormat {
  code: 'A' | 'I' | 'F' | 'E' | 'D';
  width: number;
  decimals?: number;
}

export function parseAsciiFormat(tform: string, where: { hdu?: number; card?: string } = {}): AsciiFormat {
  const m = /^\s*([AIFED])(\d+)(?:\.(\d+))?\s*$/.exec(tform.toUpperCase());
  if (!m)
    throw new FitsError('bad-keyword', `TFORM ${JSON.stringify(tform)} is not an ASCII table format`, where);
  return {
    code: m[1] as AsciiFormat['code'],
    width: Number(m[2]),
    ...(m[3] !== undefined ? { decimals: Number(m[3]) } : {}),
  };
}

/** TDIMn = '(3,2)' → [3, 2] (fastest first). */
export function parseTdim(tdim: string | undefined): number[] | undefined {
  if (!tdim) return undefined;
  const m = /^\s*\(([\d\s,]+)\)\s*$/.exec(tdim);
  if (!m) return undefined;
  const dims = m[1].split(',').map((s) => Number(s.trim()));
  return dims.every((d) => Number.isInteger(d) && d >= 0) ? dims : undefined;
}
