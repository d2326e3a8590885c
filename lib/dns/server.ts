// An authoritative DNS server on the stack's port 53 (UDP, and TCP when given a TcpLayer) for
// one name, its own (`tapstack.test` -> its IP): the zone is that name alone. It does not recurse
// (RA=0) and answers no other zone.
//
//   name, A or ANY          NOERROR, AA, the A record (ANY gets just that: RFC 8482 §4.2)
//   name, SOA               NOERROR, AA, the zone's SOA
//   name, other types       NOERROR, AA, no answer, SOA in authority (NODATA, RFC 2308 §2.2)
//   below the name          NXDOMAIN, AA, SOA in authority (RFC 2308 §2.1)
//   any other name          REFUSED (not our zone, and no recursion: RFC 1035 §4.1.1)
//   opcode other than QUERY NOTIMP;  no or several questions, or undecodable: FORMERR
//   EDNS version above 0    BADVERS (RFC 6891 §6.1.3); an OPT in the query gets one back
//
// Never amplified: one question, at most one record per section (ANY included), so a reply is
// the question plus one record. A reply larger than the asker's UDP size (512 bytes, or its EDNS
// size up to 1232) loses the optional SOA, then the answer with TC set (only with names near
// DNS's 255-byte limit: dns-packet does not compress names); over TCP (with `tcp`) nothing is cut.
// Messages shorter than a header, and responses (QR=1, so two servers never loop), are dropped
// and counted.
import type { Stack, UdpRemoteInfo, UdpSocket } from '../stack.js';
import type { TcpLayer } from '../tcp/tcp-layer.js';
import { createServer, type Server, type Socket } from '../socket/index.js';
import { ipToString } from '../wire/ip-address.js';
import { type Answer, decodeDns, DNS_HEADER_LEN, encodeDns, Flag, frameTcp, optOf, type Packet, rawOpcode, Rcode, rcodeName, replyFlags } from './message.js';

/** How to build a DnsServer. */
export interface DnsServerOptions {
  /** The name answered for (case-insensitive, RFC 4343), e.g. `tapstack.test`. */
  name: string;
  /** Its IPv4 address. */
  ip: number;
  /** TTL of the records, and of negative answers (SOA minimum, RFC 2308 §4); default 300 s. */
  ttl?: number;
  /** UDP and TCP port (default 53). */
  port?: number;
  /** Answer over TCP too (RFC 7766), on this TCP layer; without it, UDP only. */
  tcp?: TcpLayer;
}

type Sections = Pick<Packet, 'questions' | 'answers' | 'authorities' | 'additionals'>;

/** A DNS-over-TCP connection idle this long is closed by the server (RFC 7766 §6.2.3). */
const TCP_IDLE_MS = 10_000;

/** The largest DNS message over UDP without EDNS (RFC 1035 §2.3.4). */
const UDP_PLAIN_SIZE = 512;

/** The largest UDP payload we announce in an OPT record (the DNS flag day 2020 value). */
const EDNS_UDP_SIZE = 1232;

/** The DNS server; `close()` releases the port. */
export class DnsServer {
  readonly name: string;
  readonly #stack: Stack;
  readonly #ip: string;
  readonly #ttl: number;
  readonly #socket: UdpSocket;
  readonly #server: Server | undefined;

  constructor(stack: Stack, o: DnsServerOptions) {
    this.#stack = stack;
    this.name = o.name.toLowerCase().replace(/\.$/, '');
    this.#ip = ipToString(o.ip);
    this.#ttl = o.ttl ?? 300;
    this.#socket = stack.udp.bind(o.port ?? 53, (msg, rinfo) => this.#datagram(msg, rinfo));
    this.#server = o.tcp === undefined ? undefined : createServer(o.tcp, (s) => this.#stream(s)).listen(o.port ?? 53);
  }

  /** Stop answering. */
  close(): void {
    this.#socket.close();
    this.#server?.close();
  }

