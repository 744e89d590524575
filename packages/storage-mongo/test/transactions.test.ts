/**
 * The transactional path: needs a replica set or mongos in MONGO_URL (none can
 * run on this machine). Without it the suite prints why and skips, also under CI.
 */
import { runCounterStoreConformance, runMetadataStoreConformance } from '@chronos-db/testkit';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { mongoStoreFactory, mongoSuiteOptions, runner } from './helpers/conformance';

const URL = process.env.MONGO_URL;
if (!URL) {
  // eslint-disable-next-line no-console
  console.log('[storage-mongo] skipping the transactional suite: MONGO_URL (a replica set or mongos) is not set');
}
const d = URL ? describe : describe.skip;

d('storage-mongo with transactions (MONGO_URL)', () => {
  it('uses transactions when enabled (opt-in), detected from the hello handshake', async () => {
    const store = createMongoMetadataStore({ uri: URL!, transactions: { enabled: true } });
    try {
      expect(await store.detectTransactions()).toBe(true);
      expect(store.capabilities.transactions).toBe(true);
    } finally {
      await store.close();
    }
  });
  runMetadataStoreConformance(
    runner,
    'mongo with transactions',
    mongoStoreFactory({ uri: URL!, transactions: { enabled: true } }, async (store) => {
      if (!(await store.detectTransactions())) throw new Error('MONGO_URL does not offer transactions (needs a replica set or mongos)');
    }),
    mongoSuiteOptions(true),
  );
  runCounterStoreConformance(runner, 'mongo counters (transactional server)', mongoStoreFactory({ uri: URL! }), { recount: true });
  runMetadataStoreConformance(runner, 'mongo without transactions (the default) on a replica set', mongoStoreFactory({ uri: URL! }), mongoSuiteOptions(false));
});
