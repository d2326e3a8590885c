// A stub resolver over the stack's UDP (RFC 1035 §7, RFC 1123 §6.1.3): one A query to one server,
// from a fresh random port with a random id (RFC 5452 §9.2), resent on a doubling timeout, the
// answer accepted only from that server and port, with that id and that question (RFC 5452 §9.1).
// CNAMEs in the answer are followed to the A records; a truncated answer (TC) is asked again over
// TCP when given a TcpLayer (RFC 7766 §5). Errors carry the codes of node:dns (ENOTFOUND,
// ENODATA, EREFUSED, ESERVFAIL, ETIMEOUT, EBADRESP). No cache, no search list.
import type { Stack } from '../stack.js';
import { ipToString, parseIp } from '../wire/ip-address.js';
import type { TcpLayer } from '../tcp/tcp-layer.js';
import { connect } from '../socket/index.js';
import { type Answer, type DecodedPacket, type StringAnswer, decodeDns, encodeDns, Flag, frameTcp, rcodeName, rcodeOf } from './message.js';

/** How to build a Resolver. */
export interface ResolverOptions {
  /** The DNS server's address. */
  server: number;
  port?: number;
  /** Wait for the first answer (default 1000 ms), doubled at each resend. */
  timeoutMs?: number;
  /** Queries sent at most (default 3). */
  attempts?: number;
  /** Ask again over TCP when an answer comes back truncated (RFC 7766 §5); without it, TC is an error. */
  tcp?: TcpLayer;
}

/** A failed lookup, with node:dns's `code`. */
export class DnsError extends Error {
  constructor(readonly code: string, readonly hostname: string, message: string) {
    super(`${code} ${hostname}: ${message}`);
    this.name = 'DnsError';
  }
}

/** The outcome of a lookup: the addresses, their TTL, and how many queries it took. */
export interface Resolved {
  addresses: number[];
  ttl: number;
  attempts: number;
}

/** Looks names up through one DNS server. */
export class Resolver {
  readonly #stack: Stack;
  readonly #server: number;
  readonly #port: number;
  readonly #timeoutMs: number;
  readonly #attempts: number;
  readonly #tcp: TcpLayer | undefined;

  constructor(stack: Stack, o: ResolverOptions) {
    this.#stack = stack;
    this.#server = o.server;
    this.#port = o.port ?? 53;
    this.#timeoutMs = o.timeoutMs ?? 1000;
    this.#attempts = o.attempts ?? 3;
    this.#tcp = o.tcp;
  }

