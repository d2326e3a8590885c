import t from 'tap';
import { internetChecksum } from '../../lib/wire/checksum.js';
import { parseEthernet } from '../../lib/wire/ethernet.js';
import { buildIcmp, echoRest, IcmpType, isIcmpError, parseIcmp, UnreachCode, writeIcmp } from '../../lib/wire/icmp.js';
import { parseIpv4 } from '../../lib/wire/ipv4.js';
import { LINUX_PING } from '../helpers/linux-frames.js';
import { reasonOf } from '../helpers/reason-of.js';

const pingIcmp = (): Buffer => parseIpv4(parseEthernet(LINUX_PING).payload).payload;

t.test('the iputils echo request: checksum over the whole message, id, seq, timeval + pattern', async (t) => {
  const b = pingIcmp();
  t.equal(internetChecksum(b), 0);
  const m = parseIcmp(b);
  t.match(m, { type: IcmpType.echoRequest, code: 0, id: 0x71bd, seq: 1 });
  t.equal(b.readUInt16BE(2), 0xb8a4, "the kernel's checksum");
  t.equal(m.body.length, 56);
  t.equal(m.body.readUInt32LE(0), 1795241502, 'tv_sec (2026-11-21 06:11:42 UTC)');
  t.equal(m.body.readUInt32LE(8), 665829, 'tv_usec');
  t.same([...m.body.subarray(16, 19)], [0x10, 0x11, 0x12]);
  t.equal(m.body.buffer, LINUX_PING.buffer, 'body is a view');
});

t.test('the reply differs in type and checksum only, and writes back byte-exact', async (t) => {
  const req = pingIcmp();
  const m = parseIcmp(req);
  const reply = buildIcmp(IcmpType.echoReply, 0, echoRest(m.id, m.seq), m.body);
  t.equal(reply[0], 0);
  t.same(reply.subarray(4), req.subarray(4));
  // RFC 1624: changing the type byte 8 -> 0 raises the checksum by 0x0800.
  t.equal(reply.readUInt16BE(2), req.readUInt16BE(2) + 0x0800);
  t.same(buildIcmp(8, 0, echoRest(0x71bd, 1), m.body), req, 'request rebuilt byte for byte');
});

t.test('frag needed carries the next-hop MTU in the low half (RFC 1191)', async (t) => {
  const quote = Buffer.alloc(28, 0x45);
  const b = Buffer.alloc(2 + 8 + 28);
  t.equal(writeIcmp(b, 2, IcmpType.destUnreachable, UnreachCode.fragNeeded, 1400, quote), b.length);
  t.equal(b.subarray(2, 10).toString('hex'), '0304' + b.subarray(4, 6).toString('hex') + '0000' + '0578');
  const m = parseIcmp(b.subarray(2));
  t.match(m, { type: 3, code: 4, nextHopMtu: 1400 });
  t.same(m.body, quote);
});

t.test('truncated, bad checksum, odd length', async (t) => {
  t.equal(reasonOf(() => parseIcmp(Buffer.alloc(7))), 'icmp.truncated');
  const b = Buffer.from(pingIcmp());
  b[20] ^= 1;
  t.equal(reasonOf(() => parseIcmp(b)), 'icmp.badChecksum');
  const odd = buildIcmp(0, 0, 5, Buffer.from([1, 2, 3]));
  t.equal(parseIcmp(odd).body.length, 3, 'odd-length message checksums with a pad byte');
});

t.test('error types', async (t) => {
  for (const e of [3, 4, 5, 11, 12]) t.ok(isIcmpError(e));
  for (const q of [0, 8, 13, 14]) t.notOk(isIcmpError(q));
});
