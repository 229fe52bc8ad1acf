/**
 * What an object is, by its first bytes rather than its name (files arrive misnamed: a `.fits` that
 * is really gzip, a `.dat` that is FITS, a JPEG without extension).
 */
export type Sniffed = 'fits' | 'gzip' | 'bzip2' | 'jpeg' | 'png' | 'text' | 'other';

const latin1 = new TextDecoder('latin1');

export function sniff(head: Uint8Array): Sniffed {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return 'bzip2';
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head[0] === 0x89 && latin1.decode(head.subarray(1, 4)) === 'PNG') return 'png';
  const start = latin1.decode(head.subarray(0, 9));
  if (start === 'SIMPLE  =' || start === 'XTENSION=') return 'fits';
  // Printable text (a header dump, a log, CSV): no NUL or control bytes other than whitespace.
  const n = Math.min(head.length, 4096);
  for (let i = 0; i < n; i++) {
    const b = head[i];
    if (b < 9 || (b > 13 && b < 32) || b === 127) return 'other';
  }
  return n > 0 ? 'text' : 'other';
}
