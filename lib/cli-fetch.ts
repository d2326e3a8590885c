// `tapstack fetch URL` and `--fetch URL` (issue 11): the CLI's client side. The name is resolved
// through --dns-server with the stack's own resolver, the body goes to -o FILE or stdout, progress
// and the outcome (including whose end holds the TIME-WAIT) go to stderr. Returns the exit code:
// 0 for a 1xx-3xx answer, 1 for an HTTP error status or a failure (one line saying why).
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { CliConfig } from './cli-options.js';
import type { Stack } from './stack.js';
import type { TcpLayer } from './tcp/tcp-layer.js';
import { Resolver } from './dns/resolver.js';
import { fetchUrl } from './http/fetch.js';
import { ipToString, parseIp } from './wire/ip-address.js';

/** Fetch `config.fetch` from the stack; resolves with the exit code. */
export async function runFetch(config: CliConfig, stack: Stack, tcp: TcpLayer, version: string, timeWaitMs: number): Promise<number> {
  const url = config.fetch!;
  const err = process.stderr;
  const server = config.dnsServer;
  const resolver = server === undefined ? undefined : new Resolver(stack, { server });
  let out: Writable = process.stdout;
  let lastProgress = 0;
  try {
    if (config.output !== undefined) {
      const file = createWriteStream(config.output);
      await new Promise((resolve, reject) => file.once('open', resolve).once('error', reject));
      out = file;
    }
    const r = await fetchUrl(url, {
      tcp,
      out,
      userAgent: `tapstack/${version}`,
      resolve: async (host) => {
        if (resolver === undefined) return { addresses: [parseIpOrThrow(host)], ttl: 0, attempts: 0 };
        const found = await resolver.resolve4(host);
        if (found.attempts > 0) err.write(`fetch: ${host} is ${found.addresses.map(ipToString).join(', ')} (DNS server ${ipToString(server!)}, TTL ${found.ttl} s)\n`);
        return found;
      },
      onProgress: (n, total) => {
        const now = Date.now();
        if (now - lastProgress < 250 && n !== total) return;
        lastProgress = now;
        err.write(`fetch: ${n}${total !== undefined ? ` of ${total} bytes (${Math.floor((100 * n) / Math.max(total, 1))} %)` : ' bytes'}\n`);
      },
    });
    if (out !== process.stdout) await new Promise((resolve) => out.end(resolve));
    err.write(`fetch: ${r.status} ${r.statusText}, ${r.bytes} bytes from ${r.address}${config.output !== undefined ? `, saved to ${config.output}` : ''}\n`);
    err.write(
      r.closedIn === 'TIME-WAIT'
        ? `fetch: tapstack (${r.local}) closed first, so its end is in TIME-WAIT for ${timeWaitMs / 1000} s (2×MSL)\n`
        : `fetch: the server closed first, so the TIME-WAIT is on its side; tapstack's end (${r.local}) is ${r.closedIn ?? 'CLOSED'}\n`,
    );
    return r.status < 400 ? 0 : 1;
  } catch (e) {
    out.destroy();
    err.write(`tapstack fetch: ${(e as Error).message}\n`);
    return 1;
  }
}

function parseIpOrThrow(host: string): number {
  try {
    return parseIp(host);
  } catch {
    throw new Error(`${host} is a name: give --dns-server IP to resolve it`);
  }
}
