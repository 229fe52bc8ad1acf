import type { Card, CardValue } from './card.ts';

/**
 * Formats a card in the Standard's fixed format (§4.2): strings quoted from column 11 and padded to
 * at least 8 characters, other values right-justified to column 30. Used wherever we build headers
 * (logical image headers, cutouts) so they read back exactly.
 */
export function formatCard(keyword: string, value: CardValue, comment = ''): string {
  const key = keyword.padEnd(8).slice(0, 8);
  let v: string;
  if (typeof value === 'string') v = `'${value.replace(/'/g, "''").padEnd(8)}'`.padEnd(20);
  else if (typeof value === 'boolean') v = (value ? 'T' : 'F').padStart(20);
  else if (typeof value === 'bigint') v = value.toString().padStart(20);
  else if (typeof value === 'number') v = formatNumber(value).padStart(20);
  else if (value === null) v = ''.padStart(20);
  else v = `(${formatNumber(value[0])}, ${formatNumber(value[1])})`.padStart(20);
  const body = `${key}= ${v}${comment ? ` / ${comment}` : ''}`;
  return body.length > 80 ? body.slice(0, 80) : body.padEnd(80);
}

function formatNumber(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  const s = String(x);
  // Keep a decimal point so the value reads back as a float, as FITS readers expect.
  if (/^-?\d+$/.test(s)) return `${s}.0`;
  return s.replace('e', 'E');
}

export function makeCard(keyword: string, value: CardValue, comment = ''): Card {
  const type: Card['type'] =
    typeof value === 'string'
      ? 'string'
      : typeof value === 'boolean'
        ? 'bool'
        : typeof value === 'bigint'
          ? 'int'
          : typeof value === 'number'
            ? Number.isInteger(value)
              ? 'int'
              : 'float'
            : value === null
              ? 'undefined'
              : 'complex';
  return { keyword, value, type, comment, raw: formatCard(keyword, value, comment) };
}
