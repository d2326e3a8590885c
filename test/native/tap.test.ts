// The TAP addon and its TS wrappers (native/tap.c, lib/link/tap.ts, lib/link/tap-link.ts).
// Argument errors are tested here directly (no root needed). Everything that touches a real
// tap runs in a child process (fixtures/tap-child.ts) inside a network namespace this test
// creates and deletes (Netns, scripts/netns.ts): TUNSETIFF looks the name up in the caller's
// namespace. Without root or /dev/net/tun those tests are skipped with the reason printed,
// never silently passed.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Tap, tapAddon } from '../../lib/link/tap.js';
import { Netns, tsLoaderArgs, type RunResult } from '../helpers/netns.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, 'fixtures', 'tap-child.ts');

function addonMissing(): string | undefined {
  try {
    tapAddon();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function realTapSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'TAP devices need Linux';
  if (process.getuid?.() !== 0) return 'real TAP tests need root (network namespaces and /dev/net/tun)';
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing (modprobe tun)';
  if (spawnSync('ip', ['-V']).status !== 0) return 'the `ip` command (iproute2) is missing';
  return undefined;
}

const missing = addonMissing();
if (missing !== undefined) {
  t.comment(`skipping TAP addon tests: ${missing}`);
  t.plan(0, missing);
} else {
  t.test('bad names fail before any privilege is needed, with EINVAL and a clear message', async (t) => {
    t.throws(() => new Tap('x'.repeat(16)), { code: 'EINVAL', errno: -22, message: /tap name "x+" is too long \(at most 15 bytes\)/ });
    t.throws(() => new Tap('a/b'), { code: 'EINVAL', message: /not a valid interface name/ });
    t.throws(() => tapAddon().getMtu('y'.repeat(40)), { code: 'EINVAL', message: /too long/ });
    const { TapHandle } = tapAddon();
    t.throws(() => new TapHandle(42 as unknown as string), { code: 'ERR_INVALID_ARG_TYPE' });
  });

  t.test('interface ioctls on a missing interface fail with ENODEV, a missing address reads as none', async (t) => {
    t.throws(() => tapAddon().getMtu('ts-nat-none0'), { code: 'ENODEV', syscall: 'SIOCGIFMTU', message: /no interface named ts-nat-none0/ });
    t.equal(tapAddon().getMtu('lo'), 65536, 'lo exists everywhere');
    t.same(tapAddon().getIpv4('lo'), ['127.0.0.1', 8]);
    t.equal(tapAddon().getMac('lo').length, 6);
  });

  const skip = realTapSkipReason();
  if (skip !== undefined) {
    t.comment(`skipping real TAP tests: ${skip}`);
    t.test('real TAP device in a network namespace', (t) => {
      t.plan(0, skip);
    });
  } else {
    realTapTests();
  }
}

// --- real TAP devices ------------------------------------------------------------------------

type ChildResult = RunResult & { out: Map<string, unknown> };

/**
 * Run one fixture scenario inside `ns`, under `prefix` (e.g. setpriv) when given; SIGKILL (by
 * pid) after `timeoutMs` means it hung. `out` holds the `{"k":…,"v":…}` lines it printed.
 * The default is generous: compiling its TypeScript and writing coverage, the child took 4 to 11 s
 * on a loaded machine and once past 20 s (killed as hung with all its work done); a hung one never ends.
 */
async function runChild(ns: Netns, args: string[], opts: { prefix?: string[]; timeoutMs?: number } = {}): Promise<ChildResult> {
  const argv = [...(opts.prefix ?? []), process.execPath, ...tsLoaderArgs(), fixture, ...args];
  const r = await ns.run(argv, { timeoutMs: opts.timeoutMs ?? 60_000, env: { ...process.env, DEBUG: '' } });
  const out = new Map<string, unknown>();
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const { k, v } = JSON.parse(line) as { k: string; v: unknown };
    out.set(k, v);
  }
  return { ...r, out };
}

