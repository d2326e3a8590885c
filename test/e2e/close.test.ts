// End to end (issue 11, seed 002): curl closes first; tapstack's web server closes in response
// within the delayed-ACK time, so the capture shows the three-way close Linux shows: curl's FIN,
// our FIN+ACK (no bare ACK before it), curl's ACK. With offloads on (the default) and off.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { bannerOffload, e2eScratchDir, Netns, startTapstack } from '../helpers/netns.js';

const dir = e2eScratchDir(t, 'close');
if (dir !== undefined) {
  for (const offload of ['on', 'off'] as const) t.test(`--offload ${offload}: curl against tapstack: the close is FIN, FIN+ACK, ACK`, async (t) => {
    const ns = Netns.create(t);
    const pcap = path.join(dir, `close-${offload}.pcap`);
    const stack = await startTapstack(ns, ['--pcap', pcap, '--offload', offload]);
    t.equal(bannerOffload(stack), offload, 'the banner says which');
    const curl = await ns.run(['curl', '-sS', '--max-time', '20', '-o', '/dev/null', 'http://10.0.0.2/'], { timeoutMs: 30_000 });
    t.equal(curl.code, 0, `curl exits 0 ${curl.stderr}`);
    t.equal((await stack.stop()).code, 0);
    const r = spawnSync('tshark', ['-n', '-r', pcap, '-Y', 'tcp.port == 80', '-T', 'fields', '-e', 'ip.src', '-e', 'tcp.flags.fin', '-e', 'tcp.flags.ack', '-e', 'tcp.len'], { encoding: 'utf8' });
    const frames = r.stdout.split('\n').filter((l) => l !== '').map((l) => {
      const [src, fin, ack, len] = l.split('\t');
      return `${src === '10.0.0.2' ? 'us' : 'curl'} ${fin === '1' || fin === 'True' ? 'FIN' : ''}${ack === '1' || ack === 'True' ? 'ACK' : ''} ${len}`;
    });
    const curlFin = frames.findIndex((f) => f.startsWith('curl FIN'));
    t.ok(curlFin > 0, `curl closed first (${frames.join(', ')})`);
    t.same(frames.slice(curlFin), ['curl FINACK 0', 'us FINACK 0', 'curl ACK 0'], 'three segments: our ACK of its FIN rides on our FIN');
  });
}
