import t, { type Test } from 'tap';
import { WireError } from '../../lib/wire/wire-error.js';
import { parseIp } from '../../lib/wire/ip-address.js';
import { parseEthernet } from '../../lib/wire/ethernet.js';
import { parseIpv4 } from '../../lib/wire/ipv4.js';
import { seq } from '../../lib/wire/seq.js';
import {
  TCP_FLAGS,
  formatTcpFlags,
  parseTcp,
  segmentLength,
  serializeTcp,
  tcpOptionsLength,
} from '../../lib/wire/tcp.js';
import { LINUX_TCP_SYN } from '../helpers/linux-frames.js';

const A = parseIp('10.0.0.1');
const B = parseIp('10.0.0.2');

// The kernel's SYN from the real capture in test/helpers/linux-frames.ts (`nc 10.0.0.2 7`,
// netcat-openbsd 1.219 on Linux 6.18): 33334 > 7, SYN, seq 1592574074, win 64240, checksum 0x08eb,
// options MSS 1460, SACK_PERM, TS val 3705123234 ecr 0, NOP, WS 10. TCP part only: the Ethernet and
// IPv4 headers are parsed off (which verifies the IP header checksum too); a view into the capture.
const linuxSyn = parseIpv4(parseEthernet(LINUX_TCP_SYN).payload).payload;

// An RST,ACK for a closed port in the shape Linux sends (seq 0, ack = the SYN's seq + 1, window 0),
// 80 > 50684 answering a SYN with seq 4294426095. Written by hand, NOT captured (its checksum 0x1799
// was checked independently of lib/wire): only its shape is Linux's.
const linuxRst = Buffer.from('0050c5fc00000000fff7bdf0501400001799' + '0000', 'hex');

t.test('parses a real Linux SYN: ports, seq, flags, window, MSS/SACK_PERM/TS/WS', async (t) => {
  t.equal(linuxSyn.length, 40);
  const s = parseTcp(linuxSyn, A, B);
  t.equal(s.srcPort, 33334);
  t.equal(s.dstPort, 7);
  t.equal(s.seq, 0x5eecc07a);
  t.equal(s.ack, 0);
  t.equal(s.headerLength, 40);
  t.equal(s.flags, TCP_FLAGS.SYN);
  t.equal(formatTcpFlags(s.flags), 'SYN');
  t.equal(s.window, 64240);
  t.equal(s.checksum, 0x08eb);
  t.equal(s.urgent, 0);
  t.same(s.options, { mss: 1460, sackPermitted: true, ts: { val: 0xdcd7b1a2, ecr: 0 }, wscale: 10 });
  t.equal(s.payload.length, 0);
  t.equal(segmentLength(s), 1);
});

t.test('serializes the Linux SYN back to the identical bytes (same option order and padding)', async (t) => {
  const s = parseTcp(linuxSyn, A, B);
  const out = serializeTcp(s, A, B);
  t.equal(out.toString('hex'), linuxSyn.toString('hex'));
});

t.test("parses and reproduces a hand-made RST,ACK for a closed port in Linux's shape (RFC 9293 §3.10.7.1)", async (t) => {
  const r = parseTcp(linuxRst, B, A);
  t.equal(formatTcpFlags(r.flags), 'RST, ACK');
  t.equal(r.seq, 0);
  t.equal(r.ack, 4294426096);
  t.equal(r.window, 0);
  const out = serializeTcp({ srcPort: 80, dstPort: 50684, seq: seq(0), ack: seq(4294426096), flags: TCP_FLAGS.RST | TCP_FLAGS.ACK, window: 0 }, B, A);
  t.equal(out.toString('hex'), linuxRst.toString('hex'));
});

