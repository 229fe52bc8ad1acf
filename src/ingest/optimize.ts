import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { Catalog } from '../catalog/catalog.ts';
import { placeholders, rawQuery } from '../catalog/raw.ts';
import type { ByteSource } from '../fits/byte-source.ts';
import { carriedCards, emptyPrimaryHdu, HeapSum, TileWriter } from '../fits/compress.ts';
import { decodeTile, tileLayout } from '../fits/compression/tiles.ts';
import { FitsError } from '../fits/errors.ts';
import { openFits } from '../fits/fits-file.ts';
import type { Header } from '../fits/header.ts';
import { BLOCK, HeaderBuilder } from '../fits/header-parser.ts';
import { dataLayout } from '../fits/layout.ts';
import { decompressStream } from '../io/compressed.ts';
import { FileSource } from '../io/file-source.ts';
import type { Lake } from '../lake/lake.ts';
import type { ObjectMeta } from '../storage/object-store.ts';
import { sniff } from './content.ts';
import { linkArtifact, recordDerivedVersion } from './derived-file.ts';
import { readObject } from './read-object.ts';

/**
 * Range-readable copies of whole-file compressed FITS (`.fits.gz`, `.fits.bz2`): a gzip or bzip2
 * stream can only be read from its start, so a cutout of a 2 GB mosaic costs a full decompression.
 * `optimizeFile` streams the original once, writes a tile-compressed copy (RICE_1 for 8/16/32-bit
 * integers, GZIP_2 for floats — both lossless — one tile per image row as fpack does) HDU by HDU
 * to a temporary file, decompresses the original a second time to check every pixel of the copy,
 * and only then stores it in the `derived` zone as `<key without .gz/.bz2>.fz` (`a/b.fits.gz` →
 * `a/b.fits.fz`), catalogued as a fits file whose `info.derivedFrom` names the original
 * `{fileId, key, sha256}`, linked to the original's observation with the artifact role
 * `optimized`. The original is never touched. Tables and other HDUs are copied byte for byte; a
 * primary image moves to HDU 1 behind an empty primary HDU, as fpack does (`info.optimized.hdus`
 * maps each original HDU to its HDU in the copy).
 */
export const OPTIMIZED_ROLE = 'optimized';

export interface OptimizeOptions {
  /** Float images: GZIP_2 tiles (default) or left as plain image HDUs (range-readable, no gain). */
  floats?: 'gzip' | 'none';
  /** Image rows per tile (default 1, as fpack). */
  tileRows?: number;
  /** Re-create the copy even when one matches the original's sha256. */
  force?: boolean;
}

export type OptimizeOutcome =
  | { status: 'created'; fileId: number; key: string; copyId: number; size: number; originalSize: number }
  | { status: 'unchanged'; fileId: number; key: string; copyId: number }
  | { status: 'skipped'; fileId: number; reason: string };

export interface HduMapping {
  /** HDU index in the original and in the copy. */
  from: number;
  to: number;
  /** RICE_1, GZIP_2, or 'copy' (bytes as they were). */
  method: string;
}

/** The derived-zone key of a file's optimized copy: `.gz`/`.bz2` dropped, `.fz` appended. */
export function optimizedKey(key: string): string {
  const base = key.replace(/\.(gz|bz2)$/i, '');
  return /\.fz$/i.test(base) ? base : `${base}.fz`;
}

const latin1 = new TextDecoder('latin1');

/** Walks a forward-only stream HDU by HDU: header bytes, parsed header and data layout. */
async function* hdusOf(src: ByteSource): AsyncGenerator<{
  index: number;
  headerBytes: Uint8Array;
  header: Header;
  layout: ReturnType<typeof dataLayout>;
  dataOffset: number;
}> {
  let offset = 0;
  for (let index = 0; ; index++) {
    let block = await src.read(offset, BLOCK);
    if (block.length === 0) return;
    if (index > 0 && !latin1.decode(block.subarray(0, 8)).startsWith('XTENSION')) return; // padding after the last HDU
    const blocks: Uint8Array[] = [];
    const builder = new HeaderBuilder({ file: src.name, hdu: index });
    for (;;) {
      if (block.length < BLOCK)
        throw new FitsError('truncated', `the stream ends inside the header of HDU ${index}`, {
          file: src.name,
        });
      blocks.push(block);
      offset += BLOCK;
      if (builder.push(block)) break;
      block = await src.read(offset, BLOCK);
    }
    const header = builder.header();
    const layout = dataLayout(header, index, { file: src.name });
    yield { index, headerBytes: Buffer.concat(blocks), header, layout, dataOffset: offset };
    offset += layout.dataSpan;
  }
}

