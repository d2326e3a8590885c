// The stub resolver (issue 11) on a stack with a fake link and fake time: the query it sends,
// its resends on a doubling timeout, which answers it believes (RFC 5452), CNAME chains, and the
// node:dns error code of each failure.
import t from 'tap';
import dnsPacket from 'dns-packet';
import { DnsError, Resolver, type Resolved } from '../../lib/dns/resolver.js';
import { ipToString } from '../../lib/wire/ip-address.js';
import { decode, learnPeer, makeStack, PEER_IP, udpFrame } from '../helpers/net-fixtures.js';
import { tick } from '../helpers/tcp-net.js';

function setup() {
  const s = makeStack();
  learnPeer(s.link);
  const resolver = new Resolver(s.stack, { server: PEER_IP });
  /** The queries the stack sent since last asked: source port and the decoded message. */
  const sent = () =>
    s.link.take().map((f) => {
      const d = decode(f);
      return { port: d.udp!.srcPort, dstPort: d.udp!.dstPort, dst: d.ip!.dst, msg: dnsPacket.decode(d.udp!.payload) };
    });
  const answer = (port: number, p: Parameters<typeof dnsPacket.encode>[0], from = 53, src = PEER_IP) => s.link.inject(udpFrame(from, port, dnsPacket.encode(p), { src }));
  /** Run the lookup to its end; its result or its error. */
  const outcome = (p: Promise<Resolved>) => {
    let r: Resolved | DnsError | undefined;
    p.then((x) => (r = x), (e: DnsError) => (r = e));
    return () => r;
  };
  return { ...s, resolver, sent, answer, outcome };
}

t.test('one A query with RD from a random port and id; the answer resolves it and frees the port', async (t) => {
  const { resolver, sent, answer, outcome, counters } = setup();
  const got = outcome(resolver.resolve4('files.test'));
  const [q, ...more] = sent();
  t.equal(more.length, 0);
  t.equal(q!.dstPort, 53);
  t.equal(q!.dst, PEER_IP);
  t.ok(q!.port >= 49152, `ephemeral source port ${q!.port}`);
  t.match(q!.msg, { type: 'query', flag_rd: true, questions: [{ name: 'files.test', type: 'A', class: 'IN' }] });
  answer(q!.port, { type: 'response', id: q!.msg.id, questions: q!.msg.questions, answers: [{ type: 'A', name: 'files.test', ttl: 60, data: '10.0.0.1' }, { type: 'A', name: 'files.test', ttl: 30, data: '10.0.0.9' }] });
  await tick();
  const r = got() as Resolved;
  t.same(r.addresses.map(ipToString), ['10.0.0.1', '10.0.0.9']);
  t.equal(r.ttl, 30, 'the smallest TTL');
  t.equal(r.attempts, 1);
  t.equal(counters.get('dns.resolver.queries'), 1);
  answer(q!.port, { type: 'response', id: q!.msg.id, questions: q!.msg.questions });
  t.equal(counters.get('drop.udp.noPort'), 1, 'a late answer finds the port closed');
});

t.test('no answer: resent after 1 s and 2 s more, ETIMEOUT 4 s after the third', async (t) => {
  const { resolver, sent, outcome, clock, counters } = setup();
  const got = outcome(resolver.resolve4('files.test'));
  const first = sent();
  t.equal(first.length, 1);
  clock.advance(999);
  t.equal(sent().length, 0, 'nothing before 1 s');
  clock.advance(1);
  const second = sent();
  t.equal(second.length, 1, 'resent at 1 s');
  t.equal(second[0]!.msg.id, first[0]!.msg.id, 'the same query');
  clock.advance(2000);
  t.equal(sent().length, 1, 'resent 2 s later');
  clock.advance(3999);
  await tick();
  t.equal(got(), undefined);
  clock.advance(1);
  await tick();
  t.match(got(), { code: 'ETIMEOUT', message: /no answer from 10\.0\.0\.1 after 3 queries/ });
  t.equal(counters.get('dns.resolver.queries'), 3);
  t.equal(counters.get('dns.resolver.timeout'), 1);
});

t.test('answers that are not ours are ignored (RFC 5452): wrong id, port, server, question, or a query', async (t) => {
  const { resolver, sent, answer, outcome, counters } = setup();
  const got = outcome(resolver.resolve4('files.test'));
  const q = sent()[0]!;
  const good = { type: 'response' as const, id: q.msg.id, questions: q.msg.questions, answers: [{ type: 'A' as const, name: 'files.test', data: '10.0.0.1' }] };
  const evil = { ...good, answers: [{ type: 'A' as const, name: 'files.test', data: '6.6.6.6' }] };
  answer(q.port, { ...evil, id: (q.msg.id! + 1) & 0xffff });
  answer(q.port, evil, 5353);
  answer(q.port, evil, 53, PEER_IP + 5);
  answer(q.port, { ...evil, questions: [{ type: 'A', name: 'other.test' }] });
  answer(q.port, { ...evil, type: 'query' });
  await tick();
  t.equal(got(), undefined, 'still waiting');
  t.equal(counters.get('dns.resolver.ignored'), 5);
  answer(q.port, good);
  await tick();
  t.same((got() as Resolved).addresses.map(ipToString), ['10.0.0.1']);
});

t.test('CNAMEs are followed to the A record; a name is matched without case', async (t) => {
  const { resolver, sent, answer, outcome } = setup();
  const got = outcome(resolver.resolve4('WWW.files.test.'));
  const q = sent()[0]!;
  t.equal(q.msg.questions![0]!.name, 'WWW.files.test', 'the trailing dot is not sent');
  answer(q.port, {
    type: 'response', id: q.msg.id, questions: [{ type: 'A', name: 'www.FILES.test' }],
    answers: [{ type: 'CNAME', name: 'www.files.test', data: 'web.files.test' }, { type: 'CNAME', name: 'web.files.test', data: 'box.files.test' }, { type: 'A', name: 'box.files.test', ttl: 5, data: '10.0.0.7' }],
  });
  await tick();
  t.same((got() as Resolved).addresses.map(ipToString), ['10.0.0.7']);
});

t.test('each failure has node:dns\'s code', async (t) => {
  const cases: [number, number, string, RegExp][] = [
    [3, 0, 'ENOTFOUND', /ENOTFOUND files\.test: NXDOMAIN from 10\.0\.0\.1/],
    [5, 0, 'EREFUSED', /REFUSED/],
    [2, 0, 'ESERVFAIL', /SERVFAIL/],
    [0, 0, 'ENODATA', /files\.test has no A record/],
    [0, dnsPacket.TRUNCATED_RESPONSE, 'EBADRESP', /truncated answer \(TC\)/],
  ];
  for (const [rcode, flags, code, re] of cases) {
    const { resolver, sent, answer, outcome } = setup();
    const got = outcome(resolver.resolve4('files.test'));
    const q = sent()[0]!;
    answer(q.port, { type: 'response', id: q.msg.id, flags: flags | rcode, questions: q.msg.questions });
    await tick();
    t.match(got(), { name: 'DnsError', code, hostname: 'files.test', message: re }, code);
  }
});

t.test('a dotted quad needs no query', async (t) => {
  const { resolver, sent } = setup();
  const r = await resolver.resolve4('10.0.0.1');
  t.same(r, { addresses: [PEER_IP], ttl: 0, attempts: 0 });
  t.same(sent(), []);
});
