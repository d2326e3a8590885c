// `--drop RULE` (issue 11): the grammar, its clear errors, and what each kind of word matches,
// on real Linux frames and on segments of a connection whose SYNs the reader saw.
import t from 'tap';
import { DropRule, DropRuleError, FrameFactReader } from '../../lib/link/drop-rule.js';
import { DropRuleLink } from '../../lib/link/drop-rule-link.js';
import { parseCliArgs, UsageError } from '../../lib/cli-options.js';
import { Counters } from '../../lib/counters.js';
import type { DroppedFrame } from '../../lib/link/link.js';
import { FakeLink } from '../helpers/fake-link.js';
import { LINUX_ARP_REQUEST, LINUX_PING, LINUX_TCP_SYN, LINUX_UDP } from '../helpers/linux-frames.js';
import { EtherType, writeEthernetHeader } from '../../lib/wire/ethernet.js';
import { writeIpv4Header } from '../../lib/wire/ipv4.js';
import { serializeTcp, TCP_FLAGS } from '../../lib/wire/tcp.js';
import { parseIp } from '../../lib/wire/ip-address.js';
import { seq } from '../../lib/wire/seq.js';

const { SYN, ACK, FIN, PSH } = TCP_FLAGS;
const A = parseIp('10.0.0.1');
const B = parseIp('10.0.0.2');

/** A TCP frame from `src` to `dst` (absolute numbers). */
function tcp(src: number, sport: number, dst: number, dport: number, s: number, a: number, flags: number, len = 0): Buffer {
  const seg = serializeTcp({ srcPort: sport, dstPort: dport, seq: seq(s), ack: seq(a), flags, window: 1000, payload: Buffer.alloc(len, 0x61) }, src, dst);
  const f = Buffer.alloc(34 + seg.length);
  writeEthernetHeader(f, 0, Buffer.alloc(6, 2), Buffer.alloc(6, 3), EtherType.IPv4);
  writeIpv4Header(f, 14, { src, dst, protocol: 6, id: 1, df: true, mf: false, fragOffset: 0, ttl: 64, tos: 0, totalLength: 20 + seg.length });
  seg.copy(f, 34);
  return f;
}

