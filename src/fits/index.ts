// The public FITS library: pure, no Node imports, the same in Node and the browser.
export { BufferSource, type ByteRange, type ByteSource, readRanges } from './byte-source.ts';
export type { Card, CardType, CardValue } from './card.ts';
export { formatCard, makeCard } from './card-format.ts';
export { parseCard } from './card-parser.ts';
export { type ChecksumResult, encodeChecksum, onesSum, type SumStatus, verifyChecksums } from './checksum.ts';
export { imageHeaderFromCompressed } from './compressed-header.ts';
export { readCompressedImage, type Tile, type TileGrid, tileLayout } from './compression/tiles.ts';
export { FitsError, type FitsErrorCode, type FitsWarning } from './errors.ts';
export { type FitsFile, type OpenOptions, openFits, type SequentialSource } from './fits-file.ts';
export { type Hdu, type HduKind, logicalHeader } from './hdu.ts';
export { Header } from './header.ts';
export { type ParseMode, parseHeader, parseHeaderText } from './header-parser.ts';
export { type AxisRange, type ImageData, type Pixels, readImage, readSection } from './image.ts';
export { type SpectralAxis, spectralAxis } from './spectral.ts';
export {
  type Cell,
  type Column,
  type Group,
  readColumn,
  readGroup,
  readRows,
  type Row,
  tableLayout,
} from './table.ts';
export { isoToMjd, type ObservationTime, observationTime } from './time.ts';
export { describeWcs, type WcsSummary } from './wcs/summary.ts';
export { type CelestialWcs, separation, wcsFromHeader } from './wcs/wcs.ts';
