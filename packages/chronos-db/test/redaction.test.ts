/**
 * No secret in any output: generated Mongo passwords and S3 secret keys
 * (quotes, backslashes, digits, 1-character, URL-encoded, unicode, inside
 * URIs) never appear in the config, listBackends, health, describe results,
 * thrown errors or log lines.
 *
 * "Appear" follows core's redact.ts rules: a secret form (raw, URL-decoded,
 * URL-encoded, JSON-escaped) of 3 characters or more occurs in no output
 * string; a 1- or 2-character one never stands alone (no letter or digit
 * beside it) and never fills a secret field or a URI password. Output strings
 * are every string value, at any depth (error messages, stack headers,
 * details, causes included); object keys, numbers and stack frames (code
 * locations) are not secrets.
 */
import fc from 'fast-check';
import { SHORT_SECRET_LENGTH, configRedactor, makeLogger, parseConfig, secretForms, type Logger } from '@chronos-db/core';
import { buildTopology, describeBackends, probeBackends, topologyRedactor } from '@chronos-db/router';
import { describeConnection, makeRedactor as s3Redactor, mapS3Error } from '@chronos-db/storage-s3';
import { makeRedactor as mongoRedactor } from '@chronos-db/storage-mongo';
import { initChronos, type ChronosConfig } from 'chronos-db';
import { toStorageError } from '../../storage-mongo/src/errors.js';

const ALNUM = /[\p{L}\p{N}]/u;

function strings(v: unknown, out: string[] = [], seen = new Set<unknown>()): string[] {
  if (typeof v === 'string') out.push(v);
  else if (v && typeof v === 'object' && !seen.has(v)) {
    seen.add(v);
    if (v instanceof Error) {
      // the stack's header (name and message); its frames are code locations, never data
      out.push(v.message, (v.stack ?? '').split('\n    at ')[0]!);
      strings((v as { details?: unknown }).details, out, seen);
      strings(v.cause, out, seen);
    }
    for (const x of Object.values(v)) strings(x, out, seen);
  }
  return out;
}

function standalone(text: string, s: string): boolean {
  for (let i = text.indexOf(s); i !== -1; i = text.indexOf(s, i + 1)) {
    const before = i > 0 ? text[i - 1]! : '';
    const after = text[i + s.length] ?? '';
    if (!(before && ALNUM.test(before)) && !(after && ALNUM.test(after))) return true;
  }
  return false;
}

/** Every place a secret form shows in an output, as readable strings; [] when none. */
function leaks(output: unknown, secrets: string[]): string[] {
  const found: string[] = [];
  for (const text of strings(output)) {
    for (const s of secrets) {
      for (const f of secretForms(s)) {
        if (f.length >= SHORT_SECRET_LENGTH ? text.includes(f) : standalone(text, f))
          found.push(`${JSON.stringify(f)} in ${JSON.stringify(text.slice(0, 200))}`);
      }
    }
  }
  return found;
}

const unit = fc.oneof(
  fc.constantFrom('"', '\\', '%', '@', ':', '/', '?', '#', '&', '=', '*', "'", ' ', '+', '1', '0', '7', 'a', 'Z', '…', '{', '}'),
  fc.string({ minLength: 1, maxLength: 1 }),
);
// A secret that is part of the access key id (a public identifier, shown as 'AKID…6789') cannot be
// told apart from it in the output: such draws (e.g. '678') are left out, not the check.
const secret = fc
  .oneof(
    fc.string({ unit, minLength: 1, maxLength: 2 }),
    fc.stringMatching(/^[0-9]{1,6}$/),
    fc.string({ unit, minLength: 3, maxLength: 16 }),
    fc.string({ minLength: 3, maxLength: 16 }).map((s) => encodeURIComponent(s)),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
  )
  .filter((s) => !'AKIDEXAMPLE123456789'.includes(s));

const ACCESS_KEY = 'AKIDEXAMPLE123456789';
function seedConfig(pw: string, sk: string, pw2: string, operationTimeoutMs = 10000): ChronosConfig {
  return {
    databases: { runtime: { generic: { key: 'g', mongoUri: `mongodb://app:${encodeURIComponent(pw)}@127.0.0.1:9/db?authSource=admin`, dbName: 'gdb' } } },
    spacesConns: [
      {
        endpoint: 'http://127.0.0.1:9',
        region: 'fra1',
        accessKey: ACCESS_KEY,
        secretKey: sk,
        jsonBucket: 'chronos-json',
        contentBucket: 'chronos-content',
        backupsBucket: 'chronos-backups',
        forcePathStyle: true,
        maxAttempts: 1,
      },
    ],
    counters: { mongoUri: `mongodb://cnt:${encodeURIComponent(pw2)}@127.0.0.1:9/`, dbName: 'counters' },
    operationTimeoutMs,
  };
}

