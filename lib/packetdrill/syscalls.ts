// The system calls of a packetdrill script over tapstack's TCP: a file-descriptor table whose
// sockets are the core's listeners and connections (the layer lib/socket is built on), with
// POSIX meanings: return values, errno names, blocking and O_NONBLOCK. A call that would block
// returns `undefined` from its attempt; the runner retries it as time moves (blocking calls) or
// turns it into EAGAIN / EINPROGRESS (non-blocking sockets).
import type { TcpConnection } from '../tcp/connection.js';
import type { TcpListener } from '../tcp/demux.js';
import type { TcpLayer } from '../tcp/tcp-layer.js';
import { TcpError } from '../tcp/types.js';
import type { SyscallEvent } from './script.js';

/** What a call returned: the value, the errno name when -1, a mismatch in an out-argument. */
export interface CallResult {
  ret: number;
  errno?: string;
  /** A value the script wrote in an out-argument (getsockopt, ioctl) that differs. */
  valueMismatch?: string;
}

/** A call the runner drives: `attempt()` gives the result, or undefined while it would block. */
export interface Call {
  attempt(): CallResult | undefined;
  /** The socket is non-blocking: a would-block becomes this result at once. */
  nonBlocking?: CallResult;
}

/** A system call tapstack cannot perform (an unknown call or an option it does not have). */
export class UnsupportedCall extends Error {}

/** Linux's fcntl flag values (asm-generic/fcntl.h), for F_GETFL. */
const O_RDWR = 0x2;
const O_NONBLOCK = 0x800;

interface Sock {
  nonBlocking: boolean;
  bound: boolean;
  listener?: TcpListener;
  conn?: TcpConnection;
  /** The error the next call reports once (Linux's sk_err), then cleared. */
  pendingError?: string;
  readShut: boolean;
  noDelay: boolean;
  keepAlive: boolean;
  keepIdleMs?: number;
  /** Bytes of a blocking write still to queue. */
  writeLeft?: number;
}

/** The fd table and the calls on it. */
export class Syscalls {
  readonly #fds = new Map<number, Sock>();
  #nextFd = 3;

  constructor(
    readonly tcp: TcpLayer,
    readonly peerIp: number,
    readonly peerPort: number,
    readonly localPort: number,
    /** Called when a connection or listener reports an event: a blocked call may finish now. */
    readonly onWake: () => void,
  ) {}

