// End to end against the Linux kernel (issue 3, issue 9): the TCP echo service, 1 GiB each way
// from a kernel client and 8 MiB with nc with offloads on and off, checked by sha256; discard; a
// connection from the stack to a kernel listener; refused connections; who ends in TIME-WAIT;
// clean captures.
import t from 'tap';
import { createHash } from 'node:crypto';
import { writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SeededRng } from '../../lib/rng.js';
import { readPcap } from '../helpers/pcap-reader.js';
import { e2eScratchDir, Netns, repoRoot, stackJson, startTapstack, tsharkProblems, tsLoaderArgs } from '../helpers/netns.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const dir = e2eScratchDir(t, 'tcp');
if (dir !== undefined) {
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

  // 1 GiB each way with offloads on (the default), from a kernel TCP client that streams a
  // generated keystream and hashes both directions as it goes: no file of that size on disk.
  t.test('1 GiB each way through echo with offloads on: sha256 of what came back equals what was sent', async (t) => {
    const ns = Netns.create(t);
    const stack = await startTapstack(ns, []);
    const client = path.join(repoRoot, 'test/e2e/fixtures/echo-client.ts');
    const r = await ns.run([process.execPath, ...tsLoaderArgs(), client, '10.0.0.2', '7', String(GiB), '200'], { timeoutMs: 210_000 });
    const result = JSON.parse(r.stdout.trim().split('\n').pop() || '{}') as { sentBytes?: number; sent?: string; receivedBytes?: number; received?: string; secs?: number; error?: string };
    t.equal(result.error, undefined, `no error ${r.stderr}`);
    t.equal(result.sentBytes, GiB, '1 GiB sent');
    t.equal(result.receivedBytes, GiB, '1 GiB came back');
    t.equal(result.received, result.sent, 'sha256 equal');
    t.comment(`echo: 2 x 1 GiB in ${result.secs?.toFixed(1)} s (${((2 * 8 * 1024) / (result.secs ?? 1)).toFixed(0)} Mbit/s both ways together)`);
    const st = await stackJson(ns);
    t.equal(st.interface.offload, 'on', 'offloads on by default');
    t.ok((st.counters['link.tx.superFrames'] ?? 0) > 0, `our data left as TSO super-frames (${st.counters['link.tx.superFrames']})`);
    t.ok((st.counters['link.rx.superFrames'] ?? 0) > 0, `the kernel's came as super-frames (${st.counters['link.rx.superFrames']})`);
    t.equal((await stack.stop()).code, 0, 'clean exit');
  });

  // Offloads on (the kernel cuts our super-segments and merges its own) and off (one wire frame
  // per write and read): the same bytes either way, and a capture of wire-sized, checksummed frames.
  for (const offload of ['on', 'off'] as const) {
    t.test(`--offload ${offload}: 8 MiB each way through echo intact, the capture shows wire frames only`, async (t) => {
      const ns = Netns.create(t);
      const pcap = path.join(dir, `echo-offload-${offload}.pcap`);
      const stack = await startTapstack(ns, ['--offload', offload, '--pcap', pcap]);
      const input = path.join(dir, `in-${offload}.bin`);
      const output = path.join(dir, `out-${offload}.bin`);
      writeFileSync(input, new SeededRng(9).bytes(8 * MiB));
      const r = await ns.run(['bash', '-c', `nc -N 10.0.0.2 7 < ${input} > ${output}`], { timeoutMs: 120_000 });
      t.equal(r.code, 0, `nc exits 0 ${r.stderr}`);
      t.equal(sha(readFileSync(output)), sha(readFileSync(input)), 'sha256 equal');
      const st = await stackJson(ns);
      t.equal(st.interface.offload, offload, '/_stack says which');
      const superFrames = [st.counters['link.tx.superFrames'] ?? 0, st.counters['link.rx.superFrames'] ?? 0];
      if (offload === 'on') t.ok(superFrames[0]! > 0 && superFrames[1]! > 0, `super-frames both ways (${superFrames.join(' sent, ')} received)`);
      else t.same(superFrames, [0, 0], 'no super-frame either way');
      t.equal((await stack.stop()).code, 0);
      const problems = await tsharkProblems(pcap);
      t.equal(problems.code, 0, 'tshark reads the capture');
      t.equal(problems.stdout, '', 'no malformed frame and no bad checksum');
      const longest = Math.max(...readPcap(readFileSync(pcap)).records.map((rec) => rec.data.length));
      t.ok(longest <= 1514, `no frame longer than a 1500-byte MTU allows (${longest})`);
    });
  }

  t.test('discard, refused port, TIME-WAIT on the side that closed first, clean capture', async (t) => {
    const ns = Netns.create(t);
    const pcap = path.join(dir, 'tcp.pcap');
    const stack = await startTapstack(ns, ['--pcap', pcap]);

    const discard = await ns.run(['bash', '-c', 'head -c 1000000 /dev/zero | nc -N 10.0.0.2 9; ss -tan state time-wait'], { timeoutMs: 30_000 });
    t.equal(discard.code, 0, 'nc to discard exits 0');
    t.match(discard.stdout, /10\.0\.0\.1:\d+\s+10\.0\.0\.2:9\b/, 'the kernel closed first, so the kernel holds TIME-WAIT (RFC 9293 §3.6)');

    const refused = await ns.run(['nc', '-z', '-v', '-w', '3', '10.0.0.2', '4444']);
    t.not(refused.code, 0, 'connect to a closed port fails');
    t.match(refused.stderr, /Connection refused/, 'with "Connection refused": our RST (RFC 9293 §3.10.7.1)');
    t.equal((await stack.stop()).code, 0);

    const problems = await tsharkProblems(pcap);
    t.equal(problems.code, 0, 'tshark reads the capture');
    t.equal(problems.stdout, '', 'no malformed frame and no bad checksum');
  });

  t.test('a connection from the stack to nc -l in the kernel; the stack closed first and holds TIME-WAIT', async (t) => {
    const ns = Netns.create(t);
    // The kernel side's address must exist before nc binds it: make the tap persistent first.
    ns.runSync(['ip', 'tuntap', 'add', 'dev', 'tap0', 'mode', 'tap']);
    ns.runSync(['ip', 'addr', 'add', '10.0.0.1/24', 'dev', 'tap0']);
    ns.runSync(['ip', 'link', 'set', 'tap0', 'up']);
    const received = path.join(dir, 'from-stack.bin');
    // nc -l: prints what it receives, sends its own reply, closes only after our FIN arrives (no -N).
    const reply = path.join(dir, 'reply.bin');
    writeFileSync(reply, new SeededRng(99).bytes(200_000));
    const listener = ns.spawn(['bash', '-c', `nc -l 10.0.0.1 5001 < ${reply} > ${received}`]);
    await ns.waitFor(['ss', '-ltn'], /10\.0\.0\.1:5001\b/);
    const client = await ns.run([process.execPath, ...tsLoaderArgs(), path.join(repoRoot, 'test/e2e/fixtures/stack-client.ts'), '5001', String(3 * MiB)], { timeoutMs: 60_000 });
    await new Promise((r) => (listener.exitCode !== null ? r(undefined) : listener.once('exit', r)));
    const line = client.stdout.trim().split('\n').pop() ?? '';
    const result = JSON.parse(line || '{}') as { sent?: string; received?: string; receivedBytes?: number; timeWait?: number; error?: string };
    t.equal(result.error, undefined, `no error ${client.stderr}`);
    t.equal(result.sent, sha(readFileSync(received)), 'nc -l received exactly what the stack sent (3 MiB)');
    t.equal(result.receivedBytes, 200_000, 'the stack received the kernel\'s reply');
    t.equal(result.received, sha(readFileSync(reply)), 'byte for byte');
    t.equal(result.timeWait, 1, 'the stack closed first and so holds TIME-WAIT');
  });
}
