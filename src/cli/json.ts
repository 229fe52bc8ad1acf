import type { Card } from '../fits/card.ts';
import type { FitsError, FitsWarning } from '../fits/errors.ts';

/** A card as `fitslake header --json` prints it: exact integers beyond 2^53 as decimal strings. */
export interface CardJson {
  keyword: string;
  value: number | string | boolean | readonly [number, number] | null;
  type: Card['type'];
  comment: string;
}

export function cardJson(c: Card): CardJson {
  const value = typeof c.value === 'bigint' ? c.value.toString() : c.value;
  return { keyword: c.keyword, value, type: c.type, comment: c.comment };
}

export function warningJson(w: FitsWarning): Record<string, unknown> {
  const out: Record<string, unknown> = { code: w.code, message: w.message };
  if (w.hdu !== undefined) out.hdu = w.hdu;
  if (w.card !== undefined) out.card = w.card;
  if (w.offset !== undefined) out.offset = w.offset;
  return out;
}

export function errorJson(file: string, err: unknown): Record<string, unknown> {
  const e = err as Partial<FitsError> & Error;
  const error: Record<string, unknown> = { message: e?.message ?? String(err) };
  if (e && typeof e.code === 'string') error.code = e.code;
  for (const k of ['hdu', 'card', 'offset'] as const) if (e?.[k] !== undefined) error[k] = e[k];
  return { file, error };
}

/** JSON.stringify that never throws on bigint (prints it as a decimal string). */
export function stringify(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), indent);
}
