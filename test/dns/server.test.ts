// The DNS server on the stack's UDP 53 (issue 11, seed 004): queries in as real frames, replies
// decoded from the frames the stack sends; every RCODE of its table, EDNS, no amplification,
// and what it drops (short messages, responses) counted.
import t from 'tap';
import dnsPacket from 'dns-packet';
import { DnsServer } from '../../lib/dns/server.js';
import { decodeDns, dnsSummary, rcodeName, rcodeOf, type DecodedPacket, type Packet } from '../../lib/dns/message.js';
import { decode, learnPeer, makeStack, STACK_IP, udpFrame } from '../helpers/net-fixtures.js';

type Reply = DecodedPacket & { rcode: string; opcode: number };

/** A reply decoded, with its RCODE name and opcode number (dns-packet's types leave them out). */
function view(r: Buffer): Reply {
  const d = decodeDns(r);
  if (typeof d === 'string') throw new Error(d);
  return { ...d, rcode: rcodeName(rcodeOf(d)), opcode: ((d.flags ?? 0) >> 11) & 0xf };
}

function setup(name = 'tapstack.test') {
  const s = makeStack();
  learnPeer(s.link);
  s.link.take();
  const server = new DnsServer(s.stack, { name, ip: STACK_IP });
  /** Send raw bytes to port 53; the reply's bytes, or undefined when none came. */
  const raw = (msg: Buffer): Buffer | undefined => {
    s.link.inject(udpFrame(40000, 53, msg));
    const out = s.link.take().map(decode);
    if (out.length === 0) return undefined;
    t.equal(out.length, 1, 'one reply');
    t.match(out[0]!.udp, { srcPort: 53, dstPort: 40000 });
    return out[0]!.udp!.payload;
  };
  const ask = (p: Packet): { reply: Reply; size: number; query: number } => {
    const q = dnsPacket.encode(p);
    const r = raw(q)!;
    return { reply: view(r), size: r.length, query: q.length };
  };
  return { ...s, server, raw, ask };
}

const query = (name: string, type: string, extra: Partial<Packet> = {}): Packet =>
  ({ type: 'query', id: 0x1a2b, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }], ...extra }) as Packet;

t.test('its own name: A record, authoritative, no recursion offered, case kept', async (t) => {
  const { ask, counters } = setup();
  const { reply } = ask(query('TapStack.Test', 'A'));
  t.equal(reply.id, 0x1a2b);
  t.equal(reply.type, 'response');
  t.equal(reply.rcode, 'NOERROR');
  t.ok(reply.flag_aa, 'AA');
  t.ok(reply.flag_rd, 'RD copied from the query');
  t.notOk(reply.flag_ra, 'RA=0: it does not recurse');
  t.same(reply.questions, [{ name: 'TapStack.Test', type: 'A', class: 'IN' }], 'the question echoed as asked');
  t.match(reply.answers, [{ name: 'TapStack.Test', type: 'A', ttl: 300, data: '10.0.0.2' }]);
  t.equal(counters.get('dns.rx.queries'), 1);
  t.equal(counters.get('dns.tx.noerror'), 1);
});

t.test('--name: another name, and a trailing dot', async (t) => {
  const { ask } = setup('www.example.lan.');
  t.match(ask(query('www.example.lan', 'A')).reply.answers, [{ data: '10.0.0.2' }]);
  t.equal(ask(query('tapstack.test', 'A')).reply.rcode, 'REFUSED');
});

t.test('AAAA and MX: NODATA (NOERROR, no answer, SOA for negative caching)', async (t) => {
  const { ask } = setup();
  for (const type of ['AAAA', 'MX']) {
    const { reply } = ask(query('tapstack.test', type));
    t.equal(reply.rcode, 'NOERROR', type);
    t.ok(reply.flag_aa);
    t.same(reply.answers, []);
    t.match(reply.authorities, [{ type: 'SOA', name: 'tapstack.test', data: { mname: 'tapstack.test', rname: 'hostmaster.tapstack.test', minimum: 300 } }]);
  }
  t.match(ask(query('tapstack.test', 'SOA')).reply.answers, [{ type: 'SOA' }], 'SOA asked for: answered');
});

t.test('a name below ours: NXDOMAIN; another zone: REFUSED; class CH: REFUSED', async (t) => {
  const { ask, counters } = setup();
  const nx = ask(query('www.tapstack.test', 'A')).reply;
  t.equal(nx.rcode, 'NXDOMAIN');
  t.ok(nx.flag_aa);
  t.match(nx.authorities, [{ type: 'SOA' }]);
  const refused = ask(query('example.com', 'A')).reply;
  t.equal(refused.rcode, 'REFUSED');
  t.notOk(refused.flag_aa);
  t.same(refused.answers, []);
  t.equal(ask(query('xtapstack.test', 'A')).reply.rcode, 'REFUSED', 'a suffix without the dot is another name');
  t.equal(ask({ type: 'query', id: 1, questions: [{ type: 'TXT', name: 'version.bind', class: 'CH' }] } as Packet).reply.rcode, 'REFUSED');
  t.equal(counters.get('dns.tx.nxdomain'), 1);
  t.equal(counters.get('dns.tx.refused'), 3);
});

t.test('ANY is not an amplifier: the A record alone (RFC 8482)', async (t) => {
  const { ask } = setup();
  const { reply, size, query: qsize } = ask(query('tapstack.test', 'ANY'));
  t.match(reply.answers, [{ type: 'A', data: '10.0.0.2' }]);
  t.equal(reply.answers!.length, 1);
  t.ok(size <= qsize + 30, `reply ${size} bytes for a ${qsize}-byte query`);
});