  /** The IPv4 addresses of `hostname` (a dotted quad is returned as it is, without a query). */
  resolve4(hostname: string): Promise<Resolved> {
    try {
      return Promise.resolve({ addresses: [parseIp(hostname)], ttl: 0, attempts: 0 });
    } catch {
      // a name: ask the server
    }
    const stack = this.#stack;
    const c = stack.counters;
    const name = hostname.replace(/\.$/, '');
    const id = stack.rng.u32() & 0xffff;
    const query = encodeDns({ type: 'query', id, flags: Flag.RD, questions: [{ type: 'A', name }] });
    return new Promise((resolve, reject) => {
      let sent = 0;
      let timer: ReturnType<typeof stack.clock.setTimer> | undefined;
      const done = (fn: () => void): void => {
        if (timer !== undefined) stack.clock.clearTimer(timer);
        socket.close();
        fn();
      };
      const send = (): void => {
        if (sent === this.#attempts) {
          c.inc('dns.resolver.timeout');
          return done(() => reject(new DnsError('ETIMEOUT', name, `no answer from ${ipToString(this.#server)} after ${sent} queries`)));
        }
        socket.send(query, this.#port, this.#server);
        c.inc('dns.resolver.queries');
        timer = stack.clock.setTimer(stack.clock.now() + this.#timeoutMs * 2 ** sent++, send);
      };
      const socket = stack.udp.bind(0, (msg, rinfo) => {
        const p = decodeDns(msg);
        // RFC 5452 §9.1: anything else is someone else's answer, or a spoof.
        if (rinfo.ip !== this.#server || rinfo.port !== this.#port || !this.#isAnswer(p, id, name)) {
          c.inc('dns.resolver.ignored');
          return;
        }
        const truncated = ((p.flags ?? 0) & Flag.TC) !== 0;
        if (!truncated || this.#tcp === undefined) return done(() => this.#settle(p, name, sent, resolve, reject));
        // RFC 7766 §5: a truncated answer is asked again over TCP.
        done(() => {
          c.inc('dns.resolver.tcp');
          this.#overTcp(query, id, name).then((a) => this.#settle(a, name, sent, resolve, reject), reject);
        });
      });
      send();
    });
  }

  /** A response to our query: same id, same question (case aside). */
  #isAnswer(p: DecodedPacket | string, id: number, name: string): p is DecodedPacket {
    const q = typeof p === 'string' ? undefined : p.questions?.[0];
    return typeof p !== 'string' && p.type === 'response' && p.id === id && q?.type === 'A' && q.name.toLowerCase() === name.toLowerCase();
  }

  /** Resolve or reject with what the answer says. */
  #settle(p: DecodedPacket, name: string, attempts: number, resolve: (r: Resolved) => void, reject: (e: Error) => void): void {
    const rcode = rcodeOf(p);
    const from = ipToString(this.#server);
    if (rcode !== 0) return reject(new DnsError(RCODE_ERRORS[rcode] ?? 'EBADRESP', name, `${rcodeName(rcode)} from ${from}`));
    const found = follow(name, p.answers ?? []);
    if (found.addresses.length > 0) return resolve({ ...found, attempts });
    if (((p.flags ?? 0) & Flag.TC) !== 0) return reject(new DnsError('EBADRESP', name, 'truncated answer (TC), and no TCP to ask again'));
    reject(new DnsError('ENODATA', name, `${name} has no A record`));
  }

  /** The same query over TCP (RFC 1035 §4.2.2: a two-byte length, then the message); one answer. */
  #overTcp(query: Buffer, id: number, name: string): Promise<DecodedPacket> {
    return new Promise((resolve, reject) => {
      const s = connect(this.#tcp!, { host: ipToString(this.#server), port: this.#port });
      let buf: Buffer = Buffer.alloc(0);
      s.setTimeout(this.#timeoutMs * 4, () => s.destroy(new DnsError('ETIMEOUT', name, `no answer over TCP from ${ipToString(this.#server)}`)));
      s.on('error', (e: Error) => reject(e instanceof DnsError ? e : new DnsError('ECONNREFUSED', name, `over TCP: ${e.message}`)));
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        s.end();
        const p = decodeDns(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        if (this.#isAnswer(p, id, name)) resolve(p);
        else reject(new DnsError('EBADRESP', name, 'the answer over TCP is not for our query'));
      });
      s.write(frameTcp(query));
    });
  }
}

/** node:dns's codes for the RCODEs of RFC 1035 §4.1.1. */
const RCODE_ERRORS: Record<number, string> = { 1: 'EFORMERR', 2: 'ESERVFAIL', 3: 'ENOTFOUND', 4: 'ENOTIMP', 5: 'EREFUSED' };

/** The A records of `name`, through at most 8 CNAMEs of the answer section (RFC 1034 §3.6.2). */
function follow(name: string, answers: Answer[]): { addresses: number[]; ttl: number } {
  let owner = name.toLowerCase();
  for (let hops = 0; hops < 8; hops++) {
    const a = answers.filter((r): r is StringAnswer => r.type === 'A' && r.name.toLowerCase() === owner);
    if (a.length > 0) return { addresses: a.map((r) => parseIp(r.data)), ttl: Math.min(...a.map((r) => r.ttl ?? 0)) };
    const cname = answers.find((r): r is StringAnswer => r.type === 'CNAME' && r.name.toLowerCase() === owner);
    if (cname === undefined) break;
    owner = cname.data.toLowerCase();
  }
  return { addresses: [], ttl: 0 };
}