  #datagram(msg: Buffer, rinfo: UdpRemoteInfo): void {
    const out = this.#answer(msg, true);
    if (out !== undefined) this.#socket.send(out, rinfo.port, rinfo.ip);
  }

  /**
   * DNS over TCP (RFC 7766, RFC 1035 §4.2.2): each message after a two-byte length, several per
   * connection, answered in order and never truncated. A partial message waits for the rest (at
   * most 65,537 bytes held); a connection idle for 10 s is closed by us (RFC 7766 §6.2.3).
   */
  #stream(s: Socket): void {
    this.#stack.counters.inc('dns.tcp.connections');
    let buf: Buffer = Buffer.alloc(0);
    s.setTimeout(TCP_IDLE_MS, () => s.end());
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const out = this.#answer(msg, false);
        if (out !== undefined) s.write(frameTcp(out));
      }
    });
  }

  /** The reply to one message, or undefined when it is dropped (and counted). Over UDP it fits the asker's size. */
  #answer(msg: Buffer, udp: boolean): Buffer | undefined {
    const c = this.#stack.counters;
    if (msg.length < DNS_HEADER_LEN) {
      c.inc('dns.drop.short');
      return undefined;
    }
    if ((msg[2]! & 0x80) !== 0) {
      c.inc('dns.drop.response');
      return undefined;
    }
    c.inc('dns.rx.queries');
    const id = msg.readUInt16BE(0);
    const flags = msg.readUInt16BE(2);
    let limit = udp ? UDP_PLAIN_SIZE : 0xffff;
    const reply = (rcode: number, sections: Sections = {}, aa = false): Buffer => {
      c.inc(`dns.tx.${rcodeName(rcode).toLowerCase()}`);
      const encode = (x: Sections, tc = 0): Buffer => encodeDns({ ...x, type: 'response', id, flags: replyFlags(flags, (aa ? Flag.AA : 0) | tc, rcode) });
      let out = encode(sections);
      // Too big for the asker's UDP size: the SOA of a negative answer is optional (RFC 2181 §9),
      // the answer is not: without it, TC tells the client to ask over TCP (RFC 1035 §4.2.1).
      if (out.length > limit) out = encode({ ...sections, authorities: [] });
      if (out.length > limit) {
        c.inc('dns.tx.truncated');
        out = encode({ ...sections, answers: [], authorities: [] }, Flag.TC);
      }
      return out;
    };
    const p = decodeDns(msg);
    if (typeof p === 'string') return reply(Rcode.FORMERR);
    const questions = p.questions ?? [];
    if (rawOpcode(msg) !== 0) return reply(Rcode.NOTIMP, { questions });
    const opts = (p.additionals ?? []).filter((a) => a.type === 'OPT');
    // RFC 9619: a QUERY carries exactly one question; RFC 6891 §6.1.1: at most one OPT.
    if (questions.length !== 1 || opts.length > 1) return reply(Rcode.FORMERR, { questions });
    const opt = optOf(p);
    if (opt !== undefined && udp) limit = Math.min(Math.max(opt.udpPayloadSize, UDP_PLAIN_SIZE), EDNS_UDP_SIZE);
    const ours = (extendedRcode = 0): Answer[] => (opt === undefined ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE, extendedRcode, ednsVersion: 0, flags: 0, flag_do: false, options: [] }]);
    if (opt !== undefined && opt.ednsVersion !== 0) return reply(Rcode.BADVERS, { questions, additionals: ours(Rcode.BADVERS >> 4) });
    const q = questions[0]!;
    const qname = q.name.toLowerCase().replace(/\.$/, '');
    const additionals = ours();
    if (q.class !== 'IN' || (qname !== this.name && !qname.endsWith(`.${this.name}`))) return reply(Rcode.REFUSED, { questions, additionals });
    const soa: Answer = {
      type: 'SOA', name: this.name, ttl: this.#ttl,
      data: { mname: this.name, rname: `hostmaster.${this.name}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: this.#ttl },
    };
    if (qname !== this.name) return reply(Rcode.NXDOMAIN, { questions, authorities: [soa], additionals }, true);
    // ANY (type 255, RFC 1035 §3.2.3) is missing from @types/dns-packet's RecordType.
    if (q.type === 'A' || (q.type as string) === 'ANY') return reply(Rcode.NOERROR, { questions, answers: [{ type: 'A', name: q.name, ttl: this.#ttl, data: this.#ip }], additionals }, true);
    if (q.type === 'SOA') return reply(Rcode.NOERROR, { questions, answers: [soa], additionals }, true);
    return reply(Rcode.NOERROR, { questions, authorities: [soa], additionals }, true);
  }
}
