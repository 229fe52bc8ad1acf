// Access to the conformance corpus (test/fixtures/corpus) and astropy's truth for each file.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Card, CardType, CardValue } from '../../src/fits/card.ts';
import { Header } from '../../src/fits/header.ts';

export const CORPUS = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'corpus');

/** Corpus entries as paths relative to CORPUS, e.g. "fits/checksum.fits", "synthetic/rice_single.fits.fz". */
export function corpusFiles(): string[] {
  const out: string[] = [];
  for (const dir of ['fits', 'synthetic']) {
    for (const f of readdirSync(join(CORPUS, dir)).sort()) {
      if (f.endsWith('.truth.json') || f === 'MANIFEST.tsv' || f.endsWith('.py')) continue;
      if (existsSync(join(CORPUS, dir, `${f}.truth.json`))) out.push(`${dir}/${f}`);
    }
  }
  return out;
}

export function corpusPath(rel: string): string {
  return join(CORPUS, rel);
}

export function corpusBytes(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(corpusPath(rel)));
}

// biome-ignore lint/suspicious/noExplicitAny: truth files are free-form JSON written by truth.py
export type Truth = any;

export function truth(rel: string): Truth {
  return JSON.parse(readFileSync(corpusPath(`${rel}.truth.json`), 'utf8'));
}

export interface TruthCard {
  keyword: string;
  value: unknown;
  value_type: 'str' | 'int' | 'float' | 'bool' | 'complex' | 'undefined' | 'unparseable';
  comment: string;
  raw: string;
  hierarch?: boolean;
  physical_cards?: number;
}

/** astropy's value_type → our CardType ('unparseable' cards keep their text as a string). */
export const TYPE_MAP: Record<TruthCard['value_type'], CardType> = {
  str: 'string',
  int: 'int',
  float: 'float',
  bool: 'bool',
  complex: 'complex',
  undefined: 'undefined',
  unparseable: 'string',
};

/** astropy's value in our representation (big ints as bigint, NaN/Inf strings as numbers). */
export function truthValue(c: TruthCard): CardValue {
  if (c.value_type === 'int') return typeof c.value === 'string' ? BigInt(c.value) : (c.value as number);
  if (c.value_type === 'float') return typeof c.value === 'string' ? Number(c.value) : (c.value as number);
  if (c.value_type === 'complex') return c.value as [number, number];
  if (c.value_type === 'undefined') return null;
  return c.value as CardValue;
}

const COMMENTARY = new Set(['COMMENT', 'HISTORY', '']);

/** A Header built from astropy's parse: lets a module be tested before or apart from our parser. */
export function headerFromTruth(cards: TruthCard[]): Header {
  const out: Card[] = cards.map((c) => ({
    keyword: c.keyword,
    value: truthValue(c),
    type:
      COMMENTARY.has(c.keyword) && !c.raw.slice(8, 10).startsWith('=')
        ? 'commentary'
        : TYPE_MAP[c.value_type],
    comment: c.comment ?? '',
    raw: c.raw,
    ...(c.hierarch ? { hierarch: true } : {}),
  }));
  return new Header(out);
}
