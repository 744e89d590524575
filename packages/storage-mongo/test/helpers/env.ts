/**
 * Integration tests need a MongoDB-compatible server: CHRONOS_TEST_MONGO_URL
 * (FerretDB started by scripts/ferretdb.sh). Missing: the suite prints why and
 * skips, except under CI=true where it fails loudly.
 */

export const MONGO_URL = process.env.CHRONOS_TEST_MONGO_URL;

export function describeWithEnv(variable: string, name: string, fn: () => void, why: string): void {
  const value = process.env[variable];
  if (value) {
    describe(name, fn);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it(`needs ${variable}`, () => {
        throw new Error(`${variable} is not set but CI=true: ${why}`);
      });
    });
    return;
  }
  // eslint-disable-next-line no-console
  console.log(`[storage-mongo] skipping "${name}": ${variable} is not set (${why})`);
  describe.skip(name, fn);
}

/** Runs `fn` inside a describe that needs the FerretDB/MongoDB test server. */
export function describeMongo(name: string, fn: () => void): void {
  describeWithEnv('CHRONOS_TEST_MONGO_URL', name, fn, 'run `scripts/ferretdb.sh start && source .tmp/test-servers.env`');
}

export function rand(n = 10): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(Math.ceil(n / 2)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0'))
    .join('')
    .slice(0, n);
}