/** A logger sink that keeps every line (its arguments) it is given, at every level. */
function capture(): { lines: unknown[][]; sink: Partial<Logger> } {
  const lines: unknown[][] = [];
  const keep = (...a: unknown[]) => void lines.push(a);
  return { lines, sink: { debug: keep, info: keep, warn: keep, error: keep } };
}

describe('no secret in any output (fast-check)', () => {
  it('config, listBackends, describe, adapter errors, probeBackends and log lines', async () => {
    await fc.assert(
      fc.asyncProperty(secret, secret, secret, async (pw, sk, pw2) => {
        const all = [pw, sk, pw2];
        const config = seedConfig(pw, sk, pw2);
        const { lines, sink } = capture();
        const chronos = initChronos({ ...config, logging: { level: 'debug', logger: sink } });
        const cfg = parseConfig(config);
        const mongoUri = cfg.databases!.runtime!.generic!.mongoUri;

        // the log path chronos-db uses, fed every form of every secret in text and in meta
        const log = makeLogger('debug', sink, configRedactor(cfg));
        const text = all.map((s) => `'${s}' ${JSON.stringify(s)} ${encodeURIComponent(s)} (${s})`).join(' | ');
        log.error(`auth failed: ${text} ${mongoUri}`, {
          password: pw,
          secretKey: sk,
          uri: cfg.counters!.mongoUri,
          nested: [{ msg: text }],
          err: new Error(`boom ${text}`),
        });

        // adapters' own errors, with their own secrets
        const mongoErr = toStorageError(
          new Error(`auth failed for ${mongoUri}: password '${pw}' / ${encodeURIComponent(pw)}`),
          'insert',
          mongoRedactor(mongoUri)(mongoUri),
          mongoRedactor(mongoUri),
        );
        const s3Err = mapS3Error(Object.assign(new Error(`signature with '${sk}' ${JSON.stringify(sk)} rejected`), { name: 'Weird' }), {
          op: 'put',
          bucket: 'chronos-json',
          redact: s3Redactor([sk], ACCESS_KEY),
        });

        const topo = buildTopology(cfg);
        const probes = await probeBackends(
          topo,
          async () => {
            throw new Error(`unreachable ${mongoUri} (${text})`);
          },
          { timeoutMs: 1000, redactor: topologyRedactor(topo) },
        );

        expect(leaks([chronos.config, chronos.admin.listBackends(), lines], all)).toEqual([]);
        // the router's and storage-s3's own views know the secrets of what they describe
        expect(leaks([describeBackends(topo), probes], [pw, sk])).toEqual([]);
        expect(leaks(describeConnection(cfg.spacesConns![0]!), [sk])).toEqual([]);
        expect(leaks(mongoErr, [pw])).toEqual([]);
        expect(leaks(s3Err, [sk])).toEqual([]);
        // structural positions at every length
        expect(chronos.config.spacesConns![0]!.secretKey).not.toBe(sk);
        expect(chronos.config.databases!.runtime!.generic!.mongoUri).not.toContain(`:${encodeURIComponent(pw)}@`);
        expect(chronos.config.counters!.mongoUri).not.toContain(`:${encodeURIComponent(pw2)}@`);
        expect(chronos.config.operationTimeoutMs).toBe(10000);
        await chronos.admin.shutdown();
      }),
      {
        numRuns: 300,
        examples: [
          ['1000', 'a"b\\c', 'x'],
          ['"', '\\', '%41'],
          ['p@ss:w/rd', '*', '**'],
        ],
      },
    );
  });

  it('health() and the errors thrown by a bound collection and by counters (unreachable servers)', async () => {
    await fc.assert(
      fc.asyncProperty(secret, secret, secret, async (pw, sk, pw2) => {
        const all = [pw, sk, pw2];
        const { lines, sink } = capture();
        const chronos = initChronos({ ...seedConfig(pw, sk, pw2, 300), logging: { level: 'debug', logger: sink } });
        try {
          const users = chronos.with({ key: 'g', collection: 'users' });
          const outputs: unknown[] = [
            await chronos.admin.health(),
            await users.create({ a: 1 }).catch((e: unknown) => e),
            await users.getLatest('x1').catch((e: unknown) => e),
            await chronos.counters.getTotals({ dbName: 'gdb', collection: 'users' }).catch((e: unknown) => e),
            lines,
          ];
          expect(outputs[0]).toMatchObject({ ok: false });
          expect(outputs[1]).toBeInstanceOf(Error);
          expect(leaks(outputs, all)).toEqual([]);
        } finally {
          await chronos.admin.shutdown();
        }
      }),
      { numRuns: 6, examples: [['1000', 'a"b\\c', 'x']] },
    );
  });
});
