import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { corpusBytes, corpusPath } from './corpus.ts';

/** A corpus file's bytes, decompressed in the test with independent tools (zlib, Debian's bzip2). */
export function decompressed(rel: string): Uint8Array {
  const raw = corpusBytes(rel);
  if (rel.endsWith('.gz')) return new Uint8Array(gunzipSync(raw));
  if (rel.endsWith('.bz2'))
    return new Uint8Array(execFileSync('bzip2', ['-dc', corpusPath(rel)], { maxBuffer: 1 << 30 }));
  return raw;
}
