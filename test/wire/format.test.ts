import t from 'tap';
import { formatFrame, formatIpPacket } from '../../lib/wire/format.js';
import { EtherType } from '../../lib/wire/ethernet.js';
import { buildIcmp } from '../../lib/wire/icmp.js';
import { parseIp } from '../../lib/wire/ip-address.js';
import { seq } from '../../lib/wire/seq.js';
import { serializeTcp, TCP_FLAGS } from '../../lib/wire/tcp.js';
import { LINUX_ARP_REQUEST, LINUX_PING, LINUX_TCP_SYN, LINUX_UDP } from '../helpers/linux-frames.js';
import { arpFrame, echoRequest, ethFrame, ipFrame, ipPacket, PEER_IP, STACK_IP } from '../helpers/net-fixtures.js';

t.test('one line per protocol', async (t) => {
  t.equal(formatFrame(LINUX_ARP_REQUEST), 'ARP who-has 10.0.0.2 tell 10.0.0.1');
  t.equal(formatFrame(arpFrame({ op: 2, senderIp: STACK_IP, targetIp: PEER_IP })), 'ARP 10.0.0.2 is-at 02:00:00:00:00:01');
  t.equal(formatFrame(arpFrame({ senderIp: STACK_IP, targetIp: STACK_IP })), 'ARP who-has 10.0.0.2 tell 10.0.0.2 (gratuitous)');
  t.equal(formatFrame(LINUX_PING), '10.0.0.1 > 10.0.0.2 ICMP echo request id=29117 seq=1 len=56');
  t.equal(formatFrame(LINUX_UDP), '10.0.0.1:58885 > 10.0.0.2:7 UDP len=6');
  t.equal(formatFrame(LINUX_TCP_SYN), '10.0.0.1:33334 > 10.0.0.2:7 [SYN] Seq=1592574074 Win=64240 Len=0 MSS=1460 SACK_PERM TSval=3705123234 TSecr=0 WS=1024');
});

t.test('fragments', async (t) => {
  const first = ipFrame(echoRequest(1, 2, Buffer.alloc(64)).subarray(0, 24), { mf: true, id: 77 });
  t.equal(formatFrame(first), '10.0.0.1 > 10.0.0.2 ICMP echo request id=1 seq=2 len=16 frag id=77 off=0 MF');
  t.equal(formatFrame(ipFrame(Buffer.alloc(48), { fragOffset: 24, id: 77 })), '10.0.0.1 > 10.0.0.2 ICMP len=48 frag id=77 off=24');
});

t.test('ICMP errors name what they quote', async (t) => {
  const quoted = ipPacket(Buffer.from([0x13, 0x88, 0, 9, 0, 8, 0, 0]), { src: STACK_IP, dst: PEER_IP, protocol: 17 });
  t.equal(formatFrame(ipFrame(buildIcmp(3, 3, 0, quoted))), '10.0.0.1 > 10.0.0.2 ICMP port unreachable (about 10.0.0.2:5000 > 10.0.0.1:9 UDP)');
  t.equal(formatFrame(ipFrame(buildIcmp(3, 4, 1400, quoted))), '10.0.0.1 > 10.0.0.2 ICMP frag needed mtu=1400 (about 10.0.0.2:5000 > 10.0.0.1:9 UDP)');
  t.equal(formatFrame(ipFrame(buildIcmp(11, 1, 0, quoted.subarray(0, 20)))), '10.0.0.1 > 10.0.0.2 ICMP time exceeded in reassembly (about 10.0.0.2 > 10.0.0.1 UDP)');
});

t.test('TCP via lib/wire/tcp.ts: flags, options spelt out, and a hook for teaching mode', async (t) => {
  const syn = serializeTcp(
    { srcPort: 49312, dstPort: 80, seq: seq(1000), ack: seq(0), flags: TCP_FLAGS.SYN, window: 64240, options: { mss: 1460, sackPermitted: true, ts: { val: 5, ecr: 0 }, wscale: 7 } },
    PEER_IP, STACK_IP,
  );
  const f = ipFrame(syn, { protocol: 6 });
  t.equal(formatFrame(f), '10.0.0.1:49312 > 10.0.0.2:80 [SYN] Seq=1000 Win=64240 Len=0 MSS=1460 SACK_PERM TSval=5 TSecr=0 WS=128');
  const ack = serializeTcp({ srcPort: 80, dstPort: 49312, seq: seq(7), ack: seq(1001), flags: TCP_FLAGS.ACK | TCP_FLAGS.PSH, window: 502, payload: Buffer.from('hi'), options: { sack: [{ left: seq(10), right: seq(20) }] } }, STACK_IP, PEER_IP);
  t.equal(formatIpPacket(ipPacket(ack, { protocol: 6, src: STACK_IP, dst: PEER_IP })), '10.0.0.2:80 > 10.0.0.1:49312 [PSH, ACK] Seq=7 Ack=1001 Win=502 Len=2 SLE=10 SRE=20');
  const bad = Buffer.from(f);
  bad[bad.length - 1] ^= 1;
  t.match(formatFrame(bad), /\[SYN\].* \[bad cksum\]$/);
  t.equal(formatFrame(ipFrame(Buffer.alloc(10), { protocol: 6 })), '10.0.0.1 > 10.0.0.2 TCP malformed tcp.truncated len=10');
  t.equal(formatFrame(f, { tcp: (s, d, b) => `${s === PEER_IP} ${d === parseIp('10.0.0.2')} ${b.length}` }), 'true true 40');
});

t.test('bad checksums are shown, malformed frames named, nothing throws', async (t) => {
  const ping = Buffer.from(LINUX_PING);
  ping[60] ^= 0xff;
  t.match(formatFrame(ping), /\[bad cksum\]$/);
  const udp = Buffer.from(LINUX_UDP);
  udp[45] ^= 0xff;
  t.match(formatFrame(udp), /UDP len=6 \[bad cksum\]$/);
  t.equal(formatFrame(Buffer.alloc(5)), 'malformed eth.truncated len=5');
  t.equal(formatFrame(ethFrame(Buffer.alloc(10))), 'malformed ip.truncated len=10');
  t.equal(formatFrame(ethFrame(Buffer.alloc(10), EtherType.ARP)), 'malformed arp.unsupported len=10');
  t.equal(formatFrame(ipFrame(Buffer.alloc(3), { protocol: 17 })), '10.0.0.1 > 10.0.0.2 UDP malformed udp.truncated len=3');
  t.equal(formatFrame(ethFrame(Buffer.alloc(40), EtherType.IPv6)), '02:00:00:00:00:01 > 02:00:00:00:00:02 IPv6 len=40');
  t.equal(formatFrame(ethFrame(Buffer.alloc(2), 0x88cc)), '02:00:00:00:00:01 > 02:00:00:00:00:02 ethertype 0x88cc len=2');
  t.equal(formatIpPacket(ipPacket(Buffer.alloc(4), { protocol: 47 })), '10.0.0.1 > 10.0.0.2 proto 47 len=4');
  let lines = 0;
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.from(LINUX_PING.subarray(0, (i * 7) % 99));
    b[(i * 13) % Math.max(1, b.length)] ^= i & 0xff;
    if (typeof formatFrame(b) === 'string') lines++;
  }
  t.equal(lines, 2000, 'every truncated or mutated frame formats');
});
