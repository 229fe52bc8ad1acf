import { formatCard } from './card-format.ts';
import type { CardValue } from './card.ts';

/**
 * Writes FITS: headers of 80-character cards padded to 2880-byte blocks, and big-endian image
 * data padded with zeros (Standard §3.3, §4.4). Enough for derived products, cutouts and
 * generated test data; no compression.
 */
export type CardSpec =
  | [keyword: string, value: CardValue, comment?: string]
  | [keyword: 'COMMENT' | 'HISTORY', text: string];

const BLOCK = 2880;
const ascii = new TextEncoder();

/** One header (ending with END) as bytes, padded with blanks to whole blocks. */
export function encodeHeader(cards: readonly CardSpec[]): Uint8Array {
  let text = '';
  for (const c of cards) {
    if ((c[0] === 'COMMENT' || c[0] === 'HISTORY') && c.length === 2)
      text += `${c[0].padEnd(8)}${c[1]}`.slice(0, 80).padEnd(80);
    else text += formatCard(c[0], c[1], (c as [string, CardValue, string?])[2] ?? '');
  }
  text += 'END'.padEnd(80);
  text = text.padEnd(Math.ceil(text.length / BLOCK) * BLOCK, ' ');
  return ascii.encode(text);
}

export type ImageArray = Uint8Array | Int16Array | Int32Array | Float32Array | Float64Array;

const BITPIX = new Map<unknown, number>([
  [Uint8Array, 8],
  [Int16Array, 16],
  [Int32Array, 32],
  [Float32Array, -32],
  [Float64Array, -64],
]);

/** Image data in FITS byte order, padded to whole blocks. */
export function encodeImageData(data: ImageArray): Uint8Array {
  const bitpix = BITPIX.get(data.constructor)!;
  const size = Math.abs(bitpix) / 8;
  const out = new Uint8Array(Math.ceil((data.length * size) / BLOCK) * BLOCK);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (bitpix === 8) out[i] = v;
    else if (bitpix === 16) view.setInt16(i * 2, v);
    else if (bitpix === 32) view.setInt32(i * 4, v);
    else if (bitpix === -32) view.setFloat32(i * 4, v);
    else view.setFloat64(i * 8, v);
  }
  return out;
}

/**
 * A whole image HDU: the structural cards (SIMPLE or XTENSION, BITPIX, NAXISn) come first as the
 * standard orders them, then `cards`. `shape` is NAXIS1 first; data in FITS order.
 */
export function encodeImageHdu(
  data: ImageArray,
  shape: readonly number[],
  cards: readonly CardSpec[] = [],
  opts: { primary?: boolean; extend?: boolean } = {},
): Uint8Array {
  const primary = opts.primary ?? true;
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length)
    throw new RangeError(`shape ${shape.join('x')} holds ${n} values, data has ${data.length}`);
  const head: CardSpec[] = [
    primary ? ['SIMPLE', true, 'conforms to FITS standard'] : ['XTENSION', 'IMAGE', 'Image extension'],
    ['BITPIX', BITPIX.get(data.constructor)!, 'array data type'],
    ['NAXIS', shape.length, 'number of array dimensions'],
    ...shape.map((s, i): CardSpec => [`NAXIS${i + 1}`, s]),
    ...(primary
      ? opts.extend
        ? [['EXTEND', true] as CardSpec]
        : []
      : [['PCOUNT', 0] as CardSpec, ['GCOUNT', 1] as CardSpec]),
  ];
  const header = encodeHeader([...head, ...cards]);
  const body = encodeImageData(data);
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
}