const compressible = (kind: string, bitpix: number, naxes: number[], floats: 'gzip' | 'none') =>
  (kind === 'primary' || kind === 'image') &&
  naxes.length > 0 &&
  naxes.every((n) => n > 0) &&
  !(bitpix < 0 && floats === 'none');

/**
 * Writes the tile-compressed copy of a decompressed FITS stream to `outPath`. Memory: one tile and
 * one descriptor table per HDU; each compressed HDU's heap goes through a temporary file (its
 * header, which needs the heap size, is written before it).
 */
export async function writeOptimized(
  src: ByteSource,
  outPath: string,
  opts: OptimizeOptions = {},
): Promise<HduMapping[]> {
  const floats = opts.floats ?? 'gzip';
  const out = await open(outPath, 'w');
  const heapPath = `${outPath}.heap`;
  const map: HduMapping[] = [];
  let to = 0;
  try {
    for await (const h of hdusOf(src)) {
      const { kind, bitpix, naxes, dataSpan } = h.layout;
      if (!compressible(kind, bitpix, naxes, floats)) {
        await out.write(h.headerBytes);
        for (let p = 0; p < dataSpan; p += 1 << 22) {
          const b = await src.read(h.dataOffset + p, Math.min(1 << 22, dataSpan - p));
          if (b.length < Math.min(1 << 22, dataSpan - p))
            throw new FitsError('truncated', `HDU ${h.index}: the stream ends inside its data`, {
              file: src.name,
            });
          await out.write(b);
        }
        map.push({ from: h.index, to: to++, method: 'copy' });
        continue;
      }
      if (h.index === 0) {
        await out.write(emptyPrimaryHdu());
        to++;
      }
      const w = new TileWriter(
        { bitpix, shape: naxes, primary: h.index === 0, cards: carriedCards(h.header) },
        {
          tileShape: [naxes[0], Math.max(1, opts.tileRows ?? 1)],
          gzip: (raw) => gzipSync(raw, { level: 6 }),
        },
      );
      const heap = await open(heapPath, 'w');
      const lengths: number[] = [];
      const sum = new HeapSum();
      let pos = h.dataOffset;
      try {
        for (let k = 0; k < w.tileCount; k++) {
          const len = w.tile(k).pixels * w.size;
          const raw = await src.read(pos, len);
          if (raw.length < len)
            throw new FitsError('truncated', `HDU ${h.index}: the stream ends inside its data`, {
              file: src.name,
            });
          pos += len;
          const t = w.encodeTile(raw);
          lengths.push(t.length);
          sum.add(t);
          await heap.write(t);
        }
      } finally {
        await heap.close();
      }
      const { header, table, padding } = w.finish(lengths, sum.value());
      await out.write(header);
      await out.write(table);
      for await (const chunk of createReadStream(heapPath, { highWaterMark: 1 << 22 }))
        await out.write(chunk as Buffer);
      if (padding) await out.write(new Uint8Array(padding));
      await rm(heapPath, { force: true });
      // The rest of the data span (block padding) is skipped by the walker.
      map.push({ from: h.index, to: to++, method: w.method });
    }
  } finally {
    await out.close();
    await rm(heapPath, { force: true });
  }
  if (!map.length) throw new FitsError('not-fits', 'no HDU in the stream', { file: src.name });
  return map;
}

const sameValue = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));

/**
 * Checks a copy against the original stream, pixel for pixel for compressed HDUs (decoded with the
 * library's own tile decoder) and byte for byte for copied ones. Throws on the first difference.
 */