t.test('bad rules are clear errors naming the word', async (t) => {
  const bad: [string, RegExp][] = [
    ['', /empty rule/],
    ['tx tcp bogus', /"bogus": unknown word \(words: rx\|tx/],
    ['tcp udp', /"udp": the rule already says tcp/],
    ['flags=AX', /unknown flag letter "X"/],
    ['flags=', /no flag letters/],
    ['seq>3', /only len takes < or >/],
    ['len>x', /"len>x": expected a whole number, got "x"/],
    ['nth=0', /nth counts from 1/],
    ['nth=1 every=2', /one nth= or every= per rule/],
    ['port=80', /"port=80": unknown word/],
  ];
  for (const [text, why] of bad) t.throws(() => new DropRule(text), { name: 'DropRuleError', message: why }, text);
  t.type(new DropRule('  TX   tcp  seq=1 '), DropRule);
  t.equal(new DropRule('  tx   tcp  seq=1 ').text, 'tx tcp seq=1', 'spaces normalised for the reason text');
  t.ok(DropRuleError);
});

t.test('CLI: --drop is repeatable; a bad rule is a usage error that quotes it', async (t) => {
  t.same(parseCliArgs([]).drop, []);
  t.same(parseCliArgs(['--drop', 'rx icmp', '--drop', 'tx tcp seq=1 len>0 nth=1']).drop, ['rx icmp', 'tx tcp seq=1 len>0 nth=1']);
  t.throws(() => parseCliArgs(['--drop', 'tx tcp sq=1']), UsageError);
  t.throws(() => parseCliArgs(['--drop', 'tx tcp sq=1']), /^--drop 'tx tcp sq=1': "sq=1": unknown word/);
});

t.test('protocol and direction words on real Linux frames', async (t) => {
  const r = new FrameFactReader();
  const facts = (f: Buffer, dir: 'rx' | 'tx' = 'rx') => r.read(dir, f)!;
  const m = (rule: string, f: Buffer, dir: 'rx' | 'tx' = 'rx') => new DropRule(rule).matches(facts(f, dir));
  t.ok(m('rx arp', LINUX_ARP_REQUEST));
  t.notOk(m('tx arp', LINUX_ARP_REQUEST), 'direction');
  t.ok(m('icmp', LINUX_PING));
  t.ok(m('icmp len=56', LINUX_PING), 'ICMP data after the 8-byte header');
  t.ok(m('udp', LINUX_UDP));
  t.notOk(m('tcp', LINUX_UDP));
  t.ok(m('tcp syn', LINUX_TCP_SYN));
  t.ok(m('tcp flags=S dport=7', LINUX_TCP_SYN));
  t.notOk(m('tcp flags=SA', LINUX_TCP_SYN), 'flags= is exact');
  t.notOk(m('tcp ack', LINUX_TCP_SYN), 'a SYN without ACK');
  t.ok(m('tcp seq=0', LINUX_TCP_SYN), 'a SYN is relative 0');
});

t.test('seq= and ack= are relative to each side\'s SYN; len, ports; nth and every count matches', async (t) => {
  const r = new FrameFactReader();
  const isnA = 1_000_000;
  const isnB = 4_294_000_000; // wraps around 2^32
  const conn = [
    ['rx', tcp(A, 40000, B, 80, isnA, 0, SYN)],
    ['tx', tcp(B, 80, A, 40000, isnB, isnA + 1, SYN | ACK)],
    ['rx', tcp(A, 40000, B, 80, isnA + 1, isnB + 1, ACK)],
    ['rx', tcp(A, 40000, B, 80, isnA + 1, isnB + 1, PSH | ACK, 100)],
    ['tx', tcp(B, 80, A, 40000, isnB + 1, isnA + 101, ACK, 1448)],
    ['tx', tcp(B, 80, A, 40000, isnB + 1449, isnA + 101, ACK, 1448)],
    ['rx', tcp(A, 40000, B, 80, isnA + 101, isnB + 2897, ACK)],
    ['tx', tcp(B, 80, A, 40000, isnB + 1, isnA + 101, ACK, 1448)],
    ['rx', tcp(A, 40000, B, 80, isnA + 101, isnB + 2897, FIN | ACK)],
  ] as const;
  const pick = (rule: string) => {
    const d = new DropRule(rule);
    return conn.map(([dir, f], i) => (d.matches(r.read(dir, f)!) ? i : -1)).filter((i) => i >= 0);
  };
  t.same(pick('tx tcp seq=1 len>0'), [4, 7], 'the first data segment and its retransmission');
  t.same(pick('tx tcp seq=1 len>0 nth=1'), [4], 'nth=1: only the first');
  t.same(pick('tx tcp seq=1449'), [5]);
  t.same(pick('rx tcp ack=2897'), [6, 8]);
  t.same(pick('rx tcp ack flags=A dport=80 nth=2'), [6], 'the second pure ACK to port 80');
  t.same(pick('rx tcp len<1 every=2'), [2, 8], 'every second zero-length segment from the client');
  t.same(pick('tcp len=100 sport=40000'), [3]);
  t.same(pick('rx fin'), [8]);
});

t.test('DropRuleLink drops both ways, counts, reports the rule, passes the rest and the drops below', async (t) => {
  const wire = new FakeLink();
  const counters = new Counters();
  const link = new DropRuleLink(wire, ['rx icmp', 'tx udp'], counters);
  const got: Buffer[] = [];
  const dropped: DroppedFrame[] = [];
  link.onFrame((f) => got.push(f));
  link.onDrop((d) => dropped.push(d));
  wire.inject(LINUX_PING);
  wire.inject(LINUX_ARP_REQUEST);
  link.send(LINUX_UDP);
  link.send(LINUX_TCP_SYN);
  t.same(got, [LINUX_ARP_REQUEST]);
  t.same(wire.sent, [LINUX_TCP_SYN]);
  t.same(dropped.map((d) => [d.dir, d.reason]), [['RX', "--drop 'rx icmp'"], ['TX', "--drop 'tx udp'"]]);
  t.equal(counters.get('drop.rule'), 2);
});

t.test('DropRuleLink keeps the payload handed as writev pieces (`rest`), as the TAP link does', async (t) => {
  const wire = new FakeLink();
  const link = new DropRuleLink(wire, ['tx udp']);
  link.send(LINUX_TCP_SYN.subarray(0, 34), undefined, [LINUX_TCP_SYN.subarray(34, 50), LINUX_TCP_SYN.subarray(50)]);
  t.same(wire.sent, [LINUX_TCP_SYN], 'the whole frame reaches the wire');
});
