import { mountIndex } from '../../ingest/mounts.ts';
import { Worker } from '../../ingest/worker.ts';
import { openLake } from '../../lake/lake.ts';
import { stringify } from '../json.ts';
import type { Output } from '../output.ts';
import { EXIT } from './ingest.ts';

export interface MountCommandOptions {
  collection: string;
  lake?: string;
  json?: boolean;
  /** Return once catalogued, leaving previews and the crawl to the server's workers. */
  wait?: boolean;
}

/**
 * `fitslake mount INDEX --collection NAME`: a cloud index (http(s) URL or local path) becomes a
 * read-only collection; run again to pick up what the index's publisher changed.
 */
export async function mountCommand(index: string, opts: MountCommandOptions, io: Output): Promise<number> {
  if (!/^[A-Za-z0-9._-]+$/.test(opts.collection))
    throw new Error(
      `collection name ${JSON.stringify(opts.collection)}: use letters, digits, '.', '_' and '-'`,
    );
  const lake = await openLake(opts.lake);
  try {
    const r = await mountIndex(lake, opts.collection, index);
    // Previews and the keyword view, as after an ingest (unless the caller leaves them to a server).
    if (opts.wait !== false) await new Worker(lake).run({ untilIdle: true });
    if (opts.json) io.out(`${stringify(r)}\n`);
    else {
      io.out(
        `mounted ${index} as ${opts.collection}: ${r.files} file(s), ingested ${r.ingested}, unchanged ${r.unchanged}, failed ${r.failed.length}, removed ${r.removed}\n`,
      );
      for (const f of r.failed) io.out(`  failed ${f.key}: ${f.error}\n`);
    }
    return r.failed.length ? EXIT.someFailed : EXIT.ok;
  } finally {
    await lake.close();
  }
}
