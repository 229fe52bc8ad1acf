/**
 * A header card as the FITS Standard 4.0 defines it (§4.1–4.2): keyword, typed value, comment.
 * Values keep their exact type: integers beyond 2^53 stay bigint, complex values stay pairs,
 * an undefined value (`KEY =` with nothing) is null and distinct from an empty string.
 */
export type CardType = 'int' | 'float' | 'string' | 'bool' | 'complex' | 'undefined' | 'commentary';

export type CardValue = number | bigint | string | boolean | readonly [number, number] | null;

export interface Card {
  /** Upper-case keyword; for HIERARCH cards the full dotted/spaced name without the HIERARCH prefix. */
  keyword: string;
  value: CardValue;
  type: CardType;
  comment: string;
  /** The 80-column card image(s) as read; several for a CONTINUE long string. */
  raw: string;
  /** Set for ESO HIERARCH cards. */
  hierarch?: boolean;
}

/** Keywords whose cards carry free text rather than a value (§4.4.2.4). */
export const COMMENTARY_KEYWORDS: ReadonlySet<string> = new Set(['COMMENT', 'HISTORY', '']);
