// tapstack's library entry point: the pieces a program needs to run its own stack on a TAP or a
// memory wire, serve node:http or plain TCP on it, and connect out. The CLI (lib/cli.ts) is one
// such program.
export { SystemClock, FakeClock, type Clock } from './clock.js';
export { CryptoRng, SeededRng, type Rng } from './rng.js';
export { Counters } from './counters.js';
export type { Link } from './link/link.js';
export { Tap } from './link/tap.js';
export { TapLink, type TapLinkOptions } from './link/tap-link.js';
export { waitForCarrier } from './link/carrier.js';
export { MemoryWire } from './link/memory-wire.js';
export { FaultLink } from './link/fault-link.js';
export { PcapLink, PcapWriter } from './link/pcap-writer.js';
export { TracerLink } from './link/tracer.js';
export { Stack, type StackOptions, type IpHandler } from './stack.js';
export { TcpLayer } from './tcp/tcp-layer.js';
export { createServer, connect, createNet, Server, Socket } from './socket/index.js';
export { createWebServer, type WebServer, type WebServerOptions } from './http/web-server.js';
export { statusOf } from './status.js';
export { parseIp, ipToString } from './wire/ip-address.js';
export { TraceNarrator } from './explain/index.js';
export { parseScript, runScript, runFile, formatResult, type RunResult, type RunOptions } from './packetdrill/index.js';
export { DnsServer, type DnsServerOptions } from './dns/server.js';
export { DnsError, Resolver, type Resolved, type ResolverOptions } from './dns/resolver.js';
export { fetchUrl, type FetchOptions, type FetchResult } from './http/fetch.js';
