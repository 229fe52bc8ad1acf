// The cloud-index client, exported as `fitslake/cloud`: browser-safe (fetch only, no Node imports).
// The indexer (Node) lives in ./indexer.ts and is reached through `fitslake index`.
export {
  CloudFile,
  CloudHdu,
  CloudIndex,
  GzipCheckpointSource,
  type OpenIndexOptions,
  openIndex,
  parseIndexBytes,
  type TransferStats,
} from './client.ts';
export {
  type CloudIndexDoc,
  cardText,
  checkDoc,
  FORMAT,
  fromParquetRows,
  type IndexedCheckpoints,
  type IndexedColumn,
  type IndexedFile,
  type IndexedHdu,
  type IndexedImage,
  type IndexedTable,
  type IndexedTiles,
  PARQUET_COLUMNS,
  toParquetRows,
  VERSION,
} from './format.ts';
export { RangeSource, type RangeSourceOptions } from './range-source.ts';
