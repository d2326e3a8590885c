// End to end (issue 10 item 10): the CLI's lifecycle against the kernel. The tap deleted under a
// running stack is one line and exit 1; a signal while it sets up (carrier wait) stops cleanly;
// an output file in a missing directory is one line and exit 1 before anything starts.
import t from 'tap';
import path from 'node:path';
import { e2eScratchDir, Netns, repoRoot, RunningStack, startTapstack } from '../helpers/netns.js';

const cli = path.join(repoRoot, 'dist/lib/cli.js');
const dir = e2eScratchDir(t, 'lifecycle');
if (dir !== undefined) {
  t.test('ip link del tap0 under a running stack: one line saying why, exit 1', async (t) => {
    const ns = Netns.create(t);
    const stack = await startTapstack(ns);
    t.equal(ns.runSync(['ip', 'link', 'del', 'tap0']).code, 0, 'the tap is deleted');
    const timer = setTimeout(() => stack.proc.kill('SIGKILL'), 10_000);
    const done = await stack.exited;
    clearTimeout(timer);
    t.equal(done.code, 1, 'exit status 1');
    t.match(done.stderr, /^tapstack: tap0 went away \(.*\); stopped\n$/, 'one line on stderr says why');
  });

  t.test('SIGTERM as soon as the tap exists (set-up, carrier wait): the clean stop, exit 0', async (t) => {
    const ns = Netns.create(t);
    const stack = new RunningStack(ns.spawn([process.execPath, cli]));
    await ns.waitFor(['ip', 'link', 'show', 'tap0'], /tap0/, 10_000);
    stack.proc.kill('SIGTERM');
    const done = await stack.stop();
    t.equal(done.signal, null, 'not killed by the signal');
    t.equal(done.code, 0, 'the clean stop exits 0');
    t.equal(done.stderr, '', 'nothing on stderr');
    t.equal(ns.runSync(['ip', 'link', 'show', 'tap0']).code, 1, 'the tap it created is gone');
  });

  t.test('--pcap or --access-log into a missing directory: one line, exit 1', async (t) => {
    const ns = Netns.create(t);
    for (const flag of ['--pcap', '--access-log']) {
      const file = path.join(dir, 'no-such-dir', 'out');
      const r = await ns.run([process.execPath, cli, flag, file], { timeoutMs: 10_000 });
      t.equal(r.code, 1, `${flag}: exit 1`);
      t.equal(r.stderr, `tapstack: ${flag} ${file}: no such directory\n`, `${flag}: one line`);
      t.equal(ns.runSync(['ip', 'link', 'show', 'tap0']).code, 1, `${flag}: no tap was created`);
    }
  });
}
