// The Node floor of `npm run bench`: tap-floor.c's responder, line for line, in Node on
// tapstack's own TAP addon (lib/link/tap.ts fast path: one read batch per wake-up, one write per
// reply). It answers ARP for its address, ICMP echo and UDP echo (port 7) by turning each frame
// around, and discards everything else. Its round trips are the least any Node program on this
// addon can do: the gap to the C floor is Node's (event loop, N-API, JIT), the gap from here to
// tapstack is tapstack's own code.
// Usage: node-floor TAPNAME IPv4  (prints "ready" once the tap is open).
import { Tap } from '../../lib/link/tap.js';
import { parseIp } from '../../lib/wire/ip-address.js';

const [name, ipText] = process.argv.slice(2);
if (name === undefined || ipText === undefined) {
  process.stderr.write('usage: node-floor TAP IPv4\n');
  process.exit(2);
}
const ip = parseIp(ipText);
const mac = Buffer.from([0x02, 0, 0, 0, 0, 0x02]);
const tap = new Tap({ name });

tap.onFrames((frames, count) => {
  for (let i = 0; i < count; i++) {
    const f = frames[i]!;
    if (f.length < 42) continue;
    const type = f.readUInt16BE(12);
    const l4 = 14 + (f[14]! & 15) * 4;
    if (type === 0x0806 && f[21] === 1 && f.readUInt32BE(38) === ip) {
      f[21] = 2; // RFC 826: a reply to the asker, target <- sender, sender <- us
      f.copy(f, 32, 22, 32);
      mac.copy(f, 22);
      f.writeUInt32BE(ip, 28);
    } else if (type === 0x0800 && f.readUInt32BE(30) === ip && f[23] === 1 && f[l4] === 8) {
      let c = f.readUInt16BE(l4 + 2) + 0x0800; // RFC 1624: type 8 -> 0 adds 0x0800 to the checksum
      c = (c & 0xffff) + (c >>> 16);
      f[l4] = 0;
      f.writeUInt16BE(c, l4 + 2);
    } else if (type === 0x0800 && f.readUInt32BE(30) === ip && f[23] === 17 && f.readUInt16BE(l4 + 2) === 7) {
      const port = f.readUInt16BE(l4); // swapped ports: same checksum
      f.writeUInt16BE(7, l4);
      f.writeUInt16BE(port, l4 + 2);
    } else continue;
    if (type === 0x0800) {
      const src = f.readUInt32BE(26); // swapped addresses: same checksums
      f.writeUInt32BE(ip, 26);
      f.writeUInt32BE(src, 30);
    }
    f.copy(f, 0, 6, 12);
    mac.copy(f, 6);
    tap.sendFrame(f);
  }
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    tap.release();
    process.exit(0);
  });
}
process.stdout.write('ready\n');
