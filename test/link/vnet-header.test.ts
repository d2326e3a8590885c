// The virtio_net_hdr (lib/link/vnet-header.ts): what the kernel sends is parsed and checked as
// hostile input, every lie a named rejection; what we write says NEEDS_CSUM / GSO_TCPV4 right.
import t from 'tap';
import { VNET_HDR_LEN, VnetFlag, VnetGso, isVnetRejection, parseVnetHeader, writeVnetHeader } from '../../lib/link/vnet-header.js';
import { superFrame } from '../helpers/super-frame.js';
import { testFrame } from '../helpers/frames.js';

function packet(h: { flags?: number; gso?: number; hdrLen?: number; gsoSize?: number; csumStart?: number; csumOffset?: number }, frame: Buffer): Buffer {
  const b = Buffer.alloc(VNET_HDR_LEN);
  b[0] = h.flags ?? 0;
  b[1] = h.gso ?? 0;
  b.writeUInt16LE(h.hdrLen ?? 0, 2);
  b.writeUInt16LE(h.gsoSize ?? 0, 4);
  b.writeUInt16LE(h.csumStart ?? 0, 6);
  b.writeUInt16LE(h.csumOffset ?? 0, 8);
  return Buffer.concat([b, frame]);
}

const tcp = superFrame({ payload: Buffer.alloc(4000, 9) }, 1448).frame;
const GOOD = { flags: VnetFlag.needsCsum, gso: VnetGso.tcpv4, hdrLen: 66, gsoSize: 1448, csumStart: 34, csumOffset: 16 };

t.test('what the kernel sends: plain, verified, partial, a GRO/TSO super-frame', async (t) => {
  t.equal(parseVnetHeader(packet({}, testFrame(1))), undefined, 'a zero header: a plain frame');
  t.same(parseVnetHeader(packet({ flags: VnetFlag.dataValid }, tcp)), { csumStart: -1, csumOffset: 0, csumValid: true, gsoSize: 0 });
  t.same(parseVnetHeader(packet({ flags: VnetFlag.needsCsum, csumStart: 34, csumOffset: 16 }, tcp)), { csumStart: 34, csumOffset: 16, csumValid: false, gsoSize: 0 });
  t.same(parseVnetHeader(packet(GOOD, tcp)), { csumStart: 34, csumOffset: 16, csumValid: false, gsoSize: 1448 });
});

t.test('a header that lies about its frame is a named rejection', async (t) => {
  const udp = Buffer.from(tcp);
  udp[23] = 17;
  const arp = testFrame(1, 64);
  const cases: [string, Buffer][] = [
    ['short', Buffer.alloc(12)],
    ['badFlags', packet({ ...GOOD, flags: 0x41 }, tcp)],
    ['ecn', packet({ ...GOOD, gso: VnetGso.tcpv4 | VnetGso.ecn }, tcp)],
    ['badGsoType', packet({ ...GOOD, gso: VnetGso.tcpv6 }, tcp)],
    ['badGsoType', packet({ ...GOOD, gso: VnetGso.udp }, tcp)],
    ['badHdrLen', packet({ ...GOOD, hdrLen: tcp.length + 1 }, tcp)],
    ['badCsumStart', packet({ ...GOOD, csumStart: 30 }, tcp)],
    ['badCsumStart', packet({ ...GOOD, csumOffset: 6 }, tcp)],
    ['badCsumStart', packet({ ...GOOD, hdrLen: 0 }, tcp.subarray(0, 50))],
    ['csumNotIpv4', packet({ flags: VnetFlag.needsCsum, csumStart: 34, csumOffset: 16 }, arp)],
    ['gsoNotTcpv4', packet({ ...GOOD, csumOffset: 6 }, udp)],
    ['gsoWithoutCsum', packet({ ...GOOD, flags: 0 }, tcp)],
    ['badGsoSize', packet({ ...GOOD, gsoSize: 0 }, tcp)],
    ['badGsoSize', packet({ ...GOOD, gsoSize: 1 }, tcp)],
  ];
  for (const [reason, p] of cases) {
    const r = parseVnetHeader(p);
    t.ok(isVnetRejection(r), reason);
    t.same(r, { reason }, reason);
  }
});

t.test('what we write: zero for plain frames; NEEDS_CSUM; GSO_TCPV4 with hdr_len over the headers', async (t) => {
  const out = Buffer.alloc(VNET_HDR_LEN, 0xee);
  writeVnetHeader(out, tcp, undefined);
  t.same([...out], Array(10).fill(0));
  writeVnetHeader(out, tcp, { csumStart: 34, csumOffset: 16, csumValid: false, gsoSize: 0 });
  t.same(parseVnetHeader(Buffer.concat([out, tcp])), { csumStart: 34, csumOffset: 16, csumValid: false, gsoSize: 0 });
  writeVnetHeader(out, tcp, { csumStart: 34, csumOffset: 16, csumValid: false, gsoSize: 1448 });
  t.equal(out[0], VnetFlag.needsCsum);
  t.equal(out[1], VnetGso.tcpv4);
  t.equal(out.readUInt16LE(2), 14 + 20 + 32, 'hdr_len: Ethernet + IP + TCP with the TS option');
  t.equal(out.readUInt16LE(4), 1448);
  t.same(parseVnetHeader(Buffer.concat([out, tcp])), { csumStart: 34, csumOffset: 16, csumValid: false, gsoSize: 1448 }, 'round trip');
});
