import t from 'tap';
import { BROADCAST_MAC, EtherType, isBroadcastMac, isGroupMac, macEquals, parseEthernet, writeEthernetHeader } from '../../lib/wire/ethernet.js';
import { macToString } from '../../lib/wire/ip-address.js';
import { WireError } from '../../lib/wire/wire-error.js';
import { LINUX_HOST_MAC, LINUX_PING, LINUX_STACK_MAC } from '../helpers/linux-frames.js';

t.test('parses a Linux frame into MACs, type and a payload view', async (t) => {
  const e = parseEthernet(LINUX_PING);
  t.equal(macToString(e.dst), '0e:17:b4:69:5d:df');
  t.equal(macToString(e.src), '0e:17:b4:69:5d:de');
  t.same(e.dst, LINUX_STACK_MAC);
  t.same(e.src, LINUX_HOST_MAC);
  t.equal(e.etherType, EtherType.IPv4);
  t.equal(e.payload.length, 84);
  t.equal(e.payload.buffer, LINUX_PING.buffer, 'a view, not a copy');
  t.equal(e.payload.byteOffset, LINUX_PING.byteOffset + 14);
});

t.test('writes a header and round-trips', async (t) => {
  const b = Buffer.alloc(20);
  t.equal(writeEthernetHeader(b, 2, BROADCAST_MAC, Buffer.from('020000000001', 'hex'), EtherType.ARP), 16);
  t.equal(b.subarray(2, 16).toString('hex'), 'ffffffffffff0200000000010806');
  const e = parseEthernet(b.subarray(2));
  t.ok(isBroadcastMac(e.dst));
  t.equal(e.etherType, 0x0806);
});

t.test('a runt is eth.truncated', async (t) => {
  t.throws(() => parseEthernet(Buffer.alloc(13)), new WireError('eth.truncated', '13 bytes'));
  t.equal(parseEthernet(Buffer.alloc(14)).payload.length, 0);
});

t.test('mac predicates', async (t) => {
  t.ok(isGroupMac(Buffer.from('01005e000001', 'hex')));
  t.notOk(isGroupMac(Buffer.from('020000000001', 'hex')));
  t.notOk(isBroadcastMac(Buffer.from('01005e000001', 'hex')));
  t.ok(macEquals(Buffer.from('020000000001', 'hex'), Buffer.from('020000000001', 'hex')));
  t.notOk(macEquals(Buffer.from('020000000001', 'hex'), Buffer.from('020000000002', 'hex')));
});