  /** Every connection a script socket holds (for the report). */
  connections(): TcpConnection[] {
    return [...this.#fds.values()].flatMap((s) => (s.conn === undefined ? [] : [s.conn]));
  }

  /** Build the call an event names (its attempt runs later, at the event's time). */
  call(ev: SyscallEvent): Call {
    const a = ev.args;
    const fd = (): Sock => {
      const s = this.#fds.get(Number(a[0]));
      if (s === undefined) throw new UnsupportedCall(`fd ${a[0]} is not an open socket`);
      return s;
    };
    switch (ev.name) {
      case 'socket':
        if (!/SOCK_STREAM/.test(a[1] ?? '')) throw new UnsupportedCall('only socket(..., SOCK_STREAM, IPPROTO_TCP)');
        return { attempt: () => this.#newFd({ nonBlocking: /SOCK_NONBLOCK/.test(a[1]!), bound: false, readShut: false, noDelay: false, keepAlive: false }) };
      case 'bind':
        return { attempt: () => ((fd().bound = true), { ret: 0 }) };
      case 'listen':
        return { attempt: () => this.#listen(fd(), Number(a[1])) };
      case 'accept':
      case 'accept4': {
        const s = fd();
        return { attempt: () => this.#accept(s), nonBlocking: s.nonBlocking ? { ret: -1, errno: 'EAGAIN' } : undefined };
      }
      case 'connect':
        return this.#connect(fd());
      case 'write':
      case 'send': {
        const s = fd();
        const n = Number(a[2]);
        return { attempt: () => this.#write(s, n), nonBlocking: s.nonBlocking ? { ret: -1, errno: 'EAGAIN' } : undefined };
      }
      case 'read':
      case 'recv': {
        const s = fd();
        const n = Number(a[2]);
        return { attempt: () => this.#read(s, n), nonBlocking: s.nonBlocking ? { ret: -1, errno: 'EAGAIN' } : undefined };
      }
      case 'shutdown':
        return { attempt: () => this.#shutdown(fd(), a[1] ?? '') };
      case 'close':
        return { attempt: () => this.#close(Number(a[0])) };
      case 'setsockopt':
        return { attempt: () => this.#setsockopt(fd(), a[2] ?? '', intArg(a[3])) };
      case 'getsockopt':
        return { attempt: () => this.#getsockopt(fd(), a[2] ?? '', intArg(a[3])) };
      case 'fcntl':
        return { attempt: () => this.#fcntl(fd(), a[1] ?? '', a[2]) };
      case 'ioctl':
        return { attempt: () => this.#ioctl(fd(), a[1] ?? '', intArg(a[2])) };
      default:
        throw new UnsupportedCall(`tapstack's runner has no ${ev.name}()`);
    }
  }

  #newFd(s: Sock): CallResult {
    const fd = this.#nextFd++;
    this.#fds.set(fd, s);
    return { ret: fd };
  }

  #listen(s: Sock, backlog: number): CallResult {
    const l = this.tcp.listen(this.localPort, { backlog: Math.max(1, backlog) });
    l.onConnection = () => this.onWake();
    s.listener = l;
    return { ret: 0 };
  }

  #accept(s: Sock): CallResult | undefined {
    if (s.listener === undefined) return { ret: -1, errno: 'EINVAL' };
    const c = s.listener.accept();
    if (c === undefined) return undefined;
    const child: Sock = { nonBlocking: false, bound: true, readShut: false, noDelay: s.noDelay, keepAlive: s.keepAlive, keepIdleMs: s.keepIdleMs };
    this.#attach(child, c);
    // Options set on the listener are inherited by the accepted socket, as in Linux.
    this.tcp.run((now) => {
      if (child.noDelay) c.setNoDelay(true, now);
      if (child.keepAlive) c.setKeepAlive(true, child.keepIdleMs, now);
    });
    return this.#newFd(child);
  }

  #attach(s: Sock, c: TcpConnection): void {
    s.conn = c;
    c.events = {
      established: () => this.onWake(),
      readable: () => this.onWake(),
      writable: () => this.onWake(),
      closed: (err) => {
        if (err !== undefined) s.pendingError = err.code;
        this.onWake();
      },
    };
  }

  #connect(s: Sock): Call {
    let started = s.conn !== undefined;
    const attempt = (): CallResult | undefined => {
      if (!started) {
        started = true;
        this.#attach(s, this.tcp.connect({ host: this.peerIp, port: this.peerPort }));
        this.tcp.run((now) => {
          if (s.noDelay) s.conn!.setNoDelay(true, now);
        });
      }
      const c = s.conn!;
      if (s.pendingError !== undefined) return this.#takeError(s);
      if (c.state === 'SYN-SENT') return undefined;
      if (c.state === 'CLOSED') return { ret: -1, errno: 'ECONNREFUSED' };
      if (s.keepAlive) this.tcp.run((now) => c.setKeepAlive(true, s.keepIdleMs, now));
      return { ret: 0 };
    };
    if (!s.nonBlocking) return { attempt };
    // Non-blocking: the first call starts the handshake and says EINPROGRESS; a later one
    // reports the outcome (EALREADY while it runs, 0 or the error once known).
    if (!started) return { attempt: () => (attempt(), { ret: -1, errno: 'EINPROGRESS' }) };
    return { attempt: () => attempt() ?? { ret: -1, errno: 'EALREADY' } };
  }

  #takeError(s: Sock): CallResult {
    const e = s.pendingError!;
    s.pendingError = undefined;
    return { ret: -1, errno: e };
  }

  #write(s: Sock, n: number): CallResult | undefined {
    const c = s.conn;
    if (c === undefined) return { ret: -1, errno: 'ENOTCONN' };
    if (s.pendingError !== undefined) return this.#takeError(s);
    // The error was reported once already (Linux's sk_err): now the pipe is simply broken.
    if (c.state === 'CLOSED') return { ret: -1, errno: 'EPIPE' };
    const left = s.writeLeft ?? n;
    let took: number;
    try {
      took = left === 0 ? 0 : this.tcp.write(c, Buffer.alloc(left, 0x61));
    } catch (e) {
      s.writeLeft = undefined;
      if (e instanceof TcpError) return { ret: -1, errno: e.code };
      throw e;
    }
    if (took === left) {
      s.writeLeft = undefined;
      return { ret: n };
    }
    if (s.nonBlocking) return took > 0 ? { ret: took } : undefined;
    // A blocking write returns when all of it is queued.
    s.writeLeft = left - took;
    return undefined;
  }

  #read(s: Sock, n: number): CallResult | undefined {
    const c = s.conn;
    if (c === undefined) return { ret: -1, errno: 'ENOTCONN' };
    if (s.readShut) return { ret: 0 };
    let got = 0;
    this.tcp.run((now) => {
      while (got < n) {
        const b = c.read(now, n - got);
        if (b === undefined) break;
        got += b.length;
      }
    });
    if (got > 0) return { ret: got };
    if (s.pendingError !== undefined) return this.#takeError(s);
    if (c.readEnded || c.state === 'CLOSED') return { ret: 0 };
    return undefined;
  }

  #shutdown(s: Sock, how: string): CallResult {
    const c = s.conn;
    if (c === undefined) return { ret: -1, errno: 'ENOTCONN' };
    // SHUT_RD is local in Linux too: later reads return 0, nothing is sent.
    if (how === 'SHUT_RD' || how === 'SHUT_RDWR') s.readShut = true;
    if (how === 'SHUT_WR' || how === 'SHUT_RDWR') this.tcp.run((now) => c.shutdown(now));
    return { ret: 0 };
  }

  #close(fd: number): CallResult {
    const s = this.#fds.get(fd);
    if (s === undefined) return { ret: -1, errno: 'EBADF' };
    this.#fds.delete(fd);
    if (s.listener !== undefined) this.tcp.unlisten(s.listener);
    const c = s.conn;
    if (c !== undefined) this.tcp.run((now) => c.close(now));
    return { ret: 0 };
  }

  #setsockopt(s: Sock, name: string, v: number): CallResult {
    const cfg = this.tcp.core.config;
    const opened = s.conn !== undefined || s.listener !== undefined;
    switch (name) {
      case 'SO_REUSEADDR':
        return { ret: 0 };
      case 'SO_RCVBUF':
      case 'SO_SNDBUF':
        // Buffer sizes are fixed when a connection is made: set before listen/connect.
        if (opened) throw new UnsupportedCall(`${name} after listen/connect`);
        if (name === 'SO_RCVBUF') cfg.rcvBufSize = v;
        else {
          cfg.sndBufSize = v;
          cfg.sndBufMaxSize = 0; // Linux: a set SO_SNDBUF is not autotuned
        }
        return { ret: 0 };
      case 'TCP_NODELAY':
        s.noDelay = v !== 0;
        if (s.conn !== undefined) this.tcp.run((now) => s.conn!.setNoDelay(v !== 0, now));
        return { ret: 0 };
      case 'SO_KEEPALIVE':
        s.keepAlive = v !== 0;
        if (s.conn !== undefined) this.tcp.run((now) => s.conn!.setKeepAlive(v !== 0, s.keepIdleMs, now));
        return { ret: 0 };
      case 'TCP_KEEPIDLE':
        s.keepIdleMs = v * 1000;
        if (s.conn !== undefined && s.keepAlive) this.tcp.run((now) => s.conn!.setKeepAlive(true, s.keepIdleMs, now));
        return { ret: 0 };
      case 'TCP_KEEPINTVL':
        cfg.keepAliveIntervalMs = v * 1000;
        return { ret: 0 };
      case 'TCP_KEEPCNT':
        cfg.keepAliveProbes = v;
        return { ret: 0 };
      default:
        throw new UnsupportedCall(`tapstack has no socket option ${name}`);
    }
  }

  #getsockopt(s: Sock, name: string, want: number): CallResult {
    let got: number;
    if (name === 'TCP_MAXSEG') got = s.conn?.mss ?? this.tcp.stack.mtu - 40;
    else if (name === 'SO_ERROR') {
      got = s.pendingError === undefined ? 0 : ERRNO[s.pendingError] ?? -1;
      s.pendingError = undefined;
    } else if (name === 'TCP_NODELAY') got = s.noDelay ? 1 : 0;
    else if (name === 'SO_KEEPALIVE') got = s.keepAlive ? 1 : 0;
    else throw new UnsupportedCall(`tapstack's runner cannot get ${name}`);
    return { ret: 0, valueMismatch: got === want ? undefined : `${name} is ${got}, the script says ${want}` };
  }

