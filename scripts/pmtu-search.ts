// The search of scripts/pmtu-probe, without sockets: given a way to send one DF probe of an ICMP
// payload size and learn its answer, find the largest payload that gets through. It probes the
// largest size first (the hopeful case costs one probe), jumps straight to a frag-needed's
// next-hop MTU (RFC 1191), and otherwise bisects between the largest size known to pass and the
// smallest known not to.

/** IPv4 header (no options) + ICMP echo header: IP packet size = payload + 28. */
export const IP_HEADER = 20;
export const ICMP_HEADER = 8;
export const OVERHEAD = IP_HEADER + ICMP_HEADER;

/** What one probe (with its retry) came back with. */
export type ProbeAnswer =
  /** An echo reply matching the probe's identifier and sequence. */
  | { kind: 'reply'; from: string; rttMs: number }
  /** ICMP destination unreachable, code 4, quoting the probe; `mtu` is the next-hop MTU (0 if the router left it out). */
  | { kind: 'fragNeeded'; from: string; mtu: number }
  /** send() failed with EMSGSIZE: the packet is larger than the outgoing interface allows (its MTU, when known). */
  | { kind: 'localTooBig'; mtu?: number }
  /** Nothing came back in time, retry included. */
  | { kind: 'timeout' }
  /** Any other ICMP error quoting the probe (host unreachable, TTL exceeded, ...): the search stops. */
  | { kind: 'error'; from: string; text: string };

/** How the search ended. */
export type SearchResult =
  /** `largest` got a reply; every size above it up to `max` is known not to (or is beyond --max). */
  | { kind: 'found'; largest: number; probes: number }
  /** No size from `min` to `max` got a reply. */
  | { kind: 'none'; probes: number }
  /** An ICMP error other than frag-needed stopped the search. */
  | { kind: 'error'; text: string; probes: number };

/**
 * Find the largest payload in [min, max] whose DF probe is answered. `probe(size)` sends one
 * probe (with its retry) and resolves with its answer. A frag-needed (or local "message too
 * long") with a plausible MTU (from 68 up to the probe's own size) bounds the search at once:
 * sizes above `mtu - 28` cannot pass that hop, and `mtu - 28` is probed next. Timeouts count as "too big" (a black hole drops
 * oversize DF packets silently).
 */
export async function searchLargestPayload(
  min: number,
  max: number,
  probe: (size: number) => Promise<ProbeAnswer>,
  /** Told when a refused probe's MTU sends the search straight to `next` (to say so before probing it). */
  onJump?: (refused: number, mtu: number, next: number) => void,
): Promise<SearchResult> {
  let good = min - 1; // largest size known to pass (min - 1: none yet)
  let bad = max + 1; // smallest size known not to pass (max + 1: none yet)
  let next: number | undefined = max;
  let probes = 0;
  while (bad - good > 1) {
    const size: number = next !== undefined && next > good && next < bad ? next : Math.floor((good + bad) / 2);
    next = undefined;
    probes++;
    const answer = await probe(size);
    switch (answer.kind) {
      case 'reply':
        good = size;
        break;
      case 'fragNeeded':
      case 'localTooBig': {
        bad = size;
        const mtu = answer.mtu ?? 0;
        if (mtu >= 68 && mtu < size + OVERHEAD) {
          const fits = mtu - OVERHEAD;
          if (fits + 1 < bad) bad = Math.max(fits + 1, good + 1);
          next = fits;
          if (fits > good) onJump?.(size, mtu, fits);
        }
        break;
      }
      case 'timeout':
        bad = size;
        break;
      case 'error':
        return { kind: 'error', text: answer.text, probes };
    }
  }
  return good >= min ? { kind: 'found', largest: good, probes } : { kind: 'none', probes };
}
