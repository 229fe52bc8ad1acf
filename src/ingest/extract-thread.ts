// An ingest thread (run by piscina from direct.ts): the heavy half of ingesting a small local file —
// reading it, storing it (temp file, fsync, rename) when the raw zone is a local folder, parsing
// every header, verifying checksums, serialising cards, deriving the observation and its sky cells
// — off the thread that writes the catalog.
import { readFileSync, statSync } from 'node:fs';
import type { CollectionSettings } from '../config/config.ts';
import { LocalStore } from '../storage/local-store.ts';
import type { ObjectMeta } from '../storage/object-store.ts';
import { type Extracted, extractObject, memoryReader } from './extract.ts';

export interface ExtractTask {
  key: string;
  relKey: string;
  settings: CollectionSettings;
  /** The bytes, already stored by the caller… */
  bytes?: Uint8Array;
  /** …or a local file to read and store under `root` (the raw zone's folder), unless over `limit` bytes. */
  file?: { path: string; root: string; limit: number };
}

export type ExtractResult =
  | { meta?: ObjectMeta; extracted: Extracted }
  /** Stored (when the task stored it), but reading it failed for a reason worth a retry. */
  | { meta?: ObjectMeta; retry: string }
  | { tooBig: number };

const stores = new Map<string, LocalStore>();

export default async function extract(task: ExtractTask): Promise<ExtractResult> {
  let bytes = task.bytes;
  let meta: ObjectMeta | undefined;
  if (task.file) {
    const { path, root, limit } = task.file;
    // Blocking calls: an extraction thread has nothing else to do meanwhile, and each hop through
    // libuv's thread pool would cost more than the call itself. (An ingest too small for threads runs
    // this in the main thread, which then blocks for those few files.)
    const { size } = statSync(path);
    if (size > limit) return { tooBig: size };
    bytes = readFileSync(path);
    let store = stores.get(root);
    if (!store) stores.set(root, (store = new LocalStore(root)));
    meta = store.putSync(task.key, bytes);
  }
  if (!bytes) throw new Error(`${task.key}: an extract task needs bytes or a file`);
  try {
    const extracted = await extractObject(
      memoryReader(bytes, task.key),
      task.key,
      task.relKey,
      task.settings,
    );
    return { meta, extracted };
  } catch (err) {
    return { meta, retry: (err as Error).message };
  }
}