  #fcntl(s: Sock, cmd: string, arg: string | undefined): CallResult {
    if (cmd === 'F_GETFL') return { ret: O_RDWR | (s.nonBlocking ? O_NONBLOCK : 0) };
    if (cmd === 'F_SETFL') {
      s.nonBlocking = /O_NONBLOCK/.test(arg ?? '');
      return { ret: 0 };
    }
    throw new UnsupportedCall(`fcntl ${cmd}`);
  }

  #ioctl(s: Sock, req: string, want: number): CallResult {
    if (req !== 'SIOCINQ' && req !== 'FIONREAD') throw new UnsupportedCall(`ioctl ${req}`);
    const got = s.conn?.readableLength ?? 0;
    return { ret: 0, valueMismatch: got === want ? undefined : `${req} is ${got}, the script says ${want}` };
  }
}

/** Linux errno values for SO_ERROR. */
const ERRNO: Record<string, number> = { ECONNRESET: 104, ECONNREFUSED: 111, ETIMEDOUT: 110, EPIPE: 32, ECONNABORTED: 103 };

/** `[1]`, `1`, `[0x10]` → the number. */
function intArg(s: string | undefined): number {
  const m = /^\[?\s*(-?(?:0x[0-9a-f]+|\d+))\s*\]?$/i.exec((s ?? '').trim());
  if (m === null) throw new UnsupportedCall(`expected a number or [number], got ${s}`);
  return Number(m[1]);
}
