import { configSecrets, parseConfig, retryDelay } from '@chronos-db/core';
import { issuesOf } from './helpers/config';

const base = { localStorage: { enabled: true, basePath: '/tmp/x' } };
const fb = { enabled: true, maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 10_000, deadLetterCollection: 'chronos_dead' };

describe('fallback config', () => {
  it("accepts the seed's shape, a localPath, or a mongoUri + dbName", () => {
    expect(parseConfig({ ...base, fallback: fb }).fallback).toEqual(fb);
    expect(parseConfig({ ...base, fallback: { ...fb, localPath: '/var/q' } }).fallback?.localPath).toBe('/var/q');
    expect(parseConfig({ ...base, fallback: { ...fb, mongoUri: 'mongodb://q:27017', dbName: 'queue' } }).fallback?.dbName).toBe('queue');
  });

  it.each([
    ['maxAttempts', 0],
    ['maxAttempts', -1],
    ['maxAttempts', 1.5],
    ['baseDelayMs', 0],
    ['baseDelayMs', -5],
    ['maxDelayMs', 0],
    ['maxDelayMs', -1],
  ])('refuses %s = %p', (k, v) => {
    expect(issuesOf({ ...base, fallback: { ...fb, [k]: v } }).map((i) => i.path)).toContain(`fallback.${k}`);
  });

  it('refuses unknown keys, a bad dead-letter name, maxDelayMs below baseDelayMs, half a Mongo queue, both queues', () => {
    expect(issuesOf({ ...base, fallback: { ...fb, queueSize: 10 } })).toEqual([{ path: 'fallback', message: "unknown key(s): 'queueSize'" }]);
    expect(issuesOf({ ...base, fallback: { ...fb, deadLetterCollection: '../x' } }).map((i) => i.path)).toEqual(['fallback.deadLetterCollection']);
    expect(issuesOf({ ...base, fallback: { ...fb, maxDelayMs: 50 } }).map((i) => i.path)).toEqual(['fallback.maxDelayMs']);
    expect(issuesOf({ ...base, fallback: { ...fb, mongoUri: 'mongodb://q:27017' } }).map((i) => i.path)).toEqual(['fallback.dbName']);
    expect(issuesOf({ ...base, fallback: { ...fb, mongoUri: 'mongodb://q:27017', dbName: 'q', localPath: '/q' } }).map((i) => i.path)).toEqual([
      'fallback.localPath',
    ]);
    expect(issuesOf({ ...base, fallback: { ...fb, enabled: 'yes' } }).map((i) => i.path)).toEqual(['fallback.enabled']);
  });

  it("the queue's Mongo password is a secret of the config", () => {
    const cfg = parseConfig({ ...base, fallback: { ...fb, mongoUri: 'mongodb://u:s3cr%23t@q:27017', dbName: 'q' } });
    expect(configSecrets(cfg)).toEqual(expect.arrayContaining(['s3cr%23t', 's3cr#t']));
  });

  it('retryDelay grows exponentially with jitter and never exceeds maxDelayMs', () => {
    const p = { baseDelayMs: 100, maxDelayMs: 5000 };
    expect(retryDelay(1, p, () => 0)).toBe(50);
    expect(retryDelay(1, p, () => 0.999999)).toBe(99);
    expect(retryDelay(3, p, () => 0)).toBe(200);
    for (let a = 1; a < 60; a++) for (const r of [0, 0.5, 0.9999]) expect(retryDelay(a, p, () => r)).toBeLessThanOrEqual(5000);
    expect(retryDelay(40, p, () => 0.9999)).toBeGreaterThan(2500);
  });
});
