// IP IDs per destination (issue 10 item 9; RFC 6864, RFC 7739 §5.3): what we send to one host
// does not show in the IDs another host sees, so tapstack cannot be an idle-scan zombie.
import t from 'tap';
import { IpIdGenerator } from '../../lib/net/ip-id.js';
import { SeededRng } from '../../lib/rng.js';
import { parseIp, parseMac } from '../../lib/wire/ip-address.js';
import { IpProto } from '../../lib/wire/ipv4.js';
import { arpFrame, decode, echoRequest, learnPeer, makeStack, PEER_IP } from '../helpers/net-fixtures.js';

const A = parseIp('10.0.0.1');
const B = parseIp('10.0.0.66');

t.test('each destination has its own counter, starting at a keyed-random value', async (t) => {
  const g = new IpIdGenerator(new SeededRng(1).bytes(16));
  const a0 = g.next(A, IpProto.TCP);
  for (let i = 0; i < 1000; i++) g.next(B, IpProto.TCP);
  t.equal(g.next(A, IpProto.TCP), (a0 + 1) & 0xffff, 'a thousand datagrams to B do not move A\'s counter');
  const other = new IpIdGenerator(new SeededRng(2).bytes(16));
  const starts = [A, B, parseIp('10.0.0.7')].map((d) => other.next(d, IpProto.UDP));
  t.not(new IpIdGenerator(new SeededRng(2).bytes(16)).next(A, IpProto.UDP), a0, 'another key, another start');
  t.equal(new Set(starts).size, 3, 'destinations start apart');
  t.throws(() => new IpIdGenerator(new Uint8Array(16), 1000), RangeError);
});

t.test('a counter wraps at 65536', async (t) => {
  const g = new IpIdGenerator(new Uint8Array(16), 1);
  const first = g.next(A, 1);
  for (let i = 1; i < 65536; i++) g.next(A, 1);
  t.equal(g.next(A, 1), first, 'back to the start after 2^16 datagrams');
});

t.test('the stack: IDs seen by one host do not count what it sends to another (no idle-scan zombie)', async (t) => {
  const { stack, link } = makeStack();
  learnPeer(link);
  learnPeer(link, arpFrame({ senderIp: B, senderMac: parseMac('02:00:00:00:00:66') }));
  const idTo = (dst: number): number => {
    stack.sendIp(dst, IpProto.ICMP, echoRequest(1, 1, Buffer.alloc(8)));
    return decode(link.take()[0]!).ip!.id;
  };
  const first = idTo(PEER_IP);
  for (let i = 0; i < 50; i++) idTo(B);
  t.equal(idTo(PEER_IP), (first + 1) & 0xffff, 'the next ID to 10.0.0.1 is the next one of its own counter');
});

t.test('a super-segment the link cuts into n datagrams takes n IDs', async (t) => {
  const g = new IpIdGenerator(new Uint8Array(16), 1);
  const first = g.next(A, IpProto.TCP, 5);
  t.equal(g.next(A, IpProto.TCP), (first + 5) & 0xffff, 'the kernel gives the 5 cut segments first..first+4; the next datagram follows them');
});
