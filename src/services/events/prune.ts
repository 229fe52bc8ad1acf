import type { Catalog } from '../../catalog/catalog.ts';

const CHUNK = 5000;

/**
 * Deletes events older than `ttlHours` (the live stream's history and the recent-uploads log keep
 * that long); never one created within the TTL. Deletes in chunks so a large backlog does not hold
 * SQLite's write lock against ingestion for long. Returns how many rows went. The server runs it
 * at start and every few minutes; a CLI or worker may call it too (it is idempotent).
 */
export async function pruneEvents(cat: Catalog, ttlHours: number, now: Date = new Date()): Promise<number> {
  if (!(ttlHours > 0) || !Number.isFinite(ttlHours))
    throw new RangeError(`event TTL must be a positive number of hours, not ${ttlHours}`);
  // created_at is ISO 8601 UTC text (toISOString everywhere), so text order is time order.
  const cutoff = new Date(now.getTime() - ttlHours * 3_600_000).toISOString();
  let total = 0;
  for (;;) {
    const r = await cat.db
      .deleteFrom('events')
      .where('id', 'in', (eb) =>
        eb.selectFrom('events').select('id').where('created_at', '<', cutoff).orderBy('id').limit(CHUNK),
      )
      .executeTakeFirst();
    const n = Number(r.numDeletedRows);
    total += n;
    if (n < CHUNK) return total;
  }
}
