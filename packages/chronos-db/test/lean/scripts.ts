/** The programs each installed set runs: one body, written as ESM (.mjs) and CommonJS (.cjs). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** alias -> package; the body uses the aliases. */
type Imports = Record<string, string>;

function write(dir: string, base: string, imports: Imports, body: string): { esm: string; cjs: string } {
  const esm = join(dir, `${base}.mjs`);
  const cjs = join(dir, `${base}.cjs`);
  const loaded = `const loadedNative = () => ${'typeof require'} === 'undefined' ? null : Object.keys(require.cache).filter((k) => /better-sqlite3|better_sqlite3/.test(k));`;
  writeFileSync(
    esm,
    `${Object.entries(imports)
      .map(([a, p]) => `import * as ${a} from '${p}';`)
      .join('\n')}
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
${loaded}
const out = {};
${body}
console.log(JSON.stringify(out));
process.exit(0);
`,
  );
  writeFileSync(
    cjs,
    `${Object.entries(imports)
      .map(([a, p]) => `const ${a} = require('${p}');`)
      .join('\n')}
${loaded}
const out = {};
(async () => {
${body}
console.log(JSON.stringify(out));
process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
`,
  );
  return { esm, cjs };
}

const CHECK_ROUND_TRIP = `
out.read = got && got.item ? got.item : got;
out.createdOv = created.ov;
`;

/** core + storage-local: the engine over SQLite and the local blob store. */
export function localScripts(dir: string) {
  return write(
    dir,
    'run-local',
    { core: '@chronos-db/core', local: '@chronos-db/storage-local' },
    `
const basePath = process.argv[2];
const { meta, blobs, close } = local.createLocalStorage({ basePath });
const eng = new core.CollectionEngine({ ns: { dbName: 'lean', collection: 'items' }, meta, blobs });
const created = await eng.create({ name: 'lean', n: 1 });
const got = await eng.getLatest(created.id);
${CHECK_ROUND_TRIP}
await close();
`,
  );
}

/** core + storage-mongo + storage-s3: the engine over MongoDB and S3. */
export function mongoS3Scripts(dir: string) {
  return write(
    dir,
    'run-mongo-s3',
    { core: '@chronos-db/core', mongo: '@chronos-db/storage-mongo', s3: '@chronos-db/storage-s3' },
    `
const cfg = JSON.parse(process.argv[2]);
const meta = mongo.createMongoMetadataStore({ uri: cfg.mongoUri, dbName: cfg.dbName });
const blobs = s3.createS3BlobStore(cfg.s3);
const eng = new core.CollectionEngine({ ns: { dbName: cfg.dbName, collection: 'items' }, meta, blobs });
const created = await eng.create({ name: 'lean', n: 1 });
const got = await eng.getLatest(created.id);
${CHECK_ROUND_TRIP}
await meta.close();
await blobs.close();
out.native = loadedNative();
`,
  );
}

/** chronos-db with a MongoDB + S3 config; then an embedded config, which must name better-sqlite3. */
export function chronosScripts(dir: string) {
  return write(
    dir,
    'run-chronos',
    { chronos: 'chronos-db' },
    `
const t0 = performance.now();
const cfg = JSON.parse(process.argv[2]);
const c = chronos.initChronos(cfg);
const items = c.with({ dbName: 'lean', collection: 'items' });
const created = await items.create({ name: 'lean', n: 1 });
const got = await items.getLatest(created.id);
${CHECK_ROUND_TRIP}
try {
  await items.create({ name: 'again' }, undefined, undefined, { id: created.id });
  out.duplicate = 'accepted';
} catch (e) {
  out.duplicate = { lockError: e instanceof chronos.OptimisticLockError, chronosError: chronos.isChronosError(e), name: e.name };
}
await c.admin.shutdown();
try {
  chronos.initChronos({ localStorage: { enabled: true, basePath: process.argv[3] } });
  out.embedded = 'accepted';
} catch (e) {
  out.embedded = { configError: e instanceof chronos.ConfigError, code: e.code, message: e.message };
}
out.native = loadedNative();
`,
  );
}
