/**
 * The routing part of `admin.health()`: probes every backend concurrently,
 * each with its own deadline, so one unreachable backend is reported as
 * such without holding up or failing the others.
 */
import { redactUri } from '@chronos-db/core';
import { safeUri } from './describe.js';
import type { Backend, Topology } from './topology.js';

export interface BackendHealth {
  key: string;
  ok: boolean;
  latencyMs: number;
  /** Redacted: never holds a password or secret key. */
  error?: string;
}

/** Every secret the topology holds (passwords in Mongo URIs, S3 secret keys), for redaction. */
export function topologySecrets(topology: Topology): string[] {
  const out: string[] = [];
  for (const s of topology.spacesConns) out.push(s.secretKey);
  for (const b of topology.backends) {
    if (b.kind !== 'mongo') continue;
    const masked = safeUri(b.mongoUri);
    // The password is what safeUri replaced: recover it by diffing the user-info.
    const m = /^[a-z][a-z0-9+.-]*:\/\/([^:]*):(.*)$/is.exec(b.mongoUri);
    if (m && masked !== b.mongoUri) {
      const rest = m[2]!;
      const q = rest.search(/[?#]/);
      const at = (q === -1 ? rest : rest.slice(0, q)).lastIndexOf('@');
      if (at > 0) {
        const pw = rest.slice(0, at);
        out.push(pw);
        try {
          out.push(decodeURIComponent(pw));
        } catch {
          /* not percent-encoded */
        }
      }
    }
  }
  return out;
}

/**
 * Removes every known secret from a message (longest first, before any URI
 * rewriting could split one), then any password left in a URI.
 */
export function redactWith(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...secrets].filter((x) => x && x.length >= 4).sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
  return redactUri(out).replace(/([a-z][a-z0-9+.-]*:\/\/)([^\s]*)/gi, (m) => safeUri(m));
}

export async function probeBackends(
  topology: Topology,
  ping: (backend: Backend) => Promise<void>,
  opts: { timeoutMs: number; now?: () => number },
): Promise<BackendHealth[]> {
  const now = opts.now ?? (() => performance.now());
  const secrets = topologySecrets(topology);
  return Promise.all(
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
        return { key: b.key, ok: false, latencyMs: Math.round(now() - t0), error: redactWith(msg, secrets).slice(0, 500) };
      } finally {
        if (timer) clearTimeout(timer);
      }
    }),
  );
}
