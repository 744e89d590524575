/** What the storage-mongo test files that run the testkit suites share. */
import type { MetadataStoreOptions, StoreFactory } from '@chronos-db/testkit';
import { createMongoMetadataStore, type MongoMetadataStore, type MongoMetadataStoreOptions } from '@chronos-db/storage-mongo';

/** The jest functions the testkit suites register their tests with (the suites take any runner's). */
export const runner = { describe, it, beforeAll, afterAll };

/** Every optional part of the metadata-store suite the MongoDB adapter offers, and the commit path the store declares. */
export function mongoSuiteOptions(transactions: boolean): MetadataStoreOptions {
  return {
    commitMany: true,
    scanHeads: true,
    changesAfter: true,
    headsByState: true,
    deleteVersions: true,
    listNamespaces: true,
    lifecycle: true,
    findByRequestIds: true,
    transactions,
  };
}

/**
 * A testkit factory: a MongoDB metadata store made with `opts`, closed at teardown. `check` runs on it
 * first (a failure there closes it and fails the suite's set-up).
 */
export function mongoStoreFactory(opts: MongoMetadataStoreOptions, check?: (store: MongoMetadataStore) => Promise<void>): StoreFactory<MongoMetadataStore> {
  return async () => {
    const store = createMongoMetadataStore(opts);
    try {
      await check?.(store);
    } catch (e) {
      await store.close();
      throw e;
    }
    return { store, teardown: () => store.close() };
  };
}
