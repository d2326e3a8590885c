// English phrasing of teaching mode's facts (notes.ts): one or two plain sentences per fact.
import type { AckPart, ByteRange, End, MssSide, Phrasebook } from './notes.js';

const role = (e: End): string => `the ${e.role} (${e.who})`;
const Role = (e: End): string => `The ${e.role} (${e.who})`;
const secs = (ms: number): string => `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
const ms = (v: number): string => (v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`);
const pkt = (no: number | undefined): string => (no === undefined ? '' : ` (#${no})`);
/** The rule the TCP core named, with its RFC (`rfc` when the rule does not cite one). */
const cite = (rule: string | undefined, rfc: string): string => {
  if (rule === undefined) return rfc;
  const m = /^(.*) \((RFC [^)]*)\)$/.exec(rule);
  return m !== null ? `${m[2]}, ${m[1]}` : `${rfc} ${rule}`;
};
const range = (r: ByteRange): string => `${r.first}–${r.last}`;

function mssSide(s: MssSide, ts: boolean): string {
  const why = s.pathMtu !== undefined ? `its path MTU ${s.pathMtu} − 20 IP − 20 TCP, smaller than the ${s.peerMss} of the other side's MSS` : `the other side's MSS`;
  return `${role(s.end)} up to ${s.seg} bytes (${why})${ts ? `: ${s.data} bytes of data once timestamps take 12` : ''}`;
}

function part(p: AckPart): string {
  if (p.kind === 'syn') return `1 for the SYN${pkt(p.no)}`;
  if (p.kind === 'fin') return `1 for the FIN${pkt(p.no)}`;
  return `${p.len} bytes${p.what !== undefined ? ` of "${p.what}"` : ''}${pkt(p.no)}`;
}

function parts(ps: AckPart[]): string {
  if (ps.length <= 4) return ps.map(part).join(' + ');
  const bytes = ps.reduce((t, p) => t + p.len, 0);
  return `${part(ps[0]!)} + … + ${part(ps[ps.length - 1]!)} (${ps.length} segments, ${bytes} bytes in all)`;
}