function checkClean(t: Test, r: ChildResult, what: string): void {
  t.equal(r.signal, null, `${what}: the child ended by itself (not killed as hung)`);
  t.equal(r.code, 0, `${what}: exit code 0`);
  t.equal(r.out.get('fatal'), undefined, `${what}: no failure in the child`);
  if (r.code !== 0 || r.out.has('fatal')) t.comment(`stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function realTapTests(): void {
  t.test('TapLink creates tap0, configures the kernel side, receives its ARP, answers it, releases', async (t) => {
    const ns = Netns.create(t);
    const r = await runChild(ns, ['link']);
    checkClean(t, r, 'link scenario');
    const props = r.out.get('props') as Record<string, unknown>;
    t.match(props, { name: 'tap0', mtu: 1500, tapMtu: 1500, isUp: true, ipv4: '10.0.0.1/24' });
    t.match(props.mac, MAC_RE, 'mac is "aa:bb:cc:dd:ee:ff" text');
    t.ok((props.fd as number) >= 0);
    const macs = r.out.get('macs') as { host: string; stack: string };
    t.equal(macs.host, (props.mac as string).replaceAll(':', ''), 'hostMac is the kernel side');
    t.not(macs.stack, macs.host, "the stack's MAC differs from the kernel's");
    t.same(r.out.get('created'), { created: true, txQueueLen: 10000 }, 'a tap we create gets a 10 k transmit queue');
    t.same(r.out.get('arp'), { dst: 'ffffffffffff', src: macs.host, type: 0x0806, len: 42, senderMac: macs.host }, "the kernel's ARP request arrives whole");
    t.same(r.out.get('udp'), { dst: '020000000009', src: macs.host, type: 0x0800, len: 45, payload: 'hi\n' }, 'after our ARP reply the kernel sends the held datagram to our MAC');
    t.match(r.out.get('neigh'), /^10\.0\.0\.9 lladdr 02:00:00:00:00:09 (REACHABLE|STALE|DELAY)/, 'the kernel learnt the MAC we wrote');
    t.same(r.out.get('batch'), { dropped: 0, rxDelta: 3, linkDropped: 0 }, 'a batch write of 3 frames: 3 frames received by the kernel');
    const released = r.out.get('released') as { ms: number; fd: number };
    t.ok(released.ms < 2000, `release() returns promptly (${released.ms.toFixed(2)} ms; deleting a non-persistent tap waits for the kernel)`);
    t.equal(released.fd, -1);
    t.same(r.out.get('afterClose'), { dropped: 1 }, 'send() after close() counts a drop, does not throw');
    t.equal(r.out.get('end'), 'link');
    t.equal(spawnSync('ip', ['-n', ns.name, 'link', 'show', 'tap0']).status, 1, 'the tap we created is gone');
  });

  t.test('Tap is a Duplex: for await reads frames, write() writes one, release() ends the loop', async (t) => {
    const ns = Netns.create(t);
    const r = await runChild(ns, ['stream']);
    checkClean(t, r, 'stream scenario');
    t.match(r.out.get('props'), { name: 'tap0', isUp: true, ipv4: '10.0.0.1/24', mtu: 1500, isTap: true });
    t.match(r.out.get('arp'), { dst: 'ffffffffffff', type: 0x0806 });
    t.equal(r.out.get('written'), null, 'write(frame, cb): no error');
    t.match(r.out.get('udp'), { dst: '020000000009', payload: 'hi\n' });
    t.ok((r.out.get('released') as { ms: number }).ms < 2000, 'release() returns promptly');
    t.match(r.out.get('loopEnded'), { released: true }, 'the for-await loop ended after release()');
    t.equal(r.out.get('timeout'), undefined);
    t.match(r.out.get('again'), { type: 0x0806 }, 'a re-created tap0 reads again');
    t.same(r.out.get('afterBreak'), { released: true, destroyed: true, fd: -1 }, 'break out of for-await releases the tap');
  });

  t.test('a persistent tap: attach, EBUSY for a second opener, offloads reset on every attach', async (t) => {
    const ns = Netns.create(t);
    const add = spawnSync('ip', ['-n', ns.name, 'tuntap', 'add', 'dev', 'tapp', 'mode', 'tap'], { encoding: 'utf8' });
    t.equal(add.status, 0, `ip tuntap add: ${add.stderr}`);
    const r = await runChild(ns, ['persistent']);
    checkClean(t, r, 'persistent scenario');
    t.match(r.out.get('attached'), { name: 'tapp', mac: MAC_RE, created: false, txQueueLen: 1000 }, "an attached tap's queue is left as it is");
    t.match(r.out.get('busy'), { code: 'EBUSY', errno: -16, syscall: 'TUNSETIFF', message: 'tap tapp is busy: another process has it open' });
    t.same(r.out.get('downWrite'), { sent: false, batchDropped: 2, dropped: 3 }, 'writes to a down tap are drops, not errors');
    t.match(r.out.get('runt'), { code: 'EINVAL', syscall: 'write', index: 1, message: /writing a 10-byte frame failed/ }, 'a runt frame throws, naming its index in the batch');
    t.match(r.out.get('afterRelease'), { code: 'EBADF', message: 'tap tapp is released' });
    const on = r.out.get('offloadOn') as { vnetHdr: boolean; ethtool: string };
    t.equal(on.vnetHdr, true);
    if (on.ethtool === '') {
      t.comment('ethtool is missing: offload state not checked');
    } else {
      t.match(on.ethtool, /tx-checksumming: on.*tcp-segmentation-offload: on/, 'setOffload(CSUM|TSO4) on a vnet-header tap');
      t.match(r.out.get('offloadAfterRelease'), /tx-checksumming: on/, 'a persistent tap remembers offloads');
      t.match(r.out.get('offloadReattach'), /tx-checksumming: off.*tcp-segmentation-offload: off/, 'attach sets TUNSETOFFLOAD 0');
    }
    t.equal(spawnSync('ip', ['-n', ns.name, 'link', 'show', 'tapp']).status, 0, 'the persistent tap is still there');
  });

  t.test('offloads: vnet headers both ways, the kernel hands a partial UDP checksum, writev pieces make one frame', async (t) => {
    const ns = Netns.create(t);
    const r = await runChild(ns, ['offload']);
    checkClean(t, r, 'offload scenario');
    const on = r.out.get('offloadOn') as { vnetHdr: boolean; offload: boolean; ethtool: string };
    t.match(on, { vnetHdr: true, offload: true });
    if (on.ethtool !== '') t.match(on.ethtool, /tx-checksumming: on.*tcp-segmentation-offload: on/, 'TUNSETOFFLOAD(CSUM|TSO4)');
    t.same(r.out.get('arp'), { len: 42, offload: null }, 'an ARP request: a zero vnet header, a plain frame');
    t.same(r.out.get('udp'), { payload: 'hi\n', offload: { csumStart: 34, csumOffset: 6, csumValid: false, gsoSize: 0 } }, "the kernel's UDP datagram: NEEDS_CSUM at the UDP checksum");
    t.same(r.out.get('pieces'), { rxDelta: 1, dropped: 0 }, 'header + two pieces: one frame received by the kernel');
    t.same(r.out.get('counters'), {}, 'no vnet header refused');
  });

  t.test('the writer thread: mixed frames whole and in order through a wrapping ring, drops counted, release() writes the queue', async (t) => {
    const ns = Netns.create(t);
    const r = await runChild(ns, ['writer']);
    checkClean(t, r, 'writer scenario');
    const order = r.out.get('order') as { received: number; inOrder: boolean; whole: boolean; refused: number; stats: { written: number; dropped: number }; dropped: number };
    t.match(order, { received: 4000, inOrder: true, whole: true, refused: 0, dropped: 0 }, '4000 datagrams of 102..1514-byte frames: all received, whole, in the order written');
    // About a third of the frames reach minLength; small ones written while frames are queued go behind them.
    t.ok(order.stats.written > 1300 && order.stats.written < 4000, `the thread wrote ${order.stats.written} (the big ones and what queued behind them), the JS thread the rest`);
    t.same(order.stats.dropped, 0);
    t.same(r.out.get('inBatch'), { received: 50, inOrder: true }, '50 frames written inside a read batch: woken at its end, all delivered');
    t.same(r.out.get('down'), { dropped: 20, stats: { written: order.stats.written + 50, dropped: 20 } }, 'a down interface: the thread counts 20 drops, the tap reports them');
    t.same(r.out.get('drain'), { received: 500, inOrder: true, stats: { written: order.stats.written + 550, dropped: 20 } }, 'release() right after 500 writes: all 500 written first');
  });

  t.test('without root, or without CAP_NET_ADMIN, opening fails and says what is needed', async (t) => {
    const ns = Netns.create(t);
    const r = await runChild(ns, ['noperm', 'nobody']);
    checkClean(t, r, 'as nobody');
    t.match(r.out.get('open'), { code: 'EACCES', syscall: 'open', message: /^opening \/dev\/net\/tun needs root or CAP_NET_ADMIN/ });
    if (spawnSync('setpriv', ['--version']).status !== 0) {
      t.comment('setpriv (util-linux) is missing: the CAP_NET_ADMIN case is not run');
      return;
    }
    // Root without CAP_NET_ADMIN may open /dev/net/tun but not create a tap: EPERM from TUNSETIFF.
    const c = await runChild(ns, ['noperm'], { prefix: ['setpriv', '--bounding-set=-net_admin', '--inh-caps=-net_admin', '--'] });
    checkClean(t, c, 'without CAP_NET_ADMIN');
    t.match(c.out.get('open'), { code: 'EPERM', syscall: 'TUNSETIFF', message: /^opening \/dev\/net\/tun needs root or CAP_NET_ADMIN/ });
  });

  t.test('a tap deleted while being read: an error event, then the process ends', async (t) => {
    const ns = Netns.create(t);
    const r = await runChild(ns, ['deleted']);
    checkClean(t, r, 'deleted scenario');
    t.match(r.out.get('error'), { code: 'EBADFD', syscall: 'read', message: /tap tap0: reading failed/ });
    t.match(r.out.get('close'), { released: true, fd: -1 });
  });

  t.test('an unref()ed reader does not keep the process alive; a ref()ed one does', async (t) => {
    const ns = Netns.create(t);
    const r = await runChild(ns, ['unref']);
    checkClean(t, r, 'unref scenario');
    t.equal(r.out.get('aliveWhileReading'), true, 'the ref()ed reader kept the process alive until released');
  });
}
