// Real frames from the Linux kernel, as annotated hex. They were captured with tapstack's own
// `--pcap` on a tap in a network namespace (Linux 6.18; the kernel side of the tap is 10.0.0.1 with
// MAC 0e:17:b4:69:5d:de, tapstack is 10.0.0.2 at 0e:17:b4:69:5d:df), while iputils-ping 20221126
// and netcat-openbsd 1.219 talked to tapstack, and copied here byte for byte (frames 2, 4, 6 and 9
// of that capture). Each is a full Ethernet frame exactly as it came off the tap (no FCS, no
// padding). Every checksum in them is the kernel's, and the tests verify them with lib/wire/*.

import { parseMac } from '../../lib/wire/ip-address.js';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/#[^\n]*/g, '').replace(/\s+/g, ''), 'hex');
}

/** The kernel side of the tap (10.0.0.1): the source of every frame here. */
export const LINUX_HOST_MAC = parseMac('0e:17:b4:69:5d:de');
/** tapstack's MAC (10.0.0.2) in the capture: the destination of every unicast frame here. */
export const LINUX_STACK_MAC = parseMac('0e:17:b4:69:5d:df');

/** Kernel neighbour resolution: who-has 10.0.0.2 tell 10.0.0.1 (42 bytes, no padding on a tap). */
export const LINUX_ARP_REQUEST = hex(`
  ffffffffffff 0e17b4695dde 0806   # eth: broadcast <- kernel 0e:17:b4:69:5d:de, ARP
  0001 0800 06 04 0001             # htype Ethernet, ptype IPv4, hlen 6, plen 4, op request
  0e17b4695dde 0a000001            # sender MAC 0e:17:b4:69:5d:de, sender IP 10.0.0.1
  000000000000 0a000002            # target MAC (zero in a request), target IP 10.0.0.2
`);

/** `ping -c1 10.0.0.2` (iputils 20221126): 98 bytes, DF set, 16-byte timeval then bytes 0x10..0x37. */
export const LINUX_PING = hex(`
  0e17b4695ddf 0e17b4695dde 0800   # eth: stack 0e:17:b4:69:5d:df <- kernel 0e:17:b4:69:5d:de, IPv4
  45 00 0054 2896 4000 40 01 fe10  # IPv4: ihl 5, tos 0, len 84, id 0x2896, DF, ttl 64, ICMP, checksum 0xfe10
  0a000001 0a000002                # 10.0.0.1 > 10.0.0.2
  08 00 b8a4 71bd 0001             # ICMP echo request, code 0, checksum 0xb8a4, id 0x71bd (29117), seq 1
  1e36016b00000000 e5280a0000000000  # struct timeval, little-endian: tv_sec 1795241502 (2026-11-21 06:11:42 UTC), tv_usec 665829
  101112131415161718191a1b1c1d1e1f 202122232425262728292a2b2c2d2e2f 3031323334353637  # pattern 0x10..0x37
`);

/** `echo hello | nc -u -w1 10.0.0.2 7` (netcat-openbsd): Linux sets DF on UDP and always checksums. */
export const LINUX_UDP = hex(`
  0e17b4695ddf 0e17b4695dde 0800   # eth: stack 0e:17:b4:69:5d:df <- kernel 0e:17:b4:69:5d:de, IPv4
  45 00 0022 2978 4000 40 11 fd50  # IPv4: ihl 5, tos 0, len 34, id 0x2978, DF, ttl 64, UDP, checksum 0xfd50
  0a000001 0a000002                # 10.0.0.1 > 10.0.0.2
  e605 0007 000e c1e6              # UDP 58885 > 7, length 14, checksum 0xc1e6
  68656c6c6f0a                     # "hello\\n"
`);

/** `nc 10.0.0.2 7` (netcat-openbsd): the kernel's SYN, 74 bytes, DF, 40-byte TCP header. */
export const LINUX_TCP_SYN = hex(`
  0e17b4695ddf 0e17b4695dde 0800   # eth: stack 0e:17:b4:69:5d:df <- kernel 0e:17:b4:69:5d:de, IPv4
  45 00 003c b766 4000 40 06 6f53  # IPv4: ihl 5, tos 0, len 60, id 0xb766, DF, ttl 64, TCP, checksum 0x6f53
  0a000001 0a000002                # 10.0.0.1 > 10.0.0.2
  8236 0007                        # TCP 33334 > 7
  5eecc07a                         # seq 0x5eecc07a (1592574074)
  00000000                         # ack 0
  a0 02 faf0                       # data offset 10 (40 bytes), flags SYN, window 64240
  08eb 0000                        # checksum 0x08eb, urgent pointer 0
  0204 05b4                        # MSS 1460
  0402                             # SACK_PERM
  080a dcd7b1a2 00000000           # TS val 0xdcd7b1a2 (3705123234), ecr 0
  01                               # NOP
  03 03 0a                         # WS 10 (x1024)
`);
