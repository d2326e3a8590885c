// arp-spoof: another MAC claims the stack's address on the link (three gratuitous ARPs, as a man
// in the middle or a misconfigured host would). The only other host on a tap is the kernel, so
// what can be checked is the stack's side of RFC 5227 §2.4: it must defend its address with an
// announcement of its own (seen on the wire by tcpdump) and keep serving. Held: defended, served.
import { buildArpFrame } from '../../lib/net/arp.js';
import { ArpOp } from '../../lib/wire/arp.js';
import { BROADCAST_MAC } from '../../lib/wire/ethernet.js';
import { parseIp } from '../../lib/wire/ip-address.js';
import { startTapstack, type Netns } from '../netns.js';
import { counters, injectFrames, legitCurls, STACK_IP, type Attack } from './attack.js';

const ATTACKER_MAC = Buffer.from([0x02, 0xba, 0xd0, 0x00, 0x00, 0x01]);

export const arpSpoof: Attack = {
  name: 'arp-spoof',
  describe: 'three gratuitous ARPs claiming the stack\'s address for another MAC; the stack must defend it',
  async run(ns: Netns) {
    const stack = await startTapstack(ns, ['--access-log', '/dev/null']);
    const stackMac = /mac ([0-9a-f:]{17})/.exec(stack.stdout)?.[1] ?? '';
    await ns.run(['ping', '-c', '2', '-W', '2', STACK_IP]);
    // After the start-up announcements (3, 1 s apart), so that any announcement seen is a defence.
    await new Promise((r) => setTimeout(r, 2500));
    // Announcements from the stack's MAC for its own address (sender = target = 10.0.0.2). The
    // claims go out once tcpdump says its capture is open, and it watches until a defence shows or
    // 10 s pass: with fixed pauses a slow tcpdump start on a loaded machine missed the only
    // defence a DEFEND_INTERVAL allows, and a defended address read as undefended.
    const watch = ns.spawn(['tcpdump', '-l', '-n', '-i', 'tap0', `arp and ether src ${stackMac} and arp[14:4] = 0x0a000002 and arp[24:4] = 0x0a000002`]);
    let seen = '';
    let said = '';
    watch.stdout!.on('data', (b: Buffer) => (seen += b.toString()));
    watch.stderr!.on('data', (b: Buffer) => (said += b.toString()));
    const ended = new Promise((r) => watch.once('close', r));
    if (!(await within(10_000, () => /listening on tap0/.test(said)))) throw new Error(`tcpdump did not start: ${said}`);
    const ip = parseIp(STACK_IP);
    const claim = buildArpFrame(ArpOp.request, ATTACKER_MAC, ip, Buffer.alloc(6), ip, BROADCAST_MAC);
    await injectFrames(ns, 'tap0', [claim], { count: 3, seconds: 2, pps: 10 });
    await within(10_000, () => /ARP/.test(seen));
    watch.kill('SIGINT'); // tcpdump prints what it has and exits
    await ended;
    const announcements = seen.split('\n').filter((l) => /ARP/.test(l)).length;
    const w = await legitCurls(ns, `http://${STACK_IP}/`, { count: 5, gapMs: 100, maxSeconds: 10 }); // served at all, not how fast
    const c = await counters(ns);
    return {
      verdict: announcements >= 1 && w.ok === w.total ? 'held' : w.ok > 0 ? 'degraded' : 'failed',
      figures: { claims: 3, defencesOnWire: announcements, requests: `${w.ok}/${w.total}`, conflicts: c('drop.arp.conflict') },
    };
  },
};

/** Poll `cond` until it holds (true) or `ms` pass (false). */
async function within(ms: number, cond: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
