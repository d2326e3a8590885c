// The classic captures (CLASSIC-CAPTURES.md) as scripts over two stacks on fake time (harness.ts):
// each returns the ExplainNet after the script ran, so a test can render its trace in both
// languages and compare with the golden files, and check the tracker against the real stack.
import { connect, createServer, type Socket } from '../../lib/socket/index.js';
import { createWebServer, type WebServer } from '../../lib/http/web-server.js';
import { buildIcmp, echoRest } from '../../lib/wire/icmp.js';
import { parseIp, parseMac } from '../../lib/wire/ip-address.js';
import { EtherType, parseEthernet, writeEthernetHeader } from '../../lib/wire/ethernet.js';
import { parseIpv4, writeIpv4Header } from '../../lib/wire/ipv4.js';
import { parseTcp, serializeTcp, TCP_FLAGS, type TcpOptions } from '../../lib/wire/tcp.js';
import { type Seq, seq, seqAdd } from '../../lib/wire/seq.js';
import { ArpOp, writeArp } from '../../lib/wire/arp.js';
import { BROADCAST_MAC } from '../../lib/wire/ethernet.js';
import { FakeLink } from '../helpers/fake-link.js';
import type { TcpConfig } from '../../lib/tcp/config.js';
import { makeExplainNet, run, settle, type ExplainNet } from './harness.js';

const B = '10.0.0.2';

/** A fixed page (no dates, no file times) so segment sizes never change: 3000 bytes of HTML. */
const PAGE = `<!doctype html>\n<title>tapstack</title>\n<p>${'Hello from tapstack. '.repeat(146)}</p>\n`.padEnd(3000, '.');

/** The web server with a fixed `/` (everything else: the server's own 404 for /favicon.ico). */
function web(net: ExplainNet, keepAliveTimeoutMs = 5000): WebServer {
  const w = createWebServer({
    accessLog: null,
    keepAliveTimeoutMs,
    root: new URL('./golden', import.meta.url).pathname,
    handler: (req, res, next) => {
      res.sendDate = false;
      if (req.url === '/') {
        res.setHeader('Content-Type', 'text/html; charset=utf-8');
        res.end(PAGE);
      } else if (req.url === '/favicon.ico') {
        res.statusCode = 404;
        res.setHeader('Content-Type', 'text/plain');
        res.end('404 Not Found: /favicon.ico\n');
      } else if (req.url === '/big') {
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(Buffer.alloc(20_000, 0x61));
      } else next();
    },
  });
  createServer(net.b.tcp, { noDelay: true }, (s) => w.accept(s)).listen(80);
  return w;
}

/** A request of exactly `size` bytes, like a browser's (the classic capture's is 401). */
export function browserRequest(path: string, size: number): string {
  const head = `GET ${path} HTTP/1.1\r\nHost: 10.0.0.2\r\nAccept: text/html,*/*\r\nAccept-Encoding: identity\r\nUser-Agent: `;
  const tail = '\r\n\r\n';
  return head + 'Mozilla/5.0 (teaching; tapstack) '.padEnd(size - head.length - tail.length, 'x') + tail;
}

/** An ARP request from `mac`/`ip` for `target`, broadcast. */
function arpFrame(mac: Buffer, ip: number, target: number): Buffer {
  const f = Buffer.alloc(42);
  writeEthernetHeader(f, 0, BROADCAST_MAC, mac, EtherType.ARP);
  writeArp(f, 14, { op: ArpOp.request, senderMac: mac, senderIp: ip, targetMac: Buffer.alloc(6), targetIp: target });
  return f;
}

/** A client socket on A collecting what it receives. */
function client(net: ExplainNet): { c: Socket; text: () => string; ended: () => boolean } {
  const c = connect(net.a.tcp, { host: B, port: 80, allowHalfOpen: true });
  let text = '';
  let ended = false;
  c.on('data', (d: Buffer) => (text += d.toString('latin1')));
  c.on('end', () => (ended = true));
  c.on('error', () => undefined);
  return { c, text: () => text, ended: () => ended };
}

/**
 * CLASSIC-CAPTURES.md §1 with tapstack as the server: ARP, handshake, a 401-byte request and its
 * ACK (402 = 1 + 401), the page cut at the MSS, /favicon.ico answered 404 on the same connection,
 * the server's FIN after the 5 s keep-alive timeout, the client's FIN 4 s later (four-way close),
 * TIME-WAIT on the server and its end 60 s later.
 */
export async function classic(): Promise<ExplainNet> {
  const net = makeExplainNet();
  const w = web(net);
  const k = client(net);
  k.c.write(browserRequest('/', 401));
  await settle(net.clock, () => k.text().endsWith(PAGE));
  await run(net.clock, 200);
  k.c.write(browserRequest('/favicon.ico', 341));
  await settle(net.clock, () => k.text().endsWith('/favicon.ico\n'));
  await settle(net.clock, () => k.ended(), 10_000, 5);
  await run(net.clock, 4000, 5);
  k.c.end();
  await run(net.clock, 100, 5);
  await run(net.clock, 61_000, 500);
  w.closeAllConnections();
  return net;
}