export async function verifyOptimized(
  original: ByteSource,
  copy: ByteSource,
  map: readonly HduMapping[],
): Promise<void> {
  const fits = await openFits(copy, { mode: 'strict' });
  const fail = (msg: string): never => {
    throw new FitsError('compression', `optimized copy differs from the original: ${msg}`, {
      file: original.name,
    });
  };
  let i = 0;
  for await (const h of hdusOf(original)) {
    const m = map[i++];
    if (!m || m.from !== h.index) fail(`HDU ${h.index} has no counterpart in the copy`);
    const c = fits.hdus[m.to];
    if (!c) fail(`the copy has no HDU ${m.to}`);
    const { bitpix, naxes, dataSize } = h.layout;
    if (m.method === 'copy') {
      const head = await copy.read(c.headerOffset, h.headerBytes.length);
      if (Buffer.compare(head, h.headerBytes) !== 0) fail(`header of HDU ${h.index}`);
      for (let p = 0; p < dataSize; p += 1 << 22) {
        const n = Math.min(1 << 22, dataSize - p);
        const a = await original.read(h.dataOffset + p, n);
        const b = await copy.read(c.dataOffset + p, n);
        if (Buffer.compare(a, b) !== 0) fail(`data of HDU ${h.index} near byte ${p}`);
      }
      continue;
    }
    const grid = await tileLayout(copy, c);
    if (grid.zbitpix !== bitpix || grid.shape.join() !== naxes.join())
      fail(`HDU ${h.index}: shape/BITPIX ${grid.shape}/${grid.zbitpix} vs ${naxes}/${bitpix}`);
    const size = Math.abs(bitpix) / 8;
    const bits = 8 * size;
    let pos = h.dataOffset;
    for (const t of grid.tiles) {
      const n = t.size.reduce((a, b) => a * b, 1);
      const raw = await original.read(pos, n * size);
      pos += n * size;
      const values = decodeTile(grid, t, await copy.read(t.offset, t.length), undefined, c.index);
      const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let p = 0; p < n; p++) {
        let a: number;
        let b = Number(values[p]);
        if (bitpix === -32) a = dv.getFloat32(4 * p);
        else if (bitpix === -64) a = dv.getFloat64(8 * p);
        else if (bitpix === 64) a = Number(dv.getBigInt64(8 * p));
        else {
          // Stored integers compared modulo the pixel width (the decoder may not wrap Rice sums).
          a = bits === 8 ? raw[p] : bits === 16 ? dv.getInt16(2 * p) : dv.getInt32(4 * p);
          b = bits === 8 ? b & 0xff : bits === 16 ? (b << 16) >> 16 : b | 0;
        }
        if (!sameValue(a, b))
          fail(`HDU ${h.index} tile ${t.index} pixel ${p}: ${a} in the original, ${b} in the copy`);
      }
    }
  }
  if (i !== map.length) fail(`the original has ${i} HDUs, the mapping ${map.length}`);
}

interface FileRow {
  id: number;
  zone: string;
  key: string;
  sha256: string;
  size: number | bigint | string;
  kind: string | null;
  status: string;
  info: string | null;
  collection: string | null;
}

