// The `tapstack` command line: flags to a validated config (util.parseArgs does the parsing).
// This contract is used by tests and later features: extend it, never rename a flag.
import { parseArgs } from 'node:util';
import { ipToString, parseCidr, parseIp, prefixMask } from './wire/ip-address.js';
import { isMulticastOrReserved } from './wire/ipv4.js';
import { DropRule, DropRuleError } from './link/drop-rule.js';

/** The usage text printed by `--help` and after a usage error. */
export const USAGE = `Usage: tapstack [options]
       tapstack fetch URL [options]   (a client: GET URL from the stack, then exit)

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
  --offload on|off    TCP offloads on the tap: the kernel cuts our 64 KB segments and merges
                      its own (default on; off under --trace, --explain and --drop, which
                      show or pick each wire segment as the stack handles it)
  --status MODE       the live status page /_stack: on (default), local (only clients on
                      the stack's own subnet, such as the kernel side) or off (404)
  --name NAME         the stack's own DNS name (default tapstack.test)
  --dns on|off        answer DNS queries for --name on port 53 (default on; off for fetch)
  --fetch URL         beside the server, GET URL from the stack (as tapstack fetch does)
  -o, --output FILE   where fetch saves the body (default: stdout)
  --gateway IP        next hop for off-subnet addresses (default: the --host-ip address)
  --dns-server IP     the DNS server fetch asks for names (UDP 53)
  --send-timeout MS   a response the client takes nothing of for MS is cut (default 60000)
  --max-connections N HTTP connections at once; more get 503 (default 512)
  --max-connections-per-ip N
                      HTTP connections at once from one address; more get 503 (default 64)
  --service-idle-timeout MS
                      echo/discard connections idle for MS are reset (default 300000; 0 never)
  --service-max-connections N
                      echo/discard connections at once, each; more are reset (default 1024)
  --drop RULE         drop exactly the frames RULE picks (repeatable), shown in trace and
                      pcap, e.g. 'tx tcp seq=1 len>0 nth=1' (the first data segment sent);
                      words: rx|tx tcp|udp|icmp|arp syn|fin|rst|psh|ack|urg flags=SAFRPUEC
                      seq=N ack=N (relative) len=N|>N|<N sport=N dport=N nth=N every=N
  --min-pmtu N        lowest path MTU an ICMP frag-needed may set (default 552, as Linux)
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
  /** TAP offloads (TSO/GSO out, GRO and checksum in). */
  offload: boolean;
  /** Who may see /_stack: everyone, clients on our own subnet, or no one. */
  status: 'on' | 'local' | 'off';
  /** The stack's DNS name, lower case, no trailing dot. */
  name: string;
  /** Answer DNS for `name` on port 53 (UDP and TCP). */
  dns: boolean;
  /** A URL to GET from the stack (`--fetch`, or `tapstack fetch URL`). */
  fetch: string | undefined;
  /** `tapstack fetch URL`: no server, exit after the fetch. */
  fetchOnly: boolean;
  output: string | undefined;
  /** Next hop for off-subnet destinations (default: the host side's address). */
  gateway: number | undefined;
  dnsServer: number | undefined;
  sendTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  serviceIdleTimeoutMs: number;
  serviceMaxConnections: number;
  /** `--drop` rules, as written (each checked by DropRule). */
  drop: string[];
  /** Floor for path MTUs learned from ICMP (Linux's min_pmtu). */
  minPmtu: number;
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
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: joinNegativeValues(argv),
      strict: true,
      allowPositionals: true,
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
        port: { type: 'string' },
        root: { type: 'string' },
        'keepalive-timeout': { type: 'string', default: '5000' },
        'access-log': { type: 'string' },
        offload: { type: 'string' },
        status: { type: 'string', default: 'on' },
        name: { type: 'string', default: 'tapstack.test' },
        dns: { type: 'string' },
        fetch: { type: 'string' },
        output: { type: 'string', short: 'o' },
        gateway: { type: 'string' },
        'dns-server': { type: 'string' },
        'send-timeout': { type: 'string', default: '60000' },
        'max-connections': { type: 'string', default: '512' },
        'max-connections-per-ip': { type: 'string', default: '64' },
        'service-idle-timeout': { type: 'string', default: '300000' },
        'service-max-connections': { type: 'string', default: '1024' },
        drop: { type: 'string', multiple: true, default: [] },
        'min-pmtu': { type: 'string', default: '552' },
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
  if (values.offload !== undefined && values.offload !== 'on' && values.offload !== 'off') throw new UsageError(`--offload: expected on or off, got "${values.offload}"`);
  if (values.status !== 'on' && values.status !== 'local' && values.status !== 'off') throw new UsageError(`--status: expected on, local or off, got "${values.status}"`);
  const client = clientOptions(values, positionals);
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
    httpPort: values.port === undefined ? (client.fetchOnly ? 0 : 80) : int('--port', values.port, 0, 65535),
    root: values.root,
    keepAliveTimeoutMs: int('--keepalive-timeout', values['keepalive-timeout'], 1, 3_600_000),
    accessLog: values['access-log'],
    offload: values.offload === undefined ? offloadDefault({ ...values, trace: values.trace || slow }) : values.offload === 'on',
    status: values.status,
    ...client,
    sendTimeoutMs: int('--send-timeout', values['send-timeout'], 1, 3_600_000),
    maxConnections: int('--max-connections', values['max-connections'], 1, 1_000_000),
    maxConnectionsPerIp: int('--max-connections-per-ip', values['max-connections-per-ip'], 1, 1_000_000),
    serviceIdleTimeoutMs: int('--service-idle-timeout', values['service-idle-timeout'], 0, 86_400_000),
    serviceMaxConnections: int('--service-max-connections', values['service-max-connections'], 1, 1_000_000),
    drop: values.drop.map(dropRule),
    minPmtu: int('--min-pmtu', values['min-pmtu'], 68, 65535),
    step: values.step,
    paceMs,
    help: values.help,
    version: values.version,
  };
}

/**
 * Offloads when `--offload` is not given: on, except where the stack should handle every wire
 * segment itself, one by one, for a learner to watch or a rule to pick (--trace, --explain,
 * --step/--pace, which imply them, and --drop).
 */
export function offloadDefault(values: { trace?: boolean; explain?: boolean; drop?: string[] }): boolean {
  return !(values.trace === true || values.explain === true || (values.drop?.length ?? 0) > 0);
}

/** The client side and DNS flags (issue 11): `fetch URL` or `--fetch URL`, --name, --dns, --gateway, --dns-server. */
function clientOptions(
  values: { name: string; dns?: string | undefined; fetch?: string | undefined; output?: string | undefined; gateway?: string | undefined; 'dns-server'?: string | undefined },
  positionals: string[],
): Pick<CliConfig, 'name' | 'dns' | 'fetch' | 'fetchOnly' | 'output' | 'gateway' | 'dnsServer'> {
  let fetch = values.fetch;
  const fetchOnly = positionals[0] === 'fetch';
  if (fetchOnly) {
    if (positionals.length !== 2) throw new UsageError('fetch: expected exactly one URL: tapstack fetch URL [options]');
    if (fetch !== undefined) throw new UsageError('fetch: give the URL once (not also --fetch)');
    fetch = positionals[1];
  } else if (positionals.length > 0) {
    throw new UsageError(`unexpected positional argument "${positionals[0]}" (the only command is "fetch URL")`);
  }
  if (fetch !== undefined) {
    let url: URL;
    try {
      url = new URL(fetch);
    } catch {
      throw new UsageError(`fetch: "${fetch}" is not a URL`);
    }
    if (url.protocol !== 'http:') throw new UsageError(`fetch: only http:// URLs (tapstack has no TLS), got "${url.protocol}"`);
  }
  if (values.output !== undefined && fetch === undefined) throw new UsageError('--output needs a URL to fetch');
  // RFC 1035 §2.3.4: names of at most 253 characters, labels of 1-63.
  const name = values.name.toLowerCase().replace(/\.$/, '');
  if (name.length > 253 || !name.split('.').every((l) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(l))) throw new UsageError(`--name: "${values.name}" is not a DNS name`);
  if (values.dns !== undefined && values.dns !== 'on' && values.dns !== 'off') throw new UsageError(`--dns: expected on or off, got "${values.dns}"`);
  return {
    name,
    dns: values.dns === undefined ? !fetchOnly : values.dns === 'on',
    fetch,
    fetchOnly,
    output: values.output,
    gateway: values.gateway === undefined ? undefined : ip('--gateway', values.gateway),
    dnsServer: values['dns-server'] === undefined ? undefined : ip('--dns-server', values['dns-server']),
  };
}

function ip(flag: string, text: string): number {
  try {
    return parseIp(text);
  } catch (e) {
    throw new UsageError(`${flag}: ${(e as Error).message}`);
  }
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
