// Software segmentation (lib/link/gso.ts): a super-frame becomes the wire frames the kernel's
// TSO would send, each with valid IP and TCP checksums (verified by the parsers), consecutive
// sequence numbers and IP IDs, FIN/PSH only on the last, CWR only on the first; the decorators
// that show or damage the wire (trace, capture, fault link) work on those wire frames.
import t from 'tap';
import { wireFrames } from '../../lib/link/gso.js';
import { parseEthernet } from '../../lib/wire/ethernet.js';
import { parseIpv4 } from '../../lib/wire/ipv4.js';
import { parseTcp, TCP_FLAGS } from '../../lib/wire/tcp.js';
import { seq } from '../../lib/wire/seq.js';
import { superFrame } from '../helpers/super-frame.js';
import { RecordingLink } from '../helpers/recording-link.js';
import { readPcap } from '../helpers/pcap-reader.js';
import { TracerLink } from '../../lib/link/tracer.js';
import { PcapLink } from '../../lib/link/pcap-writer.js';
import { FaultLink } from '../../lib/link/fault-link.js';
import { FakeClock } from '../../lib/clock.js';
import { SeededRng } from '../../lib/rng.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

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

t.test('the capture, the trace and the fault link see one MSS-sized segment per wire frame', async (t) => {
  const { frame, offload } = superFrame({ payload: Buffer.alloc(3 * 1448, 3) }, 1448);
  const inner = new RecordingLink();
  const dir = mkdtempSync(path.join(tmpdir(), 'tapstack-gso-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'x.pcap');
  const lines: string[] = [];
  const tracer = new TracerLink(new PcapLink(inner, file), (l) => lines.push(l));
  tracer.send(frame, offload);
  t.equal(lines.length, 3, 'three trace lines');
  t.ok(lines.every((l) => / Len=1448\b/.test(l)), lines.join('\n'));
  t.equal(inner.sent.length, 1, 'the link below still gets the one super-frame');
  await tracer.close();
  const records = readPcap(readFileSync(file)).records;
  t.same(records.map((r) => r.data.length), [14 + 20 + 32 + 1448, 14 + 20 + 32 + 1448, 14 + 20 + 32 + 1448], 'three records in the capture');
  for (const r of records) decode(r.data);

  const below = new RecordingLink();
  const fault = new FaultLink(below, { clock: new FakeClock(0), rng: new SeededRng(1), loss: 0 });
  fault.send(frame, offload);
  t.equal(below.sent.length, 3, 'the fault link cuts first, then drops (or not) per wire frame');
  for (const f of below.sent) decode(f);
});
