// ARP (RFC 826): answer requests for our address, learn neighbours by the RFC's merge rule, and
// resolve next hops with a bounded queue of frames waiting per neighbour and timed retries, so
// the first packet to an unknown neighbour is not lost. Also announces us (gratuitous ARP) and
// defends our address (RFC 5227 §2.4). Hostile input is bounded: senders no host can have are
// neither cached nor answered, replies to strangers are rate-limited, and a full cache keeps the
// neighbours TCP has confirmed over new strangers.
// It does not route or build IP packets: callers hand it complete Ethernet frames.
import createDebug from 'debug';
import type { Clock, TimerHandle } from '../clock.js';
import type { Counters } from '../counters.js';
import { wireFrames } from '../link/gso.js';
import type { Offload } from '../link/link.js';
import { ArpOp, ARP_LEN, writeArp, type ArpPacket } from '../wire/arp.js';
import { BROADCAST_MAC, ETH_HEADER_LEN, EtherType, isGroupMac, macEquals, writeEthernetHeader } from '../wire/ethernet.js';
import { ipToString, macToString, prefixMask } from '../wire/ip-address.js';
import { isMulticastOrReserved } from '../wire/ipv4.js';
import { TokenBucket } from './token-bucket.js';

const log = createDebug('tapstack:arp');

/** Tunables of the ARP layer. */
export interface ArpOptions {
  /** How long a learned address is trusted (ms). */
  reachableMs: number;
  /** A used entry this close to expiry is re-confirmed by a unicast request (ms). */
  refreshBeforeMs: number;
  /** Time between requests while resolving (ms). */
  retryMs: number;
  /** Requests sent before giving up on a neighbour. */
  retries: number;
  /** Most entries (resolved or resolving) in the cache; the oldest is evicted. */
  maxEntries: number;
  /** Most frames waiting for one neighbour (the oldest is dropped beyond it). */
  maxQueuedFrames: number;
  /** Most bytes waiting for one neighbour. */
  maxQueuedBytes: number;
  /** Most bytes waiting over all neighbours (beyond it new frames are dropped). */
  maxQueuedBytesTotal: number;
  /** Gratuitous announcements at start (0: none). */
  gratuitousCount: number;
  /** Time between announcements (ms). */
  gratuitousIntervalMs: number;
  /** Least time between two defences of our address (RFC 5227 §1.1 DEFEND_INTERVAL, ms). */
  defendIntervalMs: number;
  /** Replies to senders not in the cache: at most this many at once... */
  strangerReplyBurst: number;
  /** ...refilled at this rate per second. */
  strangerRepliesPerSecond: number;
}

/**
 * Defaults: 60 s reachable, 1 s x 3 requests, 256 entries, 64 frames / 256 KiB queued per
 * neighbour, 1 MiB in all, defend at most every 10 s, 100 replies a second to strangers.
 */
export const DEFAULT_ARP_OPTIONS: ArpOptions = {
  reachableMs: 60_000,
  refreshBeforeMs: 5_000,
  retryMs: 1_000,
  retries: 3,
  maxEntries: 256,
  maxQueuedFrames: 64,
  maxQueuedBytes: 256 * 1024,
  maxQueuedBytesTotal: 1024 * 1024,
  gratuitousCount: 3,
  gratuitousIntervalMs: 1_000,
  defendIntervalMs: 10_000,
  strangerReplyBurst: 100,
  strangerRepliesPerSecond: 100,
};

/** What the ARP layer needs from its stack. */
export interface ArpDeps {
  clock: Clock;
  counters: Counters;
  mac: Buffer;
  ip: number;
  /** Our prefix length: senders off our subnet are not neighbours. */
  prefix: number;
  /** Put a frame on the link. */
  transmit(frame: Buffer, offload?: Offload): void;
}

type Entry = {
  ip: number;
  /** undefined while resolving. */
  mac: Buffer | undefined;
  updatedAt: number;
  /** When we last sent a request for it. */
  probedAt: number;
  /** When TCP last saw forward progress from it (`confirm`); -Infinity if never. */
  confirmedAt: number;
  tries: number;
  timer: TimerHandle | undefined;
  queue: Buffer[];
  queueBytes: number;
};

/** The neighbour cache and the ARP protocol engine. */
export class Arp {
  readonly #d: ArpDeps;
  readonly #o: ArpOptions;
  /** Insertion order is age order: learning an address moves its entry to the end. */
  readonly #entries = new Map<number, Entry>();
  readonly #network: number;
  readonly #broadcast: number;
  readonly #strangerReplies: TokenBucket;
  #defendedAt = -Infinity;
  #garpTimer: TimerHandle | undefined;
  #closed = false;
  /** Bytes queued over all neighbours. */
  #queued = 0;

