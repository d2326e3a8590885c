import t from 'tap';
import { parseEthernet } from '../../lib/wire/ethernet.js';
import { parseIp } from '../../lib/wire/ip-address.js';
import { parseIpv4 } from '../../lib/wire/ipv4.js';
import { buildUdp, parseUdp, writeUdp } from '../../lib/wire/udp.js';
import { LINUX_UDP } from '../helpers/linux-frames.js';
import { reasonOf } from '../helpers/reason-of.js';

const A = parseIp('10.0.0.1');
const B = parseIp('10.0.0.2');
const linux = (): Buffer => parseIpv4(parseEthernet(LINUX_UDP).payload).payload;

t.test('the Linux datagram: ports, length, pseudo-header checksum', async (t) => {
  const d = parseUdp(linux(), A, B);
  t.match(d, { srcPort: 58885, dstPort: 7, length: 14, checksum: 0xc1e6 });
  t.equal(d.payload.toString(), 'hello\n');
  t.equal(d.payload.buffer, LINUX_UDP.buffer, 'payload is a view');
  t.same(buildUdp(58885, 7, Buffer.from('hello\n'), A, B), linux(), 'rebuilt byte for byte');
});

t.test('the pseudo-header counts: other addresses fail the checksum', async (t) => {
  t.equal(reasonOf(() => parseUdp(linux(), A, parseIp('10.0.0.3'))), 'udp.badChecksum');
});

t.test('checksum 0 on receive means none', async (t) => {
  const b = Buffer.from(linux());
  b.writeUInt16BE(0, 6);
  t.equal(parseUdp(b, A, parseIp('1.2.3.4')).checksum, 0);
});

t.test('a computed 0 is sent as 0xffff (RFC 768)', async (t) => {
  // Find a payload whose checksum computes to 0: vary two bytes until it does.
  const p = Buffer.alloc(2);
  let found: Buffer | undefined;
  for (let v = 0; v < 0x10000 && found === undefined; v++) {
    p.writeUInt16BE(v, 0);
    const d = buildUdp(1000, 2000, p, A, B);
    if (d.readUInt16BE(6) === 0xffff) found = d;
  }
  t.ok(found, 'some payload hits the zero case');
  t.equal(parseUdp(found!, A, B).checksum, 0xffff, 'and it verifies');
});

t.test('length checks and trimming', async (t) => {
  t.equal(reasonOf(() => parseUdp(Buffer.alloc(7), A, B)), 'udp.truncated');
  const b = Buffer.concat([linux(), Buffer.alloc(4)]);
  t.equal(parseUdp(b, A, B).payload.toString(), 'hello\n', 'bytes after the UDP length ignored');
  const short = Buffer.from(linux());
  short.writeUInt16BE(7, 4);
  t.equal(reasonOf(() => parseUdp(short, A, B)), 'udp.badLength');
  const long = Buffer.from(linux());
  long.writeUInt16BE(15, 4);
  t.equal(reasonOf(() => parseUdp(long, A, B)), 'udp.badLength');
  const w = Buffer.alloc(20);
  t.equal(writeUdp(w, 3, 1, 2, Buffer.from('abc'), A, B), 14);
  t.equal(parseUdp(w.subarray(3, 14), A, B).payload.toString(), 'abc');
  t.throws(() => buildUdp(1, 2, Buffer.alloc(65528), A, B), RangeError);
});
