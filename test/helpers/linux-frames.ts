// Frames as the Linux kernel (6.x) and iputils emit them on a tap, as annotated hex. They were
// written byte for byte after what `tcpdump -xx` shows for the same traffic (kernel side of the
// tap 10.0.0.1 with MAC 3a:1f:6c:0a:5e:01, the stack 10.0.0.2 at 02:00:00:00:00:02); their
// checksums are real and the tests verify them.

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/#[^\n]*/g, '').replace(/\s+/g, ''), 'hex');
}

/** `arping`/kernel neighbour resolution: who-has 10.0.0.2 tell 10.0.0.1 (42 bytes, no padding on a tap). */
export const LINUX_ARP_REQUEST = hex(`
  ffffffffffff 3a1f6c0a5e01 0806   # eth: broadcast <- kernel, ARP
  0001 0800 06 04 0001             # htype Ethernet, ptype IPv4, hlen 6, plen 4, op request
  3a1f6c0a5e01 0a000001            # sender MAC, sender IP 10.0.0.1
  000000000000 0a000002            # target MAC (zero in a request), target IP 10.0.0.2
`);

/** `ping -c1 10.0.0.2` (iputils): 98 bytes, DF set, 16-byte timeval then bytes 0x10..0x37. */
export const LINUX_PING = hex(`
  020000000002 3a1f6c0a5e01 0800   # eth: stack <- kernel, IPv4
  45 00 0054 8f3e 4000 40 01 9768  # IPv4: ihl 5, len 84, id 0x8f3e, DF, ttl 64, ICMP, checksum 0x9768
  0a000001 0a000002                # 10.0.0.1 > 10.0.0.2
  08 00 86c8 1c2b 0001             # ICMP echo request, checksum 0x86c8, id 0x1c2b, seq 1
  00f1536500000000 40e2010000000000  # struct timeval (little-endian tv_sec, tv_usec)
  101112131415161718191a1b1c1d1e1f 202122232425262728292a2b2c2d2e2f 3031323334353637
`);

/** \`echo hello | nc -u 10.0.0.2 7\`: Linux sets DF on UDP (pmtudisc "want") and always checksums. */
export const LINUX_UDP = hex(`
  020000000002 3a1f6c0a5e01 0800   # eth: stack <- kernel, IPv4
  45 00 0022 5d2c 4000 40 11 c99c  # IPv4: len 34, id 0x5d2c, DF, ttl 64, UDP, checksum 0xc99c
  0a000001 0a000002                # 10.0.0.1 > 10.0.0.2
  c35a 0007 000e e491              # UDP 50010 > 7, length 14, checksum 0xe491
  68656c6c6f0a                     # "hello\\n"
`);
