import type { Lake } from '../lake/lake.ts';
import { queueIngest } from './sources.ts';

/**
 * Re-extraction of objects already in the raw zone (after an upgrade or a collection's settings
 * changed): the CLI's `reindex` and the server's `POST /api/reindex` and `POST /api/ingest` share it.
 */

/** The raw zone's keys under a prefix, one listing page at a time (memory stays flat). */
export async function* rawKeyPages(lake: Lake, prefix?: string): AsyncIterable<string[]> {
  let token: string | undefined;
  do {
    const page = await lake.zones.raw.list({
      ...(prefix ? { prefix } : {}),
      ...(token ? { continuationToken: token } : {}),
    });
    yield page.objects.map((o) => o.key);
    token = page.nextToken;
  } while (token);
}

export async function listRawKeys(lake: Lake, prefix?: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of rawKeyPages(lake, prefix)) keys.push(...page);
  return keys;
}

/**
 * Queues an ingest job for every raw object under `prefix` that `keep` accepts, a listing page at
 * a time; `force` re-extracts objects whose bytes the catalog already has. Returns the job ids.
 */
export async function queuePrefix(
  lake: Lake,
  prefix: string,
  opts: { force: boolean; keep?: (key: string) => boolean },
): Promise<number[]> {
  const ids: number[] = [];
  for await (const page of rawKeyPages(lake, prefix)) {
    const keys = opts.keep ? page.filter(opts.keep) : page;
    if (keys.length) ids.push(...(await queueIngest(lake, keys, opts.force)));
  }
  return ids;
}
