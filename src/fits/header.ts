import type { Card, CardValue } from './card.ts';
import type { FitsWarning } from './errors.ts';

/**
 * An ordered list of cards with keyword lookup, like astropy.io.fits.Header.
 * Lookups return the first occurrence of a keyword (astropy does the same for duplicates).
 */
export class Header {
  readonly cards: readonly Card[];
  /** Problems accepted while parsing in tolerant mode, one per problem. */
  readonly warnings: readonly FitsWarning[];
  private index: Map<string, number> | undefined;

  constructor(cards: readonly Card[], warnings: readonly FitsWarning[] = []) {
    this.cards = cards;
    this.warnings = warnings;
  }

  private lookup(): Map<string, number> {
    if (!this.index) {
      this.index = new Map();
      for (let i = 0; i < this.cards.length; i++) {
        const c = this.cards[i];
        if (c.type !== 'commentary' && !this.index.has(c.keyword)) this.index.set(c.keyword, i);
      }
    }
    return this.index;
  }

  has(keyword: string): boolean {
    return this.lookup().has(keyword.toUpperCase());
  }

  card(keyword: string): Card | undefined {
    const i = this.lookup().get(keyword.toUpperCase());
    return i === undefined ? undefined : this.cards[i];
  }

  get(keyword: string): CardValue | undefined {
    return this.card(keyword)?.value;
  }

  /** A number from an int or float card (bigint converted, may lose precision); else undefined. */
  number(keyword: string): number | undefined {
    const v = this.get(keyword);
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    return undefined;
  }

  /** A safe integer from an int card; else undefined. */
  int(keyword: string): number | undefined {
    const v = this.get(keyword);
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (
      typeof v === 'bigint' &&
      v <= BigInt(Number.MAX_SAFE_INTEGER) &&
      v >= BigInt(Number.MIN_SAFE_INTEGER)
    ) {
      return Number(v);
    }
    return undefined;
  }

  string(keyword: string): string | undefined {
    const v = this.get(keyword);
    return typeof v === 'string' ? v : undefined;
  }

  bool(keyword: string): boolean | undefined {
    const v = this.get(keyword);
    return typeof v === 'boolean' ? v : undefined;
  }

  /** Every card with this keyword, in order (COMMENT and HISTORY included). */
  all(keyword: string): Card[] {
    const k = keyword.toUpperCase();
    return this.cards.filter((c) => c.keyword === k);
  }

  /** Text of all COMMENT or HISTORY cards. */
  commentary(keyword: 'COMMENT' | 'HISTORY'): string[] {
    return this.all(keyword).map((c) => String(c.value ?? ''));
  }

  get keywords(): string[] {
    return this.cards.map((c) => c.keyword);
  }
}
