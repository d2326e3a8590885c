// The page that draws its own connection, against the kernel and tshark (issue 11): curl loads
// the index twice on one keep-alive connection; every segment the second page draws (the
// handshake, the first request, the first page's response and its ACKs, the second request) has
// the Seq, Ack and Len that tshark reads from tapstack's capture of that same connection, in order.
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { e2eScratchDir, Netns, startTapstack } from '../helpers/netns.js';

type Seg = { dir: 'in' | 'out'; seq: number; ack: number; len: number };

/** tshark's view of one connection's TCP frames: direction from tapstack's side, relative numbers. */
function tsharkSegments(pcap: string, clientPort: number): Promise<Seg[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('tshark', ['-n', '-r', pcap, '-o', 'tcp.relative_sequence_numbers:TRUE', '-Y', `tcp.port == ${clientPort}`,
      '-T', 'fields', '-e', 'ip.src', '-e', 'tcp.seq', '-e', 'tcp.ack', '-e', 'tcp.len', '-e', 'tcp.flags.ack']);
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`tshark failed (${code}): ${err}`));
      resolve(out.trim().split('\n').map((line) => {
        const [src, seq, ack, len, ackFlag] = line.split('\t');
        return { dir: src === '10.0.0.2' ? 'out' : 'in', seq: Number(seq), ack: ackFlag === '1' ? Number(ack) : 0, len: Number(len) };
      }));
    });
  });
}

const dir = e2eScratchDir(t, 'ladder');
if (dir !== undefined) {
  t.test('the drawn ladder is the captured connection', async (t) => {
    const ns = Netns.create(t);
    const pcap = path.join(dir, 'ladder.pcap');
    const stack = await startTapstack(ns, ['--pcap', pcap, '--access-log', '/dev/null']);
    const [first, second] = [path.join(dir, '1.html'), path.join(dir, '2.html')];
    const curl = await ns.run(['curl', '-sS', '--max-time', '20', '-o', first, '-o', second, 'http://10.0.0.2/', 'http://10.0.0.2/'], { timeoutMs: 30_000 });
    t.equal(curl.code, 0, `curl ${curl.stderr}`);
    t.equal((await stack.stop()).code, 0, 'clean exit (the capture is flushed)');

    const page = readFileSync(second, 'utf8');
    const port = Number(/Your connection 10\.0\.0\.1:(\d+) → 10\.0\.0\.2:80/.exec(page)?.[1]);
    t.ok(port > 0, `the page names its connection (port ${port})`);
    t.equal(/Your connection 10\.0\.0\.1:(\d+)/.exec(readFileSync(first, 'utf8'))?.[1], String(port), 'curl used one connection for both');
    const drawn: Seg[] = [...page.matchAll(/data-dir="(in|out)" data-flags="\d+" data-seq="(\d+)" data-ack="(\d+)" data-len="(\d+)"/g)].map((m) => ({
      dir: m[1] as 'in' | 'out', seq: Number(m[2]), ack: Number(m[3]), len: Number(m[4]),
    }));
    const captured = await tsharkSegments(pcap, port);
    t.ok(drawn.length >= 8, `the handshake, the first exchange and the second request are drawn (${drawn.length} segments)`);
    t.same(drawn, captured.slice(0, drawn.length), 'each drawn segment is the captured one: Seq, Ack, Len, direction, in order');
    t.same(drawn.filter((s) => s.dir === 'in' && s.len > 0).length, 2, 'both requests are drawn');
    t.ok(captured.length > drawn.length, 'the capture goes on with the response the drawing could not know');
  });
}
