// `node dist/scripts/pmtu-probe.js TARGET [--min N] [--max N] [--timeout MS]` (root or CAP_NET_RAW):
// the classic `ping -f -l SIZE` path-MTU experiment, automated. Sends ICMP echo requests with the
// Don't-Fragment bit set over a raw socket, one payload size at a time, prints each probe and the
// answer (echo reply, ICMP "fragmentation needed" with the next-hop MTU, a local "message too
// long", or silence), and binary-searches the largest payload that gets a reply (scripts/pmtu-search.ts).
// The path MTU is that payload + 8 (ICMP header) + 20 (IP header).
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { endianness, networkInterfaces } from 'node:os';
import { parseArgs } from 'node:util';
import { buildIcmp, echoRest, IcmpType, parseIcmp, UnreachCode } from '../lib/wire/icmp.js';
import { parseIpv4, IpProto } from '../lib/wire/ipv4.js';
import { ipToString, parseIp, readIp } from '../lib/wire/ip-address.js';
import { loadRawSocket, openRawSocket, type RawSocket } from './raw-socket.js';
import { OVERHEAD, searchLargestPayload, type ProbeAnswer } from './pmtu-search.js';

const USAGE = `Usage: pmtu-probe TARGET [--min N] [--max N] [--timeout MS]
       pmtu-probe --version

Find the path MTU to TARGET (an IPv4 address or name) with DF ICMP echo requests, like
\`ping -M do -s SIZE\` (Windows: \`ping -f -l SIZE\`) done by hand. Needs root or CAP_NET_RAW.

  --min N        smallest ICMP payload to try (default 0)
  --max N        largest ICMP payload to try, probed first
                 (default: the outgoing interface's MTU - 28)
  --timeout MS   wait for each probe's answer (default 1000); one retry after a timeout
  -h, --help     this text
  -v, --version  the version (tapstack's)
`;

// Linux <linux/in.h>: the IPPROTO_IP-level option that controls DF on a socket, and its values.
const IP_MTU_DISCOVER = 10;
const IP_PMTUDISC_PROBE = 3;
/** The largest ICMP payload an IPv4 packet can carry (65535 - 20 - 8). */
const MAX_PAYLOAD = 65535 - OVERHEAD;

class UsageError extends Error {}

