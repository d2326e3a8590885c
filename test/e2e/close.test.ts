// End to end (issue 11, seed 002): curl closes first; tapstack's web server closes in response
// within the delayed-ACK time, so the capture shows the three-way close Linux shows: curl's FIN,
// our FIN+ACK (no bare ACK before it), curl's ACK. With offloads on (the default) and off.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { bannerOffload, e2eScratchDir, Netns, stackJson, startTapstack, tsharkProblems } from '../helpers/netns.js';

const dir = e2eScratchDir(t, 'close');
if (dir !== undefined) {
  for (const offload of ['on', 'off'] as const) t.test(`--offload ${offload}: curl against tapstack: the close is FIN, FIN+ACK, ACK`, async (t) => {
    const ns = Netns.create(t);
    const pcap = path.join(dir, `close-${offload}.pcap`);
    const stack = await startTapstack(ns, ['--pcap', pcap, '--offload', offload]);
    t.equal(bannerOffload(stack), offload, 'the banner says which');
    const curl = await ns.run(['curl', '-sS', '--max-time', '20', '-o', '/dev/null', 'http://10.0.0.2/'], { timeoutMs: 30_000 });
    t.equal(curl.code, 0, `curl exits 0 ${curl.stderr}`);
    // Stopped in LAST-ACK the stack would abort with a RST: stop it once the kernel has sent its
    // last ACK (its side is in TIME-WAIT) and the stack has taken it (no LAST-ACK left).
    await ns.waitFor(['ss', '-Htan', 'state', 'time-wait', 'dst', '10.0.0.2:80'], /10\.0\.0\.2:80/);
    for (let i = 0; i < 200 && (await stackJson(ns)).connections.some((c) => c.state === 'LAST-ACK'); i++) await new Promise((r) => setTimeout(r, 20));
    t.equal((await stack.stop()).code, 0);
    // Stream 0 is curl's connection (the status queries come after it).
    const r = spawnSync('tshark', ['-n', '-r', pcap, '-Y', 'tcp.stream == 0', '-T', 'fields', '-e', 'ip.src', '-e', 'tcp.flags.fin', '-e', 'tcp.flags.ack', '-e', 'tcp.len'], { encoding: 'utf8' });
    const frames = r.stdout.split('\n').filter((l) => l !== '').map((l) => {
      const [src, fin, ack, len] = l.split('\t');
      return `${src === '10.0.0.2' ? 'us' : 'curl'} ${fin === '1' || fin === 'True' ? 'FIN' : ''}${ack === '1' || ack === 'True' ? 'ACK' : ''} ${len}`;
    });
    const curlFin = frames.findIndex((f) => f.startsWith('curl FIN'));
    t.ok(curlFin > 0, `curl closed first (${frames.join(', ')})`);
    // Under load the kernel may still ACK something of ours after its FIN (a duplicate of a probe):
    // its frames are not what is checked; ours are.
    const after = frames.slice(curlFin);
    t.same(after.filter((f) => f.startsWith('us')), ['us FINACK 0'], 'after its FIN we send one segment: our ACK of its FIN rides on our FIN');
    t.equal(after.at(-1), 'curl ACK 0', 'and curl acknowledges it last');
    t.equal((await tsharkProblems(pcap)).stdout, '', 'a clean capture');
  });
}
