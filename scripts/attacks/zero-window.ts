// zero-window: 520 clients ask for a 2 MB file and never read (their window closes), then vanish
// without a FIN or RST. Others must still be served while they hang on, and their slots must be
// reclaimed: held when the others are served and the stack holds no more than a few of the
// dead connections 20 s after the clients vanished.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTapstack, type Netns } from '../netns.js';
import { alive, holdSockets, judge, legitCurls, STACK_IP, type Attack } from './attack.js';

export const zeroWindow: Attack = {
  name: 'zero-window',
  describe: '520 clients that never read a 2 MB download, then vanish; others served, slots reclaimed',
  async run(ns: Netns) {
    const root = mkdtempSync(path.join(tmpdir(), 'tapstack-zw-'));
    try {
      writeFileSync(path.join(root, 'index.html'), '<p>hello</p>');
      writeFileSync(path.join(root, 'big'), Buffer.alloc(2 * 1024 * 1024, 'z'));
      const stack = await startTapstack(ns, ['--access-log', '/dev/null', '--root', root]);
      ns.runSync(['ip', 'addr', 'add', '10.0.0.3/24', 'dev', 'tap0']);
      await ns.run(['ping', '-c', '1', '-W', '2', STACK_IP]);
      const stall = await holdSockets(ns, 520, `
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(2)
        s.connect(('${STACK_IP}', 80))
        s.send(b'GET /big HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')`, 12);
      const web = await legitCurls(ns, `http://${STACK_IP}/`, { count: 10, gapMs: 200, maxSeconds: 3, from: '10.0.0.3' });
      // Vanish: nothing the kernel would send for those sockets reaches the stack any more.
      await ns.run(['nft', '-f', '-'], { input: 'table inet vanish { chain out { type filter hook output priority 0; policy accept; ip saddr 10.0.0.1 tcp dport 80 drop } }\n' });
      const opened = stall.opened;
      await stall.done;
      await new Promise((r) => setTimeout(r, 20_000));
      await ns.run(['nft', 'delete', 'table', 'inet', 'vanish']);
      const held = await connectionsFrom(ns, '10.0.0.1');
      const after = await legitCurls(ns, `http://${STACK_IP}/`, { count: 5, gapMs: 100, maxSeconds: 3, from: '10.0.0.3' });
      const served = judge({ ok: web.ok + after.ok, total: web.total + after.total, p95: Math.max(web.p95, after.p95) }, { ratio: 0.99, p95: 1 }, { ratio: 0.8 });
      return {
        verdict: !alive(stack) ? 'failed' : served === 'held' && held <= 10 ? 'held' : served === 'failed' ? 'failed' : 'degraded',
        figures: { stalled: opened, otherClient: `${web.ok + after.ok}/${web.total + after.total}`, p95: Math.max(web.p95, after.p95), stillHeldAfter20s: held },
      };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};

/** Connections the stack still has with `ip` (from its status page). */
async function connectionsFrom(ns: Netns, ip: string): Promise<number> {
  const r = await ns.run(['curl', '-s', '-m', '10', `http://${STACK_IP}/_stack.json?all=1`], { timeoutMs: 15_000 });
  try {
    const s = JSON.parse(r.stdout) as { connections?: { remote?: string }[] };
    return (s.connections ?? []).filter((c) => c.remote?.startsWith(`${ip}:`) === true).length;
  } catch {
    return NaN;
  }
}
