/**
 * A TCP proxy in front of the S3 gateway that injects faults (RELIABILITY.md T3):
 * pass (forward), 500 (InternalError), 503 (SlowDown), reset (RST), hang (accept, never answer).
 */
import net from 'node:net';

export type FaultMode = 'pass' | '500' | '503' | 'reset' | 'hang';

export interface FaultProxy {
  port: number;
  url: string;
  mode: FaultMode;
  /** Connections accepted since the last reset of the counters. */
  connections: number;
  /** HTTP requests seen (chunks that start with a request line). */
  requests: number;
  resetCounters(): void;
  close(): Promise<void>;
}

function errorResponse(status: number, reason: string, code: string): string {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected ${code}</Message><RequestId>fault-proxy</RequestId></Error>`;
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

export async function startFaultProxy(upstreamHost: string, upstreamPort: number, mode: FaultMode = 'pass'): Promise<FaultProxy> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const REQ_LINE = /^(GET|PUT|HEAD|POST|DELETE) \S+ HTTP\/1\.[01]\r\n/;

  const proxy: FaultProxy = {
    port: 0,
    url: '',
    mode,
    connections: 0,
    requests: 0,
    resetCounters() {
      proxy.connections = 0;
      proxy.requests = 0;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  // The mode is applied per request (per chunk that starts a request), so a
  // keep-alive connection opened in 'pass' mode gets the fault too.
  const server = net.createServer((client) => {
    track(client);
    proxy.connections++;
    let up: net.Socket | null = null;
    let faulted = false;
    client.on('data', (chunk) => {
      if (REQ_LINE.test(chunk.toString('latin1', 0, Math.min(chunk.length, 2048)))) proxy.requests++;
      if (faulted) return; // hang: read everything, never answer
      if (proxy.mode === 'pass') {
        if (!up) {
          up = net.connect(upstreamPort, upstreamHost);
          track(up);
          up.pipe(client);
          up.on('close', () => client.destroy());
          client.on('close', () => up?.destroy());
        }
        up.write(chunk);
        return;
      }
      faulted = true;
      if (up) {
        up.unpipe(client);
        up.removeAllListeners('close');
        up.destroy();
      }
      if (proxy.mode === '500') client.end(errorResponse(500, 'Internal Server Error', 'InternalError'));
      else if (proxy.mode === '503') client.end(errorResponse(503, 'Slow Down', 'SlowDown'));
      else if (proxy.mode === 'reset') client.resetAndDestroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  proxy.port = (server.address() as net.AddressInfo).port;
  proxy.url = `http://127.0.0.1:${proxy.port}`;
  return proxy;
}
