import { BufferSource } from '../../src/fits/byte-source.ts';
import { type FitsFile, openFits } from '../../src/fits/fits-file.ts';
import type { Hdu } from '../../src/fits/hdu.ts';
import { corpusFiles, type Truth, truth } from './corpus.ts';
import { decompressed } from './decompress.ts';

export interface CorpusHdu {
  rel: string;
  index: number;
  /** astropy's record of this HDU. */
  th: Truth;
  hdu: Hdu;
  fits: FitsFile;
  /** The (decompressed) file bytes. */
  bytes: Uint8Array;
}

/**
 * Every HDU of every corpus file astropy opens, beside its truth — skipping the files whose HDU
 * count we deliberately differ on (see conformance-headers.test.ts).
 */
export async function* corpusHdus(): AsyncGenerator<CorpusHdu> {
  for (const rel of corpusFiles()) {
    const t = truth(rel);
    if (!t.hdus?.length || t.header_only_parse) continue;
    const bytes = decompressed(rel);
    const fits = await openFits(new BufferSource(bytes, rel));
    if (fits.hdus.length !== t.hdus.length) continue;
    for (const [index, th] of t.hdus.entries()) yield { rel, index, th, hdu: fits.hdus[index], fits, bytes };
  }
}