t.test('a reply over 512 bytes: the SOA goes first, then the answer with TC (unless EDNS allows more)', async (t) => {
  const label = 'a'.repeat(63);
  const long = `${label}.${label}.${label}.${'b'.repeat(61)}`; // 253 characters, the most DNS allows
  const below = setup(long.split('.').slice(1).join('.'));
  const nx = below.ask(query(long, 'A'));
  t.equal(nx.reply.rcode, 'NXDOMAIN');
  t.same(nx.reply.authorities, [], 'the SOA left out: it would not fit');
  t.notOk(nx.reply.flag_tc, 'nothing required was lost');
  t.ok(nx.size <= 512, `${nx.size} bytes`);
  const own = setup(long);
  const a = own.ask(query(long, 'A'));
  t.ok(a.reply.flag_tc, 'TC: the A record does not fit in 512 bytes with a 253-character name twice');
  t.same(a.reply.answers, []);
  t.equal(own.counters.get('dns.tx.truncated'), 1);
  const edns = own.ask(query(long, 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] }] } as unknown as Partial<Packet>));
  t.notOk(edns.reply.flag_tc, 'with EDNS (1232 bytes) it fits');
  t.match(edns.reply.answers, [{ type: 'A', data: '10.0.0.2' }]);
  t.ok(edns.size > 512 && edns.size <= 1232, `${edns.size} bytes`);
});

t.test('opcode other than QUERY: NOTIMP; two questions: FORMERR', async (t) => {
  const { ask } = setup();
  const status = ask({ type: 'query', id: 7, flags: 2 << 11, questions: [{ type: 'A', name: 'tapstack.test' }] } as Packet).reply;
  t.equal(status.rcode, 'NOTIMP');
  t.equal(status.opcode, 2, 'opcode (STATUS) copied');
  const two = ask({ type: 'query', id: 8, questions: [{ type: 'A', name: 'tapstack.test' }, { type: 'A', name: 'tapstack.test' }] } as Packet).reply;
  t.equal(two.rcode, 'FORMERR');
  t.equal(ask({ type: 'query', id: 9, questions: [] } as Packet).reply.rcode, 'FORMERR', 'no question');
});

t.test('EDNS: an OPT gets one back; version 1 gets BADVERS; two OPTs FORMERR', async (t) => {
  const { ask } = setup();
  const opt = (ednsVersion: number) => ({ type: 'OPT', name: '.', udpPayloadSize: 4096, ednsVersion, flags: 0, options: [] });
  const r = ask(query('tapstack.test', 'A', { additionals: [opt(0)] } as unknown as Partial<Packet>)).reply;
  t.match(r.additionals, [{ type: 'OPT', udpPayloadSize: 1232, ednsVersion: 0 }]);
  t.match(r.answers, [{ data: '10.0.0.2' }]);
  const bad = ask(query('tapstack.test', 'A', { additionals: [opt(1)] } as unknown as Partial<Packet>));
  t.match(bad.reply.additionals, [{ type: 'OPT', extendedRcode: 1 }], 'BADVERS = 16: extended RCODE 1, header RCODE 0');
  t.same(bad.reply.answers, []);
  t.match(dnsSummary(dnsPacket.encode(bad.reply)), /response 0x1a2b BADVERS A tapstack\.test$/);
  t.equal(ask(query('tapstack.test', 'A', { additionals: [opt(0), opt(0)] } as unknown as Partial<Packet>)).reply.rcode, 'FORMERR');
});

t.test('garbage after a header: FORMERR with the id; shorter than a header or a response: dropped and counted', async (t) => {
  const { raw, counters } = setup();
  const garbage = Buffer.from('beef0100000100000000000003777777c0ff', 'hex'); // a pointer forward: undecodable
  const r = raw(garbage)!;
  const d = view(r);
  t.equal(d.id, 0xbeef);
  t.equal(d.rcode, 'FORMERR');
  t.same(d.questions, []);
  t.equal(counters.get('dns.tx.formerr'), 1);
  t.equal(raw(Buffer.from('hello')), undefined, '5 bytes: no reply');
  t.equal(counters.get('dns.drop.short'), 1);
  const answer = dnsPacket.encode({ type: 'response', id: 3, answers: [{ type: 'A', name: 'x', data: '1.2.3.4' }] });
  t.equal(raw(answer), undefined, 'a response is never answered');
  t.equal(counters.get('dns.drop.response'), 1);
  t.equal(counters.get('dns.rx.queries'), 1);
});

t.test('close() frees the port: ICMP port unreachable afterwards', async (t) => {
  const { server, link, counters } = setup();
  server.close();
  link.inject(udpFrame(40000, 53, dnsPacket.encode(query('tapstack.test', 'A'))));
  t.equal(counters.get('drop.udp.noPort'), 1);
});

t.test('summaries read like Wireshark', async (t) => {
  const q = dnsPacket.encode(query('tapstack.test', 'A'));
  t.equal(dnsSummary(q), 'DNS Standard query 0x1a2b A tapstack.test');
  const { raw } = setup();
  t.equal(dnsSummary(raw(q)!), 'DNS Standard query response 0x1a2b A tapstack.test A 10.0.0.2');
  t.equal(dnsSummary(raw(dnsPacket.encode(query('nope.tapstack.test', 'A')))!), 'DNS Standard query response 0x1a2b NXDOMAIN A nope.tapstack.test');
  t.equal(dnsSummary(Buffer.from('abc')), 'DNS [malformed: shorter than a DNS header]');
});
