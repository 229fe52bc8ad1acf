import { createHash, randomUUID } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { mkdir, open, readdir, rename, rmdir, unlink } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import type { ByteSource } from '../fits/byte-source.ts';
import { FileSource } from '../io/file-source.ts';
import { StorageError } from './errors.ts';
import { validateKey, validatePrefix } from './keys.ts';
import type { Body, ListOptions, ListResult, ObjectMeta, ObjectStore, PutOptions } from './object-store.ts';

/** fitslake's own files inside the root: temporary writes and metadata sidecars. */
const INTERNAL = '.fitslake';

interface Sidecar {
  sha256: string;
  size: number;
  /** Inode and mtime of the data file this sidecar describes: a mismatch means it is stale. */
  ino: number;
  mtimeMs: number;
  contentType?: string;
  metadata: Record<string, string>;
}

/**
 * The embedded default store: objects are plain files under a folder (so users can browse them),
 * written atomically — temp file, fsync, rename — with a metadata sidecar holding the SHA-256,
 * content type and user metadata. A crash at any moment leaves either the old or the new object;
 * a sidecar that no longer matches its file is rebuilt from the file on the next head().
 */
export class LocalStore implements ObjectStore {
  readonly root: string;
  /** Folders known to exist: each put would otherwise ask the file system two or three times. */
  private readonly made = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  private path(key: string): string {
    const k = validateKey(key);
    if (k === INTERNAL || k.startsWith(`${INTERNAL}/`)) {
      throw new StorageError('invalid-key', `keys under ${INTERNAL}/ are reserved`, key);
    }
    return join(this.root, ...k.split('/'));
  }

  private sidecarPath(key: string): string {
    return join(this.root, INTERNAL, 'meta', ...validateKey(key).split('/')) + '.json';
  }

