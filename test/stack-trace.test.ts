import t from 'tap';
import { FakeClock } from '../lib/clock.js';
import { TracerLink } from '../lib/link/tracer.js';
import { FakeLink } from './helpers/fake-link.js';
import { LINUX_ARP_REQUEST, LINUX_PING } from './helpers/linux-frames.js';

t.test('the tracer prints one line per frame each way and passes frames through unchanged', async (t) => {
  const inner = new FakeLink();
  const lines: string[] = [];
  const clock = new FakeClock(5000);
  const tr = new TracerLink(inner, (l) => void lines.push(l), { clock });
  t.equal(tr.mac, inner.mac);
  t.equal(tr.mtu, 1500);
  const got: Buffer[] = [];
  tr.onFrame((f) => void got.push(f));
  inner.inject(LINUX_ARP_REQUEST);
  clock.advance(1.5);
  tr.send(LINUX_PING);
  t.same(lines, ['0.000000 RX ARP who-has 10.0.0.2 tell 10.0.0.1', '0.001500 TX 10.0.0.1 > 10.0.0.2 ICMP echo request id=29117 seq=1 len=56']);
  t.equal(got[0], LINUX_ARP_REQUEST);
  t.same(inner.sent, [LINUX_PING]);
  await tr.close();
  t.ok(inner.closed);
});

t.test('a writable sink gets newline-terminated lines; no clock, no timestamp', async (t) => {
  const inner = new FakeLink();
  let out = '';
  const tr = new TracerLink(inner, { write: (s: string) => (out += s) });
  tr.send(Buffer.alloc(3));
  t.equal(out, 'TX malformed eth.truncated len=3\n');
});
