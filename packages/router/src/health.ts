/**
 * The routing part of `admin.health()`: probes every backend concurrently,
 * each with its own deadline, so one unreachable backend is reported as
 * such without holding up or failing the others.
 */
import { createRedactor, uriSecrets, type Redactor } from '@chronos-db/core';
import type { Backend, Topology } from './topology.js';

export interface BackendHealth {
  key: string;
  ok: boolean;
  latencyMs: number;
  /** Redacted: never holds a password or secret key. */
  error?: string;
}

/** Every secret the topology holds (passwords in Mongo URIs, raw and decoded; S3 secret keys), for redaction. */
export function topologySecrets(topology: Topology): string[] {
  const out: string[] = [];
  for (const s of topology.spacesConns) out.push(s.secretKey);
  for (const b of topology.backends) if (b.kind === 'mongo') out.push(...uriSecrets(b.mongoUri));
  return out;
}

/** The redactor of a topology: its secrets hidden, its access keys masked (core's redact.ts rules). */
export function topologyRedactor(topology: Topology): Redactor {
  return createRedactor(topologySecrets(topology), { accessKeys: topology.spacesConns.map((s) => s.accessKey) });
}

/** Removes every known secret and every URI password from a message (core's createRedactor). */
export function redactWith(text: string, secrets: readonly string[]): string {
  return createRedactor(secrets).text(text);
}

export async function probeBackends(
  topology: Topology,
  ping: (backend: Backend) => Promise<void>,
  opts: { timeoutMs: number; now?: () => number; redactor?: Redactor },
): Promise<BackendHealth[]> {
  const now = opts.now ?? (() => performance.now());
  const redactor = opts.redactor ?? topologyRedactor(topology);
  const results = await Promise.all(
    topology.backends.map(async (b): Promise<BackendHealth> => {
      const t0 = now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(() => ping(b)),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
          }),
        ]);
        return { key: b.key, ok: true, latencyMs: Math.round(now() - t0) };
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        return { key: b.key, ok: false, latencyMs: Math.round(now() - t0), error: redactor.text(msg).slice(0, 500) };
      } finally {
        if (timer) clearTimeout(timer);
      }
    }),
  );
  // In topology order; walked by the redactor like every other result.
  return redactor.value(results);
}
