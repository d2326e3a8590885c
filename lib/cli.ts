#!/usr/bin/env node
// The `tapstack` command: flags to a running stack on a TAP device, with a banner, optional
// pcap / trace / fault injection, the echo services, and a clean stop on SIGINT/SIGTERM.
// Set-up errors are one clear line and a non-zero exit; it never prints a stack trace for them.
import { closeSync, existsSync, openSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SystemClock } from './clock.js';
import { CryptoRng, SeededRng } from './rng.js';
import { parseCliArgs, UsageError, USAGE, type CliConfig } from './cli-options.js';
import type { Link } from './link/link.js';
import { TapLink } from './link/tap-link.js';
import { PcapLink } from './link/pcap-writer.js';
import { TracerLink } from './link/tracer.js';
import { TraceNarrator } from './explain/index.js';
import { FaultLink } from './link/fault-link.js';
import { DropRuleLink } from './link/drop-rule-link.js';
import { Stack } from './stack.js';
import { startUdpEcho } from './net/udp-echo.js';
import { TcpLayer } from './tcp/tcp-layer.js';
import { DEFAULT_TCP_CONFIG } from './tcp/config.js';
import { createServer, startDiscardService, startEchoService } from './socket/index.js';
import { createWebServer, type WebServer } from './http/web-server.js';
import { openAccessLog } from './http/access-log.js';
import { onOwnSubnet, statusOf } from './status.js';
import { ipToString, macToString } from './wire/ip-address.js';
import { waitForCarrier } from './link/carrier.js';
import { Pacer } from './link/pacer.js';
import { createInterface } from 'node:readline';
import { DnsServer } from './dns/server.js';
import { runFetch } from './cli-fetch.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Run the CLI; resolves with the process exit code once the stack has stopped. */
export async function main(argv: string[]): Promise<number> {
  let config: CliConfig;
  try {
    config = parseCliArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`tapstack: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (config.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (config.version) {
    process.stdout.write(`tapstack ${VERSION}\n`);
    return 0;
  }

  if (config.root !== undefined && !(existsSync(config.root) && statSync(config.root).isDirectory())) {
    process.stderr.write(`tapstack: --root ${config.root}: no such directory\n`);
    return 1;
  }
  // Output files are opened (created) now, so a missing directory is one line before anything runs.
  for (const [flag, file] of [['--pcap', config.pcap], ['--access-log', config.accessLog]] as const) {
    const problem = file === undefined ? undefined : unwritable(file);
    if (problem !== undefined) {
      process.stderr.write(`tapstack: ${flag} ${file}: ${problem}\n`);
      return 1;
    }
  }
  // A signal during set-up (carrier wait included) stops as cleanly as one after the banner.
  const stop = stopSignal();
  let accessLog: ReturnType<typeof openAccessLog> | undefined;
  try {
    if (config.accessLog !== undefined) accessLog = openAccessLog(config.accessLog);
  } catch (e) {
    process.stderr.write(`tapstack: --access-log: ${(e as Error).message}\n`);
    return 1;
  }

  let tap: TapLink;
  try {
    tap = await TapLink.open({ name: config.tap, hostIp: config.hostIpText, up: true, offload: config.offload });
  } catch (e) {
    process.stderr.write(`tapstack: ${(e as Error).message}\n`);
    return 1;
  }
  // The interface deleted under us (`ip link del`): reading fails for good; say so and exit 1.
  let tapGone: Error | undefined;
  tap.onError((err) => {
    tapGone = err;
    stop.now();
  });
  // The kernel drops frames on a tap whose carrier it has not yet noticed (linkwatch, up to ~1 s):
  // start once it has, so the gratuitous ARP and the first replies are not lost.
  await Promise.race([waitForCarrier(config.tap, 3000), stop.requested]);
  if (stop.stopped) {
    await tap.close();
    await accessLog?.close();
    return 0;
  }

  const clock = new SystemClock();
  const rng = new CryptoRng();
  // The fault injector sits between the wire and the stack (its drops counted with the stack's
  // counters, so /_stack shows them); the capture and the tracer sit side by side above it, so both see every frame in the same order, and the frames it drops on
  // purpose too (a DROP line, a pcapng frame with a comment): trace numbers are frame numbers.
  let link: Link = tap;
  // --step / --pace: sent frames wait at the bottom, received ones at the top, so each frame's
  // trace lines come before its wait (pacer.ts).
  const pacer = config.step || config.paceMs > 0 ? new Pacer({ clock, paceMs: config.paceMs, ...(config.step ? { step: enterKey() } : {}) }) : undefined;
  if (pacer !== undefined) link = pacer.gateTx(link);
  if (config.loss > 0 || config.delayMs > 0) {
    const seed = config.seed;
    const faultRng = seed === undefined ? rng : new SeededRng(seed);
    const dropReason = (cause: string): string => (cause === 'loss' ? `--loss${seed !== undefined ? `, seed ${seed}` : ''}` : cause);
    link = new FaultLink(link, { clock, rng: faultRng, loss: config.loss, delayMs: config.delayMs, dropReason, counters: tap.counters });
  }
  if (config.drop.length > 0) link = new DropRuleLink(link, config.drop, tap.counters);
  if (config.pcap !== undefined) link = new PcapLink(link, config.pcap);
  // --trace / --explain: relative TCP numbers per connection, TCP state changes, explanations.
  const timeWaitMs = 2 * DEFAULT_TCP_CONFIG.mslMs;
  const narrator = new TraceNarrator({ clock, explain: config.explain, lang: config.lang, timeWaitMs, ...(config.pathMtu !== undefined ? { pathMtu: Math.min(config.pathMtu, tap.mtu) } : { pathMtu: tap.mtu }) });
  if (config.trace) link = new TracerLink(link, process.stderr, { clock, narrator });
  if (pacer !== undefined) link = pacer.gateRx(link);

  // The kernel side is our router to other subnets (the forwarding topology of NETWORK-TESTING.md).
  const stack = new Stack({
    link, clock, rng, ip: config.ip, prefix: config.prefix, counters: tap.counters,
    ...(config.gateway !== undefined ? { gateway: config.gateway } : config.hostIp !== null ? { gateway: config.hostIp.ip } : {}),
    ...(config.pathMtu !== undefined ? { pathMtu: config.pathMtu } : {}),
  });
  const tcp = new TcpLayer(stack, { congestionControl: config.cc, minPathMtu: config.minPmtu });
  // --explain names the real cause of each of our retransmissions, as the TCP core decided it.
  if (config.trace) tcp.onRetransmit = (e) => narrator.explainer.retransmit(e);
  if (!config.fetchOnly) startServices(stack, tcp, config);
  // The stack's own name on port 53, UDP and TCP (issue 11, seed 004): `dig @10.0.0.2 tapstack.test`.
  if (config.dns) new DnsServer(stack, { name: config.name, ip: config.ip, tcp });
  let web: WebServer | undefined;
  if (config.httpPort !== 0) {
    web = createWebServer({
      ...(config.root !== undefined ? { root: config.root } : {}),
      keepAliveTimeoutMs: config.keepAliveTimeoutMs,
      sendTimeoutMs: config.sendTimeoutMs,
      maxConnections: config.maxConnections,
      maxConnectionsPerIp: config.maxConnectionsPerIp,
      accessLog: accessLog ?? process.stdout,
      counters: stack.counters,
      ...(config.status !== 'off' ? { status: statusOf(stack, tcp, config.tap) } : {}),
      ...(config.status === 'local' ? { statusAllowed: onOwnSubnet(stack) } : {}),
    });
    const server = web;
    // node:http turns Nagle off on its sockets (its `noDelay` default): a response written as
    // headers then body must not wait for the client's delayed ACK (RFC 896 x RFC 1122 stall).
    // segmentHistory: the index page draws the ladder of the connection that loads it.
    createServer(tcp, { noDelay: true, segmentHistory: true }, (s) => server.accept(s)).listen(config.httpPort);
  }

  if (config.fetch !== undefined) {
    const fetching = runFetch(config, stack, tcp, VERSION, timeWaitMs);
    if (config.fetchOnly) {
      const code = await fetching;
      web?.closeAllConnections();
      tcp.close();
      await stack.close();
      return code;
    }
  }
  process.stdout.write(banner(config, tap, stack.pathMtu));

  await stop.requested;
  web?.closeAllConnections();
  tcp.close();
  await stack.close();
  await accessLog?.close();
  if (tapGone !== undefined) {
    process.stderr.write(`tapstack: ${config.tap} went away (${(tapGone as NodeJS.ErrnoException).code ?? tapGone.message}: the interface was deleted?); stopped\n`);
    return 1;
  }
  return 0;
}

/** SIGINT/SIGTERM (or `now()`) resolve `requested`; `stopped` says whether that happened yet. */
function stopSignal(): { requested: Promise<void>; stopped: boolean; now(): void } {
  let resolve!: () => void;
  const s = {
    requested: new Promise<void>((r) => (resolve = r)),
    stopped: false,
    now(): void {
      s.stopped = true;
      resolve();
    },
  };
  process.once('SIGINT', s.now);
  process.once('SIGTERM', s.now);
  return s;
}

/** `--step`: a wait that ends at the next Enter on stdin (at once for ever after stdin ends). */
function enterKey(): () => Promise<void> {
  const waiting: (() => void)[] = [];
  let ended = false;
  const rl = createInterface({ input: process.stdin });
  rl.on('line', () => waiting.shift()?.());
  rl.on('close', () => {
    ended = true;
    for (const w of waiting.splice(0)) w();
  });
  return () => (ended ? Promise.resolve() : new Promise((resolve) => void waiting.push(resolve)));
}

/** Why `file` cannot be written (opened for append, so nothing is lost), or undefined if it can. */
function unwritable(file: string): string | undefined {
  try {
    closeSync(openSync(file, 'a'));
    return undefined;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return 'no such directory';
    if (err.code === 'EISDIR') return 'is a directory';
    if (err.code === 'EACCES') return 'permission denied';
    return err.message;
  }
}

/** The small services of old inetd: echo (RFC 862) on UDP and TCP port 7, discard (RFC 863) on TCP 9. */
function startServices(stack: Stack, tcp: TcpLayer, config: CliConfig): void {
  startUdpEcho(stack, stack.udp);
  const limits = { idleTimeoutMs: config.serviceIdleTimeoutMs, maxConnections: config.serviceMaxConnections };
  startEchoService(tcp, 7, limits);
  startDiscardService(tcp, 9, limits);
}

function banner(c: CliConfig, tap: TapLink, pathMtu: number): string {
  const ip = ipToString(c.ip);
  const lines = [
    `tapstack ${VERSION} on ${c.tap}`,
    `  stack      ${ip}/${c.prefix}  mac ${macToString(tap.mac)}`,
    `  host side  ${c.hostIpText ?? '(left as it is)'}  mac ${macToString(tap.hostMac)}`,
    `  MTU        ${tap.mtu}${pathMtu < tap.mtu ? `, emulated path MTU ${pathMtu}` : ''}`,
    `  offloads   ${tap.offload ? 'on (the kernel cuts our 64 KB TCP segments and merges its own)' : 'off'}`,
    ...(c.httpPort !== 0 ? [`  web        http://${ip}${c.httpPort === 80 ? '' : `:${c.httpPort}`}/  (${c.root ?? 'the bundled teaching site'}${c.status === 'off' ? '' : `; live status /_stack${c.status === 'local' ? ' from this subnet' : ''}`})`] : []),
    ...(c.dns ? [`  DNS        ${c.name} -> ${ip} on port 53 (UDP and TCP)`] : []),
    ...(c.pcap !== undefined ? [`  capture    ${c.pcap}`] : []),
    ...(c.loss > 0 || c.delayMs > 0 ? [`  faults     loss ${c.loss}, delay ${c.delayMs} ms${c.seed !== undefined ? `, seed ${c.seed}` : ''}`] : []),
    ...c.drop.map((r) => `  drop       ${r}`),
    `Try: ${c.httpPort !== 0 ? `curl -v http://${ip}${c.httpPort === 80 ? '' : `:${c.httpPort}`}/ · ` : ''}ping ${ip} · ping -M do -s 1472 ${ip} · echo hi | nc -u -w1 ${ip} 7${c.dns ? ` · dig @${ip} ${c.name}` : ''}`,
    'Ctrl-C to stop.',
    '',
  ];
  return lines.join('\n');
}

// Run when executed (directly or through the npm bin link), not when imported.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`tapstack: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