/** The English table. */
export const en: Phrasebook = {
  arpRequest: (n) => `ARP request, broadcast to every host on the link: ${n.asker} needs the MAC address of ${n.target} before it can send it an IP packet.`,
  arpGratuitous: (n) => `Gratuitous ARP: ${n.ip} announces its own MAC address, so neighbours update their caches (and anyone else using ${n.ip} would notice).`,
  arpReply: (n) => `ARP reply, sent only to the asker: ${n.ip} is at ${n.mac}. ${n.to} caches this, so its next packets need no ARP.`,
  echoRequest: (n) =>
    `ping: ICMP echo request id=${n.id} seq=${n.seq} from ${n.from} with ${n.data} bytes of data; the IP packet is 20 (IP header) + 8 (ICMP header) + ${n.data} = ${n.ipLen} bytes${n.df ? ', with DF (Don\'t Fragment) set: no router may cut it into fragments' : ''}.`,
  dfFits: (n) => `${n.ipLen} ≤ ${n.mtu}, the path MTU: it fits, so it is delivered whole.`,
  dfTooBig: (n) => `${n.ipLen} > ${n.mtu}, the path MTU, and DF forbids fragmenting it: it will be dropped and answered with ICMP "fragmentation needed".`,
  echoReply: (n) => `Echo reply from ${n.from}${n.request !== undefined ? ` to #${n.request}` : ''}, carrying the same ${n.data} bytes back${n.rttMs !== undefined ? `; round trip ${ms(n.rttMs)}` : ''}.`,
  fragNeeded: (n) =>
    `ICMP type 3 code 4, "fragmentation needed and DF set", from ${n.from}: the ${n.quotedLen}-byte packet${pkt(n.request)} is larger than the next hop's MTU of ${n.mtu} and DF forbids cutting it, so it was dropped. The sender learns the path MTU: the largest ping payload that fits is ${n.mtu} − 20 − 8 = ${n.maxPayload} bytes.`,
  unreachable: (n) =>
    n.what === 'port'
      ? `ICMP port unreachable from ${n.from}: nothing listens on ${n.about} (UDP has no connection to refuse, so ICMP says it).`
      : `ICMP ${n.what} unreachable from ${n.from}${n.about !== '' ? ` about ${n.about}` : ''}: the packet could not be delivered.`,
  fragment: (n) => `An IP fragment of datagram id=${n.id}: ${n.len} bytes at offset ${n.offset}${n.more ? ', MF (more fragments follow)' : ', the last one'}; the receiver puts the pieces back together before handing them up.`,
  udp: (n) => `UDP datagram of ${n.len} bytes to port ${n.port}${n.service !== undefined ? ` (${n.service})` : ''}: no connection, no sequence numbers, no retransmission — each datagram stands alone.`,
  dnsQuery: (n) =>
    `DNS query ${n.id} from ${n.from}: "what is the ${n.type} record of ${n.name}?"${n.type === 'A' ? ' (A: its IPv4 address)' : n.type === 'AAAA' ? ' (AAAA: its IPv6 address)' : ''}. One UDP datagram; if no answer comes, the resolver asks again after its own timeout — UDP itself never resends.`,
  dnsAnswer: (n) => {
    const to = `DNS answer${n.query !== undefined ? ` to #${n.query}` : ''} (same id ${n.id})`;
    const tc = n.tc ? ' TC (truncated): the answer did not fit in the UDP datagram, so the client should ask again over TCP.' : '';
    if (n.rcode === 'NOERROR' && n.addresses.length > 0)
      return `${to}: ${n.name} is ${n.addresses.join(', ')}${n.aa ? ', straight from the name\'s own server (AA: authoritative)' : ''}; the client may cache this for ${n.ttl} s (TTL) and now sends its packets to ${n.addresses[0]}.${tc}`;
    if (n.rcode === 'NOERROR') return `${to}: ${n.name} exists but has no ${n.type} record (NOERROR with an empty answer: "NODATA").${tc}`;
    if (n.rcode === 'NXDOMAIN') return `${to}: NXDOMAIN, no such name: ${n.name} does not exist.`;
    if (n.rcode === 'REFUSED') return `${to}: REFUSED: this server does not answer for ${n.name} (not its zone, and it does not look names up elsewhere).`;
    if (n.rcode === 'FORMERR') return `${to}: FORMERR: the server could not read the query.`;
    if (n.rcode === 'NOTIMP') return `${to}: NOTIMP: the server does not implement that kind of request.`;
    return `${to}: ${n.rcode}.`;
  },
  ipv6: () => `IPv6 (the host's own neighbour/router chatter); tapstack speaks IPv4 only and drops it.`,
  malformed: (n) => `Could not be read (${n.reason}).`,
  dropped: (n) =>
    n.dir === 'RX'
      ? `Dropped on purpose (${n.reason}) between the tap and the stack: it came from the wire, tapstack never receives it. The capture keeps it, marked, at this frame number.`
      : `Dropped on purpose (${n.reason}) between the stack and the tap: tapstack sent it, it never reaches the wire. The capture keeps it, marked, at this frame number.`,

  syn: (n) =>
    `Handshake 1/3: ${role(n.from)} asks to open a connection. Its initial sequence number is random (${n.isn}); the trace counts from it, so it shows as Seq=0, and the SYN itself uses up that one number: the first data byte will be Seq=1.`,
  synOptions: (n) => {
    const o: string[] = [];
    if (n.mss !== undefined) o.push(`MSS=${n.mss} (it accepts segments of up to ${n.mss} data bytes: ${n.mss + 40} MTU − 20 IP − 20 TCP)`);
    if (n.sackOk) o.push('SACK_PERM (it understands selective acknowledgements)');
    if (n.ts) o.push('TSval/TSecr (timestamps, 12 bytes in every later segment, to measure round trips)');
    if (n.wscale !== undefined) o.push(`WS=${2 ** Math.min(n.wscale, 14)} (multiply its later windows by 2^${n.wscale})`);
    return o.length === 0 ? 'No options.' : `Options: ${o.join('; ')}.`;
  },
  synAck: (n) => `Handshake 2/3: ${role(n.from)} accepts and sends its own SYN: its own random ISN (${n.isn}) shows as Seq=0 and this SYN also uses up one number.`,
  mssChosen: (n) => `How large each side's segments may be: ${n.sides.map((s) => mssSide(s, n.ts)).join('; ')}.`,
  handshakeDone: (n) => `Handshake 3/3: with this ACK both sides know both ISNs; the connection is ESTABLISHED.${n.data ? ' This ACK already carries the first data.' : ' No data yet, so Len=0.'}`,

  data: (n) =>
    `${n.len} bytes of data${n.what !== undefined ? `: "${n.what}"` : ''} from ${role(n.from)}, bytes ${n.first}–${n.last} of its stream${n.firstData ? ' (they start at 1 because the SYN used 0)' : ''}; its next segment will start at Seq=${n.next} = ${n.first} + ${n.len}.`,
  push: () => 'PSH: the sender has nothing more queued for now — the receiver should hand the data to the application at once.',
  fullSized: (n) =>
    `A full-sized segment: the message is longer than one segment may carry, so TCP cuts it into pieces of ${n.len} bytes${n.ts ? ` (${n.len} = MSS ${n.mss} − 12 bytes of timestamp option)` : ` (the MSS)`}.`,
  windowScaled: (n) => `Win=${n.bytes} is the scaled window, as Wireshark shows it: the 16-bit field holds ${n.raw}, × 2^${n.shift} (the shift from this side's SYN, window scaling) = ${n.bytes} bytes may be sent before waiting for an ACK.`,
  zeroWindow: () => 'Zero window: the receiver\'s buffer is full; the sender must stop and probe until the window opens.',
  windowUpdate: (n) => `Window update: same ACK, new window — the receiver has room for ${n.bytes} bytes now.`,
  keepAlive: () => 'A keep-alive probe: one byte below what the peer already acknowledged, to check that the idle connection is still there; the peer answers with a duplicate ACK.',

  ack: (n) => {
    if (n.parts === undefined) return `Ack=${n.ack}: everything before byte ${n.ack} has arrived (${n.ack - n.base} more than the last ACK said); the next byte expected is ${n.ack}.`;
    const sum = `Ack=${n.ack} = ${n.base} + ${parts(n.parts)}`;
    const fin = n.parts.some((p) => p.kind === 'fin') ? ' A FIN consumes one sequence number, like a SYN.' : '';
    return `${sum}: the next byte expected.${fin}${n.needed ? ' It tells the sender the data arrived; without it, the sender would resend.' : ''}`;
  },
  dupAck: (n) => {
    const dup = `Duplicate ACK #${n.count}: Ack=${n.ack} again, so something after byte ${n.ack} arrived while byte ${n.ack} itself is still missing.`;
    if (n.resentAs !== undefined) return `${dup} The sender already resent it (#${n.resentAs}); this duplicate does not reflect the resent bytes yet.`;
    return n.count === 3 ? `${dup} Three duplicates are the classic signal (RFC 5681) to resend the missing segment at once (fast retransmit) instead of waiting for the timer.` : dup;
  },
  sack: (n) =>
    `SACK: bytes ${n.blocks.map(range).join(', ')} arrived beyond ${n.holes.length > 1 ? 'the holes' : 'the hole'} (SRE is the first byte after a block), so only ${n.holes.map(range).join(' and ')} ${n.holes.length > 1 ? 'need' : 'needs'} resending (selective acknowledgement).`,
  dsack: (n) => `D-SACK of bytes ${range(n.block)}: that block is at or below the ACK: it reports bytes that arrived twice — a retransmission that was not needed.`,
  outOfOrder: (n) => `A hole: byte ${n.expected} was expected but this segment starts at ${n.got}; bytes ${n.expected}–${n.got - 1} were lost or delayed, so the receiver keeps this one aside and repeats its ACK.`,
  retransmission: (n) => {
    const of = `${n.len > 0 ? `bytes ${n.seq}–${n.seq + n.len - 1}` : 'the same segment'}${n.of !== undefined ? `, first sent as #${n.of}` : ''}`;
    const why = ((): string => {
      switch (n.cause) {
        case 'rto': return `no ACK for it came before tapstack's retransmission timer expired (RTO${n.rtoMs !== undefined ? ` ${ms(n.rtoMs)}` : ''}, RFC 6298), so it is sent again`;
        case 'go-back-n': return `tapstack resends everything not yet acknowledged from SND.UNA on, as ACKs return (go-back-N, ${cite(n.rule, 'after the timer expired, RFC 5681 §3.1')})`;
        case 'fast': return `fast retransmit (${cite(n.rule, 'RFC 5681 §3.2')}): duplicate ACKs said this segment is missing, so tapstack resends it without waiting for the timer`;
        case 'sack': return `SACK recovery (${cite(n.rule, 'RFC 6675')}): the receiver's SACK blocks show later data arrived, so tapstack fills this hole at once`;
        case 'rack': return `RACK (RFC 8985) marked it lost: data sent after it has been acknowledged, and more than the reordering window${n.reorderWindowMs !== undefined ? ` (${ms(n.reorderWindowMs)})` : ''} has passed since`;
        case 'rescue': return `a rescue retransmission (RFC 6675 NextSeg rule 4): in SACK recovery with nothing else to send, tapstack resends one more segment of the tail in case it was lost too`;
        case 'tlp': return `a tail loss probe (RFC 8985 §7): no ACK came within the probe timeout${n.ptoMs !== undefined ? ` (PTO ${ms(n.ptoMs)})` : ''}, so tapstack sends its last segment again to draw an ACK that shows any loss at the tail, sooner than the RTO would`;
        case undefined: break;
      }
      if (n.guess === 'dupAcks') return `fast retransmit after ${n.dupAcks} duplicate ACKs, without waiting for the timer`;
      if (n.guess === 'sack') return `the receiver's SACK blocks show later data arrived, so this hole is filled at once (fast retransmit, SACK recovery)`;
      if (n.guess === 'early') return `resent after ${n.afterMs !== undefined ? ms(n.afterMs) : 'a short time'}, sooner than a retransmission timer fires (Linux's is at least 200 ms): the sender's own loss detection (RACK or a tail loss probe) decided it; the wire does not say which`;
      return `no ACK came${n.afterMs !== undefined ? ` within ${ms(n.afterMs)}` : ''}, so the sender's retransmission timer (RTO) must have fired`;
    })();
    if (n.spurious === undefined) return `Retransmission of ${of}: ${why}.`;
    const ack = `the receiver had already acknowledged these bytes${pkt(n.spurious.ackNo)}`;
    return n.spurious.ackLost
      ? `Spurious retransmission of ${of}: ${why}. Yet ${ack}: its ACKs were dropped on their way, so the sender never learned it in time.`
      : `Spurious retransmission of ${of}: ${why}. Yet ${ack}: the resent bytes arrive twice.`;
  },
  fin: (n) =>
    n.merged
      ? `FIN together with the ACK of the peer's FIN: ${role(n.from)} has no more to send either, so the close takes three segments instead of four. The FIN uses number ${n.seq}; the peer will answer Ack=${n.seq + 1}.`
      : n.second
        ? `FIN: ${role(n.from)} has no more data either and closes its side too — segments 3 and 4 of the four-way close. The FIN uses number ${n.seq}; the peer will answer Ack=${n.seq + 1}.`
        : `FIN: ${role(n.from)} has no more data to send${n.idleMs !== undefined ? ` (after ${secs(n.idleMs)} idle${n.from.role === 'server' ? ', the keep-alive timeout' : ''})` : ''} and closes its direction first. A FIN consumes one sequence number (${n.seq}), so the peer will acknowledge it with Ack=${n.seq + 1}.`,
  finInTimeWait: (n) =>
    `The same FIN again: the last ACK must have been lost, so the peer is still waiting in LAST-ACK. This is what TIME-WAIT is for: ${role(n.end)} still remembers the connection, acknowledges the FIN once more, and starts its ${secs(n.ms)} over.`,
  rst: (n) => (n.refused ? `RST: nothing listens on that port at ${n.from.who}: the connection is refused.` : `RST from ${role(n.from)}: the connection is aborted at once; no FIN exchange, no TIME-WAIT.`),

  timeWait: (n) =>
    `${Role(n.end)} closed first, so it waits in TIME-WAIT${n.local ? ` for 2×MSL = ${secs(n.ms)} (tapstack's MSL is ${secs(n.mslMs)}; RFC 9293's MSL is 2 minutes, and Linux waits a fixed 60 s)` : ' on its own timer (Linux: a fixed 60 s; RFC 9293: 2×MSL with an MSL of 2 minutes)'}: if the last ACK is lost, the peer's resent FIN can still be answered, and stray old segments die out before these ports are reused.`,
  timeWaitOver: (n) => `${secs(n.ms)} of TIME-WAIT are over: the connection is forgotten.`,
};
