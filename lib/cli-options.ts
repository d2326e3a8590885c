// The `tapstack` command line: flags to a validated config (util.parseArgs does the parsing).
// This contract is used by tests and later features: extend it, never rename a flag.
import { parseArgs } from 'node:util';
import { ipToString, parseCidr, prefixMask } from './wire/ip-address.js';
import { isMulticastOrReserved } from './wire/ipv4.js';
import { DropRule, DropRuleError } from './link/drop-rule.js';

/** The usage text printed by `--help` and after a usage error. */
export const USAGE = `Usage: tapstack [options]

  --tap NAME          TAP device (default tap0; created if missing, attached if it exists)
  --ip CIDR           the stack's own address (default 10.0.0.2/24)
  --host-ip CIDR      address for the kernel side of the tap (default 10.0.0.1/24;
                      "none" leaves the tap as it is)
  --path-mtu N        emulate a narrower path: DF packets over N get ICMP frag-needed
                      (default: the tap's MTU)
  --pcap FILE         write every frame to FILE (libpcap, for Wireshark/tshark; pcapng
                      with --loss or --drop, each dropped frame kept with a comment)
  --trace             one line per packet on stderr (relative TCP numbers, TCP state changes)
  --explain           --trace, with one or two plain sentences under each packet on what it
                      is and why its numbers are what they are
  --lang LANG         language of --explain: en (default) or zh
  --loss P            drop each frame with probability P (0..1) between tap and stack
  --delay MS          delay each frame by MS milliseconds between tap and stack
  --seed N            seed for --loss/--delay (default: random)
  --cc NAME           TCP congestion control: cubic (RFC 9438, default) or newreno
  --port N            HTTP port of the web server (default 80; 0 turns it off)
  --root DIR          directory the web server serves (default: the bundled teaching site)
  --keepalive-timeout MS
                      idle time after which the server closes a keep-alive connection
                      first, so its side goes to TIME-WAIT (default 5000)
  --access-log FILE   append the access log to FILE instead of stdout
  --drop RULE         drop exactly the frames RULE picks (repeatable), shown in trace and
                      pcap, e.g. 'tx tcp seq=1 len>0 nth=1' (the first data segment sent);
                      words: rx|tx tcp|udp|icmp|arp syn|fin|rst|psh|ack flags=SAFRPU
                      seq=N ack=N (relative) len=N|>N|<N sport=N dport=N nth=N every=N
  --step              slow motion: each frame, either way, waits for Enter after its trace
                      lines (implies --explain)
  --pace MS           slow motion: each frame waits MS milliseconds (implies --explain)
  -h, --help          this text
  -v, --version       the version
`;

/** Everything the CLI needs to start a stack. */
export type CliConfig = {
  tap: string;
  ip: number;
  prefix: number;
  /** The kernel side's address and prefix, or null to leave the tap as it is. */
  hostIp: { ip: number; prefix: number } | null;
  hostIpText: string | null;
  ipText: string;
  pathMtu: number | undefined;
  pcap: string | undefined;
  trace: boolean;
  /** Explanations under each traced packet (implies trace). */
  explain: boolean;
  lang: 'en' | 'zh';
  loss: number;
  delayMs: number;
  seed: number | undefined;
  /** TCP congestion control: 'cubic' (default) or 'newreno'. */
  cc: 'cubic' | 'newreno';
  httpPort: number;
  root: string | undefined;
  keepAliveTimeoutMs: number;
  accessLog: string | undefined;
  /** `--drop` rules, as written (each checked by DropRule). */
  drop: string[];
  /** `--step`: each frame waits for Enter. */
  step: boolean;
  /** `--pace MS`: each frame waits this long (0: no pacing). */
  paceMs: number;
  help: boolean;
  version: boolean;
};

