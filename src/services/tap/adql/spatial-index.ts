import { coarsen } from '../../../catalog/search.ts';
import { ALL_SKY, type Region, regionRanges, STORE_ORDER } from '../../../catalog/sky.ts';

// Kept apart from geometry.ts so the SQLite query child, which registers the geometry functions,
// does not load the search module (and Kysely) for every query.

/**
 * The HEALPix candidate test for an indexed shape against a literal region: the table's id among
 * the observations whose stored cells (or ALL_SKY) meet the region's cells. A superset of the exact
 * answer, so it is only ANDed with the exact test, never used alone.
 */
export function indexSql(id: string, region: Region): string {
  const ranges = coarsen(regionRanges(STORE_ORDER, region), 200);
  const terms = ranges.map(([a, b]) => (a === b ? `cell = ${a}` : `cell BETWEEN ${a} AND ${b}`));
  terms.push(`cell = ${ALL_SKY}`);
  return `${id} IN (SELECT observation_id FROM observation_cells WHERE ${terms.join(' OR ')})`;
}
