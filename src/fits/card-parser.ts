import type { Card, CardValue } from './card.ts';
import { COMMENTARY_KEYWORDS } from './card.ts';

/**
 * Parses one 80-column card image (FITS Standard 4.0 §4.1–4.2) the way astropy does, so that values
 * and types agree with astropy on real files. A card is never rejected here: a value that fits no
 * type is kept as text with `problem` set, and the header parser decides (warning or error by mode).
 */
export interface ParsedCard extends Card {
  /** Why the card is not standard-conforming, when it is not (lower-case keyword, bad value...). */
  problem?: string;
  /** For a string value ending in `&`: the card may be followed by CONTINUE cards. */
  continued?: boolean;
}

const KEYWORD_CHARS = /^[A-Z0-9_-]*$/;

export function parseCard(image: string): ParsedCard {
  const raw = image.length === 80 ? image : image.slice(0, 80).padEnd(80);
  const head = raw.slice(0, 8);
  let keyword = head.trim();
  let problem: string | undefined;

  if (keyword.startsWith('HIERARCH') && (keyword.length === 8 || keyword[8] === ' ')) {
    const hier = parseHierarch(raw);
    if (hier) return hier;
  }

  if (!KEYWORD_CHARS.test(keyword)) {
    const upper = keyword.toUpperCase();
    const indicator = raw.indexOf('= ');
    if (indicator >= 0 && indicator <= 8 && KEYWORD_CHARS.test(upper.slice(0, indicator).trim())) {
      problem = `keyword ${JSON.stringify(keyword)} is not upper case`;
      keyword = upper.slice(0, Math.min(indicator, 8)).trim();
    } else {
      // Not a keyword at all (garbage, text): kept verbatim, as astropy does.
      problem = `keyword ${JSON.stringify(keyword)} has characters outside A-Z 0-9 _ -`;
    }
  }
  if (keyword.length && head.slice(0, keyword.length).includes(' ')) {
    problem ??= `keyword ${JSON.stringify(head)} has embedded spaces`;
  }

  if (keyword === 'END' && /^ *$/.test(raw.slice(3)))
    return { keyword, value: null, type: 'commentary', comment: '', raw };
  if (COMMENTARY_KEYWORDS.has(keyword)) {
    // COMMENT, HISTORY and blank cards carry free text from column 9 (leading spaces kept).
    return {
      keyword,
      value: raw.slice(8).trimEnd(),
      type: 'commentary',
      comment: '',
      raw,
      ...(problem ? { problem } : {}),
    };
  }
  if (keyword === 'CONTINUE') {
    // Joined to the preceding long string by the header parser; standing alone it is kept as text.
    const v = parseValueField(raw.slice(8));
    return {
      keyword,
      value: v.value,
      type: v.type,
      comment: v.comment,
      raw,
      ...(v.continued ? { continued: true } : {}),
    };
  }
  if (raw[8] !== '=' || raw[9] !== ' ') {
    // No value indicator: astropy keeps columns 9–80 as a string value; so do we, with a warning.
    return {
      keyword,
      value: raw.slice(8).trimEnd(),
      type: 'string',
      comment: '',
      raw,
      problem: problem ?? `no value indicator "= " in columns 9-10`,
    };
  }
  return valueCard(keyword, raw, raw.slice(10), problem);
}

function parseHierarch(raw: string): ParsedCard | undefined {
  // ESO convention: "HIERARCH KEY WORDS = value / comment"; the keyword runs up to the first "=".
  const eq = raw.indexOf('=', 9);
  if (eq < 0) return undefined;
  const keyword = raw.slice(9, eq).trim();
  if (!keyword) return undefined;
  const card = valueCard(keyword, raw, raw.slice(eq + 1), undefined);
  card.hierarch = true;
  return card;
}

// Record-valued keyword cards (the distortion-paper convention astropy follows): DP1 = 'AXIS.1: 1'
// is the card DP1.AXIS.1 with value 1.0.
const RVKC = /^([a-zA-Z_]\w*(?:\.\w+)*)\s*:\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][+-]?\d+)?)$/;

