import { openLake } from '../../lake/lake.ts';
import { type OptimizeOutcome, optimizeFile } from '../../ingest/optimize.ts';
import { stringify } from '../json.ts';
import type { Output } from '../output.ts';
import { EXIT } from './ingest.ts';

export interface OptimizeCommandOptions {
  lake?: string;
  prefix?: string;
  collection?: string;
  floats?: string;
  force?: boolean;
  json?: boolean;
}

/**
 * `fitslake optimize [--prefix P] [--collection C]`: writes the range-readable (tile-compressed)
 * copy of every current whole-file .gz/.bz2 FITS in the raw zone that has none for its bytes yet,
 * one file at a time (each is streamed twice: written, then verified pixel for pixel).
 */
export async function optimizeCommand(opts: OptimizeCommandOptions, io: Output): Promise<number> {
  if (opts.floats && opts.floats !== 'gzip' && opts.floats !== 'none')
    throw new Error(`--floats ${opts.floats}: gzip or none`);
  const lake = await openLake(opts.lake);
  try {
    let q = lake.catalog.db
      .selectFrom('files')
      .select(['id', 'key', 'info'])
      .where('zone', '=', 'raw')
      .where('current', '=', 1)
      .where('status', '=', 'ingested')
      .where('kind', '=', 'fits')
      .orderBy('key');
    if (opts.prefix) q = q.where('key', 'like', `${opts.prefix.replace(/[%_\\]/g, '\\$&')}%`);
    if (opts.collection) q = q.where('collection', '=', opts.collection);
    const rows = (await q.execute()).filter((r) => /"container":"(gzip|bzip2)"/.test(r.info ?? ''));
    const counts = { created: 0, unchanged: 0, skipped: 0, failed: 0 };
    for (const r of rows) {
      let out: OptimizeOutcome | { status: 'failed'; fileId: number; error: string };
      try {
        out = await optimizeFile(lake, Number(r.id), {
          ...(opts.floats ? { floats: opts.floats as 'gzip' | 'none' } : {}),
          ...(opts.force ? { force: true } : {}),
        });
      } catch (err) {
        out = { status: 'failed', fileId: Number(r.id), error: (err as Error).message };
      }
      counts[out.status]++;
      if (opts.json) io.out(stringify({ key: r.key, ...out }));
      else if (out.status === 'created')
        io.out(`${r.key} → derived/${out.key} (${out.originalSize} → ${out.size} bytes)`);
      else if (out.status === 'unchanged') io.out(`${r.key}: up to date (derived/${out.key})`);
      else if (out.status === 'skipped') io.out(`${r.key}: skipped, ${out.reason}`);
      else io.err(`${r.key}: failed: ${out.error}`);
    }
    if (!opts.json)
      io.out(
        `optimized ${counts.created}, up to date ${counts.unchanged}, skipped ${counts.skipped}, failed ${counts.failed}`,
      );
    return counts.failed ? EXIT.someFailed : EXIT.ok;
  } finally {
    await lake.close();
  }
}
