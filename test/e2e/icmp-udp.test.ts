// End to end against the Linux kernel (issue 2): ARP, ping of every size, DF probes, the
// emulated path MTU, UDP echo and a clean capture. Runs as root with /dev/net/tun; skips with
// the reason otherwise.
import t from 'tap';
import { statSync } from 'node:fs';
import path from 'node:path';
import { e2eScratchDir, Netns, startTapstack, tsharkProblems } from '../helpers/netns.js';

const dir = e2eScratchDir(t, 'e2e');
if (dir !== undefined) {
  t.test('ping, DF probes, big pings, arping and UDP echo against the kernel; the capture is clean', async (t) => {
    const ns = Netns.create(t);
    const pcap = path.join(dir, 'icmp-udp.pcap');
    const stack = await startTapstack(ns, ['--pcap', pcap]);
    t.match(stack.stdout, /tap0/, 'the banner names the tap');
    t.match(stack.stdout, /10\.0\.0\.2/, 'the banner names our address');

    const ping = await ns.run(['ping', '-c', '3', '-i', '0.2', '-W', '3', '10.0.0.2']);
    t.match(ping.stdout, /3 packets transmitted, 3 received, 0% packet loss/, 'ping -c 3: 0% loss');

    const fits = await ns.run(['ping', '-c', '1', '-W', '5', '-M', 'do', '-s', '1472', '10.0.0.2']);
    t.match(fits.stdout, /1480 bytes from 10\.0\.0\.2/, 'ping -M do -s 1472: a 1500-byte packet gets its reply');

    const tooLong = await ns.run(['ping', '-c', '1', '-W', '2', '-M', 'do', '-s', '1473', '10.0.0.2']);
    t.not(tooLong.code, 0, 'ping -M do -s 1473 fails');
    t.match(tooLong.stdout + tooLong.stderr, /message too long, mtu=1500/, 'ping -M do -s 1473 never leaves the host');

    const frag = await ns.run(['ping', '-c', '1', '-W', '3', '-M', 'want', '-s', '4000', '10.0.0.2']);
    t.match(frag.stdout, /4008 bytes from 10\.0\.0\.2/, 'ping -M want -s 4000: reassembled, answered in full, fragmented');
    t.notMatch(frag.stdout, /truncated/);

    const huge = await ns.run(['ping', '-c', '1', '-W', '3', '-s', '65000', '10.0.0.2']);
    t.match(huge.stdout, /65008 bytes from 10\.0\.0\.2/, 'ping -s 65000: the largest ping works');

    const arping = await ns.run(['arping', '-c', '2', '-w', '5', '-I', 'tap0', '10.0.0.2']);
    t.equal(arping.code, 0, 'arping exits 0');
    t.match(arping.stdout, /bytes from [0-9a-f:]{17} \(10\.0\.0\.2\)/, 'arping gets replies from our address');

    // nc waits this long for the echo after sending: room for a loaded machine (ping's -W likewise).
    const udp = await ns.run(['nc', '-u', '-w', '3', '10.0.0.2', '7'], { input: 'hello, udp echo\n' });
    t.equal(udp.stdout, 'hello, udp echo\n', 'nc -u to port 7: the datagram comes back');

    const closed = await ns.run(['nc', '-u', '-w', '1', '10.0.0.2', '9999'], { input: 'x\n' });
    t.equal(closed.stdout, '', 'nothing comes back from a closed UDP port');

    const done = await stack.stop();
    t.equal(done.code, 0, 'SIGINT: a clean exit');
    t.ok(statSync(pcap).size > 24, 'the pcap holds frames');
    const problems = await tsharkProblems(pcap);
    t.equal(problems.code, 0, 'tshark reads the capture');
    t.equal(problems.stdout, '', 'no malformed frame and no bad checksum in the capture');
    t.equal(ns.runSync(['ip', 'link', 'show', 'tap0']).code, 1, 'the tap we created is gone after exit');
  });

  t.test('--path-mtu 1400: frag-needed with mtu 1400, the kernel learns it, smaller DF pings pass', async (t) => {
    const ns = Netns.create(t);
    const pcap = path.join(dir, 'pmtu.pcap');
    const stack = await startTapstack(ns, ['--path-mtu', '1400', '--pcap', pcap]);
    const warm = await ns.run(['ping', '-c', '1', '-W', '3', '10.0.0.2']);
    t.equal(warm.code, 0, 'reachable');

    const probe = await ns.run(['ping', '-c', '1', '-W', '5', '-M', 'do', '-s', '1400', '10.0.0.2']);
    t.match(probe.stdout, /Frag needed and DF set \(mtu = 1400\)/, 'ping -M do -s 1400: ICMP frag-needed with next-hop MTU 1400');

    const route = await ns.run(['ip', 'route', 'get', '10.0.0.2']);
    t.match(route.stdout, /mtu 1400/, 'ip route get shows the learned path MTU');

    const again = await ns.run(['ping', '-c', '1', '-W', '5', '-M', 'do', '-s', '1400', '10.0.0.2']);
    t.match(again.stdout + again.stderr, /message too long, mtu=1400/, 'the kernel now refuses locally');

    const fits = await ns.run(['ping', '-c', '1', '-W', '5', '-M', 'do', '-s', '1372', '10.0.0.2']);
    t.match(fits.stdout, /1380 bytes from 10\.0\.0\.2/, 'ping -M do -s 1372 (a 1400-byte packet) gets its reply');

    t.equal((await stack.stop()).code, 0);
    const problems = await tsharkProblems(pcap);
    t.equal(problems.stdout, '', 'clean capture');
  });

  t.test('set-up errors: one clear line and a non-zero exit', async (t) => {
    const ns = Netns.create(t);
    const first = await startTapstack(ns, []);
    const second = ns.spawn([process.execPath, path.join(path.dirname(new URL(import.meta.url).pathname), '../../dist/lib/cli.js')]);
    const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
      let text = '';
      second.stdout!.on('data', (b: Buffer) => (text += b));
      second.stderr!.on('data', (b: Buffer) => (text += b));
      second.on('close', (code) => resolve({ code, text }));
    });
    t.not(out.code, 0, 'a second stack on the same tap fails');
    t.match(out.text, /tapstack: .*busy/, 'and says the tap is busy');
    t.equal((await first.stop()).code, 0);

    const usage = ns.runSync([process.execPath, path.join(path.dirname(new URL(import.meta.url).pathname), '../../dist/lib/cli.js'), '--path-mtu', 'x']);
    t.equal(usage.code, 2, 'usage errors exit 2');
    t.match(usage.stderr, /^tapstack: --path-mtu: /, 'with one line naming the flag');
  });
}