/** The client closes first right after its answer; the server's ACK and FIN can travel together. */
export async function clientCloses(): Promise<ExplainNet> {
  const net = makeExplainNet({ seed: 7 });
  const w = web(net);
  const k = client(net);
  k.c.write('GET /favicon.ico HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n');
  await settle(net.clock, () => k.text().endsWith('/favicon.ico\n'), 10_000);
  await run(net.clock, 100);
  k.c.end();
  await run(net.clock, 200);
  w.closeAllConnections();
  return net;
}

/** Which of B's data segments (1-based, in sending order) the drop predicate has seen. */
function dropNthData(net: ExplainNet, which: number[]): void {
  let n = 0;
  net.b.drop.drop = (frame, dir) => {
    if (dir !== 'TX') return false;
    try {
      const ip = parseIpv4(parseEthernet(frame).payload);
      if (ip.protocol !== 6) return false;
      const seg = parseTcp(ip.payload, ip.src, ip.dst, false);
      if (seg.payload.length === 0) return false;
      n++;
      return which.includes(n);
    } catch {
      return false;
    }
  };
}

/**
 * A 20 000-byte response where the server's 2nd data segment is lost: the client's duplicate
 * ACKs carry SACK blocks, the server retransmits fast; then the last segment of a second
 * response is lost with nothing after it, and only the retransmission timer (RTO) recovers it.
 */
export async function lossWithSack(): Promise<ExplainNet> {
  const net = makeExplainNet({ seed: 8 });
  const w = web(net);
  const k = client(net);
  dropNthData(net, [2, 16]);
  k.c.write('GET /big HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n');
  await settle(net.clock, () => k.text().length >= 20_000, 20_000);
  await run(net.clock, 100);
  k.c.write('GET /favicon.ico HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n');
  await settle(net.clock, () => k.text().endsWith('/favicon.ico\n'), 20_000);
  await run(net.clock, 100);
  void w;
  return net;
}

/**
 * One retransmission cause of tapstack's TCP core, made deterministic: a 20 000-byte response
 * (`/big`) with the chosen data segments of B dropped on their way out (1-based, in sending order,
 * retransmissions counted too), and B's TCP configured as the cause needs.
 */
export async function retransmitCause(drop: number[], tcp: Partial<TcpConfig> = {}, seed = 15): Promise<ExplainNet> {
  const net = makeExplainNet({ seed, tcp });
  const w = web(net);
  const k = client(net);
  dropNthData(net, drop);
  k.c.write('GET /big HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n');
  await settle(net.clock, () => k.text().length >= 20_000, 30_000);
  await run(net.clock, 500, 5);
  void w;
  return net;
}

/**
 * Spurious retransmission (issue 11): every pure ACK the client sends during a 20 000-byte
 * response is dropped on its way in, until tapstack resends. The client had all the data, so
 * tapstack's retransmission timer fires for nothing: the resent segment is spurious (as tshark
 * says, reading the dropped ACKs in the capture), and the client reports it with a D-SACK.
 */
export async function spuriousAfterLostAcks(): Promise<ExplainNet> {
  const net = makeExplainNet({ seed: 14 });
  const w = web(net);
  const k = client(net);
  let highest = -1;
  let resent = false;
  let requestSeen = false;
  net.b.drop.reason = 'the client\'s ACKs, until tapstack resends';
  net.b.drop.drop = (frame, dir) => {
    try {
      const ip = parseIpv4(parseEthernet(frame).payload);
      if (ip.protocol !== 6) return false;
      const seg = parseTcp(ip.payload, ip.src, ip.dst, false);
      if (dir === 'RX' && seg.payload.length > 0) requestSeen = true;
      if (dir === 'TX' && seg.payload.length > 0) {
        if (seg.seq < highest) resent = true;
        highest = Math.max(highest, seg.seq);
      }
      return dir === 'RX' && requestSeen && !resent && seg.payload.length === 0 && seg.flags === TCP_FLAGS.ACK;
    } catch {
      return false;
    }
  };
  k.c.write('GET /big HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n');
  await settle(net.clock, () => k.text().length >= 20_000, 20_000);
  await run(net.clock, 2000, 5);
  void w;
  return net;
}

/**
 * ICMP with tapstack's emulated path MTU of 1480: ARP, a ping, a DF ping of 1472 bytes (IP 1500)
 * refused with "frag needed, mtu 1480", then 1452 (IP 1480) answered; UDP to a closed port; a
 * TCP SYN to a closed port (RST: connection refused).
 */
export async function icmpPathMtu(): Promise<ExplainNet> {
  const net = makeExplainNet({ pathMtu: 1480, seed: 9 });
  const to = parseIp(B);
  const ping = (seq: number, size: number, df: boolean) => net.a.stack.sendIp(to, 1, buildIcmp(8, 0, echoRest(0x1234, seq), Buffer.alloc(size, seq)), { df });
  ping(1, 56, false);
  await run(net.clock, 50);
  ping(2, 1472, true);
  await run(net.clock, 50);
  ping(3, 1452, true);
  await run(net.clock, 50);
  const sock = net.a.stack.udp.bind(5353, () => undefined);
  sock.send(Buffer.from('hello'), 9999, to);
  await run(net.clock, 50);
  const c = connect(net.a.tcp, { host: B, port: 8080 });
  c.on('error', () => undefined);
  await run(net.clock, 50);
  return net;
}

