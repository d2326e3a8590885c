// The client side and DNS (issue 11) as scripts over two stacks on fake time (harness.ts), for
// the golden traces: B (10.0.0.2, traced, tapstack) answers DNS for its own name; and B as the
// client, resolving a name at A's DNS server, opening the connection, fetching, closing first.
import http from 'node:http';
import { Writable } from 'node:stream';
import dnsPacket from 'dns-packet';
import { DnsServer } from '../../lib/dns/server.js';
import { Resolver } from '../../lib/dns/resolver.js';
import { fetchUrl, type FetchResult } from '../../lib/http/fetch.js';
import { createServer } from '../../lib/socket/index.js';
import { parseIp } from '../../lib/wire/ip-address.js';
import { makeExplainNet, run, settle, type ExplainNet } from './harness.js';

/** A (the kernel's side) asks B for tapstack.test (A), then for its AAAA (NODATA) and a name below it (NXDOMAIN). */
export async function dnsQueryAnswer(): Promise<ExplainNet> {
  const net = makeExplainNet({ seed: 11 });
  new DnsServer(net.b.stack, { name: 'tapstack.test', ip: parseIp('10.0.0.2') });
  let answered = 0;
  const sock = net.a.stack.udp.bind(40053, () => answered++);
  const ask = async (id: number, type: 'A' | 'AAAA', name: string): Promise<void> => {
    sock.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }), 53, '10.0.0.2');
    const want = answered + 1;
    await settle(net.clock, () => answered >= want);
  };
  await ask(0x1a2b, 'A', 'tapstack.test');
  await ask(0x1a2c, 'AAAA', 'tapstack.test');
  await ask(0x1a2d, 'A', 'www.tapstack.test');
  sock.close();
  return net;
}

/**
 * B fetches http://files.test:8000/ as a client: a DNS query to A (which answers files.test),
 * ARP for A, the handshake from B's side, GET, a keep-alive answer, B's FIN first, so B sits in
 * TIME-WAIT for 60 s and the trace shows its end.
 */
export async function clientTimeWait(): Promise<{ net: ExplainNet; result: FetchResult }> {
  const net = makeExplainNet({ seed: 12 });
  new DnsServer(net.a.stack, { name: 'files.test', ip: parseIp('10.0.0.1') });
  const server = http.createServer((_req, res) => {
    res.sendDate = false;
    res.setHeader('Content-Type', 'text/plain');
    res.end('hello from the server side\n');
  });
  createServer(net.a.tcp, { noDelay: true }, (s) => server.emit('connection', s)).listen(8000);
  let body = '';
  const out = new Writable({ write: (c: Buffer, _e, cb) => void ((body += c.toString()), cb()) });
  const resolver = new Resolver(net.b.stack, { server: parseIp('10.0.0.1') });
  let result: FetchResult | undefined;
  void fetchUrl('http://files.test:8000/', { tcp: net.b.tcp, out, resolve: (h) => resolver.resolve4(h), userAgent: 'tapstack/0.1.0' }).then((r) => (result = r));
  await settle(net.clock, () => result !== undefined, 10_000);
  await run(net.clock, 61_000, 500);
  server.close();
  if (body !== 'hello from the server side\n') throw new Error(`fetched ${JSON.stringify(body)}`);
  return { net, result: result! };
}
