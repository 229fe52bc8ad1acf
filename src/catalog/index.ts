export { type Catalog, type CatalogOptions, openCatalog } from './catalog.ts';
export { type Dialect, migrations } from './migrations.ts';
export type { Database } from './schema.ts';
export { cellCenter, cellRadius, coneCoverage, lonLatToCell, MAX_ORDER } from './healpix.ts';
export { claim, complete, type EnqueueOptions, enqueue, fail, type Job } from './jobs.ts';
export {
  type ObservationPage,
  type ObservationQuery,
  type ObservationRow,
  searchObservations,
} from './search.ts';
export { boxRegion, intersects, parseRegion, type Region, separation } from './sky.ts';
