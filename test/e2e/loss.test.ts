// End to end under real loss (issue 4), in the router topology of NETWORK-TESTING.md:
//   client ns 10.0.1.2 --veth-- tap ns 10.0.1.1 | tap0 10.0.0.1 (ip_forward=1) --TAP-- stack 10.0.0.2
// nftables drops kernel->stack segments in the forward hook (real loss for the kernel sender)
// and stack->kernel frames at tap0's ingress (prerouting). At 1 %, 5 % and 10 % random loss,
// 100 MiB go through the echo service (so 100 MiB in each direction) and come back with the
// same sha256; the stack's counters (from /_stack.json, fetched from the client) show how much
// was resent by RTO and that SACK recovery did the rest; a short captured run shows our SACK
// blocks and our fast retransmissions, in a capture tshark finds clean.
// Offloads are on (the default) in every run, and off in a second captured one: we send TSO
// super-segments, and a drop at tap0's ingress takes a whole one (all its wire segments) at once,
// so SACK recovery must mend bursts cut out of super-segments.
import t from 'tap';
import { createHash } from 'node:crypto';
import { createReadStream, openSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { bannerOffload, e2eScratchDir, Netns, stackJson, startTapstack, tsharkProblems } from '../helpers/netns.js';

const MiB = 1024 * 1024;
// This file needs more than .taprc's 300 s on a loaded machine (274 s measured there with the
// limits below, 115 s of it the 10 % run): the runner is told to wait up to 600 s.
t.setTimeout(600_000);
const dir = e2eScratchDir(t, 'loss');
if (dir !== undefined) {
  const shaFile = (f: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const h = createHash('sha256');
      createReadStream(f).on('data', (b) => h.update(b)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
    });
  const input = path.join(dir, 'in.bin');
  if (spawnSync('head', ['-c', String(100 * MiB), '/dev/urandom'], { stdio: ['ignore', openSync(input, 'w'), 'inherit'] }).status !== 0) throw new Error('head failed');
  const small = path.join(dir, 'small.bin');
  spawnSync('head', ['-c', String(8 * MiB), input], { stdio: ['ignore', openSync(small, 'w'), 'inherit'] });

  /** The two namespaces, the veth, forwarding and a loss table at `pct` percent. */
  const topology = (t: { teardown(fn: () => unknown): void }) => {
    const tapNs = Netns.create(t);
    const client = Netns.create(t);
    const must = (ns: Netns, argv: string[]) => {
      const r = ns.runSync(argv);
      if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
    };
    must(tapNs, ['ip', 'link', 'add', 'vt0', 'type', 'veth', 'peer', 'name', 'vc0', 'netns', client.name]);
    must(tapNs, ['ip', 'addr', 'add', '10.0.1.1/24', 'dev', 'vt0']);
    must(tapNs, ['ip', 'link', 'set', 'vt0', 'up']);
    must(tapNs, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    must(client, ['ip', 'addr', 'add', '10.0.1.2/24', 'dev', 'vc0']);
    must(client, ['ip', 'link', 'set', 'vc0', 'up']);
    must(client, ['ip', 'route', 'add', '10.0.0.0/24', 'via', '10.0.1.1']);
    // One drop = one segment: no TSO/GSO on the client, no GRO on the forwarding side.
    must(client, ['ethtool', '-K', 'vc0', 'tso', 'off', 'gso', 'off']);
    tapNs.runSync(['ethtool', '-K', 'vt0', 'gro', 'off', 'tso', 'off', 'gso', 'off']);
    const setLoss = (pct: number) => {
      const rules = path.join(dir, `nft-${tapNs.name}.conf`);
      writeFileSync(
        rules,
        [
          'table inet lossy',
          'delete table inet lossy',
          'table inet lossy {',
          '  chain fw {',
          '    type filter hook forward priority 0; policy accept;',
          `    oifname "tap0" meta l4proto tcp numgen random mod 1000 < ${pct * 10} counter drop`,
          '  }',
          '  chain pre {',
          '    type filter hook prerouting priority -300; policy accept;',
          `    iifname "tap0" meta l4proto tcp numgen random mod 1000 < ${pct * 10} counter drop`,
          '  }',
          '}',
          '',
        ].join('\n'),
      );
      must(tapNs, ['nft', '-f', rules]);
    };
    return { tapNs, client, setLoss };
  };

  type Counters = Record<string, number>;
  const sum = (c: Counters, prefix: string) => Object.entries(c).reduce((a, [k, v]) => (k.startsWith(prefix) ? a + v : a), 0);

  for (const offload of ['on', 'off'] as const) t.test(`--offload ${offload}: a captured run at 3 % loss: our SACK blocks and our fast retransmissions are on the wire`, async (t) => {
    const { tapNs, client, setLoss } = topology(t);
    const pcap = path.join(dir, `loss-${offload}.pcap`);
    const stack = await startTapstack(tapNs, ['--pcap', pcap, '--offload', offload]);
    t.equal(bannerOffload(stack), offload, 'the banner says which');
    setLoss(3);
    const out = path.join(dir, `small-${offload}.out`);
    const r = await client.run(['bash', '-c', `timeout 50 nc -N 10.0.0.2 7 < ${small} > ${out}`], { timeoutMs: 60_000 });
    t.equal(r.code, 0, `nc exits 0 ${r.stderr}`);
    t.equal(await shaFile(out), await shaFile(small), '8 MiB echoed byte-exact through 3 % loss each way');
    await stack.stop();
    const count = (filter: string): number => {
      const x = spawnSync('tshark', ['-n', '-r', pcap, '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', maxBuffer: 64 * MiB });
      return x.stdout.split('\n').filter((l) => l !== '').length;
    };
    const sacks = count('ip.src==10.0.0.2 && tcp.options.sack_le');
    const fast = count('ip.src==10.0.0.2 && tcp.analysis.fast_retransmission');
    const rtx = count('ip.src==10.0.0.2 && tcp.analysis.retransmission');
    t.ok(sacks > 0, `${sacks} of our ACKs carry SACK blocks`);
    t.ok(fast > 0, `${fast} fast retransmissions from 10.0.0.2 (of ${rtx} retransmissions tshark sees)`);
    t.equal((await tsharkProblems(pcap)).stdout, '', 'no malformed frame, no bad checksum, no expert error in the capture');
  });

  for (const pct of [1, 5, 10]) {
    t.test(`${pct} % random loss each way: 100 MiB through the echo service, equal sha256`, async (t) => {
      const { tapNs, client, setLoss } = topology(t);
      const stack = await startTapstack(tapNs, []);
      const start = await stackJson(client);
      t.equal(start.interface.offload, 'on', 'offloads on (the default)');
      const before = start.counters;
      setLoss(pct);
      const out = path.join(dir, `out-${pct}.bin`);
      const started = Date.now();
      // `timeout` ends nc itself (killing the netns wrapper alone would leave its pipes open).
      // Bounds for a loaded machine (measured there: 26 s at 1 %, 39 s at 5 %, 115 s at 10 %),
      // within the file's 600 s; 10 % takes the most.
      const limit = pct >= 10 ? 240 : 100;
      const r = await client.run(['bash', '-c', `timeout ${limit} nc -N 10.0.0.2 7 < ${input} > ${out}`], { timeoutMs: (limit + 10) * 1000 });
      const secs = (Date.now() - started) / 1000;
      const after = (await stackJson(client)).counters;
      const d = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
      const rto = d('tcp.tx.retransmit.rto');
      const all = sum(after, 'tcp.tx.retransmit.') - sum(before, 'tcp.tx.retransmit.');
      const nft = tapNs.runSync(['nft', 'list', 'table', 'inet', 'lossy']).stdout.match(/packets (\d+)/g) ?? [];
      t.comment(
        `${pct} %: ${secs.toFixed(1)} s, ${((200 * 8) / secs).toFixed(0)} Mbit/s both ways; nft drops ${nft.join(', ')}; ` +
          `our retransmissions ${all} (rto ${rto}, fast ${d('tcp.tx.retransmit.fast')}, sack ${d('tcp.tx.retransmit.sack')}, ` +
          `rescue ${d('tcp.tx.retransmit.rescue')}), recoveries ${d('tcp.recovery.sack')}, RTOs ${d('tcp.rto.expired')} ` +
          `(spurious ${d('tcp.rto.spurious')}), D-SACK sent ${d('tcp.tx.dsack')} received ${d('tcp.rx.dsack')}; super-frames sent ${d('link.tx.superFrames')}`,
      );
      t.equal(r.code, 0, `nc exits 0 within the time limit ${r.stderr}`);
      t.equal(statSync(out).size, 100 * MiB, `100 MiB came back (${statSync(out).size} bytes)`);
      t.equal(await shaFile(out), await shaFile(input), 'sha256 equal');
      t.ok(all > 0, 'the stack retransmitted');
      // Counted in timeouts, not segments: after one RTO the whole flight goes again (go-back-N).
      if (pct === 1) t.ok(d('tcp.rto.expired') <= 0.1 * d('tcp.recovery.sack'), `at 1 %, loss is mended by SACK recovery, rarely by the RTO: ${d('tcp.rto.expired')} timeouts (${rto} segments resent) for ${d('tcp.recovery.sack')} recoveries`);
      t.ok(d('link.tx.superFrames') > 0, `we sent TSO super-frames (${d('link.tx.superFrames')})`);
      t.ok(d('tcp.recovery.sack') > 0 && d('tcp.rx.sackBlocks') > 0, `the kernel's SACK blocks (${d('tcp.rx.sackBlocks')}) drove SACK recoveries (${d('tcp.recovery.sack')}, RFC 6675)`);
      t.equal((await stack.stop()).code, 0);
    });
  }
}