/**
 * CLASSIC-CAPTURES.md §3's close with the roles of our capture: the server (tapstack) closes the
 * idle keep-alive connection first and the client — a scripted peer answering the way Linux does
 * when its application closes at once — sends its ACK and FIN in one segment: a three-way close.
 */
export async function threeWayClose(): Promise<ExplainNet> {
  const link = new FakeLink(parseMac('02:00:00:00:00:0b'));
  const net = makeExplainNet({ seed: 10, bLink: link });
  const w = web(net, 5000);
  const PEER = parseIp('10.0.0.1');
  const STACK = parseIp(B);
  const peerMac = parseMac('02:00:00:00:00:01');
  const frameOf = (tcp: Buffer): Buffer => {
    const ip = Buffer.alloc(20 + tcp.length);
    writeIpv4Header(ip, 0, { src: PEER, dst: STACK, protocol: 6, id: 1, df: true, mf: false, fragOffset: 0, ttl: 64, tos: 0, totalLength: ip.length });
    tcp.copy(ip, 20);
    const f = Buffer.alloc(14 + ip.length);
    writeEthernetHeader(f, 0, link.mac, peerMac, EtherType.IPv4);
    ip.copy(f, 14);
    return f;
  };
  const iss = seq(3464472424);
  let ts = 388526343;
  const send = (s: { seq: Seq; ack: Seq; flags: number; payload?: Buffer; options?: TcpOptions }) =>
    link.inject(frameOf(serializeTcp({ srcPort: 49312, dstPort: 80, window: s.flags & TCP_FLAGS.SYN ? 64240 : 502, ...s, options: { ts: { val: (ts += 7), ecr: tsecr }, ...s.options } }, PEER, STACK)));
  let tsecr = 0;
  const lastFromStack = () => {
    const f = link.sent[link.sent.length - 1]!;
    const ip = parseIpv4(parseEthernet(f).payload);
    const t = parseTcp(ip.payload, ip.src, ip.dst);
    tsecr = t.options.ts?.val ?? 0;
    return t;
  };
  link.inject(arpFrame(peerMac, PEER, STACK));
  await run(net.clock, 1);
  send({ seq: iss, ack: seq(0), flags: TCP_FLAGS.SYN, options: { mss: 1460, sackPermitted: true, wscale: 7 } });
  await run(net.clock, 1);
  const synAck = lastFromStack();
  const rcv = seqAdd(synAck.seq, 1);
  const req = Buffer.from('GET /favicon.ico HTTP/1.1\r\nHost: 10.0.0.2\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n');
  send({ seq: seqAdd(iss, 1), ack: rcv, flags: TCP_FLAGS.ACK });
  await run(net.clock, 1);
  send({ seq: seqAdd(iss, 1), ack: rcv, flags: TCP_FLAGS.ACK | TCP_FLAGS.PSH, payload: req });
  await run(net.clock, 2);
  const resp = lastFromStack();
  const afterResp = seqAdd(resp.seq, resp.payload.length);
  send({ seq: seqAdd(iss, 1 + req.length), ack: afterResp, flags: TCP_FLAGS.ACK });
  await run(net.clock, 5100, 5);
  const fin = lastFromStack();
  send({ seq: seqAdd(iss, 1 + req.length), ack: seqAdd(fin.seq, 1), flags: TCP_FLAGS.FIN | TCP_FLAGS.ACK });
  await run(net.clock, 100, 5);
  await run(net.clock, 60_000, 500);
  w.closeAllConnections();
  return net;
}

/**
 * The reason for TIME-WAIT, live: the server closes first, the client's FIN comes, and the
 * server's last ACK is lost. The client resends its FIN; the server, still in TIME-WAIT, can
 * answer it, and its 2×MSL starts over.
 */
export async function lostFinalAck(): Promise<ExplainNet> {
  const net = makeExplainNet({ seed: 12 });
  const w = web(net, 5000);
  const k = client(net);
  let finSeen = false;
  let dropped = false;
  net.b.drop.drop = (frame, dir) => {
    try {
      const ip = parseIpv4(parseEthernet(frame).payload);
      if (ip.protocol !== 6) return false;
      const seg = parseTcp(ip.payload, ip.src, ip.dst, false);
      if (dir === 'RX' && seg.flags & TCP_FLAGS.FIN) finSeen = true;
      if (dir === 'TX' && finSeen && !dropped && seg.payload.length === 0 && !(seg.flags & TCP_FLAGS.FIN)) return (dropped = true);
    } catch {
      // not TCP
    }
    return false;
  };
  k.c.write('GET /favicon.ico HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n');
  await settle(net.clock, () => k.ended(), 10_000, 5);
  k.c.end();
  await run(net.clock, 2000, 5);
  await run(net.clock, 61_000, 500);
  w.closeAllConnections();
  return net;
}
