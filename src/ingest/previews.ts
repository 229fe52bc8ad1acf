import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { ByteSource } from '../fits/byte-source.ts';
import { openFits } from '../fits/fits-file.ts';
import { FileSource } from '../io/file-source.ts';
import type { Lake } from '../lake/lake.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { sniff } from './content.ts';
import { linkArtifact, recordDerivedVersion } from './derived-file.ts';
import { storeFor } from './mounts.ts';
import { scienceHdu } from './observe.ts';
import { renderPreview, thumbnailFromImage } from './preview.ts';

export const PREVIEW_SIZE = 1024;
export const THUMB_SIZE = 160;

async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of body) parts.push(c);
  return Buffer.concat(parts);
}

/**
 * A random-access view of a stored FITS: the object itself, or for a whole-file gzip/bzip2 a
 * decompressed temporary copy (previews need random access; the stream is decompressed once).
 */
async function randomAccess(
  store: ObjectStore,
  key: string,
): Promise<{ source: ByteSource; done: () => Promise<void> }> {
  const source = await store.source(key);
  const what = sniff(await source.read(0, 4));
  if (what !== 'gzip' && what !== 'bzip2') return { source, done: async () => source.close?.() };
  await source.close?.();
  const dir = await mkdtemp(join(tmpdir(), 'fitslake-preview-'));
  const path = join(dir, 'data.fits');
  const input = Readable.from(await store.get(key));
  if (what === 'gzip') await pipeline(input, createGunzip(), createWriteStream(path));
  else {
    const child = spawn('bzip2', ['-dc'], { stdio: ['pipe', 'pipe', 'inherit'] });
    await Promise.all([pipeline(input, child.stdin), pipeline(child.stdout, createWriteStream(path))]);
  }
  const file = await FileSource.open(path);
  return {
    source: file,
    done: async () => {
      await file.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Makes the preview and thumbnail of one catalogued file (a FITS image: stretched first plane; a
 * JPEG/PNG: a thumbnail of it), stores them in the previews zone next to the file's key, and links
 * them to the file's observation. Returns the keys written (none for files without pixels).
 */
export async function makePreviews(lake: Lake, fileId: number): Promise<string[]> {
  const cat = lake.catalog;
  const file = await cat.db
    .selectFrom('files')
    .select(['id', 'zone', 'key', 'kind', 'status', 'collection'])
    .where('id', '=', fileId)
    .executeTakeFirst();
  if (file?.status !== 'ingested') return [];
  // A mounted file is read where it lies (by range; a whole-file .gz/.bz2 as one stream).
  const store = await storeFor(lake, file.zone, file.key);
  const outputs: { suffix: string; role: string; bytes: Uint8Array }[] = [];
  if (file.kind === 'fits') {
    const { source, done } = await randomAccess(store, file.key);
    try {
      const fits = await openFits(source);
      const hdu = scienceHdu(fits.hdus);
      if (!hdu || !['primary', 'image', 'compressed-image'].includes(hdu.kind) || hdu.dataSpan === 0)
        return [];
      const preview = await renderPreview(source, hdu, { maxSize: PREVIEW_SIZE, format: 'jpeg' });
      outputs.push({ suffix: '.preview.jpg', role: 'auto-preview', bytes: preview.bytes });
      const thumb = await thumbnailFromImage(preview.bytes, THUMB_SIZE);
      outputs.push({ suffix: '.thumb.jpg', role: 'auto-thumbnail', bytes: thumb.bytes });
    } finally {
      await done();
    }
  } else if (file.kind === 'image') {
    const thumb = await thumbnailFromImage(await collect(await store.get(file.key)), THUMB_SIZE);
    outputs.push({ suffix: '.thumb.jpg', role: 'auto-thumbnail', bytes: thumb.bytes });
  } else return [];

  const artifact = await cat.db
    .selectFrom('artifacts')
    .select('observation_id')
    .where('file_id', '=', fileId)
    .executeTakeFirst();
  const keys: string[] = [];
  for (const o of outputs) {
    const key = file.key + o.suffix;
    const meta = await lake.zones.previews.put(key, o.bytes, { contentType: 'image/jpeg' });
    const ts = new Date().toISOString();
    await cat.db.transaction().execute(async (tx) => {
      const { id } = await recordDerivedVersion(
        tx,
        {
          zone: 'previews',
          meta,
          contentType: 'image/jpeg',
          kind: 'image',
          collection: file.collection,
          info: JSON.stringify({ derivedFrom: file.id }),
        },
        ts,
      );
      if (artifact) await linkArtifact(tx, artifact.observation_id, id, o.role);
      await tx
        .insertInto('events')
        .values({
          kind: 'preview.ready',
          payload: JSON.stringify({
            key,
            role: o.role,
            fileId,
            observationId: artifact?.observation_id ?? null,
          }),
          created_at: ts,
        })
        .execute();
    });
    keys.push(key);
  }
  return keys;
}
