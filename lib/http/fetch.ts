// The stack as an HTTP client (issue 11): the host name resolved by a Resolver (lib/dns), a TCP
// connection opened *from* the stack (active open through lib/socket; ARP for the next hop is the
// stack's), and node:http's client over that socket for the request and the response (no HTTP
// parsing here). The client closes first once the body is complete, as wget and curl do, so the
// TIME-WAIT is the stack's; `closedIn` says where the connection ended up.
import http from 'node:http';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { TcpLayer } from '../tcp/tcp-layer.js';
import type { TcpState } from '../tcp/types.js';
import { connect, type Socket } from '../socket/index.js';
import { ipToString } from '../wire/ip-address.js';
import type { Resolved } from '../dns/resolver.js';

/** How to fetch. */
export interface FetchOptions {
  tcp: TcpLayer;
  /** Name to addresses (lib/dns Resolver.resolve4); a dotted quad needs no server. */
  resolve: (hostname: string) => Promise<Resolved>;
  /** Where the body goes (not ended: the caller owns it). */
  out: Writable;
  /** Called as the response arrives: bytes so far and the Content-Length if any. */
  onProgress?: (received: number, total: number | undefined) => void;
  userAgent?: string;
  /** Give up on a silent server after this long (default 30 s). */
  timeoutMs?: number;
}

/** What a fetch did. */
export interface FetchResult {
  address: string;
  local: string;
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  bytes: number;
  /** Our end's TCP state once the close was done (TIME-WAIT when we closed first). */
  closedIn: TcpState | undefined;
}

/** GET `url` (http only) from the stack. Rejects with Node-style errors (ENOTFOUND, ECONNREFUSED, ETIMEDOUT...). */
export async function fetchUrl(url: string, o: FetchOptions): Promise<FetchResult> {
  const u = new URL(url);
  if (u.protocol !== 'http:') throw new Error(`only http:// URLs (no TLS), got ${u.protocol}`);
  const hostname = u.hostname;
  const { addresses } = await o.resolve(hostname);
  const address = ipToString(addresses[0]!);
  const port = u.port === '' ? 80 : Number(u.port);
  let socket: Socket | undefined;
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request({
      method: 'GET',
      host: hostname,
      port,
      path: `${u.pathname}${u.search}`,
      // Keep-alive, as wget and curl ask: the server keeps the connection, and we close it.
      headers: { 'User-Agent': o.userAgent ?? 'tapstack', Accept: '*/*', Connection: 'keep-alive' },
      createConnection: () => (socket = connect(o.tcp, { host: address, port })) as unknown as import('node:net').Socket,
      timeout: o.timeoutMs ?? 30_000,
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer from ${address}:${port}`), { code: 'ETIMEDOUT' })));
    req.on('response', resolve);
    req.on('error', reject);
    req.end();
  });
  const total = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
  let bytes = 0;
  res.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    o.onProgress?.(bytes, total);
  });
  res.pipe(o.out, { end: false });
  await finished(res);
  const s = socket!;
  const local = `${s.localAddress}:${s.localPort}`;
  // The response is complete: close our side first (FIN), then wait for the peer's FIN or its
  // own earlier close to finish the exchange, as a browser closing an idle connection would.
  if (!s.closed) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => s.destroy(), 5000);
      s.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      s.end();
      s.resume();
    });
  }
  const closedIn: TcpState | undefined = s.connection?.state;
  return { address, local, status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, bytes, closedIn };
}
