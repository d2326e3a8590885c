import t from 'tap';
import { reasonOf } from '../helpers/reason-of.js';
import { ArpOp, ARP_LEN, parseArp, writeArp } from '../../lib/wire/arp.js';
import { parseEthernet } from '../../lib/wire/ethernet.js';
import { ipToString, macToString, parseIp, parseMac } from '../../lib/wire/ip-address.js';
import { LINUX_ARP_REQUEST } from '../helpers/linux-frames.js';

t.test('parses the kernel\'s ARP request', async (t) => {
  const a = parseArp(parseEthernet(LINUX_ARP_REQUEST).payload);
  t.equal(a.op, ArpOp.request);
  t.equal(macToString(a.senderMac), '0e:17:b4:69:5d:de');
  t.equal(ipToString(a.senderIp), '10.0.0.1');
  t.equal(macToString(a.targetMac), '00:00:00:00:00:00');
  t.equal(ipToString(a.targetIp), '10.0.0.2');
});

t.test('writes the same bytes back (round trip), padding ignored on parse', async (t) => {
  const orig = parseEthernet(LINUX_ARP_REQUEST).payload;
  const b = Buffer.alloc(46); // 28 + 18 bytes of Ethernet minimum-size padding
  t.equal(writeArp(b, 0, parseArp(orig)), ARP_LEN);
  t.same(b.subarray(0, 28), orig);
  t.equal(parseArp(b).targetIp, parseIp('10.0.0.2'));
  const r = Buffer.alloc(30);
  writeArp(r, 2, { op: ArpOp.reply, senderMac: parseMac('0e:17:b4:69:5d:df'), senderIp: parseIp('10.0.0.2'), targetMac: parseMac('0e:17:b4:69:5d:de'), targetIp: parseIp('10.0.0.1') });
  t.equal(r.subarray(2).toString('hex'), '000108000604' + '0002' + '0e17b4695ddf' + '0a000002' + '0e17b4695dde' + '0a000001');
});

t.test('truncated and unsupported', async (t) => {
  const p = parseEthernet(LINUX_ARP_REQUEST).payload;
  t.equal(reasonOf(() => parseArp(p.subarray(0, 5))), 'arp.truncated');
  t.equal(reasonOf(() => parseArp(p.subarray(0, 27))), 'arp.truncated');
  for (const [off, v] of [[1, 6], [2, 0x86], [4, 8], [5, 16], [7, 3]] as const) {
    const b = Buffer.from(p);
    b[off] = v;
    t.equal(reasonOf(() => parseArp(b)), 'arp.unsupported', `byte ${off} = ${v}`);
  }
});
