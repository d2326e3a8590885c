import t from 'tap';
import { reasonOf } from '../helpers/reason-of.js';
import { internetChecksum } from '../../lib/wire/checksum.js';
import { parseEthernet } from '../../lib/wire/ethernet.js';
import { ipToString, parseIp } from '../../lib/wire/ip-address.js';
import { IpProto, isMulticastOrReserved, parseIpv4, writeIpv4Header } from '../../lib/wire/ipv4.js';
import { LINUX_PING } from '../helpers/linux-frames.js';

// The classic worked example (RFC 1071-style hand check): checksum 0xb861.
const KNOWN = Buffer.from('450000730000400040 11b861c0a80001c0a800c7'.replace(/ /g, ''), 'hex');

t.test('known header to fields', async (t) => {
  const body = Buffer.concat([KNOWN, Buffer.alloc(0x73 - 20)]);
  const p = parseIpv4(body);
  t.match(p, { headerLength: 20, tos: 0, totalLength: 0x73, id: 0, df: true, mf: false, fragOffset: 0, ttl: 64, protocol: IpProto.UDP });
  t.equal(ipToString(p.src), '192.168.0.1');
  t.equal(ipToString(p.dst), '192.168.0.199');
  t.equal(p.payload.length, 0x73 - 20);
});

t.test('fields to the same known bytes', async (t) => {
  const b = Buffer.alloc(22);
  t.equal(writeIpv4Header(b, 2, { totalLength: 0x73, id: 0, df: true, ttl: 64, protocol: 17, src: parseIp('192.168.0.1'), dst: parseIp('192.168.0.199') }), 22);
  t.same(b.subarray(2), KNOWN);
});

t.test('the Linux ping packet: checksum verifies, DF, fields', async (t) => {
  const ip = parseEthernet(LINUX_PING).payload;
  t.equal(ip.readUInt16BE(10), 0xfe10, "the kernel's header checksum");
  t.equal(internetChecksum(ip, 0, 20), 0);
  const p = parseIpv4(ip);
  t.match(p, { headerLength: 20, tos: 0, totalLength: 84, id: 0x2896, df: true, mf: false, fragOffset: 0, ttl: 64, protocol: 1 });
  t.equal(p.payload.length, 64);
  t.equal(p.payload.buffer, LINUX_PING.buffer, 'payload is a view');
});

t.test('fragment fields round trip', async (t) => {
  const b = Buffer.alloc(20);
  writeIpv4Header(b, 0, { totalLength: 20, id: 0xbeef, mf: true, fragOffset: 1480, ttl: 1, protocol: 1, src: 1, dst: 2, tos: 0xb8 });
  t.match(parseIpv4(b), { id: 0xbeef, mf: true, df: false, fragOffset: 1480, ttl: 1, tos: 0xb8 });
  t.throws(() => writeIpv4Header(b, 0, { totalLength: 20, id: 0, fragOffset: 4, ttl: 1, protocol: 1, src: 1, dst: 2 }), RangeError);
});

t.test('options are skipped and Ethernet padding trimmed', async (t) => {
  // IHL 6: one 4-byte option (NOP NOP NOP EOL), 4 bytes payload, then 10 bytes of padding.
  const b = Buffer.alloc(38);
  b[0] = 0x46;
  b.writeUInt16BE(28, 2);
  b[8] = 64;
  b[9] = 17;
  b.writeUInt32BE(parseIp('10.0.0.1'), 12);
  b.writeUInt32BE(parseIp('10.0.0.2'), 16);
  b.set([1, 1, 1, 0], 20);
  b.set([0xde, 0xad, 0xbe, 0xef], 24);
  b.writeUInt16BE(internetChecksum(b, 0, 24), 10);
  const p = parseIpv4(b);
  t.equal(p.headerLength, 24);
  t.equal(p.header.length, 24);
  t.equal(p.payload.toString('hex'), 'deadbeef');
});

t.test('every validation failure has its reason', async (t) => {
  const good = Buffer.from(parseEthernet(LINUX_PING).payload);
  const mut = (f: (b: Buffer) => void, fix = true): Buffer => {
    const b = Buffer.from(good);
    f(b);
    if (fix) {
      b.writeUInt16BE(0, 10);
      const hl = Math.max(20, Math.min((b[0]! & 15) * 4, b.length));
      b.writeUInt16BE(internetChecksum(b, 0, hl), 10);
    }
    return b;
  };
  t.equal(reasonOf(() => parseIpv4(good.subarray(0, 19))), 'ip.truncated');
  t.equal(reasonOf(() => parseIpv4(mut((b) => (b[0] = 0x65)))), 'ip.badVersion');
  t.equal(reasonOf(() => parseIpv4(mut((b) => (b[0] = 0x44)))), 'ip.badIhl');
  t.equal(reasonOf(() => parseIpv4(mut((b) => (b[0] = 0x4f)).subarray(0, 40))), 'ip.truncated');
  t.equal(reasonOf(() => parseIpv4(mut((b) => b.writeUInt16BE(19, 2)))), 'ip.badTotalLength');
  t.equal(reasonOf(() => parseIpv4(mut((b) => b.writeUInt16BE(85, 2)))), 'ip.badTotalLength');
  t.equal(reasonOf(() => parseIpv4(mut((b) => (b[8] = 63), false))), 'ip.badChecksum');
});

t.test('multicast and reserved', async (t) => {
  t.ok(isMulticastOrReserved(parseIp('224.0.0.1')));
  t.ok(isMulticastOrReserved(parseIp('255.255.255.255')));
  t.notOk(isMulticastOrReserved(parseIp('223.255.255.255')));
});