/** A bad command line: the message is printed as one line, then the usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parse `argv` (without node and script) into a CliConfig; throws UsageError on any mistake. */
export function parseCliArgs(argv: string[]): CliConfig {
  let values;
  try {
    ({ values } = parseArgs({
      args: joinNegativeValues(argv),
      strict: true,
      allowPositionals: false,
      options: {
        tap: { type: 'string', default: 'tap0' },
        ip: { type: 'string', default: '10.0.0.2/24' },
        'host-ip': { type: 'string', default: '10.0.0.1/24' },
        'path-mtu': { type: 'string' },
        pcap: { type: 'string' },
        trace: { type: 'boolean', default: false },
        explain: { type: 'boolean', default: false },
        lang: { type: 'string', default: 'en' },
        loss: { type: 'string', default: '0' },
        delay: { type: 'string', default: '0' },
        seed: { type: 'string' },
        cc: { type: 'string', default: 'cubic' },
        port: { type: 'string', default: '80' },
        root: { type: 'string' },
        'keepalive-timeout': { type: 'string', default: '5000' },
        'access-log': { type: 'string' },
        drop: { type: 'string', multiple: true, default: [] },
        step: { type: 'boolean', default: false },
        pace: { type: 'string', default: '0' },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  // IFNAMSIZ is 16 including the terminating NUL.
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(values.tap)) throw new UsageError(`--tap: "${values.tap}" is not a valid interface name (1-15 characters)`);
  const own = hostAddress('--ip', values.ip);
  const hostText = values['host-ip'];
  const host = hostText === 'none' ? null : hostAddress('--host-ip', hostText);
  if (host !== null && host.ip === own.ip) throw new UsageError('--ip and --host-ip must differ');
  if (values.lang !== 'en' && values.lang !== 'zh') throw new UsageError(`--lang: expected en or zh, got "${values.lang}"`);
  const paceMs = int('--pace', values.pace, 0, 60_000);
  if (values.step && paceMs > 0) throw new UsageError('--step and --pace: choose one');
  const slow = values.step || paceMs > 0;
  if (values.cc !== 'cubic' && values.cc !== 'newreno') throw new UsageError(`--cc: expected cubic or newreno, got "${values.cc}"`);
  return {
    tap: values.tap,
    ip: own.ip,
    prefix: own.prefix,
    ipText: values.ip,
    hostIp: host,
    hostIpText: host === null ? null : hostText,
    pathMtu: values['path-mtu'] === undefined ? undefined : int('--path-mtu', values['path-mtu'], 68, 65535),
    pcap: values.pcap,
    // Slow motion is for reading the explanations: it turns them on.
    trace: values.trace || values.explain || slow,
    explain: values.explain || slow,
    lang: values.lang,
    loss: num('--loss', values.loss, 0, 1),
    delayMs: num('--delay', values.delay, 0, 60_000),
    seed: values.seed === undefined ? undefined : int('--seed', values.seed, 0, 0xffffffff),
    cc: values.cc,
    httpPort: int('--port', values.port, 0, 65535),
    root: values.root,
    keepAliveTimeoutMs: int('--keepalive-timeout', values['keepalive-timeout'], 1, 3_600_000),
    accessLog: values['access-log'],
    drop: values.drop.map(dropRule),
    step: values.step,
    paceMs,
    help: values.help,
    version: values.version,
  };
}

function dropRule(text: string): string {
  try {
    return new DropRule(text).text;
  } catch (e) {
    if (e instanceof DropRuleError) throw new UsageError(`--drop '${text}': ${e.message}`);
    throw e;
  }
}

function cidr(flag: string, text: string): { ip: number; prefix: number } {
  try {
    return parseCidr(text);
  } catch (e) {
    throw new UsageError(`${flag}: ${(e as Error).message}`);
  }
}

/**
 * parseArgs refuses `--loss -1` as "ambiguous" (the value looks like a flag): join a value that
 * looks like a negative number to its flag, so the range check below says what is wrong.
 */
function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a.startsWith('--') && !a.includes('=') && next !== undefined && /^-\.?\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/**
 * An address a host may have (RFC 1122 §3.2.1.3, RFC 919/922): not 0.0.0.0, loopback, multicast,
 * class E or the limited broadcast, and not the network or broadcast address of its own prefix
 * (a /31 or /32 has neither, RFC 3021).
 */
function hostAddress(flag: string, text: string): { ip: number; prefix: number } {
  const a = cidr(flag, text);
  const mask = prefixMask(a.prefix);
  const why =
    a.ip === 0 ? 'the unspecified address'
    : a.ip >>> 24 === 127 ? 'a loopback address'
    : a.ip === 0xffffffff ? 'the limited broadcast address'
    : isMulticastOrReserved(a.ip) ? 'a multicast or reserved (class E) address'
    : a.prefix <= 30 && (a.ip & ~mask) === 0 ? `the network address of ${ipToString((a.ip & mask) >>> 0)}/${a.prefix}`
    : a.prefix <= 30 && (a.ip | mask) >>> 0 === 0xffffffff ? `the broadcast address of ${ipToString((a.ip & mask) >>> 0)}/${a.prefix}`
    : undefined;
  if (why !== undefined) throw new UsageError(`${flag}: ${ipToString(a.ip)} is ${why}, not one a host can have`);
  return a;
}

/** Plain decimal only: `0x1`, `1e3`, `Infinity` and blanks are mistakes, not numbers. */
function num(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^-?(\d+\.?\d*|\.\d+)$/.test(text) || n < min || n > max) throw new UsageError(`${flag}: expected a number from ${min} to ${max}, got "${text}"`);
  return n;
}

function int(flag: string, text: string, min: number, max: number): number {
  const n = num(flag, text, min, max);
  if (!Number.isInteger(n)) throw new UsageError(`${flag}: expected a whole number, got "${text}"`);
  return n;
}
