/**
 * An error in an ADQL query, at a place in its text: syntax errors, unknown tables or columns,
 * constructs the target engine cannot run. The message starts with the position, so it reads well
 * on its own in a TAP error document.
 */
export class AdqlError extends Error {
  override name = 'AdqlError';
  readonly line: number;
  readonly column: number;
  /** The message without the position prefix. */
  readonly detail: string;

  constructor(line: number, column: number, detail: string) {
    super(`line ${line}, column ${column}: ${detail}`);
    this.line = line;
    this.column = column;
    this.detail = detail;
  }
}
