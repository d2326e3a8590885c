// Drops you can see (issue 11): a frame a fault decorator drops on purpose gets its own `DROP #n`
// trace line and stays in the capture at the same frame number (pcapng, with a comment and the
// direction), so trace packet numbers and Wireshark frame numbers agree all the way through.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { FakeClock } from '../../lib/clock.js';
import { SeededRng } from '../../lib/rng.js';
import { FaultLink } from '../../lib/link/fault-link.js';
import { PcapLink, PcapWriter } from '../../lib/link/pcap-writer.js';
import { TracerLink } from '../../lib/link/tracer.js';
import { TraceNarrator } from '../../lib/explain/index.js';
import { FakeLink } from '../helpers/fake-link.js';
import { testFrame } from '../helpers/frames.js';
import { LINUX_ARP_REQUEST, LINUX_PING, LINUX_TCP_SYN } from '../helpers/linux-frames.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapstack-drops-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

function tshark(file: string, fields: string[]): string[][] | undefined {
  try {
    const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
    return out.trimEnd().split('\n').map((l) => l.split('|'));
  } catch {
    return undefined;
  }
}

t.test('pcapng: section, interface, and enhanced packet blocks with direction and comment', async (t) => {
  const file = path.join(dir, 'ng.pcapng');
  const w = new PcapWriter(file, { clock: new FakeClock(0), epochMs: 1_700_000_000_000, format: 'pcapng' });
  w.write(LINUX_ARP_REQUEST, undefined, { dir: 'RX' });
  w.write(testFrame(2, 61), undefined, { dir: 'TX', comment: 'dropped: --loss, seed 7' });
  w.close();
  const b = fs.readFileSync(file);
  t.equal(b.readUInt32LE(0), 0x0a0d0d0a, 'SHB');
  t.equal(b.readUInt32LE(8), 0x1a2b3c4d, 'byte-order magic');
  t.equal(b.readUInt32LE(28), 1, 'IDB');
  t.equal(b.readUInt16LE(36), 1, 'LINKTYPE_ETHERNET');
  t.equal(b.readUInt32LE(48), 6, 'EPB');
  let o = 48;
  let blocks = 0;
  while (o < b.length) {
    const len = b.readUInt32LE(o + 4);
    t.equal(len % 4, 0, 'blocks are 32-bit aligned');
    t.equal(b.readUInt32LE(o + len - 4), len, 'trailing length repeats the length');
    o += len;
    blocks++;
  }
  t.equal(o, b.length);
  t.equal(blocks, 2);
  const rows = tshark(file, ['frame.number', 'frame.comment', 'frame.p2p_dir']);
  if (rows === undefined) return void t.comment('tshark is not installed: the byte checks above stand alone');
  t.same(rows.map((r) => r[0]), ['1', '2']);
  t.equal(rows[0]![1], '', 'no comment on a delivered frame');
  t.equal(rows[1]![1], 'dropped: --loss, seed 7');
});

t.test('--loss: every dropped frame has a DROP line and a marked capture frame with the same number', async (t) => {
  const file = path.join(dir, 'loss.pcapng');
  const clock = new FakeClock(0);
  const wire = new FakeLink();
  const fault = new FaultLink(wire, { clock, rng: new SeededRng(7), loss: 0.4, dropReason: (cause) => `--${cause}, seed 7` });
  const pcap = new PcapLink(fault, file, { clock, epochMs: 1_700_000_000_000 });
  const lines: string[] = [];
  const tracer = new TracerLink(pcap, (l) => void lines.push(l), { clock, narrator: new TraceNarrator({ clock, explain: true }) });
  let delivered = 0;
  tracer.onFrame(() => delivered++);
  const frames = [LINUX_ARP_REQUEST, LINUX_PING, LINUX_TCP_SYN];
  for (let i = 0; i < 60; i++) {
    if (i % 2 === 0) wire.inject(frames[i % 3]!);
    else tracer.send(frames[i % 3]!);
    clock.advance(1);
  }
  await tracer.close();
  t.equal(pcap.writer.format, 'pcapng', 'over a link that drops, the capture is pcapng');
  const packets = lines.filter((l) => /^[\d.]+ (RX|TX|DROP) #/.test(l));
  t.equal(packets.length, 60, 'every frame, delivered or dropped, has one numbered line');
  t.same(packets.map((l) => Number(/#(\d+)/.exec(l)![1])), Array.from({ length: 60 }, (_, i) => i + 1), 'numbered 1..60 in order');
  const drops = packets.filter((l) => l.includes(' DROP #'));
  t.ok(drops.length > 10 && drops.length < 40, `${drops.length} of 60 dropped`);
  t.ok(drops.every((l) => l.endsWith('(--loss, seed 7)')), 'each DROP line says why');
  t.equal(delivered + wire.sent.length + drops.length, 60, 'what was not dropped went on');
  t.ok(lines.some((l) => /^ {4}↳ Dropped on purpose \(--loss, seed 7\) between the tap and the stack/.test(l)), 'explained (RX)');
  t.ok(lines.some((l) => /^ {4}↳ Dropped on purpose \(--loss, seed 7\) between the stack and the tap/.test(l)), 'explained (TX)');
  const rows = tshark(file, ['frame.number', 'frame.comment']);
  if (rows === undefined) return void t.comment('tshark is not installed');
  t.equal(rows.length, 60, 'the capture has every frame');
  const dropNos = drops.map((l) => /#(\d+)/.exec(l)![1]);
  t.same(rows.filter((r) => r[1] !== '').map((r) => r[0]), dropNos, 'the marked capture frames are the DROP lines');
  t.ok(rows.filter((r) => r[1] !== '').every((r) => r[1] === 'dropped: --loss, seed 7'));
});

t.test('without a dropping link below, the capture stays classic pcap', async (t) => {
  const pcap = new PcapLink(new FakeLink(), path.join(dir, 'plain.pcap'), new FakeClock(0));
  t.equal(pcap.writer.format, 'pcap');
  await pcap.close();
});