  /** Streams a body into a synced temporary file, hashing as it goes; the caller renames it. */
  private async writeTemp(
    body: Body,
  ): Promise<{ tmp: string; sha256: string; size: number; ino: number; mtimeMs: number }> {
    const tmpDir = join(this.root, INTERNAL, 'tmp');
    await this.mkdirs(tmpDir);
    const tmp = join(tmpDir, randomUUID());
    const hash = createHash('sha256');
    let size = 0;
    const fh = await open(tmp, 'wx');
    try {
      const chunks = body instanceof Uint8Array ? [body] : body;
      for await (const chunk of chunks) {
        hash.update(chunk);
        size += chunk.length;
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off)).bytesWritten;
      }
      await fh.sync();
      // rename() keeps the inode: it names this exact file even when two writers race on one key.
      const { ino, mtimeMs } = await fh.stat();
      await fh.close();
      return { tmp, sha256: hash.digest('hex'), size, ino, mtimeMs };
    } catch (err) {
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }

  async put(key: string, body: Body, opts: PutOptions = {}): Promise<ObjectMeta> {
    const target = this.path(key);
    const k = validateKey(key);
    try {
      const written = await this.writeTemp(body);
      const side = sidecarOf(written, opts);
      // Sidecar first, then the data: a crash (or a racing writer) between the two leaves a
      // sidecar whose inode is not the file's, which head() detects and rebuilds.
      await this.writeSidecar(k, side);
      await this.renameInto(written.tmp, target);
      return this.metaOf(k, side);
    } catch (err) {
      throw asStorageError(err, key);
    }
  }

  /**
   * put() of bytes already in memory, blocking: for extraction threads that exist to block, where
   * each hop through libuv's thread pool (a dozen per put) costs more than the system call it makes.
   */
  putSync(key: string, bytes: Uint8Array, opts: PutOptions = {}): ObjectMeta {
    const target = this.path(key);
    const k = validateKey(key);
    try {
      const tmpDir = join(this.root, INTERNAL, 'tmp');
      this.mkdirsSync(tmpDir);
      const tmp = join(tmpDir, randomUUID());
      const fd = openSync(tmp, 'wx');
      let st: { ino: number; mtimeMs: number };
      try {
        for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
        fsyncSync(fd);
        st = fstatSync(fd);
      } catch (err) {
        // The write's error is the one to report, not a failure to clean up after it.
        try {
          closeSync(fd);
          unlinkSync(tmp);
        } catch {}
        throw err;
      }
      closeSync(fd);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const side = sidecarOf({ sha256, size: bytes.length, ino: st.ino, mtimeMs: st.mtimeMs }, opts);
      // The same order as put(): sidecar first, then the data.
      const p = this.sidecarPath(k);
      const sideTmp = `${tmp}.json`;
      const sfd = openSync(sideTmp, 'wx');
      writeSync(sfd, JSON.stringify(side));
      closeSync(sfd);
      this.renameSync(sideTmp, p);
      this.renameSync(tmp, target);
      return this.metaOf(k, side);
    } catch (err) {
      throw asStorageError(err, key);
    }
  }

  /** Renames into `to`'s folder, making it first (again, if a delete pruned it since we made it). */
  private async renameInto(from: string, to: string): Promise<void> {
    await this.mkdirs(dirname(to));
    try {
      await rename(from, to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.made.clear();
      await this.mkdirs(dirname(to));
      await rename(from, to);
    }
  }

  /** renameInto(), blocking. */
  private renameSync(from: string, to: string): void {
    this.mkdirsSync(dirname(to));
    try {
      renameSync(from, to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.made.clear();
      this.mkdirsSync(dirname(to));
      renameSync(from, to);
    }
  }

  private mkdirsSync(dir: string): void {
    if (this.made.has(dir)) return;
    mkdirSync(dir, { recursive: true });
    this.made.add(dir);
  }

  private async writeSidecar(key: string, side: Sidecar): Promise<void> {
    const p = this.sidecarPath(key);
    const tmp = join(this.root, INTERNAL, 'tmp', `${randomUUID()}.json`);
    await this.mkdirs(dirname(tmp));
    // Not fsynced: a sidecar lost in a power cut is rebuilt from its file by head() (it records the
    // file's inode, mtime and size), so only the data itself needs to reach the disk first.
    const fh = await open(tmp, 'wx');
    await fh.writeFile(JSON.stringify(side));
    await fh.close();
    await this.renameInto(tmp, p);
  }

  private async mkdirs(dir: string): Promise<void> {
    if (this.made.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.made.add(dir);
  }

  private metaOf(key: string, side: Sidecar): ObjectMeta {
    const m: ObjectMeta = {
      key,
      size: side.size,
      etag: side.sha256,
      sha256: side.sha256,
      lastModified: new Date(side.mtimeMs),
      metadata: side.metadata,
    };
    if (side.contentType) m.contentType = side.contentType;
    return m;
  }

  async head(key: string): Promise<ObjectMeta | undefined> {
    const path = this.path(key);
    const k = validateKey(key);
    // Synchronous: a stat and a sidecar of a few hundred bytes cost microseconds, while a trip
    // through libuv's thread pool costs far more (head runs once or twice per ingested file).
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(path);
    } catch (err) {
      if (
        (err as NodeJS.ErrnoException).code === 'ENOENT' ||
        (err as NodeJS.ErrnoException).code === 'ENOTDIR'
      )
        return undefined;
      throw asStorageError(err, key);
    }
    if (!st.isFile()) return undefined;
    let side: Sidecar | undefined;
    try {
      side = JSON.parse(readFileSync(this.sidecarPath(k), 'utf8')) as Sidecar;
    } catch {
      side = undefined;
    }
    if (!side || side.ino !== st.ino || side.mtimeMs !== st.mtimeMs || side.size !== st.size) {
      // Missing or stale (a file dropped in by hand, or a crash mid-put): rebuild from the bytes.
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(path)) hash.update(chunk as Uint8Array);
      side = { sha256: hash.digest('hex'), size: st.size, ino: st.ino, mtimeMs: st.mtimeMs, metadata: {} };
      await this.writeSidecar(k, side);
    }
    return this.metaOf(k, side);
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<AsyncIterable<Uint8Array>> {
    const path = this.path(key);
    if (!(await this.head(key))) throw new StorageError('not-found', 'no such object', key);
    const opts: { start?: number; end?: number; highWaterMark: number } = { highWaterMark: 1 << 20 };
    if (range) {
      opts.start = range.start;
      if (range.end !== undefined) opts.end = range.end - 1;
    }
    return createReadStream(path, opts);
  }

  async source(key: string): Promise<ByteSource> {
    const path = this.path(key);
    try {
      if (!statSync(path).isFile()) throw new StorageError('not-found', 'no such object', key);
    } catch (err) {
      if (err instanceof StorageError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new StorageError('not-found', 'no such object', key);
      throw asStorageError(err, key);
    }
    return FileSource.open(path, key);
  }

  async copy(from: string, to: string): Promise<ObjectMeta> {
    const meta = await this.head(from);
    if (!meta) throw new StorageError('not-found', 'no such object', from);
    const opts: PutOptions = { metadata: meta.metadata };
    if (meta.contentType) opts.contentType = meta.contentType;
    return this.put(to, await this.get(from), opts);
  }

  async delete(key: string): Promise<boolean> {
    const path = this.path(key);
    const k = validateKey(key);
    try {
      await unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw asStorageError(err, key);
    }
    await unlink(this.sidecarPath(k)).catch(() => {});
    this.made.clear();
    await this.pruneDirs(dirname(path), this.root);
    await this.pruneDirs(dirname(this.sidecarPath(k)), join(this.root, INTERNAL, 'meta'));
    return true;
  }

  /** Removes now-empty folders up to (not including) `stop`, so deleted prefixes disappear. */
  private async pruneDirs(dir: string, stop: string): Promise<void> {
    while (dir.startsWith(stop + sep)) {
      try {
        await rmdir(dir);
      } catch {
        return;
      }
      dir = dirname(dir);
    }
  }

  async list(opts: ListOptions = {}): Promise<ListResult> {
    const prefix = validatePrefix(opts.prefix ?? '');
    const maxKeys = Math.max(1, Math.min(opts.maxKeys ?? 1000, 1000));
    const after = opts.continuationToken
      ? Buffer.from(opts.continuationToken, 'base64url').toString('utf8')
      : undefined;
    // Walk only the folder the prefix points into.
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const keys = (await this.walk(base)).filter((k) => k.startsWith(prefix));
    keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))); // S3 orders by UTF-8 bytes
    const objects: string[] = [];
    const prefixes: string[] = [];
    let last: string | undefined;
    let more = false;
    for (const k of keys) {
      const group = opts.delimiter ? commonPrefix(k, prefix, opts.delimiter) : undefined;
      const entry = group ?? k;
      if (after !== undefined && Buffer.compare(Buffer.from(entry), Buffer.from(after)) <= 0) continue;
      if (group !== undefined && prefixes[prefixes.length - 1] === group) continue;
      if (objects.length + prefixes.length >= maxKeys) {
        more = true;
        break;
      }
      if (group !== undefined) prefixes.push(group);
      else objects.push(k);
      last = entry;
    }
    const metas: ObjectMeta[] = [];
    for (const k of objects) {
      const m = await this.head(k);
      if (m) metas.push(m);
    }
    const result: ListResult = { objects: metas, prefixes };
    if (more && last !== undefined) result.nextToken = Buffer.from(last, 'utf8').toString('base64url');
    return result;
  }

  private async walk(rel: string): Promise<string[]> {
    const dir = rel ? join(this.root, ...rel.split('/')) : this.root;
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (
        (err as NodeJS.ErrnoException).code === 'ENOENT' ||
        (err as NodeJS.ErrnoException).code === 'ENOTDIR'
      )
        return [];
      throw asStorageError(err);
    }
    const out: string[] = [];
    for (const e of entries) {
      if (!rel && e.name === INTERNAL) continue;
      const key = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) out.push(...(await this.walk(key)));
      else if (e.isFile()) out.push(key.normalize('NFC'));
    }
    return out;
  }

  /** Removes temporary files a crash left behind (called at start-up). */
  async recover(): Promise<number> {
    const tmpDir = join(this.root, INTERNAL, 'tmp');
    let n = 0;
    for (const f of await readdir(tmpDir).catch(() => [] as string[])) {
      await unlink(join(tmpDir, f)).catch(() => {});
      n++;
    }
    return n;
  }
}

/** The sidecar of bytes just written, with the caller's content type and metadata. */
function sidecarOf(
  w: { sha256: string; size: number; ino: number; mtimeMs: number },
  opts: PutOptions,
): Sidecar {
  const side: Sidecar = {
    sha256: w.sha256,
    size: w.size,
    ino: w.ino,
    mtimeMs: w.mtimeMs,
    metadata: opts.metadata ?? {},
  };
  if (opts.contentType) side.contentType = opts.contentType;
  return side;
}

function commonPrefix(key: string, prefix: string, delimiter: string): string | undefined {
  const i = key.indexOf(delimiter, prefix.length);
  return i < 0 ? undefined : key.slice(0, i + delimiter.length);
}

function asStorageError(err: unknown, key?: string): StorageError {
  if (err instanceof StorageError) return err;
  return new StorageError('io', (err as Error).message, key);
}
