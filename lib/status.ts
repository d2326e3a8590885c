// The stack's live state as one StackStatus snapshot for `/_stack` and `/_stack.json`: the
// interface, the ARP cache, every TCP connection's TCB numbers, TIME-WAIT, listeners, counters.
// It only reads; the status page (lib/http/status-page.ts) renders it.
import type { Stack } from './stack.js';
import type { TcpLayer } from './tcp/tcp-layer.js';
import type { StackStatus } from './http/status-page.js';
import { ipToString, macToString } from './wire/ip-address.js';

/** A function returning the current StackStatus of `stack` and its `tcp`, for createWebServer's `status`. */
export function statusOf(stack: Stack, tcp: TcpLayer, tapName: string): () => StackStatus {
  const ipText = ipToString(stack.ip);
  return () => {
    const now = stack.clock.now();
    const at = (ip: number, port: number): string => `${ipToString(ip)}:${port}`;
    return {
      interface: { tap: tapName, mac: macToString(stack.mac), ip: `${ipText}/${stack.prefix}`, mtu: stack.mtu, pathMtu: stack.pathMtu, offload: stack.offload ? 'on' : 'off' },
      arp: stack.arp.snapshot(),
      connections: [...tcp.core.connections()].map((c) => {
        const i = c.info();
        return {
          local: at(c.localIp, c.localPort),
          remote: at(c.remoteIp, c.remotePort),
          state: i.state,
          sndUna: i.sndUna,
          sndNxt: i.sndNxt,
          sndWnd: i.sndWnd,
          sndWscale: i.sndWscale,
          rcvNxt: i.rcvNxt,
          rcvWnd: i.rcvWnd,
          rcvWscale: i.rcvWscale,
          mss: i.mss,
          srttMs: i.srtt ?? null,
          rtoMs: i.rto,
          cwnd: i.cwnd,
          ssthresh: i.ssthresh,
          retransmissions: i.retransmissions,
          receiveHoles: i.receiveHoles,
          congestionControl: i.congestionControl,
          recovery: i.recovery,
          pipe: i.pipe,
          sackHoles: i.sackHoles,
        };
      }),
      timeWait: [...tcp.core.timeWait.entries()].map((e) => ({
        local: at(e.localIp, e.localPort),
        remote: at(e.remoteIp, e.remotePort),
        expiresInMs: Math.max(0, e.expiresAt - now),
      })),
      listeners: [...tcp.core.listeners()].map((l) => ({ port: l.port, synQueue: l.synQueue.size, acceptQueue: l.acceptQueue.length, backlog: l.backlog })),
      counters: stack.counters.snapshot(),
    };
  };
}
