/**
 * Every problem the FITS library reports is a FitsError: it names where (file, HDU, card) and why,
 * so a caller ingesting thousands of files can record a precise reason and go on with the others.
 */
export type FitsErrorCode =
  | 'io' // the byte source failed or is shorter than the layout needs
  | 'not-fits' // the bytes are not FITS at all
  | 'truncated' // the file ends inside a header or the data
  | 'no-end' // a header without END
  | 'bad-card' // a card that cannot be parsed (strict mode)
  | 'bad-keyword' // a mandatory keyword is missing or has the wrong type/value
  | 'bad-size' // NAXISn/PCOUNT/GCOUNT give a negative, non-integer or absurd size
  | 'unsupported' // valid FITS we do not handle (named precisely)
  | 'compression' // a compressed stream or tile is corrupt
  | 'limit' // a safety limit was hit (decompression bomb, too many cards…)
  | 'range'; // a section or row request outside the data

export interface FitsErrorLocation {
  file?: string;
  hdu?: number;
  card?: string;
  offset?: number;
}

export class FitsError extends Error {
  override name = 'FitsError';
  readonly code: FitsErrorCode;
  readonly reason: string;
  file?: string;
  hdu?: number;
  card?: string;
  offset?: number;

  constructor(code: FitsErrorCode, reason: string, where: FitsErrorLocation = {}) {
    super(reason);
    this.code = code;
    this.reason = reason;
    Object.assign(this, where);
    this.message = this.describe();
  }

  /** Adds location details known only to an outer caller (e.g. the file name) without losing inner ones. */
  locate(where: FitsErrorLocation): this {
    for (const [k, v] of Object.entries(where) as [keyof FitsErrorLocation, never][]) {
      if (v !== undefined && this[k] === undefined) this[k] = v;
    }
    this.message = this.describe();
    return this;
  }

  private describe(): string {
    const parts: string[] = [];
    if (this.file !== undefined) parts.push(this.file);
    if (this.hdu !== undefined) parts.push(`HDU ${this.hdu}`);
    if (this.card !== undefined) parts.push(`card ${this.card}`);
    if (this.offset !== undefined) parts.push(`byte ${this.offset}`);
    return parts.length ? `${parts.join(', ')}: ${this.reason}` : this.reason;
  }
}

/** A recoverable problem accepted in tolerant mode: one per problem, with the same location fields. */
export interface FitsWarning extends FitsErrorLocation {
  code: string;
  message: string;
}

/** Runs a reader, adding the file and HDU to any FitsError it throws (inner details win). */
export async function located<T>(where: FitsErrorLocation, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof FitsError) err.locate(where);
    throw err;
  }
}
