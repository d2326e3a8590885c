// End to end (issue 3): path-MTU discovery (RFC 1191) by tapstack's TCP through a real Linux
// router. The client's link has MTU 1500, so it offers MSS 1460; the router's link towards it
// has MTU 1400, so the router refuses our 1500-byte DF segments with ICMP frag-needed (mtu
// 1400). Our TCP must lower its MSS for that connection and retransmit at the new size: with
// offloads on (the router refuses a whole super-segment; the gso size follows the MSS) and off.
import t from 'tap';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { e2eScratchDir, Netns, stackJson, startTapstack, tsharkProblems } from '../helpers/netns.js';

const DOWNLOAD_SHA256 = '64cf9505558063fb8ee9a413a73b7a28467840d9baedcabd8c6c499b9081e457';

const dir = e2eScratchDir(t, 'pmtud');
if (dir !== undefined) {
  for (const offload of ['on', 'off'] as const) t.test(`--offload ${offload}: a router with a 1400-byte link: frag-needed lowers our MSS, the download completes`, async (t) => {
    const router = Netns.create(t);
    const client = Netns.create(t);
    const veth = `tsp${process.pid % 100000}${offload[1]}`;
    const add = spawnSync('ip', ['link', 'add', `${veth}r`, 'netns', router.name, 'type', 'veth', 'peer', 'name', `${veth}c`, 'netns', client.name], { encoding: 'utf8' });
    t.equal(add.status, 0, `veth pair ${add.stderr}`);
    router.runSync(['ip', 'addr', 'add', '10.0.1.1/24', 'dev', `${veth}r`]);
    router.runSync(['ip', 'link', 'set', `${veth}r`, 'mtu', '1400', 'up']);
    router.runSync(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    client.runSync(['ip', 'addr', 'add', '10.0.1.2/24', 'dev', `${veth}c`]);
    client.runSync(['ip', 'link', 'set', `${veth}c`, 'up']);
    client.runSync(['ip', 'route', 'add', '10.0.0.0/24', 'via', '10.0.1.1']);

    const pcap = path.join(dir, `pmtud-${offload}.pcap`);
    const stack = await startTapstack(router, ['--pcap', pcap, '--offload', offload]);
    const file = path.join(dir, `download-${offload}.bin`);
    const curl = await client.run(['curl', '-sS', '--max-time', '60', '-o', file, 'http://10.0.0.2/download/4MiB.bin'], { timeoutMs: 90_000 });
    t.equal(curl.code, 0, `curl through the router exits 0 ${curl.stderr}`);
    t.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), DOWNLOAD_SHA256, 'the 4 MiB download arrives intact');
    const { interface: iface, counters } = await stackJson(client);
    t.equal(iface.offload, offload, '/_stack says which');
    t.ok((counters['tcp.pmtu.lowered'] ?? 0) >= 1, `our TCP lowered its MSS (tcp.pmtu.lowered = ${counters['tcp.pmtu.lowered']})`);
    t.equal((await stack.stop()).code, 0);

    const fields = (filter: string, field: string): string[] => {
      const r = spawnSync('tshark', ['-n', '-r', pcap, '-Y', filter, '-T', 'fields', '-e', field], { encoding: 'utf8' });
      return r.stdout.split('\n').filter((l) => l !== '');
    };
    // The router answers from its address on the sender's side (RFC 1812 §4.3.2.4).
    const icmp = fields('icmp.type == 3 && icmp.code == 4 && ip.src == 10.0.0.1', 'icmp.mtu');
    t.ok(icmp.length >= 1, 'the router sent frag-needed');
    t.equal(icmp[0], '1400', 'with next-hop MTU 1400');
    // Segments already in flight when the ICMP arrived are refused too; everything sent after
    // our TCP heard of it is small enough.
    const lastIcmp = Number(fields('icmp.type == 3 && icmp.code == 4', 'frame.number').pop());
    const lensAfter = fields(`ip.src == 10.0.0.2 && tcp.srcport == 80 && frame.number > ${lastIcmp}`, 'ip.len').map(Number);
    t.ok(lensAfter.length > 100, `our data kept flowing after the ICMP (${lensAfter.length} segments)`);
    t.ok(Math.max(...lensAfter) <= 1400, `and no segment after it exceeds 1400 bytes (largest ${Math.max(...lensAfter)})`);
    const problems = await tsharkProblems(pcap);
    t.equal(problems.stdout, '', 'clean capture');
  });
}
