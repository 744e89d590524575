/** The HTTP layer: a bounded keep-alive agent, deadlines, and `*.localhost` resolution for virtual-hosted style. */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export type DnsLookup = LookupFunction;

/**
 * Resolves `localhost` and every `*.localhost` name to 127.0.0.1 (so that
 * `bucket.s3.localhost` reaches a local gateway), everything else through the
 * system resolver.
 */
export const localhostAwareLookup: DnsLookup = ((hostname: string, options: dns.LookupOptions, callback: (...args: unknown[]) => void) => {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) {
    if (options?.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
    return;
  }
  dns.lookup(hostname, options, callback as never);
}) as DnsLookup;

export interface HttpOptions {
  maxConnections: number;
  requestTimeoutMs: number;
  lookup: DnsLookup;
}

/** A NodeHttpHandler whose agents hold at most `maxConnections` sockets and whose requests fail after the deadline. */
export function createHttpHandler(o: HttpOptions): { handler: NodeHttpHandler; agents: { http: http.Agent; https: https.Agent }; destroy: () => void } {
  const agentOpts = { keepAlive: true, maxSockets: o.maxConnections, maxFreeSockets: Math.min(o.maxConnections, 16), lookup: o.lookup };
  const httpAgent = new http.Agent(agentOpts);
  const httpsAgent = new https.Agent(agentOpts);
  const handler = new NodeHttpHandler({
    httpAgent,
    httpsAgent,
    connectionTimeout: Math.min(o.requestTimeoutMs, 10_000),
    requestTimeout: o.requestTimeoutMs,
    socketTimeout: o.requestTimeoutMs,
    throwOnRequestTimeout: true,
  });
  return {
    handler,
    agents: { http: httpAgent, https: httpsAgent },
    destroy: () => {
      handler.destroy();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
