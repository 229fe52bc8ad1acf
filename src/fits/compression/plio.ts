import { FitsError } from '../errors.ts';

/**
 * IRAF PLIO line-list decoding (pl_l2pi): a run-length code of 16-bit words whose top 4 bits are an
 * opcode (zeros, set value, change value, runs of the value) and low 12 bits the datum.
 */
export function plioDecode(words: Int16Array, npix: number): Int32Array {
  const out = new Int32Array(npix);
  if (npix <= 0 || words.length < 7) return out;
  const w = (i: number) => words[i - 1]; // the format is specified 1-based
  let lllen: number;
  let first: number;
  if (w(3) > 0) {
    lllen = w(3);
    first = 4;
  } else {
    lllen = (w(5) << 15) + w(4);
    first = w(2) + 1;
  }
  if (lllen > words.length)
    throw new FitsError('compression', `PLIO_1 line list claims ${lllen} words, has ${words.length}`);
  const xs = 1;
  const xe = npix;
  let op = 0;
  let x1 = 1;
  let pv = 1;
  for (let ip = first; ip <= lllen; ip++) {
    const word = w(ip) & 0xffff;
    const opcode = word >> 12;
    const data = word & 4095;
    switch (opcode) {
      case 0:
      case 4:
      case 5: {
        const x2 = x1 + data - 1;
        const i1 = Math.max(x1, xs);
        const i2 = Math.min(x2, xe);
        const np = i2 - i1 + 1;
        if (np > 0) {
          out.fill(opcode === 4 ? pv : 0, op, op + np);
          if (opcode === 5 && i2 === x2) out[op + np - 1] = pv;
          op += np;
        }
        x1 = x2 + 1;
        break;
      }
      case 1:
        pv = ((w(ip + 1) & 0xffff) << 12) + data;
        ip++;
        break;
      case 2:
        pv += data;
        break;
      case 3:
        pv -= data;
        break;
      case 6:
      case 7:
        pv += opcode === 6 ? data : -data;
        if (x1 >= xs && x1 <= xe) out[op++] = pv;
        x1++;
        break;
      default:
        throw new FitsError('compression', `PLIO_1 opcode ${opcode} is not defined`);
    }
    if (x1 > xe) break;
  }
  return out;
}
