import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { FakeClock } from '../../lib/clock.js';
import { SeededRng } from '../../lib/rng.js';
import { PcapLink, PcapWriter } from '../../lib/link/pcap-writer.js';
import { MemoryWire } from '../../lib/link/memory-wire.js';
import { RecordingLink } from '../helpers/recording-link.js';
import { readPcap } from '../helpers/pcap-reader.js';
import { testFrame, frameId } from '../helpers/frames.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapstack-pcap-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = () => path.join(dir, `cap-${n++}.pcap`);

/** An ARP request 10.0.0.2 asks for 10.0.0.1, padded to the 60-byte minimum (tshark decodes it). */
const arpRequest = Buffer.from(
  'ffffffffffff' + '02000000000a' + '0806' + '0001' + '0800' + '06' + '04' + '0001' +
    '02000000000a' + '0a000002' + '000000000000' + '0a000001' + '00'.repeat(18),
  'hex',
);

t.test('global header and records follow the classic libpcap format byte for byte', async (t) => {
  const file = tmp();
  const clock = new FakeClock(0);
  const w = new PcapWriter(file, { clock, epochMs: 1_700_000_000_000 });
  t.equal(fs.statSync(file).size, 24, 'the global header is on disk at once');
  w.write(arpRequest);
  clock.advance(1234.5678); // 1.2345678 s later: microseconds are rounded
  const f2 = testFrame(7, 100);
  w.write(f2);
  t.equal(w.frames, 2);
  t.equal(fs.statSync(file).size, 24, 'records are buffered');
  w.close();
  const bytes = fs.readFileSync(file);
  t.equal(bytes.length, 24 + 16 + 60 + 16 + 100);
  t.equal(
    bytes.subarray(0, 24).toString('hex'),
    'd4c3b2a1' + '0200' + '0400' + '00000000' + '00000000' + '00000400' + '01000000',
    'magic a1b2c3d4 (LE), v2.4, thiszone 0, sigfigs 0, snaplen 262144, LINKTYPE_ETHERNET',
  );
  const r1 = bytes.subarray(24, 40);
  t.equal(r1.readUInt32LE(0), 1_700_000_000, 'ts_sec');
  t.equal(r1.readUInt32LE(4), 0, 'ts_usec');
  t.equal(r1.readUInt32LE(8), 60, 'incl_len');
  t.equal(r1.readUInt32LE(12), 60, 'orig_len');
  t.same(bytes.subarray(40, 100), arpRequest);
  const r2 = bytes.subarray(100, 116);
  t.equal(r2.readUInt32LE(0), 1_700_000_001);
  t.equal(r2.readUInt32LE(4), 234_568);
  t.equal(r2.readUInt32LE(8), 100);
  t.equal(r2.readUInt32LE(12), 100);
  t.same(bytes.subarray(116), f2);
  const { header, records } = readPcap(bytes);
  t.match(header, { magic: 0xa1b2c3d4, versionMajor: 2, versionMinor: 4, snaplen: 262144, linktype: 1 });
  t.same(records.map((r) => r.data), [arpRequest, f2]);
});

t.test('an explicit timestamp is split into seconds and rounded microseconds', async (t) => {
  const file = tmp();
  const w = new PcapWriter(file);
  w.write(testFrame(1), 1999.9999); // rounds up into the next second
  w.write(testFrame(2), 1_700_000_000_123.456);
  w.close();
  const { records } = readPcap(fs.readFileSync(file));
  t.same(records.map((r) => [r.tsSec, r.tsFrac]), [[2, 0], [1_700_000_000, 123_456]]);
});

t.test('frames longer than snaplen are truncated with their original length kept', async (t) => {
  const file = tmp();
  const w = new PcapWriter(file, { clock: new FakeClock(), snaplen: 64 });
  w.write(testFrame(1, 1514));
  w.write(testFrame(2, 60));
  w.close();
  const { header, records } = readPcap(fs.readFileSync(file));
  t.equal(header.snaplen, 64);
  t.same(records.map((r) => [r.inclLen, r.origLen]), [[64, 1514], [60, 60]]);
  t.same(records[0]!.data, testFrame(1, 1514).subarray(0, 64));
});

t.test('chunked writes lose nothing: many frames, tiny chunks, frames larger than a chunk', async (t) => {
  const file = tmp();
  const clock = new FakeClock();
  const w = new PcapWriter(file, { clock, chunkBytes: 300 });
  const frames: Buffer[] = [];
  for (let i = 0; i < 500; i++) {
    const f = testFrame(i, 18 + ((i * 37) % 1000));
    frames.push(f);
    w.write(f);
    clock.advance(0.001);
  }
  t.ok(fs.statSync(file).size > 24, 'flushed along the way');
  w.close();
  w.close(); // idempotent
  w.write(testFrame(999)); // ignored once closed
  const { records } = readPcap(fs.readFileSync(file));
  t.equal(records.length, 500);
  t.ok(records.every((r, i) => r.data.equals(frames[i]!) && r.origLen === frames[i]!.length));
  t.ok(records.every((r, i) => r.tsSec === 0 && r.tsFrac === i), 'one microsecond apart');
});

