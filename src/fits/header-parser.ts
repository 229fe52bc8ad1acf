import type { Card } from './card.ts';
import { type ParsedCard, parseCard } from './card-parser.ts';
import { FitsError, type FitsWarning } from './errors.ts';
import { Header } from './header.ts';

export const BLOCK = 2880;
export const CARD = 80;

export type ParseMode = 'tolerant' | 'strict';

export interface HeaderParseOptions {
  /** tolerant (default): accept common violations with one warning each; strict: throw FitsError. */
  mode?: ParseMode;
  file?: string;
  hdu?: number;
  /** Refuse headers with more cards than this (a hostile file cannot make us hold unbounded text). */
  maxCards?: number;
}

const DEFAULT_MAX_CARDS = 1_000_000;
// Windows-1252 in browsers and Node: every byte maps to one UTF-16 unit, so card columns stay aligned.
const latin1 = new TextDecoder('latin1');

/**
 * Builds one header from consecutive 2880-byte blocks, so a walker can stop reading at END without
 * ever touching data. CONTINUE long strings are joined as the cards arrive.
 */
export class HeaderBuilder {
  readonly cards: Card[] = [];
  readonly warnings: FitsWarning[] = [];
  ended = false;
  blocks = 0;
  private readonly opts: HeaderParseOptions;
  private readonly strict: boolean;
  private readonly maxCards: number;
  private open: ParsedCard | undefined;
  private chained = false;

  constructor(opts: HeaderParseOptions = {}) {
    this.opts = opts;
    this.strict = opts.mode === 'strict';
    this.maxCards = opts.maxCards ?? DEFAULT_MAX_CARDS;
  }

  /** Feeds one block (shorter only at end of file). Returns true once END has been seen. */
  push(block: Uint8Array): boolean {
    if (this.ended) return true;
    const text = latin1.decode(block);
    this.blocks++;
    const n = Math.floor(text.length / CARD);
    for (let i = 0; i < n; i++) {
      const image = text.slice(i * CARD, i * CARD + CARD);
      if (image.charCodeAt(0) === 69 /* E */ && image.startsWith('END') && isBlank(image, 3)) {
        this.ended = true;
        this.checkPadding(text, (i + 1) * CARD);
        return true;
      }
      this.add(image);
    }
    if (text.length % CARD) {
      // A cut last card (header dumps often end with "END\n"): padded and kept, with a warning.
      this.problem('truncated', `header ends in the middle of a card (${text.length % CARD} bytes)`);
      const image = text.slice(n * CARD).padEnd(CARD);
      if (image.startsWith('END') && isBlank(image, 3)) {
        this.ended = true;
        return true;
      }
      this.add(image);
    }
    return false;
  }

  /** Adds one card image (also used for newline-separated header dumps). */
  add(image: string): void {
    if (this.cards.length >= this.maxCards) {
      throw new FitsError('limit', `more than ${this.maxCards} cards in one header`, this.where());
    }
    if (image.length < CARD) image = image.padEnd(CARD);
    const card = parseCard(image);
    if (hasBadBytes(image)) {
      this.problem('non-ascii', 'card has bytes outside printable ASCII', card.keyword);
    }
    if (card.problem) this.problem('bad-card', card.problem, card.keyword);
    if (card.keyword === 'CONTINUE' && this.open && card.type === 'string') {
      // Long-string convention: drop the '&' and append the continuation (comments are joined).
      const prev = this.open;
      prev.value = (prev.value as string).slice(0, -1) + (card.value as string);
      prev.raw += card.raw;
      if (card.comment) prev.comment = prev.comment ? `${prev.comment} ${card.comment}` : card.comment;
      this.chained = true;
      if (!card.continued) this.closeChain();
      return;
    }
    this.closeChain();
    delete card.problem;
    if (card.type === 'string' && card.continued) this.open = card;
    delete card.continued;
    this.cards.push(card);
  }

  /** Ends a long string: a dangling '&' on its last piece is dropped, as astropy does. */
  private closeChain(): void {
    const open = this.open;
    if (open && this.chained && typeof open.value === 'string') {
      open.value = open.value.replace(/&$/, '').trimEnd();
    }
    this.open = undefined;
    this.chained = false;
  }

  private checkPadding(text: string, from: number): void {
    if (!isBlank(text, from))
      this.problem('bad-padding', 'header block after END is not blank-filled', 'END');
  }

  problem(code: string, message: string, card?: string): void {
    const where = this.where(card);
    if (this.strict) {
      throw new FitsError(
        code === 'truncated' ? 'truncated' : code === 'no-end' ? 'no-end' : 'bad-card',
        message,
        where,
      );
    }
    this.warnings.push({ code, message, ...where });
  }

  private where(card?: string) {
    const w: { file?: string; hdu?: number; card?: string } = {};
    if (this.opts.file !== undefined) w.file = this.opts.file;
    if (this.opts.hdu !== undefined) w.hdu = this.opts.hdu;
    if (card !== undefined) w.card = card;
    return w;
  }

  header(): Header {
    this.closeChain();
    return new Header(this.cards, this.warnings);
  }
}

function isBlank(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) if (s.charCodeAt(i) !== 32) return false;
  return true;
}

function hasBadBytes(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c > 126) return true;
  }
  return false;
}

/** True when a block looks like binary data rather than header text (NULs and control bytes). */
export function looksBinary(block: Uint8Array): boolean {
  let bad = 0;
  for (let i = 0; i < block.length; i++) if (block[i] < 32 && ++bad >= 8) return true;
  return false;
}

/** Parses a whole header held in memory (2880-byte blocks). */
export function parseHeader(
  bytes: Uint8Array,
  opts: HeaderParseOptions = {},
): { header: Header; end: number } {
  const b = new HeaderBuilder(opts);
  let off = 0;
  while (off < bytes.length && !b.push(bytes.subarray(off, off + BLOCK))) off += BLOCK;
  if (!b.ended) b.problem('no-end', 'header has no END card');
  return { header: b.header(), end: Math.min(bytes.length, off + BLOCK) };
}

/**
 * Parses a header dump: 80-column cards with or without newline separators (`.hdr`, `.txt`), any
 * length, stopping at END. Lines longer than 80 columns are cut; shorter ones are padded.
 */
export function parseHeaderText(text: string, opts: HeaderParseOptions = {}): Header {
  const b = new HeaderBuilder(opts);
  const newline = text.slice(0, CARD + 1).includes('\n');
  const images = newline ? text.replace(/\r?\n$/, '').split(/\r?\n/) : (text.match(/[\s\S]{1,80}/g) ?? []);
  for (const line of images) {
    const image = line.length > CARD ? line.slice(0, CARD) : line.padEnd(CARD);
    if (image.startsWith('END') && isBlank(image, 3)) {
      b.ended = true;
      break;
    }
    b.add(image);
  }
  if (!b.ended) b.problem('no-end', 'header has no END card');
  return b.header();
}