  constructor(deps: ArpDeps, opts: Partial<ArpOptions> = {}) {
    this.#d = deps;
    this.#o = { ...DEFAULT_ARP_OPTIONS, ...opts };
    const mask = prefixMask(deps.prefix);
    this.#network = (deps.ip & mask) >>> 0;
    this.#broadcast = (this.#network | ~mask) >>> 0;
    this.#strangerReplies = new TokenBucket(this.#o.strangerReplyBurst, this.#o.strangerRepliesPerSecond, deps.clock.now());
  }

  /** Bytes of frames waiting for resolution, over all neighbours. */
  get queuedBytes(): number {
    return this.#queued;
  }

  /** Number of entries (resolved or resolving). */
  get size(): number {
    return this.#entries.size;
  }

  /** The MAC of `ip` if resolved and not expired. */
  lookup(ip: number): Buffer | undefined {
    const e = this.#entries.get(ip);
    if (e?.mac === undefined || this.#d.clock.now() >= e.updatedAt + this.#o.reachableMs) return undefined;
    return e.mac;
  }

  /** A snapshot of the resolved entries (for the status page and tests). */
  entries(): { ip: string; mac: string; ageMs: number }[] {
    const now = this.#d.clock.now();
    return [...this.#entries.values()].filter((e) => e.mac !== undefined).map((e) => ({ ip: ipToString(e.ip), mac: macToString(e.mac!), ageMs: now - e.updatedAt }));
  }

  /** Every entry with its state for the status page: `reachable`, `stale` (expired) or `resolving`. */
  snapshot(): { ip: string; mac: string | null; state: 'reachable' | 'stale' | 'resolving'; expiresInMs: number | null }[] {
    const now = this.#d.clock.now();
    return [...this.#entries.values()].map((e) => {
      if (e.mac === undefined) return { ip: ipToString(e.ip), mac: null, state: 'resolving' as const, expiresInMs: null };
      const left = e.updatedAt + this.#o.reachableMs - now;
      return { ip: ipToString(e.ip), mac: macToString(e.mac), state: left > 0 ? ('reachable' as const) : ('stale' as const), expiresInMs: Math.max(0, left) };
    });
  }

  /**
   * Send `frame` (a complete Ethernet frame whose destination MAC is filled in here) to the
   * neighbour `nextHop`, resolving it first if needed; the frame is then owned by ARP.
   */
  send(nextHop: number, frame: Buffer, offload?: Offload): void {
    const now = this.#d.clock.now();
    let e = this.#entries.get(nextHop);
    if (e !== undefined && e.mac !== undefined) {
      if (now < e.updatedAt + this.#o.reachableMs) {
        // Keep an active neighbour fresh before it expires (like Linux's unicast probe).
        if (now >= e.updatedAt + this.#o.reachableMs - this.#o.refreshBeforeMs && now >= e.probedAt + this.#o.retryMs) {
          e.probedAt = now;
          this.#d.counters.inc('arp.tx.refresh');
          this.#request(nextHop, e.mac);
        }
        frame.set(e.mac, 0);
        this.#d.transmit(frame, offload);
        return;
      }
      // RFC 1122 §2.3.2.1: an expired entry must be re-validated before use.
      this.#d.counters.inc('arp.cache.expired');
      this.#entries.delete(nextHop);
      e = undefined;
    }
    if (e === undefined) {
      e = this.#insert({ ip: nextHop, mac: undefined, updatedAt: now, probedAt: now, confirmedAt: -Infinity, tries: 1, timer: undefined, queue: [], queueBytes: 0 }, true)!;
      this.#d.counters.inc('arp.resolve.started');
      this.#request(nextHop, undefined);
      this.#armRetry(e);
    }
    // A waiting frame is kept as the wire frames it stands for (a rare case: offloads skip it).
    for (const f of wireFrames(frame, offload)) this.#enqueue(e, f);
  }

  /**
   * Upper-layer advice that `ip` is reachable (TCP saw forward progress from it, as Linux's
   * dst_confirm; RFC 4861 §7.3.1 names such hints for IPv6): its entry stays fresh without a
   * unicast probe and is kept over strangers when the cache is full.
   */
  confirm(ip: number): void {
    const e = this.#entries.get(ip);
    if (e?.mac === undefined) return;
    const now = this.#d.clock.now();
    e.confirmedAt = now;
    e.updatedAt = now;
  }

  /** Handle a received ARP packet (RFC 826 "Packet Reception"); returns the frame's outcome counter. */
  input(a: ArpPacket): string {
    const d = this.#d;
    if (isGroupMac(a.senderMac)) return 'drop.arp.badSenderMac';
    if (macEquals(a.senderMac, d.mac)) return 'drop.arp.fromSelf';
    if (a.senderIp === d.ip) {
      if (log.enabled) log('address conflict: %s claims %s', macToString(a.senderMac), ipToString(a.senderIp));
      this.#defend();
      return 'drop.arp.conflict';
    }
    // 0.0.0.0 is a probe (RFC 5227 §2.1.1); any other sender must be a host on our subnet, or
    // answering it would poison peers' caches or aim our replies at a broadcast or group.
    if (a.senderIp !== 0 && !this.#isNeighbourAddress(a.senderIp)) return 'drop.arp.badSenderIp';
    // RFC 826: if the sender is already in the table, update it ("merge flag").
    let merged = false;
    const known = a.senderIp === 0 ? undefined : this.#entries.get(a.senderIp);
    if (known !== undefined) {
      this.#learn(known, a.senderMac);
      merged = true;
    }
    if (a.targetIp !== d.ip) {
      if (merged) return 'rx.handled.arp.update';
      // A neighbour announcing itself (RFC 5227 §2.3): nothing to do, but nothing wrong either.
      return a.senderIp === a.targetIp ? 'rx.handled.arp.announcement' : 'drop.arp.notForUs';
    }
    // A stranger costs us a reply and maybe a cache entry: bounded, so a flood of requests from
    // made-up senders can neither keep us busy nor crowd out the neighbours we use.
    if (!merged && !this.#strangerReplies.take(d.clock.now())) return 'drop.arp.rateLimited';
    // RFC 826: "?Am I the target protocol address? Yes: if merge flag is false, add the triplet".
    if (!merged && a.senderIp !== 0) {
      const now = d.clock.now();
      const e = this.#insert({ ip: a.senderIp, mac: undefined, updatedAt: now, probedAt: -Infinity, confirmedAt: -Infinity, tries: 0, timer: undefined, queue: [], queueBytes: 0 }, false);
      if (e !== undefined) this.#learn(e, a.senderMac);
    }
    if (a.op === ArpOp.request) {
      d.counters.inc('arp.tx.reply');
      // A probe (RFC 5227, sender 0.0.0.0) is answered too: that is how we defend our address.
      d.transmit(buildArpFrame(ArpOp.reply, d.mac, d.ip, a.senderMac, a.senderIp, a.senderMac));
      if (log.enabled) log('reply to %s (%s)', ipToString(a.senderIp), macToString(a.senderMac));
      return 'rx.handled.arp.request';
    }
    return 'rx.handled.arp.reply';
  }

  /** Announce our address `gratuitousCount` times, `gratuitousIntervalMs` apart (the first now). */
  announce(): void {
    let left = this.#o.gratuitousCount;
    const fire = (): void => {
      this.#garpTimer = undefined;
      if (this.#closed || left <= 0) return;
      left--;
      this.#d.counters.inc('arp.tx.gratuitous');
      this.#announcement();
      if (left > 0) this.#garpTimer = this.#d.clock.setTimer(this.#d.clock.now() + this.#o.gratuitousIntervalMs, fire);
    };
    fire();
  }

  /** Cancel every timer and drop queued frames. */
  close(): void {
    this.#closed = true;
    if (this.#garpTimer !== undefined) this.#d.clock.clearTimer(this.#garpTimer);
    for (const e of this.#entries.values()) this.#discard(e);
    this.#entries.clear();
  }

  /**
   * Add `e`, evicting the oldest entry not in use (neither resolving nor confirmed within the
   * reachable time) when full. If every entry is in use, a stranger is not cached
   * (`arp.cache.full`) and a neighbour we must resolve (`force`) evicts the oldest.
   */
  #insert(e: Entry, force: boolean): Entry | undefined {
    if (this.#entries.size >= this.#o.maxEntries) {
      const now = this.#d.clock.now();
      let victim: Entry | undefined;
      for (const old of this.#entries.values()) {
        if (old.mac !== undefined && now >= old.confirmedAt + this.#o.reachableMs) {
          victim = old;
          break;
        }
      }
      if (victim === undefined && !force) {
        this.#d.counters.inc('arp.cache.full');
        return undefined;
      }
      victim ??= this.#entries.values().next().value as Entry;
      this.#d.counters.inc('arp.cache.evicted');
      this.#discard(victim);
      this.#entries.delete(victim.ip);
    }
    this.#entries.set(e.ip, e);
    return e;
  }

  /** An address a neighbour on our subnet can have (RFC 1122 §3.2.1.3; RFC 3021 for /31 and /32). */
  #isNeighbourAddress(ip: number): boolean {
    if (ip >>> 24 === 127 || isMulticastOrReserved(ip)) return false;
    if ((ip & prefixMask(this.#d.prefix)) >>> 0 !== this.#network) return false;
    return this.#d.prefix > 30 || (ip !== this.#network && ip !== this.#broadcast);
  }

  /**
   * RFC 5227 §2.4 (c): someone else claims our address. A statically configured host keeps it
   * and defends it with one announcement, at most once per DEFEND_INTERVAL (so two hosts that
   * both defend cannot start an endless ARP storm).
   */
  #defend(): void {
    const now = this.#d.clock.now();
    if (now < this.#defendedAt + this.#o.defendIntervalMs) {
      this.#d.counters.inc('arp.defend.suppressed');
      return;
    }
    this.#defendedAt = now;
    this.#d.counters.inc('arp.tx.defend');
    this.#announcement();
  }

  /** RFC 5227 §2.3 announcement: a broadcast request with sender and target both our address. */
  #announcement(): void {
    this.#d.transmit(buildArpFrame(ArpOp.request, this.#d.mac, this.#d.ip, Buffer.alloc(6), this.#d.ip, BROADCAST_MAC));
  }

  #learn(e: Entry, mac: Buffer): void {
    const now = this.#d.clock.now();
    e.mac = Buffer.from(mac);
    e.updatedAt = now;
    e.tries = 0;
    // Move to the young end of the age order.
    this.#entries.delete(e.ip);
    this.#entries.set(e.ip, e);
    if (e.timer !== undefined) {
      this.#d.clock.clearTimer(e.timer);
      e.timer = undefined;
    }
    this.#d.counters.inc('arp.cache.learned');
    if (e.queue.length > 0) {
      if (log.enabled) log('resolved %s: flushing %d frames', ipToString(e.ip), e.queue.length);
      const q = e.queue;
      this.#queued -= e.queueBytes;
      e.queue = [];
      e.queueBytes = 0;
      for (const f of q) {
        f.set(e.mac, 0);
        this.#d.transmit(f);
      }
    }
  }

  #enqueue(e: Entry, frame: Buffer): void {
    // Many unresolved neighbours at once (e.g. spoofed sources) must not hold unbounded memory.
    if (this.#queued + frame.length > this.#o.maxQueuedBytesTotal) {
      this.#d.counters.inc('arp.queue.overflow');
      return;
    }
    e.queue.push(frame);
    e.queueBytes += frame.length;
    this.#queued += frame.length;
    while (e.queue.length > this.#o.maxQueuedFrames || (e.queueBytes > this.#o.maxQueuedBytes && e.queue.length > 1)) {
      const dropped = e.queue.shift()!;
      e.queueBytes -= dropped.length;
      this.#queued -= dropped.length;
      this.#d.counters.inc('arp.queue.overflow');
    }
  }

  #armRetry(e: Entry): void {
    e.timer = this.#d.clock.setTimer(this.#d.clock.now() + this.#o.retryMs, () => {
      e.timer = undefined;
      if (this.#closed || this.#entries.get(e.ip) !== e || e.mac !== undefined) return;
      if (e.tries < this.#o.retries) {
        e.tries++;
        e.probedAt = this.#d.clock.now();
        this.#request(e.ip, undefined);
        this.#armRetry(e);
        return;
      }
      // Give up: the waiting packets are dropped (RFC 1122 §2.3.2.2); locally generated, so no ICMP.
      this.#d.counters.inc('arp.resolve.failed');
      if (log.enabled) log('no answer from %s after %d requests: dropping %d frames', ipToString(e.ip), e.tries, e.queue.length);
      this.#discard(e);
      this.#entries.delete(e.ip);
    });
  }

  #discard(e: Entry): void {
    if (e.timer !== undefined) this.#d.clock.clearTimer(e.timer);
    e.timer = undefined;
    if (e.queue.length > 0) this.#d.counters.inc('arp.queue.dropped', e.queue.length);
    this.#queued -= e.queueBytes;
    e.queue = [];
    e.queueBytes = 0;
  }

  /** A who-has for `ip`: broadcast, or unicast to `mac` when refreshing a known entry. */
  #request(ip: number, mac: Buffer | undefined): void {
    this.#d.counters.inc('arp.tx.request');
    if (log.enabled) log('who-has %s', ipToString(ip));
    this.#d.transmit(buildArpFrame(ArpOp.request, this.#d.mac, this.#d.ip, Buffer.alloc(6), ip, mac ?? BROADCAST_MAC));
  }
}

/** A complete Ethernet frame carrying one ARP packet. */
export function buildArpFrame(op: number, senderMac: Uint8Array, senderIp: number, targetMac: Uint8Array, targetIp: number, ethDst: Uint8Array): Buffer {
  const f = Buffer.allocUnsafe(ETH_HEADER_LEN + ARP_LEN);
  writeEthernetHeader(f, 0, ethDst, senderMac, EtherType.ARP);
  writeArp(f, ETH_HEADER_LEN, { op, senderMac, senderIp, targetMac, targetIp });
  return f;
}
