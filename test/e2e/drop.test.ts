// End to end (issue 11): `--drop` on the first data segment tapstack sends for `curl /` shows
// exactly one retransmission of it, in the trace and in the capture, and the trace's packet
// numbers are the capture's frame numbers (the dropped frame kept in the pcapng with its comment).
// (Under a loaded CPU the kernel's SACKs can come later than tapstack's probe timeout: then a
// tail loss probe resends the last segment too, a second retransmission, of other bytes.)
import t from 'tap';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { e2eScratchDir, Netns, startTapstack, tsharkProblems } from '../helpers/netns.js';

const RULE = 'tx tcp sport=80 seq=1 len>0 nth=1';

const dir = e2eScratchDir(t, 'drop');
if (dir !== undefined) {
  t.test(`--drop '${RULE}' with curl /: one drop, one retransmission, same numbers in trace and pcap`, async (t) => {
    const ns = Netns.create(t);
    const pcap = path.join(dir, 'drop.pcapng');
    const stack = await startTapstack(ns, ['--trace', '--pcap', pcap, '--drop', RULE]);
    const curl = await ns.run(['curl', '-sS', '--max-time', '20', '-o', '/dev/null', '-w', '%{http_code}', 'http://10.0.0.2/'], { timeoutMs: 30_000 });
    t.equal(curl.stdout, '200', 'the page still arrives');
    const status = await ns.run(['curl', '-sS', '--max-time', '20', 'http://10.0.0.2/_stack.json'], { timeoutMs: 30_000 });
    t.equal((JSON.parse(status.stdout) as { counters: Record<string, number> }).counters['drop.rule'], 1, '/_stack counts the drop');
    const { stderr } = await stack.stop();
    const packets = stderr.split('\n').filter((l) => /^[\d.]+ (RX|TX|DROP) #\d+ /.test(l));
    const drops = packets.filter((l) => / DROP #/.test(l));
    t.equal(drops.length, 1, 'one DROP line');
    t.match(drops[0], new RegExp(`DROP #\\d+ 10\\.0\\.0\\.2:80 > 10\\.0\\.0\\.1:\\d+ \\[[A-Z, ]+\\] Seq=1 Ack=\\d+ .*Len=[1-9]\\d* .*\\(--drop '${RULE}'\\)$`));
    const rtx = packets.filter((l) => /Retransmission\]/.test(l));
    const again = rtx.filter((l) => / Seq=1 /.test(l));
    t.equal(again.length, 1, `one retransmission of the dropped segment in the trace: ${rtx.join(' | ')}`);
    t.match(again[0], /^[\d.]+ TX #\d+ 10\.0\.0\.2:80 > .* Seq=1 .*\[TCP Fast Retransmission\]$/, 'resent fast (SACK recovery)');

    const tshark = (filter: string[]) => {
      const r = spawnSync('tshark', ['-n', '-r', pcap, ...filter, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.number', '-e', 'frame.comment', '-e', 'tcp.seq'], { encoding: 'utf8' });
      t.equal(r.status, 0, `tshark reads the pcapng ${r.stderr}`);
      return r.stdout.trimEnd().split('\n').filter((l) => l !== '').map((l) => l.split('|'));
    };
    const rows = tshark([]);
    t.equal(rows.length, packets.length, `as many frames in the capture as packet lines in the trace (${rows.length})`);
    const dropNo = /DROP #(\d+)/.exec(drops[0]!)![1];
    t.same(rows.filter((r) => r[1] !== '').map((r) => [r[0], r[1]]), [[dropNo, `dropped: --drop '${RULE}'`]], 'the dropped frame, at the same number, with its comment');
    // Wireshark calls a resend that comes within one round trip of the newest segment
    // "Out-Of-Order" (its heuristic, which cannot know the cause); the trace knows it from the core.
    const rtxRows = tshark(['-Y', 'tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.out_of_order']);
    t.same(rtxRows.map((r) => r[0]), rtx.map((l) => /#(\d+)/.exec(l)![1]), 'the capture\'s resends are the trace\'s, frame for frame');
    t.same(rtxRows.filter((r) => r[2] === '1').map((r) => r[0]), [/#(\d+)/.exec(again[0]!)![1]], 'one of them resends Seq=1');
    t.equal((await tsharkProblems(pcap)).stdout, '', 'no malformed frame or bad checksum');
  });
}