function valueCard(keyword: string, raw: string, field: string, problem: string | undefined): ParsedCard {
  const v = parseValueField(field);
  if (v.type === 'string' && !v.problem && !v.continued) {
    const m = RVKC.exec(v.value as string);
    if (m && !raw.startsWith('HIERARCH')) {
      return {
        keyword: `${keyword}.${m[1]}`,
        value: Number(m[2].replace(/[dD]/, 'E')),
        type: 'float',
        comment: v.comment,
        raw,
      };
    }
  }
  const card: ParsedCard = { keyword, value: v.value, type: v.type, comment: v.comment, raw };
  if (v.continued) card.continued = true;
  const p = problem ?? v.problem;
  if (p) card.problem = p;
  return card;
}

interface ValueField {
  value: CardValue;
  type: Card['type'];
  comment: string;
  problem?: string;
  continued?: boolean;
}

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[EeDd][+-]?\d+)?$/;

/** Parses the value/comment field (columns 11–80 of a standard card). */
export function parseValueField(field: string): ValueField {
  let i = 0;
  const n = field.length;
  while (i < n && field.charCodeAt(i) === 32) i++;
  if (i === n) return { value: null, type: 'undefined', comment: '' };

  const c0 = field[i];
  if (c0 === "'") return parseString(field, i);
  if (c0 === '/') return { value: null, type: 'undefined', comment: field.slice(i + 1).trim() };

  // The value token runs to the comment slash (a complex value has no slash inside its parentheses).
  const slash = field.indexOf('/', i);
  const token = (slash < 0 ? field.slice(i) : field.slice(i, slash)).trim();
  const comment = slash < 0 ? '' : field.slice(slash + 1).trim();

  if (token === 'T' || token === 'F') return { value: token === 'T', type: 'bool', comment };
  if (INT_RE.test(token)) return { value: parseInteger(token), type: 'int', comment };
  if (FLOAT_RE.test(token)) return { value: Number(token.replace(/[Dd]/, 'E')), type: 'float', comment };
  if (token.startsWith('(')) {
    const m = /^\(\s*([^,()]+?)\s*,\s*([^,()]+?)\s*\)$/.exec(token);
    if (m && (INT_RE.test(m[1]) || FLOAT_RE.test(m[1])) && (INT_RE.test(m[2]) || FLOAT_RE.test(m[2]))) {
      const re = Number(m[1].replace(/[Dd]/, 'E'));
      const im = Number(m[2].replace(/[Dd]/, 'E'));
      return { value: [re, im], type: 'complex', comment };
    }
  }
  // Not a valid FITS value: keep its text so nothing is lost (astropy does the same for e.g. 1.2.3).
  return {
    value: token,
    type: 'string',
    comment,
    problem: `value ${JSON.stringify(token)} is not a valid FITS value`,
  };
}

function parseInteger(token: string): number | bigint {
  // Up to 15 digits always fits a double exactly; longer ones go through BigInt to stay exact.
  const digits = token.length - (token[0] === '+' || token[0] === '-' ? 1 : 0);
  if (digits <= 15) return Number(token);
  const big = BigInt(token);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(big) : big;
}

function parseString(field: string, start: number): ValueField {
  // A string runs from the opening quote to the next quote that is not doubled ('').
  let out = '';
  let i = start + 1;
  const n = field.length;
  let closed = false;
  while (i < n) {
    const q = field.indexOf("'", i);
    if (q < 0) {
      out += field.slice(i);
      i = n;
      break;
    }
    out += field.slice(i, q);
    if (field[q + 1] === "'") {
      out += "'";
      i = q + 2;
      continue;
    }
    i = q + 1;
    closed = true;
    break;
  }
  // Trailing spaces in a string are not significant (§4.2.1.1); leading ones are.
  const value = out.trimEnd();
  const rest = field.slice(i);
  const slash = rest.indexOf('/');
  const comment = slash < 0 ? '' : rest.slice(slash + 1).trim();
  const card: ValueField = { value, type: 'string', comment };
  if (!closed) card.problem = 'string value has no closing quote';
  else if (slash < 0 ? rest.trim() !== '' : rest.slice(0, slash).trim() !== '') {
    card.problem = `unexpected text after the string value: ${JSON.stringify(rest.trim())}`;
  }
  if (value.endsWith('&')) card.continued = true;
  return card;
}
