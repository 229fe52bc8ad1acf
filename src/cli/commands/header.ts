import type { Card } from '../../fits/card.ts';
import type { Hdu } from '../../fits/hdu.ts';
import { openFits } from '../../fits/fits-file.ts';
import { eachFile } from '../each-file.ts';
import { cardJson, stringify, warningJson } from '../json.ts';
import type { Output } from '../output.ts';

export interface HeaderOptions {
  hdu?: string[];
  keyword?: string[];
  json?: boolean;
  strict?: boolean;
}

/** `fitslake header`: every header of every file, like astropy's fitsheader. Returns the exit code. */
export async function headerCommand(files: string[], opts: HeaderOptions, io: Output): Promise<number> {
  const match = keywordMatcher(opts.keyword);
  return eachFile(files, opts.json, io, async (file, source) => {
    const fits = await openFits(source, { mode: opts.strict ? 'strict' : 'tolerant' });
    const hdus = selectHdus(fits.hdus, opts.hdu);
    if (opts.json) {
      io.out(
        stringify({
          file,
          warnings: fits.warnings.map(warningJson),
          hdus: hdus.map((h) => hduJson(h, match)),
        }),
      );
    } else {
      for (const h of hdus) {
        io.out(`# HDU ${h.index} in ${file}:`);
        const cards = (h.imageHeader ?? h.header).cards.filter((c) => match(c.keyword));
        io.out(cards.map((c) => c.raw.match(/.{1,80}/g)?.join('\n') ?? '').join('\n'));
        io.out('');
      }
      for (const w of fits.warnings) io.err(`${file}: warning: ${w.message}`);
    }
  });
}

function hduJson(h: Hdu, match: (k: string) => boolean) {
  const out: Record<string, unknown> = {
    index: h.index,
    kind: h.kind,
    headerOffset: h.headerOffset,
    dataOffset: h.dataOffset,
    dataSpan: h.dataSpan,
    cards: (h.imageHeader ?? h.header).cards.filter((c: Card) => match(c.keyword)).map(cardJson),
  };
  if (h.imageHeader) out.storedCards = h.header.cards.filter((c) => match(c.keyword)).map(cardJson);
  return out;
}

/** --hdu takes indexes or EXTNAMEs (case-insensitive), repeatable. */
export function selectHdus(hdus: Hdu[], wanted?: string[]): Hdu[] {
  if (!wanted?.length) return hdus;
  const out: Hdu[] = [];
  for (const w of wanted) {
    const found = /^\d+$/.test(w)
      ? hdus.find((h) => h.index === Number(w))
      : hdus.find((h) => h.extname?.toUpperCase() === w.toUpperCase());
    if (!found) throw new Error(`no HDU ${JSON.stringify(w)} (the file has ${hdus.length})`);
    out.push(found);
  }
  return out;
}

/** --keyword takes exact keywords or shell-style wildcards (NAXIS*, CD?_?), like fitsheader. */
export function keywordMatcher(patterns?: string[]): (keyword: string) => boolean {
  if (!patterns?.length) return () => true;
  const res = patterns.map((p) => {
    const body = p
      .toUpperCase()
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    return new RegExp(`^${body}$`);
  });
  return (k) => res.some((r) => r.test(k));
}
