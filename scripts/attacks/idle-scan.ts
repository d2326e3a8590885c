// idle-scan: can the stack be an nmap idle-scan "zombie"? The attacker (10.0.0.1) reads the IP
// ID of the stack's answers to itself, makes the stack send 20 datagrams to a third host
// (10.0.0.3) and reads again. Held when the attacker's IDs moved by exactly its own probes.
import { startTapstack, type Netns } from '../netns.js';
import { STACK_IP, type Attack } from './attack.js';

export const idleScan: Attack = {
  name: 'idle-scan',
  describe: 'IP ID seen by 10.0.0.1 before and after the stack sends 20 datagrams to 10.0.0.3 (3 rounds)',
  async run(ns: Netns) {
    await startTapstack(ns, ['--access-log', '/dev/null']);
    ns.runSync(['ip', 'addr', 'add', '10.0.0.3/24', 'dev', 'tap0']);
    await ns.run(['ping', '-c', '1', '-W', '2', STACK_IP]);
    await ns.run(['ping', '-c', '1', '-W', '2', '-I', '10.0.0.3', STACK_IP]);
    const deltas: number[] = [];
    for (let round = 0; round < 3; round++) {
      const before = await probeId(ns);
      await ns.run(['ping', '-c', '20', '-i', '0.01', '-W', '1', '-I', '10.0.0.3', STACK_IP]);
      const after = await probeId(ns);
      deltas.push((after - before + 0x10000) & 0xffff);
    }
    // A global counter moves by 1 + 20 between probes; a per-destination one by 1.
    const leaks = deltas.filter((d) => d >= 20).length;
    return {
      verdict: deltas.every((d) => d === 1) ? 'held' : leaks === 0 ? 'degraded' : 'failed',
      figures: { idDeltas: deltas.join(','), victimDatagrams: 20 },
    };
  },
};

/** The IP ID of the stack's SYN-ACK to a SYN from 10.0.0.1 (hping3 prints it as id=N). */
async function probeId(ns: Netns): Promise<number> {
  const r = await ns.run(['hping3', '-c', '1', '-S', '-p', '80', STACK_IP], { timeoutMs: 10_000 });
  const m = /id=(\d+)/.exec(r.stdout);
  if (m === null) throw new Error(`hping3 got no answer: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}
