// Idle connections for `npm run bench`'s memory and idle rows, run inside the client namespace:
// opens COUNT TCP connections to IP:PORT (at most 200 handshakes at a time). `echo`: sends one
// line on each and waits for its echo; `http`: one keep-alive `GET /` and its whole response.
// So every connection has sent and received data once. Prints `open N failed M`, then holds them
// all idle until stdin closes (or HOLD_S passes) and exits; opening stops after OPEN_S.
// Usage: idle-clients IP PORT COUNT OPEN_S HOLD_S [echo|http]
import net from 'node:net';

const [ip, portText, countText, openText, holdText, mode = 'echo'] = process.argv.slice(2);
if (mode !== 'echo' && mode !== 'http') throw new Error(`idle-clients: mode must be echo or http, not "${mode}"`);
const port = Number(portText);
const count = Number(countText);
const sockets: net.Socket[] = [];
let failed = 0;
let next = 0;
const t0 = Date.now();
const openUntil = t0 + Number(openText) * 1000;
const request = mode === 'http' ? `GET / HTTP/1.1\r\nHost: ${ip}\r\n\r\n` : 'idle\n';

/** Whether `got` holds a whole HTTP response: its head and Content-Length bytes of body. */
function wholeResponse(got: Buffer): boolean {
  const end = got.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const head = got.subarray(0, end).toString('latin1');
  if (!/^HTTP\/1\.1 200 /.test(head)) throw new Error(`idle-clients: got "${head.split('\r\n')[0]}"`);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length === null) throw new Error('idle-clients: a response without Content-Length');
  return got.length >= end + 4 + Number(length[1]);
}

/** One connection: resolves once its line or response came back (true) or it failed (false). */
function openOne(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: ip, port });
    s.setTimeout(20_000, () => s.destroy(new Error('timeout')));
    s.once('error', () => resolve(false));
    s.once('connect', () => s.write(request));
    let got = Buffer.alloc(0);
    const onData = (b: Buffer): void => {
      if (mode === 'http') {
        got = Buffer.concat([got, b]);
        if (!wholeResponse(got)) return;
      }
      s.off('data', onData);
      s.setTimeout(0);
      sockets.push(s);
      resolve(true);
    };
    s.on('data', onData);
  });
}

async function worker(): Promise<void> {
  while (next < count && Date.now() < openUntil) {
    next++;
    if (!(await openOne())) failed++;
  }
}

await Promise.all(Array.from({ length: Math.min(200, count) }, worker));
process.stdout.write(`open ${sockets.length} failed ${failed} seconds ${(Date.now() - t0) / 1000}\n`);
const end = (): never => {
  for (const s of sockets) s.destroy();
  process.exit(0);
};
setTimeout(end, Number(holdText) * 1000).unref();
process.stdin.on('end', end).resume();
