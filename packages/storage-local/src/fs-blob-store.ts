/**
 * BlobStore on the local filesystem: `<basePath>/<bucketRole>/<key>`.
 *
 * Writes go to a temp file in the target directory, are fsynced, then renamed
 * (or hard-linked, for ifNoneMatch) onto the final name, so a reader sees all
 * of an object or none of it. Temp names contain '~', a character no key may
 * hold, so they never collide with a key and are never listed.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import {
  NotFoundError,
  OptimisticLockError,
  StorageError,
  ValidationError,
  assertBucketRole,
  assertByteRange,
  blobKeySegments,
  blobPrefixParts,
  isChronosError,
  type BlobCapabilities,
  type BlobHead,
  type BlobListEntry,
  type BlobStore,
  type BucketRole,
  type PutOptions,
} from '@chronos-db/core';

export interface LocalBlobStoreOptions {
  /** Directory holding one sub-directory per bucket role. Created on first write. */
  basePath: string;
}

const SEGMENT_RE = /^[A-Za-z0-9._-]+$/;
/** Longest file name most filesystems hold (NAME_MAX): a stricter limit of this store on top of core's key grammar. */
const MAX_SEGMENT = 255;
const MISSING = new Set(['ENOENT', 'ENOTDIR']);
/** Ranged reads up to this many bytes are synchronous (see getRange). */
const SYNC_RANGE_BYTES = 256 * 1024;

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

/** Deletes every object `store.list` names under `prefix` (the whole listing is read first), one delete each; returns how many. */
export async function purgeListed(store: Pick<BlobStore, 'list' | 'delete'>, role: BucketRole, prefix: string): Promise<number> {
  // as storage-s3: a purge of a whole role is never what erasure means
  if (prefix === '') throw new ValidationError('purgePrefix needs a non-empty prefix');
  const keys: string[] = [];
  for await (const e of store.list(role, prefix)) keys.push(e.key);
  for (const k of keys) await store.delete(role, k);
  return keys.length;
}

export class LocalBlobStore implements BlobStore {
  readonly capabilities: BlobCapabilities = { conditionalWrite: true, presign: false };
  private readonly base: string;

  constructor(opts: LocalBlobStoreOptions) {
    if (!opts || typeof opts.basePath !== 'string' || opts.basePath.length === 0) throw new ValidationError('createLocalBlobStore needs a basePath');
    this.base = resolve(opts.basePath);
  }

  /** Absolute path of a key; validated so it always lies inside `<base>/<role>/`. */
  private pathOf(role: BucketRole, key: string): { file: string; roleDir: string } {
    assertBucketRole(role);
    const segs = blobKeySegments(key);
    if (segs.some((s) => s.length > MAX_SEGMENT))
      throw new ValidationError(`Invalid object key: a segment longer than ${MAX_SEGMENT} characters cannot be a file name`);
    const roleDir = join(this.base, role);
    const file = join(roleDir, ...segs);
    if (!file.startsWith(roleDir + sep)) throw new ValidationError('Invalid object key: it escapes the store');
    return { file, roleDir };
  }