t.test('round trip: data, PSH/ACK, TS + SACK blocks, payload is a view', async (t) => {
  const payload = Buffer.from('GET / HTTP/1.1\r\n\r\n');
  const init = {
    srcPort: 49312,
    dstPort: 80,
    seq: seq(0xfffffff0),
    ack: seq(12345),
    flags: TCP_FLAGS.PSH | TCP_FLAGS.ACK,
    window: 502,
    options: { ts: { val: 1, ecr: 0xffffffff }, sack: [{ left: seq(100), right: seq(200) }, { left: seq(300), right: seq(400) }] },
    payload,
  };
  t.equal(tcpOptionsLength(init.options), 12 + 4 + 16);
  const buf = serializeTcp(init, A, B);
  const s = parseTcp(buf, A, B);
  t.equal(s.headerLength, 20 + 32);
  t.equal(s.seq, 0xfffffff0);
  t.equal(s.ack, 12345);
  t.equal(s.flags, TCP_FLAGS.PSH | TCP_FLAGS.ACK);
  t.same(s.options, init.options);
  t.equal(s.payload.toString(), payload.toString());
  t.equal(s.payload.buffer, buf.buffer, 'payload is a subarray view');
  // Odd-length payload checksums too (RFC 1071 padding).
  const odd = serializeTcp({ ...init, options: {}, payload: Buffer.from('abc') }, A, B);
  t.equal(parseTcp(odd, A, B).payload.toString(), 'abc');
});

t.test('SACK_PERM without timestamps is padded with NOP,NOP; WS with NOP', async (t) => {
  const buf = serializeTcp({ srcPort: 1, dstPort: 2, seq: seq(1), ack: seq(0), flags: TCP_FLAGS.SYN, window: 1000, options: { mss: 536, sackPermitted: true, wscale: 7 } }, A, B);
  t.equal(buf.subarray(20).toString('hex'), '02040218' + '01010402' + '01030307');
  t.same(parseTcp(buf, A, B).options, { mss: 536, sackPermitted: true, wscale: 7 });
});

t.test('unknown options are skipped by length; EOL ends the list', async (t) => {
  const buf = serializeTcp({ srcPort: 1, dstPort: 2, seq: seq(1), ack: seq(0), flags: TCP_FLAGS.SYN, window: 1, options: { mss: 1000, wscale: 1 } }, A, B);
  // Replace MSS with an unknown kind 30 (MPTCP) of length 4, and WS's NOP with EOL.
  buf[20] = 30;
  buf[24] = 0;
  const fixed = Buffer.from(buf);
  fixed.writeUInt16BE(0, 16);
  const s = parseTcp(fixed, A, B, false);
  t.same(s.options, {});
});

function expectReason(t: Test, fn: () => unknown, reason: string): void {
  try {
    fn();
    t.fail(`expected ${reason}`);
  } catch (e) {
    t.ok(e instanceof WireError, 'a WireError');
    t.equal((e as WireError).reason, reason);
  }
}

t.test('truncated, bad data offset, bad checksum, bad options', async (t) => {
  expectReason(t, () => parseTcp(linuxSyn.subarray(0, 19), A, B), 'tcp.truncated');
  expectReason(t, () => parseTcp(linuxSyn.subarray(0, 30), A, B), 'tcp.truncated');
  const lowOffset = Buffer.from(linuxSyn);
  lowOffset[12] = 0x40;
  expectReason(t, () => parseTcp(lowOffset, A, B, false), 'tcp.badDataOffset');
  const flipped = Buffer.from(linuxSyn);
  flipped[5]! ^= 1;
  expectReason(t, () => parseTcp(flipped, A, B), 'tcp.badChecksum');
  expectReason(t, () => parseTcp(linuxSyn, A, parseIp('10.0.0.3')), 'tcp.badChecksum');
  const cases: Array<[string, string]> = [
    ['0205 05b4 0000 0000', 'MSS length 5'],
    ['0101 0208', 'MSS length 8 runs past the header'],
    ['0402 0801 0000 0000', 'TS length 1 (< 2)'],
    ['0300 0000', 'WS length 0'],
    ['0101 010a', 'kind 10 length missing at the end'],
    ['0101 0506 0000 0000', 'SACK length 6 (not 2 + 8n)'],
    ['0101 0303 0000 0000', 'WS length 3 ok, then kind 0 => fine'],
  ];
  for (const [hex, what] of cases) {
    const opts = Buffer.from(hex.replace(/ /g, ''), 'hex');
    const padded = Buffer.concat([opts, Buffer.alloc((4 - (opts.length % 4)) % 4)]);
    const seg = Buffer.alloc(20 + padded.length);
    seg[12] = ((20 + padded.length) / 4) << 4;
    padded.copy(seg, 20);
    if (what.endsWith('fine')) {
      t.same(parseTcp(seg, A, B, false).options, { wscale: 0 }, what);
      continue;
    }
    expectReason(t, () => parseTcp(seg, A, B, false), 'tcp.badOption');
  }
});
