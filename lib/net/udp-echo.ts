// The UDP echo service (RFC 862) on port 7: each datagram is sent back to where it came from.
// Not a datagram sent to a broadcast or multicast address: every host on the subnet would answer
// one spoofed packet, the amplifier of the "fraggle" attack (the application can tell because
// UDP passes the destination address up, RFC 1122 §4.1.3.5; RFC 2644 turned directed
// broadcasts off at routers for the same reason).
import type { Udp, UdpSocket } from './udp.js';
import type { NetHost } from './net-host.js';

/** Bind the echo service on `port` (default 7) of `udp`; answers unicast datagrams only. */
export function startUdpEcho(host: NetHost, udp: Udp, port = 7): UdpSocket {
  const echo = udp.bind(port, (msg, rinfo) => {
    if (host.isBroadcast(rinfo.dst)) {
      host.counters.inc('udp.echo.broadcastIgnored');
      return;
    }
    echo.send(msg, rinfo.port, rinfo.ip);
  });
  return echo;
}
