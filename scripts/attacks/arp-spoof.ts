// arp-spoof: another MAC claims the stack's address to the kernel (three gratuitous ARPs, as a
// man in the middle or a misconfigured host would). The stack must defend it (RFC 5227 §2.4):
// held when the kernel points at the stack again within a second and requests get through.
import { buildArpFrame } from '../../lib/net/arp.js';
import { ArpOp } from '../../lib/wire/arp.js';
import { BROADCAST_MAC } from '../../lib/wire/ethernet.js';
import { macToString, parseIp } from '../../lib/wire/ip-address.js';
import { startTapstack, type Netns } from '../netns.js';
import { counters, injectFrames, legitCurls, STACK_IP, type Attack } from './attack.js';

const ATTACKER_MAC = Buffer.from([0x02, 0xba, 0xd0, 0x00, 0x00, 0x01]);

export const arpSpoof: Attack = {
  name: 'arp-spoof',
  describe: 'three gratuitous ARPs claiming the stack\'s address for another MAC; the kernel must point at the stack again',
  async run(ns: Netns) {
    await startTapstack(ns, ['--access-log', '/dev/null']);
    await ns.run(['ping', '-c', '2', '-W', '2', STACK_IP]);
    const ours = neighbourMac(ns);
    const ip = parseIp(STACK_IP);
    const claim = buildArpFrame(ArpOp.request, ATTACKER_MAC, ip, Buffer.alloc(6), ip, BROADCAST_MAC);
    await injectFrames(ns, 'tap0', [claim], { count: 3, seconds: 2, pps: 10 });
    await new Promise((r) => setTimeout(r, 1000));
    const after = neighbourMac(ns);
    const w = await legitCurls(ns, `http://${STACK_IP}/`, { count: 5, gapMs: 100, maxSeconds: 2 });
    const c = await counters(ns);
    const restored = after === ours;
    return {
      verdict: restored && w.ok === w.total ? 'held' : w.ok > 0 ? 'degraded' : 'failed',
      figures: { kernelSees: after === macToString(ATTACKER_MAC) ? 'attacker' : restored ? 'stack' : after || 'none', requests: `${w.ok}/${w.total}`, defended: c('arp.tx.defend'), conflicts: c('drop.arp.conflict') },
    };
  },
};

/** The MAC the kernel's neighbour table holds for the stack. */
function neighbourMac(ns: Netns): string {
  return /lladdr ([0-9a-f:]{17})/.exec(ns.runSync(['ip', 'neigh', 'show', STACK_IP, 'dev', 'tap0']).stdout)?.[1] ?? '';
}
