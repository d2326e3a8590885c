// The stack's live state as one StackStatus snapshot for `/_stack` and `/_stack.json`: the
// interface, a summary, the ARP cache, TCP connections' TCB numbers, TIME-WAIT, listeners, counters.
// It only reads; the status page (lib/http/status-page.ts) renders it.
import type { Stack } from './stack.js';
import type { TcpLayer } from './tcp/tcp-layer.js';
import type { TcpConnection } from './tcp/connection.js';
import type { StackStatus } from './http/status-page.js';
import { ipToString, macToString, parseIp, prefixMask } from './wire/ip-address.js';
import { seqDiff } from './wire/seq.js';

/**
 * A function returning the current StackStatus of `stack` and its `tcp`, for createWebServer's
 * `status`: every connection and TIME-WAIT entry is counted, but only the first `limit` of each
 * is described, so the cost of a snapshot does not grow with a table of 15,000 connections.
 */
export function statusOf(stack: Stack, tcp: TcpLayer, tapName: string): (limit?: number) => StackStatus {
  const ipText = ipToString(stack.ip);
  return (limit = Infinity) => {
    const now = stack.clock.now();
    const at = (ip: number, port: number): string => `${ipToString(ip)}:${port}`;
    const states: Record<string, number> = {};
    const shown: TcpConnection[] = [];
    for (const c of tcp.core.connections()) {
      states[c.state] = (states[c.state] ?? 0) + 1;
      if (shown.length < limit) shown.push(c);
    }
    const timeWait = [];
    for (const e of tcp.core.timeWait.entries()) {
      if (timeWait.length >= limit) break;
      timeWait.push(e);
    }
    return {
      interface: { tap: tapName, mac: macToString(stack.mac), ip: `${ipText}/${stack.prefix}`, mtu: stack.mtu, pathMtu: stack.pathMtu, offload: stack.offload ? 'on' : 'off' },
      summary: {
        connections: Object.values(states).reduce((a, b) => a + b, 0),
        states,
        timeWait: tcp.core.timeWait.size,
      },
      arp: stack.arp.snapshot(),
      connections: shown.map((c) => {
        const i = c.info();
        return {
          local: at(c.localIp, c.localPort),
          remote: at(c.remoteIp, c.remotePort),
          state: i.state,
          sndUna: i.sndUna,
          sndNxt: i.sndNxt,
          sndUnaRelative: seqDiff(c.sndUna, c.iss),
          sndNxtRelative: seqDiff(c.sndNxt, c.iss),
          sndWnd: i.sndWnd,
          sndWscale: i.sndWscale,
          rcvNxt: i.rcvNxt,
          rcvNxtRelative: c.state === 'SYN-SENT' ? null : seqDiff(c.rcvNxt, c.irs),
          rcvWnd: i.rcvWnd,
          rcvWscale: i.rcvWscale,
          mss: i.mss,
          srttMs: i.srtt ?? null,
          rtoMs: i.rto,
          cwnd: i.cwnd,
          // RFC 5681 §3.1: the initial ssthresh is "arbitrarily high" (here MAX_SAFE_INTEGER).
          ssthresh: i.ssthresh >= Number.MAX_SAFE_INTEGER ? null : i.ssthresh,
          retransmissions: i.retransmissions,
          receiveHoles: i.receiveHoles,
          congestionControl: i.congestionControl,
          recovery: i.recovery,
          pipe: i.pipe,
          sackHoles: i.sackHoles,
        };
      }),
      timeWait: timeWait.map((e) => ({
        local: at(e.localIp, e.localPort),
        remote: at(e.remoteIp, e.remotePort),
        expiresInMs: Math.max(0, Math.round(e.expiresAt - now)),
      })),
      listeners: [...tcp.core.listeners()].map((l) => ({ port: l.port, synQueue: l.synQueue.size, acceptQueue: l.acceptQueue.length, backlog: l.backlog })),
      counters: stack.counters.snapshot(),
    };
  };
}

/**
 * `--status local`: true for a client on the stack's own subnet (the kernel side of the tap and
 * its neighbours), false for anyone routed in from elsewhere.
 */
export function onOwnSubnet(stack: Stack): (remoteAddress: string | undefined) => boolean {
  const mask = prefixMask(stack.prefix);
  return (remoteAddress) => {
    if (remoteAddress === undefined || !/^\d+\.\d+\.\d+\.\d+$/.test(remoteAddress)) return false;
    return ((parseIp(remoteAddress) ^ stack.ip) & mask) === 0;
  };
}