const parse = (s: string | null): Record<string, unknown> => {
  try {
    return s ? (JSON.parse(s) as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};

async function currentCopy(
  cat: Catalog,
  orig: { key: string; sha256: string },
): Promise<{ id: number; key: string } | undefined> {
  const key = optimizedKey(orig.key);
  const rows = await cat.db
    .selectFrom('files')
    .select(['id', 'key', 'info'])
    .where('zone', '=', 'derived')
    .where('key', '=', key)
    .where('current', '=', 1)
    .where('status', '=', 'ingested')
    .execute();
  for (const r of rows) {
    const from = parse(r.info).derivedFrom as { key?: string; sha256?: string } | undefined;
    if (from?.key === orig.key && from.sha256 === orig.sha256) return { id: Number(r.id), key: r.key };
  }
  return undefined;
}

/**
 * The key (in the `derived` zone) of the range-readable copy of a file — by catalog id or by key of
 * its current version — when one exists for the file's current bytes; undefined otherwise (the
 * file is range-readable itself, or not optimized yet). SODA cutouts and the cloud index read
 * sections through it instead of decompressing the original.
 */
export async function rangeReadableCopy(cat: Catalog, file: number | string): Promise<string | undefined> {
  let q = cat.db.selectFrom('files').select(['id', 'zone', 'key', 'sha256', 'info']);
  q =
    typeof file === 'number'
      ? q.where('id', '=', file)
      : q.where('key', '=', file).where('current', '=', 1).where('zone', '!=', 'derived');
  const row = await q.executeTakeFirst();
  if (!row) return undefined;
  return (await currentCopy(cat, row))?.key;
}

/** Creates (or confirms) the optimized copy of one catalogued file. */
export async function optimizeFile(
  lake: Lake,
  fileId: number,
  opts: OptimizeOptions = {},
): Promise<OptimizeOutcome> {
  const cat = lake.catalog;
  const file = (await cat.db
    .selectFrom('files')
    .select(['id', 'zone', 'key', 'sha256', 'size', 'kind', 'status', 'info', 'collection'])
    .where('id', '=', fileId)
    .executeTakeFirst()) as FileRow | undefined;
  if (!file) return { status: 'skipped', fileId, reason: 'no such file' };
  if (file.zone === 'derived') return { status: 'skipped', fileId, reason: 'a derived file' };
  if (file.kind !== 'fits' || file.status !== 'ingested')
    return { status: 'skipped', fileId, reason: `not an ingested FITS file (${file.kind}, ${file.status})` };
  const store = lake.zones[file.zone as keyof Lake['zones']];
  if (!store) return { status: 'skipped', fileId, reason: `unknown zone ${file.zone}` };
  let container = parse(file.info).container as string | undefined;
  if (container !== 'gzip' && container !== 'bzip2') {
    const s = await store.source(file.key);
    try {
      container = sniff(await s.read(0, 4));
    } finally {
      await s.close?.();
    }
  }
  if (container !== 'gzip' && container !== 'bzip2')
    return { status: 'skipped', fileId, reason: 'range-readable already (not whole-file gzip/bzip2)' };
  const key = optimizedKey(file.key);
  const existing = await currentCopy(cat, file);
  if (existing && !opts.force && (await lake.zones.derived.head(key)))
    return { status: 'unchanged', fileId, key, copyId: existing.id };

  const dir = await mkdtemp(join(tmpdir(), 'fitslake-optimize-'));
  const outPath = join(dir, 'copy.fits.fz');
  const stream = async () =>
    decompressStream(
      file.key,
      Readable.from(await store.get(file.key)),
      () => 0,
      container as 'gzip' | 'bzip2',
    );
  try {
    const first = await stream();
    let map: HduMapping[];
    try {
      map = await writeOptimized(first, outPath, opts);
    } finally {
      await first.close();
    }
    // Checked against a second decompression of the original, before anything is stored.
    const second = await stream();
    const copy = await FileSource.open(outPath);
    try {
      await verifyOptimized(second, copy, map);
    } finally {
      await second.close();
      await copy.close();
    }
    const meta = await lake.zones.derived.put(key, createReadStream(outPath, { highWaterMark: 1 << 20 }), {
      contentType: 'application/fits',
      metadata: { derivedfrom: file.key, derivedsha256: file.sha256 },
    });
    const ex = await readObject(lake.zones.derived, key);
    if (ex.error) throw new FitsError('compression', `stored copy ${key} does not read back: ${ex.error}`);
    const copyId = await record(lake, file, key, meta, ex.rows, map);
    return { status: 'created', fileId, key, copyId, size: meta.size, originalSize: Number(file.size) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function record(
  lake: Lake,
  file: FileRow,
  key: string,
  meta: ObjectMeta,
  rows: Awaited<ReturnType<typeof readObject>>['rows'],
  map: HduMapping[],
): Promise<number> {
  const cat = lake.catalog;
  const ts = new Date().toISOString();
  const info = JSON.stringify({
    derivedFrom: { fileId: Number(file.id), key: file.key, sha256: file.sha256 },
    optimized: { hdus: map },
  });
  const artifact = await cat.db
    .selectFrom('artifacts')
    .select('observation_id')
    .where('file_id', '=', Number(file.id))
    .executeTakeFirst();
  return cat.db.transaction().execute(async (tx) => {
    const { id, existed } = await recordDerivedVersion(
      tx,
      {
        zone: 'derived',
        meta,
        contentType: 'application/fits',
        kind: 'fits',
        collection: file.collection,
        info,
      },
      ts,
    );
    if (existed) await tx.deleteFrom('hdus').where('file_id', '=', id).execute();
    if (rows.length)
      await rawQuery(
        tx,
        cat.dialect,
        `INSERT INTO hdus (file_id, idx, kind, header_offset, data_offset, data_span, shape, checksum, datasum,
           cards, keyvalues) VALUES ${placeholders(rows.length, 11)}`,
        rows.flatMap((h) => [
          id,
          h.idx,
          h.kind,
          h.header_offset,
          h.data_offset,
          h.data_span,
          h.shape,
          h.checksum,
          h.datasum,
          h.cards,
          h.keyvalues,
        ]),
      );
    if (artifact) await linkArtifact(tx, artifact.observation_id, id, OPTIMIZED_ROLE);
    await tx
      .insertInto('events')
      .values({
        kind: 'file.optimized',
        payload: JSON.stringify({
          key,
          fileId: Number(file.id),
          copyId: id,
          observationId: artifact?.observation_id ?? null,
        }),
        created_at: ts,
      })
      .execute();
    return id;
  });
}
