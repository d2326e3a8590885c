// A typed view of the npm package `raw-socket` (CommonJS, no types of its own): only the parts the
// scripts use. Loaded with createRequire so the ESM scripts can use it; see its README for the API.
import { createRequire } from 'node:module';

/** A raw IPv4/IPv6 socket (SOCK_RAW) watched by libuv. */
export interface RawSocket {
  /**
   * Queue `buffer[offset, offset+length)` for `address` (a literal IP). `after` gets the error of
   * `sendto()` (its message is strerror's text, e.g. "Message too long") or the bytes sent.
   */
  send(buffer: Buffer, offset: number, length: number, address: string, after: (error: Error | null, bytes: number) => void): RawSocket;
  /** setsockopt() with a 32-bit unsigned value; throws an Error with strerror's text. */
  setOption(level: number, option: number, value: number): void;
  /** getsockopt() into `value`; returns the bytes written. */
  getOption(level: number, option: number, value: Buffer, length: number): number;
  /** Received datagrams: for IPv4 raw sockets the whole packet, IP header included. */
  on(event: 'message', fn: (buffer: Buffer, source: string) => void): RawSocket;
  /** Receive errors (the socket is closed after one). */
  on(event: 'error', fn: (error: Error) => void): RawSocket;
  on(event: 'close', fn: () => void): RawSocket;
  close(): RawSocket;
}

/** The module's exports that the scripts use. */
export interface RawSocketModule {
  createSocket(options?: { addressFamily?: number; protocol?: number; bufferSize?: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
  Protocol: { None: number; ICMP: number; TCP: number; UDP: number; ICMPv6: number };
  SocketLevel: { SOL_SOCKET: number; IPPROTO_IP: number; IPPROTO_IPV6: number };
  SocketOption: Record<string, number>;
}

/** Load `raw-socket` (throws if the package or its native addon is missing). */
export function loadRawSocket(): RawSocketModule {
  return createRequire(import.meta.url)('raw-socket') as RawSocketModule;
}

const open = new Set<RawSocket>();

/**
 * Open a raw socket that stays alive until closed. raw-socket's native object is garbage-collected
 * (and its fd closed) once JavaScript no longer reaches it, and its libuv poll handle does not
 * count as a reference: a socket known only to a pending promise chain (an `await` waiting for
 * the first answer, with no timer armed yet) can be collected mid-send, and the process then exits
 * with an unsettled top-level await (code 13). A module-level set holds every open socket.
 */
export function openRawSocket(mod: RawSocketModule, options: Parameters<RawSocketModule['createSocket']>[0]): RawSocket {
  const socket = mod.createSocket(options);
  open.add(socket);
  socket.on('close', () => open.delete(socket));
  return socket;
}