function int(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag}: expected a whole number from ${min} to ${max}, got "${text}"`);
  }
  return n;
}

/** The MTU of the interface the main routing table sends `target` out of (/proc/net/route), if known. */
function interfaceMtu(target: number): { dev: string; mtu: number } | undefined {
  try {
    let dev: string | undefined;
    // A local address goes out of lo.
    for (const addrs of Object.values(networkInterfaces())) {
      if (addrs?.some((a) => a.family === 'IPv4' && a.address === ipToString(target))) dev = 'lo';
    }
    if (dev === undefined) {
      // Columns: Iface Destination Gateway Flags RefCnt Use Metric Mask ...; addresses are hex in host byte order.
      const word = (hex: string): number => {
        const b = Buffer.from(hex, 'hex');
        return endianness() === 'LE' ? b.readUInt32LE(0) : b.readUInt32BE(0);
      };
      let bestLen = -1;
      for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length < 8 || (Number.parseInt(f[3]!, 16) & 1) === 0) continue; // RTF_UP
        const destination = word(f[1]!);
        const mask = word(f[7]!);
        const len = mask.toString(2).replace(/0/g, '').length;
        if (((target & mask) >>> 0) === destination && len > bestLen) {
          bestLen = len;
          dev = f[0];
        }
      }
    }
    if (dev === undefined) return undefined;
    const mtu = Number(readFileSync(`/sys/class/net/${dev}/mtu`, 'utf8').trim());
    return Number.isInteger(mtu) && mtu >= 68 ? { dev, mtu } : undefined;
  } catch {
    return undefined;
  }
}

/** Names for ICMP errors other than frag-needed (RFC 792, RFC 1812). */
function describeIcmpError(type: number, code: number): string {
  if (type === IcmpType.destUnreachable) {
    const what = ['net unreachable', 'host unreachable', 'protocol unreachable', 'port unreachable', 'fragmentation needed',
      'source route failed'][code] ?? (code === 9 || code === 10 || code === 13 ? 'administratively prohibited' : `code ${code}`);
    return `Destination unreachable (${what})`;
  }
  if (type === IcmpType.timeExceeded) return code === 0 ? 'Time to live exceeded' : 'Fragment reassembly time exceeded';
  if (type === IcmpType.parameterProblem) return 'Parameter problem';
  if (type === IcmpType.redirect) return 'Redirect';
  return `ICMP type ${type} code ${code}`;
}

/** One probe in flight: the sequence numbers of its tries and how to finish it. */
type Waiter = { seqs: Map<number, bigint>; finish: (answer: ProbeAnswer) => void };

class Prober {
  readonly #socket: RawSocket;
  readonly #id = process.pid & 0xffff;
  #seq = 0;
  #waiter: Waiter | undefined;

  constructor(
    socket: RawSocket,
    readonly target: number,
    readonly timeoutMs: number,
    /** The outgoing interface's MTU, when known: what a local EMSGSIZE means. */
    readonly localMtu: number | undefined,
    readonly print: (line: string) => void,
  ) {
    this.#socket = socket;
    socket.on('message', (buf) => this.#receive(buf));
  }

  /** Send a DF probe of `size` payload bytes (and once more after a timeout); print and return the answer. */
  async probe(size: number): Promise<ProbeAnswer> {
    const head = `probe ${size} bytes (IP ${size + OVERHEAD}, DF): `;
    const seqs = new Map<number, bigint>();
    for (let attempt = 1; ; attempt++) {
      const answer = await this.#try(size, seqs);
      if (answer.kind === 'timeout' && attempt < 2) {
        this.print(`${head}no answer in ${this.timeoutMs} ms, retrying`);
        continue;
      }
      this.print(head + this.#describe(answer));
      return answer;
    }
  }

  #describe(a: ProbeAnswer): string {
    switch (a.kind) {
      case 'reply':
        return `reply from ${a.from} in ${a.rttMs.toFixed(2)} ms`;
      case 'fragNeeded':
        return a.mtu > 0
          ? `Frag needed and DF set, mtu = ${a.mtu} (from ${a.from})`
          : `Frag needed and DF set, no next-hop MTU given (from ${a.from})`;
      case 'localTooBig':
        return `local error: message too long${a.mtu !== undefined ? `, mtu=${a.mtu}` : ''}`;
      case 'timeout':
        return `no answer in ${this.timeoutMs} ms (counted as too big)`;
      case 'error':
        return a.text;
    }
  }

  /** One echo request; resolves on its answer (or one of an earlier try of the same probe), or on the timeout. */
  #try(size: number, seqs: Map<number, bigint>): Promise<ProbeAnswer> {
    return new Promise((resolve) => {
      const seq = (this.#seq = (this.#seq + 1) & 0xffff);
      const payload = Buffer.alloc(size);
      for (let i = 0; i < size; i++) payload[i] = i & 0xff;
      const message = buildIcmp(IcmpType.echoRequest, 0, echoRest(this.#id, seq), payload);
      let timer: NodeJS.Timeout | undefined;
      const finish = (answer: ProbeAnswer): void => {
        if (this.#waiter !== waiter) return;
        this.#waiter = undefined;
        clearTimeout(timer);
        resolve(answer);
      };
      const waiter: Waiter = { seqs, finish };
      this.#waiter = waiter;
      seqs.set(seq, process.hrtime.bigint());
      this.#socket.send(message, 0, message.length, ipToString(this.target), (error) => {
        if (error !== null) {
          // raw-socket reports sendto()'s errno as strerror's text.
          // With IP_PMTUDISC_PROBE, EMSGSIZE means larger than the outgoing interface's MTU.
          if (/message too long/i.test(error.message)) finish(this.localMtu === undefined ? { kind: 'localTooBig' } : { kind: 'localTooBig', mtu: this.localMtu });
          else finish({ kind: 'error', from: 'local', text: `local error: ${error.message.toLowerCase()}` });
          return;
        }
        seqs.set(seq, process.hrtime.bigint());
        if (this.#waiter === waiter) timer = setTimeout(() => finish({ kind: 'timeout' }), this.timeoutMs);
      });
    });
  }

  /** Every ICMP message the host receives comes here (IPv4 raw sockets deliver the IP header too). */
  #receive(buf: Buffer): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    let ip, icmp;
    try {
      ip = parseIpv4(buf);
      if (ip.protocol !== IpProto.ICMP || ip.fragOffset !== 0 || ip.mf) return;
      icmp = parseIcmp(ip.payload);
    } catch {
      return; // not a well-formed ICMP message: not an answer
    }
    const from = ipToString(ip.src);
    if (icmp.type === IcmpType.echoReply) {
      const sentAt = waiter.seqs.get(icmp.seq);
      if (ip.src !== this.target || icmp.id !== this.#id || sentAt === undefined) return;
      waiter.finish({ kind: 'reply', from, rttMs: Number(process.hrtime.bigint() - sentAt) / 1e6 });
      return;
    }
    if (icmp.type !== IcmpType.destUnreachable && icmp.type !== IcmpType.timeExceeded && icmp.type !== IcmpType.parameterProblem) return;
    if (!this.#quotesOurProbe(icmp.body, waiter)) return;
    if (icmp.type === IcmpType.destUnreachable && icmp.code === UnreachCode.fragNeeded) {
      // RFC 1191: the next-hop MTU is in bytes 6-7 of the ICMP header (parseIcmp's nextHopMtu).
      waiter.finish({ kind: 'fragNeeded', from, mtu: icmp.nextHopMtu });
    } else {
      waiter.finish({ kind: 'error', from, text: `${describeIcmpError(icmp.type, icmp.code)} (from ${from})` });
    }
  }

  /**
   * True when an ICMP error's body quotes one of the waiter's echo requests: the original IP header
   * (protocol ICMP, to our target) and the first 8 bytes of its ICMP message (echo request, our
   * identifier, one of our sequence numbers). The quote is cut short by design, so its lengths and
   * checksums cannot be checked (parseIpv4/parseIcmp would refuse it): only the fields are read.
   */
  #quotesOurProbe(quote: Buffer, waiter: Waiter): boolean {
    if (quote.length < 20 || quote[0]! >> 4 !== 4) return false;
    const ihl = (quote[0]! & 0x0f) * 4;
    if (ihl < 20 || quote.length < ihl + 8) return false;
    if (quote[9] !== IpProto.ICMP || readIp(quote, 16) !== this.target) return false;
    if (quote[ihl] !== IcmpType.echoRequest) return false;
    return quote.readUInt16BE(ihl + 4) === this.#id && waiter.seqs.has(quote.readUInt16BE(ihl + 6));
  }
}

async function main(argv: string[]): Promise<number> {
  let opts;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        min: { type: 'string' },
        max: { type: 'string' },
        timeout: { type: 'string', default: '1000' },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (values.version) {
      // Built into dist/scripts/, two levels below the package root.
      const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`pmtu-probe (tapstack) ${version}\n`);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'no TARGET given' : `one TARGET only, got ${positionals.join(' ')}`);
    const min = values.min === undefined ? 0 : int('--min', values.min, 0, MAX_PAYLOAD);
    const max = values.max === undefined ? undefined : int('--max', values.max, 0, MAX_PAYLOAD);
    if (max !== undefined && max < min) throw new UsageError(`--max ${max} is smaller than --min ${min}`);
    opts = { target: positionals[0]!, min, max, timeoutMs: int('--timeout', values.timeout, 1, 60_000) };
  } catch (e) {
    process.stderr.write(`pmtu-probe: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }

  let target: number;
  try {
    target = parseIp((await lookup(opts.target, { family: 4 })).address);
  } catch (e) {
    process.stderr.write(`pmtu-probe: cannot resolve ${opts.target}: ${(e as Error).message}\n`);
    return 1;
  }

  const iface = interfaceMtu(target);
  const max = opts.max ?? Math.min(MAX_PAYLOAD, (iface?.mtu ?? 1500) - OVERHEAD);
  const min = opts.min;
  if (min > max) {
    const why = iface === undefined ? 'assumed MTU 1500' : `${iface.dev} MTU ${iface.mtu}`;
    process.stderr.write(`pmtu-probe: --min ${min} is over the range: the largest payload is ${max} (${why} - 20 IP - 8 ICMP)\n`);
    return 2;
  }
  let raw;
  try {
    raw = loadRawSocket();
  } catch (e) {
    process.stderr.write(`pmtu-probe: cannot load the raw-socket package: ${(e as Error).message}\n`);
    return 1;
  }
  let socket: RawSocket;
  try {
    socket = openRawSocket(raw, { protocol: raw.Protocol.ICMP, bufferSize: 65536 });
  } catch (e) {
    if (/not permitted|permission denied/i.test((e as Error).message)) {
      process.stderr.write('pmtu-probe: raw sockets need root or CAP_NET_RAW\n');
    } else {
      process.stderr.write(`pmtu-probe: cannot open a raw ICMP socket: ${(e as Error).message}\n`);
    }
    return 1;
  }
  try {
    // DF on every probe. IP_PMTUDISC_PROBE rather than IP_PMTUDISC_DO (ip(7)): both set DF and never
    // fragment locally, but DO also applies the path MTU the kernel has cached for the target. The
    // first frag-needed we provoke teaches the kernel that MTU (for ~10 minutes), and with DO every
    // later probe above it would fail locally with EMSGSIZE instead of reaching the path: the
    // experiment would measure the kernel's cache, not the path, and a rerun would not see the
    // router's answer at all. PROBE sends each probe as asked, up to the outgoing interface's MTU
    // (a larger probe still fails locally: "message too long"), so every answer comes from the path.
    socket.setOption(raw.SocketLevel.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE);
  } catch (e) {
    process.stderr.write(`pmtu-probe: cannot set IP_MTU_DISCOVER: ${(e as Error).message}\n`);
    socket.close();
    return 1;
  }
  socket.on('error', (e) => process.stderr.write(`pmtu-probe: socket error: ${e.message}\n`));

  const targetText = ipToString(target);
  const print = (line: string): void => void process.stdout.write(line + '\n');
  print(
    `PMTU-PROBE ${targetText}: DF ICMP echo requests, payload ${min}..${max} bytes` +
      (opts.max === undefined ? ` (${iface === undefined ? 'assumed MTU 1500' : `${iface.dev} MTU ${iface.mtu}`})` : '') +
      `, ${opts.timeoutMs} ms timeout, 1 retry`,
  );

  const prober = new Prober(socket, target, opts.timeoutMs, iface?.mtu, print);
  try {
    // The refused probe is printed, then why the next one is smaller (RFC 1191 §4: the next-hop MTU).
    const jumped = (refused: number, mtu: number, next: number): void =>
      print(`  ${refused} + 28 > ${mtu}: the path takes at most ${mtu} bytes, so next ${next} = ${mtu} - 20 IP - 8 ICMP`);
    const result = await searchLargestPayload(min, max, (size) => prober.probe(size), jumped);
    switch (result.kind) {
      case 'found': {
        const mtu = result.largest + OVERHEAD;
        print(`path MTU to ${targetText}: ${mtu} (largest DF payload ${result.largest} = ${mtu} - 20 IP - 8 ICMP)`);
        if (opts.max !== undefined && result.largest === max && (iface === undefined || max < iface.mtu - OVERHEAD)) {
          print(`(${max} was --max, the largest size probed: the path may carry more)`);
        }
        return 0;
      }
      case 'none':
        process.stderr.write(`pmtu-probe: no DF probe of ${min} to ${max} bytes got a reply from ${targetText}\n`);
        return 1;
      case 'error':
        process.stderr.write(`pmtu-probe: stopped: ${result.text}\n`);
        return 1;
    }
  } finally {
    socket.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
