// An in-memory connected pair of Duplex streams shaped like net.Socket (setTimeout, remoteAddress,
// setNoDelay...), standing in for tapstack's own sockets: it shows node:http and the web server
// need nothing from a socket beyond what lib/socket promises. end() is a FIN (the peer sees
// 'end'); destroy() closes like close(2).
import { Duplex } from 'node:stream';

/** One end of an in-memory connection. */
export class MemSocket extends Duplex {
  peer!: MemSocket;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** Set when this end's FIN (end()) has been sent. */
  finSent = false;
  #timeoutMs = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(local: [string, number], remote: [string, number]) {
    super({ allowHalfOpen: true });
    [this.localAddress, this.localPort] = local;
    [this.remoteAddress, this.remotePort] = remote;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.#touch();
    const peer = this.peer;
    setImmediate(() => {
      if (!peer.destroyed) {
        peer.#touch();
        peer.push(chunk);
      }
      cb();
    });
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.finSent = true;
    const peer = this.peer;
    setImmediate(() => {
      if (!peer.destroyed) peer.push(null);
      cb();
    });
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    clearTimeout(this.#timer);
    const peer = this.peer;
    setImmediate(() => {
      if (!peer.destroyed && !peer.readableEnded) peer.push(null);
    });
    cb(err);
  }

  /** Like net.Socket#setTimeout: 'timeout' after `ms` without activity; 0 disarms. */
  setTimeout(ms: number, cb?: () => void): this {
    this.#timeoutMs = ms;
    if (cb !== undefined) this.once('timeout', cb);
    this.#touch();
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  #touch(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#timeoutMs > 0 && !this.destroyed) this.#timer = setTimeout(() => this.emit('timeout'), this.#timeoutMs);
  }
}

/** A connected pair: [client, server]. */
export function memSocketPair(): [MemSocket, MemSocket] {
  const client = new MemSocket(['10.0.0.1', 49312], ['10.0.0.2', 80]);
  const server = new MemSocket(['10.0.0.2', 80], ['10.0.0.1', 49312]);
  client.peer = server;
  server.peer = client;
  return [client, server];
}
