/**
 * The published declarations compile in a strict consumer project: a temp
 * project depends on this package (its built dist/*.d.ts, through the
 * package.json "exports"), with `strict`, `exactOptionalPropertyTypes`,
 * `skipLibCheck: false`, `lib: ["es2022"]` and `types: []` (no @types/node, no
 * DOM), and tsc must exit 0 for ESM and CJS consumers. The consumer code also
 * checks that the typed API survives the build (`with<User>`, TimePoint).
 *
 * Needs the build (`pnpm --filter chronos-db... build`). Without dist it is
 * skipped with that reason, except under CI, where test-all.sh builds first
 * and a missing dist is a failure.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PKG = resolve(__dirname, '..');
const ROOT = resolve(PKG, '../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const DIST = ['dist/index.d.ts', 'dist/index.d.cts'].map((f) => join(PKG, f));
const built = DIST.every((f) => existsSync(f));
const inCi = process.env.CI === 'true' || process.env.CI === '1';

const CONSUMER = `
import { initChronos, ValidationError, type ChronosRecord, type CreateOptions, type ReadOptions, type RestoreProgress, type TimePoint } from 'chronos-db';

interface User { name: string; email: string; born: Date }

export async function main(): Promise<void> {
  const chronos = initChronos({ localStorage: { enabled: true, basePath: './data' } });
  const users = chronos.with<User>({ dbName: 'app', collection: 'users' });
  const opts: CreateOptions = { requestId: 'r1' };
  const { id } = await users.create({ name: 'Ada', email: 'ada@example.com', born: new Date(0) }, 'me', 'signup', opts);
  // @ts-expect-error a number is not a record
  await users.create(42);
  const read: ReadOptions = { includeMeta: true };
  const latest: ChronosRecord<User> | null = await users.getLatest(id, read);
  const born: string | undefined = latest?.born;
  const when: TimePoint = new Date();
  await users.getAsOf(id, when);
  // @ts-expect-error not a time
  await users.getAsOf(id, 'yesterday');
  await users.restoreCollection({ cv: 1 }, { onProgress: (p: RestoreProgress) => void p.restored });
  const health = await chronos.admin.health();
  void [born, health.ok, ValidationError];
  await chronos.admin.shutdown();
}
`;

function project(kind: 'module' | 'commonjs'): string {
  const dir = mkdtempSync(join(tmpdir(), `chronos-dts-${kind}-`));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(PKG, join(dir, 'node_modules', 'chronos-db'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: kind }));
  writeFileSync(join(dir, 'index.ts'), CONSUMER);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: false,
        noEmit: true,
        target: 'es2022',
        lib: ['es2022'],
        types: [],
        module: 'nodenext',
        moduleResolution: 'nodenext',
      },
      files: ['index.ts'],
    }),
  );
  return dir;
}

const describeBuilt = built || inCi ? describe : describe.skip;

describeBuilt(
  `chronos-db .d.ts in a strict consumer (skipLibCheck false, no @types/node)${built || inCi ? '' : ' [skipped: dist missing, run pnpm --filter chronos-db... build]'}`,
  () => {
    it('the build is there', () => {
      for (const f of DIST) expect(existsSync(f) ? f : `missing ${f}`).toBe(f);
    });

    for (const kind of ['module', 'commonjs'] as const) {
      it(`tsc exits 0 for ${kind === 'module' ? 'an ESM' : 'a CJS'} consumer`, async () => {
        const dir = project(kind);
        try {
          const out = await run(process.execPath, [TSC, '-p', dir], { cwd: dir, timeout: 110_000 }).then(
            (r) => ({ code: 0, text: r.stdout + r.stderr }),
            (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, text: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
          );
          expect(out.text.trim()).toBe('');
          expect(out.code).toBe(0);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  },
);
