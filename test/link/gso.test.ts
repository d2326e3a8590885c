// Software segmentation (lib/link/gso.ts): a super-frame becomes the wire frames the kernel's
// TSO would send, each with valid IP and TCP checksums (verified by the parsers), consecutive
// sequence numbers and IP IDs, FIN/PSH only on the last, CWR only on the first.
import t from 'tap';
import { wireFrames } from '../../lib/link/gso.js';
import { parseEthernet } from '../../lib/wire/ethernet.js';
import { parseIpv4 } from '../../lib/wire/ipv4.js';
import { parseTcp, TCP_FLAGS } from '../../lib/wire/tcp.js';
import { seq } from '../../lib/wire/seq.js';
import { superFrame } from '../helpers/super-frame.js';

const { FIN, PSH, ACK, CWR } = TCP_FLAGS;

function decode(f: Buffer) {
  const ip = parseIpv4(parseEthernet(f).payload); // throws on a bad header checksum
  return { ip, tcp: parseTcp(ip.payload, ip.src, ip.dst, true) }; // throws on a bad TCP checksum
}

t.test('a 3.5-MSS super-frame becomes 4 wire frames with correct lengths, numbers, flags and checksums', async (t) => {
  const mss = 1448;
  const payload = Buffer.alloc(mss * 3 + 700);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
  const { frame, offload } = superFrame({ payload, seq: seq(0xfffff000), id: 0xfffe, flags: ACK | PSH | FIN | CWR }, mss);
  const out = wireFrames(frame, offload);
  t.equal(out.length, 4);
  const parts = out.map(decode);
  t.same(parts.map((p) => p.tcp.payload.length), [mss, mss, mss, 700]);
  t.same(parts.map((p) => p.ip.totalLength), [20 + 32 + mss, 20 + 32 + mss, 20 + 32 + mss, 20 + 32 + 700]);
  t.same(parts.map((p) => p.ip.id), [0xfffe, 0xffff, 0, 1], 'IP ID +1 per segment, wrapping');
  t.same(parts.map((p) => p.tcp.seq), [0xfffff000, (0xfffff000 + mss) >>> 0, (0xfffff000 + 2 * mss) >>> 0, (0xfffff000 + 3 * mss) >>> 0], 'sequence numbers wrap mod 2^32');
  t.same(parts.map((p) => p.tcp.flags), [ACK | CWR, ACK, ACK, ACK | PSH | FIN], 'CWR on the first, PSH and FIN on the last');
  t.same(parts.map((p) => p.tcp.options.ts), Array(4).fill({ val: 1000, ecr: 2000 }), 'options on every segment');
  t.ok(Buffer.concat(parts.map((p) => p.tcp.payload)).equals(payload), 'the payload, in order');
});

t.test('a partial checksum alone is completed in a copy; a plain frame passes as it is', async (t) => {
  const { frame, offload } = superFrame({ payload: Buffer.from('hello') }, 0);
  t.throws(() => decode(frame), /tcp.badChecksum/, 'the pseudo-header sum alone is not a checksum');
  const [done] = wireFrames(frame, offload);
  t.not(done, frame);
  t.equal(decode(done!).tcp.payload.toString(), 'hello');
  t.equal(wireFrames(frame, undefined)[0], frame);
  t.equal(wireFrames(done!, { csumStart: -1, csumOffset: 0, csumValid: true, gsoSize: 0 })[0], done, 'DATA_VALID only: nothing to do');
});

t.test('a super-frame no longer than one segment is one frame, checksummed', async (t) => {
  const { frame, offload } = superFrame({ payload: Buffer.alloc(1000, 1) }, 1448);
  const out = wireFrames(frame, offload);
  t.equal(out.length, 1);
  t.equal(decode(out[0]!).tcp.payload.length, 1000);
});
