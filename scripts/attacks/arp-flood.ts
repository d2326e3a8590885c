// arp-flood: who-has requests for the stack's address from thousands of made-up senders (random
// MACs, random addresses on and off the subnet) while the kernel pings and fetches pages.
// Held: every legitimate ping and request answered, the stack alive.
import { buildArpFrame } from '../../lib/net/arp.js';
import { ArpOp } from '../../lib/wire/arp.js';
import { BROADCAST_MAC } from '../../lib/wire/ethernet.js';
import { parseIp } from '../../lib/wire/ip-address.js';
import { startTapstack, type Netns } from '../netns.js';
import { alive, counters, injectFrames, legitCurls, randomMac, rssMb, STACK_IP, type Attack } from './attack.js';

export const arpFlood: Attack = {
  name: 'arp-flood',
  describe: '60,000 ARP requests from random senders in 6 s; legit ping and curl meanwhile',
  async run(ns: Netns) {
    const stack = await startTapstack(ns, ['--access-log', '/dev/null']);
    await ns.run(['ping', '-c', '2', '-W', '2', STACK_IP]);
    const target = parseIp(STACK_IP);
    const frames: Buffer[] = [];
    for (let i = 0; i < 4096; i++) {
      // Three in four on our /24 (they would be cached), the rest anywhere.
      const sender = i % 4 === 3 ? (Math.random() * 0xffffffff) >>> 0 : (parseIp('10.0.0.0') | (3 + Math.floor(Math.random() * 250))) >>> 0;
      const mac = randomMac(Math.random);
      frames.push(buildArpFrame(ArpOp.request, mac, sender, Buffer.alloc(6), target, BROADCAST_MAC));
    }
    const flood = injectFrames(ns, 'tap0', frames, { count: 60_000, seconds: 6, pps: 10_000 });
    const ping = ns.run(['ping', '-c', '100', '-i', '0.05', '-W', '1', STACK_IP], { timeoutMs: 20_000 });
    const web = legitCurls(ns, `http://${STACK_IP}/`, { count: 20, gapMs: 250, maxSeconds: 3 });
    const [sent, p, w] = await Promise.all([flood, ping, web]);
    const received = Number(/(\d+) received/.exec(p.stdout)?.[1] ?? 0);
    const c = await counters(ns);
    const up = alive(stack);
    const rss = up ? rssMb(stack.proc.pid!) : NaN;
    const okRatio = (received + w.ok) / (100 + w.total);
    return {
      verdict: up && okRatio === 1 ? 'held' : up && okRatio >= 0.95 ? 'degraded' : 'failed',
      figures: {
        frames: sent, pings: `${received}/100`, requests: `${w.ok}/${w.total}`,
        rateLimited: c('drop.arp.rateLimited'), badSender: c('drop.arp.badSenderIp'), evicted: c('arp.cache.evicted'), cacheFull: c('arp.cache.full'), rssMb: Math.round(rss),
      },
    };
  },
};
