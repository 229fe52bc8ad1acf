/**
 * The subtractive-dither random sequence of the tiled-image convention: 10000 uniform values from
 * the Park–Miller generator (seed 1), shared by every writer and reader so a quantized float image
 * decodes to the same values everywhere.
 */
let table: Float64Array | undefined;

export function ditherTable(): Float64Array {
  if (!table) {
    table = new Float64Array(10000);
    const a = 16807;
    const m = 2147483647;
    let seed = 1;
    for (let i = 0; i < 10000; i++) {
      const t = a * seed;
      seed = t - m * Math.floor(t / m);
      table[i] = seed / m;
    }
  }
  return table;
}

export const NULL_VALUE = -2147483647 - 1;
export const ZERO_VALUE = -2147483647;

/**
 * Restores quantized floats of one tile: (i − r + 0.5)·scale + zero with the dither sequence
 * starting where the convention says for this tile (row) and ZDITHER0; NO_DITHER omits r − 0.5.
 */
export function unquantize(
  ints: Int32Array,
  out: Float32Array | Float64Array,
  scale: number,
  zero: number,
  method: 'NO_DITHER' | 'SUBTRACTIVE_DITHER_1' | 'SUBTRACTIVE_DITHER_2',
  tile: number,
  zdither0: number,
  blank?: number,
): void {
  const f32 = out instanceof Float32Array;
  if (method === 'NO_DITHER') {
    for (let i = 0; i < ints.length; i++) {
      const v = ints[i];
      out[i] = v === blank ? Number.NaN : f32 ? Math.fround(v * scale + zero) : v * scale + zero;
    }
    return;
  }
  const r = ditherTable();
  let seed = (tile + zdither0 - 1) % 10000;
  let next = Math.floor(r[seed] * 500);
  for (let i = 0; i < ints.length; i++) {
    const v = ints[i];
    if (v === blank) out[i] = Number.NaN;
    else if (method === 'SUBTRACTIVE_DITHER_2' && v === ZERO_VALUE) out[i] = 0;
    else out[i] = (v - r[next] + 0.5) * scale + zero;
    if (++next === 10000) {
      seed = (seed + 1) % 10000;
      next = Math.floor(r[seed] * 500);
    }
  }
}
