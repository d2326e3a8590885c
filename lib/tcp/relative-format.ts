// One-line TCP summaries with Wireshark's relative sequence numbers (DESIGN.md "one line per
// packet"): it learns each direction's ISN from the SYNs it sees, so it plugs into the tracer
// and pcap-side formatting as `formatFrame(frame, { tcp: rel.format })`. Directions whose SYN it
// never saw are shown with absolute numbers.
import { ipToString } from '../wire/ip-address.js';
import { formatTcpOptions } from '../wire/format.js';
import { type Seq, seqDiff } from '../wire/seq.js';
import { TCP_FLAGS, type TcpSegment, formatTcpFlags, parseTcp } from '../wire/tcp.js';
import { WireError } from '../wire/wire-error.js';

/** A stateful formatter: `format(src, dst, segment)` → `10.0.0.1:49312 > 10.0.0.2:80 [SYN] Seq=0 ...`. */
export class RelativeSeqFormatter {
  /** ISN per direction "src:sport>dst:dport". */
  readonly #isn = new Map<string, Seq>();

  constructor(readonly maxFlows = 4096) {}

  /** Summarize one TCP segment (checksum verified; a bad one is marked, not thrown). */
  readonly format = (src: number, dst: number, b: Buffer): string => {
    let seg: TcpSegment;
    let bad = '';
    try {
      seg = parseTcp(b, src, dst, true);
    } catch (e) {
      if (!(e instanceof WireError) || e.reason !== 'tcp.badChecksum') throw e;
      seg = parseTcp(b, src, dst, false);
      bad = ' [bad cksum]';
    }
    const fwd = `${src}:${seg.srcPort}>${dst}:${seg.dstPort}`;
    const rev = `${dst}:${seg.dstPort}>${src}:${seg.srcPort}`;
    if (seg.flags & TCP_FLAGS.SYN) {
      if (this.#isn.size >= this.maxFlows) this.#isn.delete(this.#isn.keys().next().value!);
      this.#isn.set(fwd, seg.seq);
    }
    const mine = this.#isn.get(fwd);
    const theirs = this.#isn.get(rev);
    const rel = (s: Seq, base: Seq | undefined): number => (base === undefined ? s : seqDiff(s, base) >>> 0);
    const ack = seg.flags & TCP_FLAGS.ACK ? ` Ack=${rel(seg.ack, theirs)}` : '';
    const o = seg.options.sack === undefined ? seg.options : { ...seg.options, sack: seg.options.sack.map((x) => ({ left: rel(x.left, theirs) as Seq, right: rel(x.right, theirs) as Seq })) };
    return `${ipToString(src)}:${seg.srcPort} > ${ipToString(dst)}:${seg.dstPort} [${formatTcpFlags(seg.flags)}] Seq=${rel(seg.seq, mine)}${ack} Win=${seg.window} Len=${seg.payload.length}${formatTcpOptions(o)}${bad}`;
  };
}