  private fail(op: string, role: string, key: string, e: unknown): never {
    if (isChronosError(e)) throw e;
    const code = errno(e);
    if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST') {
      throw new StorageError(
        `Cannot ${op} '${role}/${key}': the key conflicts with another key used as a folder (${code})`,
        { code, bucket: role, key },
        { cause: e },
      );
    }
    throw new StorageError(`Filesystem ${op} of '${role}/${key}' failed${code ? ` (${code})` : ''}`, { code, bucket: role, key }, { cause: e });
  }

  async put(role: BucketRole, key: string, body: Uint8Array, opts: PutOptions = {}): Promise<void> {
    const { file } = this.pathOf(role, key);
    if (!(body instanceof Uint8Array)) throw new ValidationError('put body must be a Uint8Array');
    const dir = dirname(file);
    for (let attempt = 0; ; attempt++) {
      const tmp = join(dir, `${basename(file)}~${randomBytes(6).toString('hex')}.tmp`);
      let tmpLeft = false;
      try {
        await mkdir(dir, { recursive: true });
        const fh = await open(tmp, 'wx', 0o644);
        tmpLeft = true;
        try {
          await fh.writeFile(body);
          await fh.sync();
        } finally {
          await fh.close();
        }
        if (opts.ifNoneMatch) {
          try {
            await link(tmp, file);
          } catch (e) {
            if (errno(e) === 'EEXIST') throw new OptimisticLockError(`Object '${role}/${key}' already exists`, { bucket: role, key });
            throw e;
          }
          await unlink(tmp);
        } else {
          await rename(tmp, file);
        }
        tmpLeft = false;
        await syncDir(dir);
        return;
      } catch (e) {
        if (tmpLeft) await rm(tmp, { force: true }).catch(() => undefined);
        // A concurrent delete may have pruned the (then empty) directory between mkdir and open.
        if (errno(e) === 'ENOENT' && attempt < 5) continue;
        this.fail('write', role, key, e);
      }
    }
  }

  async get(role: BucketRole, key: string): Promise<Uint8Array> {
    const { file } = this.pathOf(role, key);
    try {
      const buf = await readFile(file);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      const code = errno(e);
      if ((code && MISSING.has(code)) || code === 'EISDIR') throw new NotFoundError(`Object '${role}/${key}' not found`, { bucket: role, key });
      this.fail('read', role, key, e);
    }
  }

  /** `length` bytes from `offset` (fewer at the end of the file). */
  async getRange(role: BucketRole, key: string, offset: number, length: number): Promise<Uint8Array> {
    assertByteRange(offset, length);
    const { file } = this.pathOf(role, key);
    try {
      // a small range (a manifest's footer, page or block) is read synchronously, like the
      // SQLite reads of this store: three short system calls instead of three thread-pool trips
      if (length <= SYNC_RANGE_BYTES) {
        const fd = openSync(file, 'r');
        try {
          const buf = Buffer.allocUnsafe(length);
          let got = 0;
          while (got < length) {
            const n = readSync(fd, buf, got, length - got, offset + got);
            if (n === 0) break;
            got += n;
          }
          return new Uint8Array(buf.buffer, buf.byteOffset, got);
        } finally {
          closeSync(fd);
        }
      }
      const fh = await open(file, 'r');
      try {
        const buf = Buffer.alloc(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return new Uint8Array(buf.buffer, buf.byteOffset, got);
      } finally {
        await fh.close();
      }
    } catch (e) {
      const code = errno(e);
      if ((code && MISSING.has(code)) || code === 'EISDIR') throw new NotFoundError(`Object '${role}/${key}' not found`, { bucket: role, key });
      this.fail('read', role, key, e);
    }
  }

  async head(role: BucketRole, key: string): Promise<BlobHead | null> {
    const { file } = this.pathOf(role, key);
    try {
      const st = await stat(file);
      if (!st.isFile()) return null;
      return { size: st.size, lastModified: st.mtime };
    } catch (e) {
      const code = errno(e);
      if (code && MISSING.has(code)) return null;
      this.fail('stat', role, key, e);
    }
  }

  async delete(role: BucketRole, key: string): Promise<void> {
    const { file, roleDir } = this.pathOf(role, key);
    try {
      await unlink(file);
    } catch (e) {
      const code = errno(e);
      if ((code && MISSING.has(code)) || code === 'EISDIR' || code === 'EPERM') return;
      this.fail('delete', role, key, e);
    }
    // Prune now-empty folders up to (not including) the role folder.
    for (let dir = dirname(file); dir.startsWith(roleDir + sep); dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
    }
  }

  /** Deletes every file under `prefix` (erasure); a file deleted is gone from the folder, nothing is kept. */
  purgePrefix(role: BucketRole, prefix: string): Promise<number> {
    return purgeListed(this, role, prefix);
  }

  list(role: BucketRole, prefix: string): AsyncIterable<BlobListEntry> {
    assertBucketRole(role);
    const { dirs, partial } = blobPrefixParts(prefix);
    const start = join(this.base, role, ...dirs);
    const keyPrefix = dirs.length ? `${dirs.join('/')}/` : '';
    const fail = (e: unknown) => this.fail('list', role, prefix, e);
    return walk(start, keyPrefix, partial, fail);
  }

  async close(): Promise<void> {
    // Nothing is held open between calls.
  }
}

/** Yields files under `dir` in key order: a folder `d` sorts as `d/`, a file `f` as `f`. */
async function* walk(dir: string, keyPrefix: string, partial: string, fail: (e: unknown) => never): AsyncGenerator<BlobListEntry> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = errno(e);
    if (code && MISSING.has(code)) return;
    fail(e);
  }
  const items = entries
    .filter((d) => SEGMENT_RE.test(d.name) && (d.isFile() || d.isDirectory()))
    .map((d) => ({ name: d.name, isDir: d.isDirectory(), sortKey: d.isDirectory() ? `${d.name}/` : d.name }))
    .filter((x) => x.sortKey.startsWith(partial))
    .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  for (const it of items) {
    const abs = join(dir, it.name);
    if (it.isDir) {
      yield* walk(abs, `${keyPrefix}${it.name}/`, '', fail);
      continue;
    }
    try {
      const st = await stat(abs);
      if (st.isFile()) yield { key: `${keyPrefix}${it.name}`, size: st.size, lastModified: st.mtime };
    } catch (e) {
      const code = errno(e);
      if (code && MISSING.has(code)) continue; // deleted while listing
      fail(e);
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  }
}

export function createLocalBlobStore(opts: LocalBlobStoreOptions): LocalBlobStore {
  return new LocalBlobStore(opts);
}
