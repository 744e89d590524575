/**
 * The adapters load when the config first needs them, never at import:
 * importing chronos-db loads core and the router only (no MongoDB driver, no
 * AWS SDK, no native SQLite module). Each namespace below is a proxy that
 * requires its package on first property access.
 *
 * `require` is synchronous (initChronos and `with` are): CommonJS's own in the
 * CJS build and under jest, createRequire(import.meta.url) in the ESM build.
 * The ESM build thus gets the adapters' CommonJS builds; core's errors agree
 * on `instanceof` across the two copies (see core's errors.ts).
 */
import { createRequire } from 'node:module';
import type * as StorageLocal from '@chronos-db/storage-local';
import type * as StorageMongo from '@chronos-db/storage-mongo';
import type * as StorageS3 from '@chronos-db/storage-s3';
import type * as Admin from '@chronos-db/admin';

const nodeRequire: NodeRequire = typeof __filename === 'string' ? require : createRequire(import.meta.url);

/** An object whose `load()` runs on the first property access. */
export function lazy<T extends object>(load: () => T): T {
  let mod: T | undefined;
  return new Proxy({} as T, {
    get(_t, prop) {
      mod ??= load();
      return (mod as Record<PropertyKey, unknown>)[prop];
    },
  });
}

// Literal specifiers, so bundlers that follow requires still see them.
export const storageLocal = lazy<typeof StorageLocal>(() => nodeRequire('@chronos-db/storage-local'));
export const storageMongo = lazy<typeof StorageMongo>(() => nodeRequire('@chronos-db/storage-mongo'));
export const storageS3 = lazy<typeof StorageS3>(() => nodeRequire('@chronos-db/storage-s3'));
/** @chronos-db/admin (chronos.admin and the Spaces helpers): loaded on the first admin call. */
export const spacesAdmin = lazy<typeof Admin>(() => nodeRequire('@chronos-db/admin'));