t.test('64 KiB chunks: a busy capture flushes every chunk and the rest on close', async (t) => {
  const file = tmp();
  const w = new PcapWriter(file, { clock: new FakeClock() });
  for (let i = 0; i < 100; i++) w.write(testFrame(i, 1514));
  const size = fs.statSync(file).size;
  const total = 24 + 100 * (16 + 1514);
  t.ok(size > 24 && size < total && total - size < 64 * 1024, `on disk before close: ${size} of ${total}`);
  w.close();
  t.equal(fs.statSync(file).size, total);
});

t.test('default timestamps are wall clock time', async (t) => {
  const file = tmp();
  const w = new PcapWriter(file);
  const before = Date.now();
  w.write(testFrame(1));
  const after = Date.now();
  w.close();
  const [r] = readPcap(fs.readFileSync(file)).records;
  const ms = r!.tsSec * 1000 + r!.tsFrac / 1000;
  t.ok(ms >= before - 1 && ms <= after + 1, `${ms} within [${before}, ${after}]`);
});

t.test('an unwritable path throws at construction (the CLI reports it)', async (t) => {
  t.throws(() => new PcapWriter(path.join(dir, 'no-such-dir', 'x.pcap')), { code: 'ENOENT' });
});

t.test('PcapLink records both directions in order and passes frames through', async (t) => {
  const file = tmp();
  const clock = new FakeClock(5000);
  const inner = new RecordingLink();
  const link = new PcapLink(inner, file, clock); // a Clock alone is accepted
  t.equal(link.mac, inner.mac);
  t.equal(link.mtu, inner.mtu);
  const got: Buffer[] = [];
  link.onFrame((f) => got.push(f));
  link.send(testFrame(1));
  clock.advance(1);
  inner.inject(testFrame(2));
  clock.advance(1);
  link.send(testFrame(3));
  t.same(inner.sent.map(frameId), [1, 3]);
  t.same(got.map(frameId), [2]);
  t.equal(link.writer.frames, 3);
  await link.close();
  t.ok(inner.closed, 'closes the inner link');
  t.notOk(link.writer.isOpen);
  const { records } = readPcap(fs.readFileSync(file));
  t.same(records.map((r) => frameId(r.data)), [1, 2, 3]);
  t.same(records.map((r) => [r.tsSec, r.tsFrac]), [[5, 0], [5, 1000], [5, 2000]]);
});

t.test('PcapLink over a memory wire: the capture matches what crossed', async (t) => {
  const file = tmp();
  const clock = new FakeClock();
  const wire = new MemoryWire({ clock, rng: new SeededRng(1), delayMs: 2 });
  const link = new PcapLink(wire.a, file, { clock, epochMs: 1_000_000 });
  wire.b.onFrame((f) => wire.b.send(f)); // echo
  let echoed = 0;
  link.onFrame(() => echoed++);
  for (let i = 0; i < 10; i++) link.send(testFrame(i, 60 + i));
  clock.advance(10);
  t.equal(echoed, 10);
  await link.close();
  const { records } = readPcap(fs.readFileSync(file));
  t.equal(records.length, 20);
  t.same(records.slice(0, 10).map((r) => r.tsFrac), Array(10).fill(0));
  t.same(records.slice(10).map((r) => [r.tsSec, r.tsFrac, frameId(r.data)]), [...Array(10).keys()].map((i) => [1000, 4000, i]));
});

let tshark = '';
try {
  tshark = execFileSync('sh', ['-c', 'command -v tshark'], { encoding: 'utf8' }).trim();
} catch {
  /* not installed */
}
const noTshark = tshark === '' ? 'tshark is not installed (the project set-up installs it): pcap not checked by tshark' : false;
if (noTshark) console.log(`# skipped: ${noTshark}`);

t.test('tshark reads the capture', { skip: noTshark }, async (t) => {
  const file = tmp();
  const w = new PcapWriter(file, { clock: new FakeClock(), epochMs: 1_700_000_000_000 });
  w.write(arpRequest);
  for (let i = 0; i < 50; i++) w.write(testFrame(i, 60 + i * 20));
  w.write(testFrame(50, 1514));
  w.close();
  const out = execFileSync(
    tshark,
    ['-n', '-r', file, '-T', 'fields', '-E', 'separator=,', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'eth.type', '-e', 'arp.opcode', '-e', 'arp.dst.proto_ipv4'],
    { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const lines = out.trim().split('\n');
  t.equal(lines.length, 52, 'every frame read');
  t.equal(lines[0], '60,60,0x0806,1,10.0.0.1', 'the ARP request decodes');
  t.equal(lines[51], '1514,1514,0x88b5,,');
  const malformed = execFileSync(tshark, ['-n', '-r', file, '-Y', '_ws.malformed || _ws.expert.severity >= error'], {
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  t.equal(malformed.trim(), '', 'nothing malformed');
});
