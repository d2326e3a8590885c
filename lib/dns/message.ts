// DNS messages (RFC 1035 §4) through the npm library dns-packet: decoding that never throws past
// here, the header flag bits dns-packet leaves to its caller (opcode, rcode), and the one-line
// Wireshark-like summary the trace shows. No I/O: server.ts and resolver.ts send and receive.
import { createRequire } from 'node:module';
import type { Answer, DecodedPacket, OptAnswer, Packet, Question, StringAnswer } from 'dns-packet';

export type { Answer, DecodedPacket, OptAnswer, Packet, Question, StringAnswer };

// Loaded with require(), not `import`: importing a CommonJS module makes Node scan its source for
// named exports (cjs-module-lexer), and dns-packet's 44 KB made that scan hot enough to be
// optimized in the background, a compilation whose memory (about 4 MB) the process kept for good.
const dnsPacket = createRequire(import.meta.url)('dns-packet') as typeof import('dns-packet');

/** RCODEs of RFC 1035 §4.1.1 (and RFC 6891 §9's extended BADVERS). */
export const Rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;

/** The header's flag bits that dns-packet exports (RFC 1035 §4.1.1, RFC 4035 §3.2). */
export const Flag = {
  AA: dnsPacket.AUTHORITATIVE_ANSWER,
  TC: dnsPacket.TRUNCATED_RESPONSE,
  RD: dnsPacket.RECURSION_DESIRED,
  RA: dnsPacket.RECURSION_AVAILABLE,
} as const;

/** A DNS header is 12 bytes (RFC 1035 §4.1.1); anything shorter cannot even be answered. */
export const DNS_HEADER_LEN = 12;

/** The opcode (bits 11-14 of the flags) of a raw message of at least 12 bytes. */
export function rawOpcode(msg: Buffer): number {
  return (msg.readUInt16BE(2) >> 11) & 0xf;
}

/** The flags field of a reply: opcode and RD copied from the query (RFC 1035 §4.1.1), plus `bits` and the low 4 bits of `rcode`. */
export function replyFlags(queryFlags: number, bits: number, rcode: number): number {
  return (queryFlags & ((0xf << 11) | Flag.RD)) | bits | (rcode & 0xf);
}

/** The message decoded, or the reason dns-packet gave up (a header of 12 bytes is checked first). */
export function decodeDns(msg: Buffer): DecodedPacket | string {
  if (msg.length < DNS_HEADER_LEN) return 'shorter than a DNS header';
  try {
    return dnsPacket.decode(msg);
  } catch (e) {
    return (e as Error).message;
  }
}

/** `msg` after its two-byte length, as DNS over TCP carries it (RFC 1035 §4.2.2). */
export function frameTcp(msg: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(2 + msg.length);
  framed.writeUInt16BE(msg.length, 0);
  msg.copy(framed, 2);
  return framed;
}

/** Encode a message (dns-packet; names are written uncompressed). */
export function encodeDns(p: Packet): Buffer {
  return dnsPacket.encode(p);
}

/** The RCODE of a decoded message, with RFC 6891's extended bits from an OPT record. */
export function rcodeOf(p: DecodedPacket): number {
  const opt = optOf(p);
  return ((p.flags ?? 0) & 0xf) | ((opt?.extendedRcode ?? 0) << 4);
}

/** The EDNS OPT pseudo-record of a message (RFC 6891 §6.1), if any. */
export function optOf(p: DecodedPacket): OptAnswer | undefined {
  for (const a of p.additionals ?? []) if (a.type === 'OPT') return a;
  return undefined;
}

/** The name of an RCODE as dig prints it. */
export function rcodeName(rcode: number): string {
  return (Object.keys(Rcode) as (keyof typeof Rcode)[]).find((k) => Rcode[k] === rcode) ?? `RCODE${rcode}`;
}

/** The data of an answer record as text: an address, a name, or the record type alone. */
export function answerText(a: Answer): string {
  if (a.type === 'SOA') return `SOA ${a.data.mname}`;
  return 'data' in a && typeof a.data === 'string' ? `${a.type} ${a.data}` : a.type;
}

/**
 * Wireshark's Info column for DNS: `Standard query 0x1a2b A tapstack.test` and
 * `Standard query response 0x1a2b A tapstack.test A 10.0.0.2` (with the RCODE when not NOERROR).
 */
export function dnsSummary(msg: Buffer): string {
  const p = decodeDns(msg);
  if (typeof p === 'string') return `DNS [malformed: ${p}]`;
  const id = `0x${(p.id ?? 0).toString(16).padStart(4, '0')}`;
  const q = p.questions?.[0];
  const question = q !== undefined ? ` ${q.type} ${q.name}` : '';
  if (p.type === 'query') return `DNS Standard query ${id}${question}`;
  const rc = rcodeOf(p);
  const answers = (p.answers ?? []).map((a) => ` ${answerText(a)}`).join('');
  return `DNS Standard query response ${id}${rc !== 0 ? ` ${rcodeName(rc)}` : ''}${question}${answers}`;
}

/** What teaching mode says about a DNS message: query or answer, its question, RCODE, addresses. */
export interface DnsFacts {
  query: boolean;
  id: number;
  name: string;
  type: string;
  rcode: string;
  /** The A/AAAA data of the answer section, and the smallest TTL among them. */
  addresses: string[];
  ttl: number | undefined;
  aa: boolean;
  tc: boolean;
}

/** The facts of a DNS message, or undefined when it cannot be decoded or asks no question. */
export function dnsFacts(msg: Buffer): DnsFacts | undefined {
  const p = decodeDns(msg);
  const q = typeof p === 'string' ? undefined : p.questions?.[0];
  if (typeof p === 'string' || q === undefined) return undefined;
  const addrs = (p.answers ?? []).filter((a): a is StringAnswer => a.type === 'A' || a.type === 'AAAA');
  const flags = p.flags ?? 0;
  return {
    query: p.type === 'query',
    id: p.id ?? 0,
    name: q.name,
    type: q.type,
    rcode: rcodeName(rcodeOf(p)),
    addresses: addrs.map((a) => a.data),
    ttl: addrs.length === 0 ? undefined : Math.min(...addrs.map((a) => a.ttl ?? 0)),
    aa: (flags & Flag.AA) !== 0,
    tc: (flags & Flag.TC) !== 0,
  };
}
