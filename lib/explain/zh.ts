// 教学模式的中文说法（简体）：与 en.ts 同一张表，同一批事实（notes.ts），每条一两句话。
import type { AckPart, ByteRange, End, MssSide, Phrasebook } from './notes.js';

const roleName = (e: End): string => `${e.role === 'client' ? '客户端' : '服务器'}（${e.who}）`;
const secs = (ms: number): string => `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} 秒`;
const ms = (v: number): string => (v < 10 ? `${v.toFixed(1)} 毫秒` : `${Math.round(v)} 毫秒`);
const pkt = (no: number | undefined): string => (no === undefined ? '' : `（#${no}）`);
/** TCP 核心给出的规则及其 RFC（规则本身没有引用 RFC 时加上 `rfc`）。 */
const cite = (rule: string | undefined, rfc: string): string => {
  if (rule === undefined) return rfc;
  const m = /^(.*) \((RFC [^)]*)\)$/.exec(rule);
  return m !== null ? `${m[2]}, ${m[1]}` : `${rfc} ${rule}`;
};
const range = (r: ByteRange): string => `第 ${r.first}–${r.last} 字节`;

function mssSide(s: MssSide, ts: boolean): string {
  const why = s.pathMtu !== undefined ? `它的路径 MTU ${s.pathMtu} − 20 IP − 20 TCP，比对方 MSS 的 ${s.peerMss} 小` : '对方的 MSS';
  return `${roleName(s.end)}每段最多 ${s.seg} 字节（${why}）${ts ? `，扣掉 12 字节时间戳后数据 ${s.data} 字节` : ''}`;
}

function part(p: AckPart): string {
  if (p.kind === 'syn') return `SYN 占用的 1${pkt(p.no)}`;
  if (p.kind === 'fin') return `FIN 占用的 1${pkt(p.no)}`;
  return `${p.len} 字节${p.what !== undefined ? `（“${p.what}”）` : ''}${pkt(p.no)}`;
}

function parts(ps: AckPart[]): string {
  if (ps.length <= 4) return ps.map(part).join(' + ');
  const bytes = ps.reduce((t, p) => t + p.len, 0);
  return `${part(ps[0]!)} + … + ${part(ps[ps.length - 1]!)}（共 ${ps.length} 个报文段，${bytes} 字节）`;
}

/** 中文表。 */
export const zh: Phrasebook = {
  arpRequest: (n) => `ARP 请求，广播给链路上所有主机：${n.asker} 要先知道 ${n.target} 的 MAC 地址，才能给它发 IP 包。`,
  arpGratuitous: (n) => `免费 ARP（gratuitous ARP）：${n.ip} 主动宣告自己的 MAC 地址，邻居据此更新缓存（若有别的主机也在用 ${n.ip}，也会发现冲突）。`,
  arpReply: (n) => `ARP 应答，只发给提问者：${n.ip} 的 MAC 地址是 ${n.mac}。${n.to} 把它记进 ARP 缓存，之后的包就不用再问了。`,
  echoRequest: (n) =>
    `ping：${n.from} 发出 ICMP 回显请求（id=${n.id} seq=${n.seq}），带 ${n.data} 字节数据；IP 包总长 = 20（IP 首部）+ 8（ICMP 首部）+ ${n.data} = ${n.ipLen} 字节${n.df ? '，并设置了 DF（禁止分片）：途中任何路由器都不得把它切成分片' : ''}。`,
  dfFits: (n) => `${n.ipLen} ≤ 路径 MTU ${n.mtu}：放得下，整包送达。`,
  dfTooBig: (n) => `${n.ipLen} > 路径 MTU ${n.mtu}，而 DF 又禁止分片：这个包会被丢弃，并回一个 ICMP“需要分片”差错报文。`,
  echoReply: (n) => `${n.from} 的 ICMP 回显应答${n.request !== undefined ? `（回应 #${n.request}）` : ''}，原样带回 ${n.data} 字节数据${n.rttMs !== undefined ? `；往返时间 ${ms(n.rttMs)}` : ''}。`,
  fragNeeded: (n) =>
    `ICMP 类型 3 代码 4，“需要分片但设置了 DF”，来自 ${n.from}：这个 ${n.quotedLen} 字节的包${pkt(n.request)}超过了下一跳的 MTU ${n.mtu}，DF 又不许分片，只能丢弃。发送方由此得知路径 MTU：ping 能带的最大数据量是 ${n.mtu} − 20 − 8 = ${n.maxPayload} 字节。`,
  unreachable: (n) =>
    n.what === 'port'
      ? `${n.from} 回 ICMP 端口不可达：${n.about} 上没有程序在监听（UDP 没有连接可拒绝，只能由 ICMP 告知）。`
      : `${n.from} 回 ICMP ${n.what === 'protocol' ? '协议' : n.what === 'host' ? '主机' : n.what === 'net' ? '网络' : ''}不可达${n.about !== '' ? `（关于 ${n.about}）` : ''}：这个包无法送达。`,
  fragment: (n) => `IP 分片，属于标识 id=${n.id} 的数据报：偏移 ${n.offset} 处的 ${n.len} 字节${n.more ? '，MF=1（后面还有分片）' : '，这是最后一片'}；接收方先把各片重组，再交给上层。`,
  udp: (n) => `UDP 数据报，${n.len} 字节，发往端口 ${n.port}${n.service !== undefined ? `（${n.service}）` : ''}：没有连接、没有序列号、也不重传——每个数据报各自独立。`,
  dnsQuery: (n) =>
    `DNS 查询 ${n.id}，来自 ${n.from}：“${n.name} 的 ${n.type} 记录是什么？”${n.type === 'A' ? '（A 记录就是 IPv4 地址）' : n.type === 'AAAA' ? '（AAAA 记录就是 IPv6 地址）' : ''}只有一个 UDP 数据报；如果没有回答，解析器会在自己的超时后再问一次——UDP 本身从不重传。`,
  dnsAnswer: (n) => {
    const to = `DNS 回答（${n.query !== undefined ? `对 #${n.query}，` : ''}id ${n.id}）`;
    const tc = n.tc ? '设置了 TC（截断）：回答放不进这个 UDP 数据报，客户端应改用 TCP 再问一次。' : '';
    if (n.rcode === 'NOERROR' && n.addresses.length > 0)
      return `${to}：${n.name} 的地址是 ${n.addresses.join('、')}${n.aa ? '，直接来自这个名字自己的服务器（AA：权威回答）' : ''}；客户端可以把它缓存 ${n.ttl} 秒（TTL），现在就把包发往 ${n.addresses[0]}。${tc}`;
    if (n.rcode === 'NOERROR') return `${to}：${n.name} 存在，但没有 ${n.type} 记录（NOERROR 且回答为空，即“NODATA”）。${tc}`;
    if (n.rcode === 'NXDOMAIN') return `${to}：NXDOMAIN，没有这个名字：${n.name} 不存在。`;
    if (n.rcode === 'REFUSED') return `${to}：REFUSED，这个服务器不负责 ${n.name}（不是它的区域，它也不替人去别处查询）。`;
    if (n.rcode === 'FORMERR') return `${to}：FORMERR，服务器无法解析这个查询。`;
    if (n.rcode === 'NOTIMP') return `${to}：NOTIMP，服务器不支持这类请求。`;
    return `${to}：${n.rcode}。`;
  },
  ipv6: () => 'IPv6 报文（主机自己的邻居发现/路由器请求等）；tapstack 只支持 IPv4，直接丢弃。',
  malformed: (n) => `无法解析（${n.reason}）。`,
  dropped: (n) =>
    n.dir === 'RX'
      ? `人为丢弃（${n.reason}），丢在 tap 和协议栈之间：它来自线路，tapstack 永远收不到。抓包文件在同一帧号保留了它，并加了标记。`
      : `人为丢弃（${n.reason}），丢在协议栈和 tap 之间：tapstack 发出了它，但它到不了线路上。抓包文件在同一帧号保留了它，并加了标记。`,

  syn: (n) =>
    `三次握手第 1 步：${roleName(n.from)}请求建立连接。它的初始序列号（ISN）是随机的（${n.isn}），抓包里按相对序列号从它数起，所以显示 Seq=0；SYN 本身要占用这一个序列号，第一个数据字节将是 Seq=1。`,
  synOptions: (n) => {
    const o: string[] = [];
    if (n.mss !== undefined) o.push(`最大报文段长度 MSS=${n.mss}（每个报文段最多收 ${n.mss} 字节数据：MTU ${n.mss + 40} − 20 IP − 20 TCP）`);
    if (n.sackOk) o.push('SACK_PERM（支持选择确认 SACK）');
    if (n.ts) o.push('TSval/TSecr（时间戳选项，之后每个报文段多占 12 字节，用来测往返时间）');
    if (n.wscale !== undefined) o.push(`WS=${2 ** Math.min(n.wscale, 14)}（窗口缩放：之后通告的窗口要乘以 2^${n.wscale}）`);
    return o.length === 0 ? '没有选项。' : `选项：${o.join('；')}。`;
  },
  synAck: (n) => `三次握手第 2 步：${roleName(n.from)}同意连接，同时发出自己的 SYN：它自己的随机 ISN（${n.isn}）显示为 Seq=0，这个 SYN 同样占用一个序列号。`,
  mssChosen: (n) => `双方报文段的上限：${n.sides.map((s) => mssSide(s, n.ts)).join('；')}。`,
  handshakeDone: (n) => `三次握手第 3 步：这个 ACK 之后双方都知道了彼此的初始序列号，连接进入 ESTABLISHED。${n.data ? '这个 ACK 已经顺带捎上了第一批数据。' : '还没有数据，所以 Len=0。'}`,

  data: (n) =>
    `${roleName(n.from)}发来 ${n.len} 字节数据${n.what !== undefined ? `：“${n.what}”` : ''}，是它的字节流中第 ${n.first}–${n.last} 字节${n.firstData ? '（从 1 开始，因为 SYN 占用了 0）' : ''}；下一个报文段将从 Seq=${n.next} = ${n.first} + ${n.len} 开始。`,
  push: () => 'PSH：发送方暂时没有更多数据了——接收方应立即把数据交给应用程序。',
  fullSized: (n) =>
    `满长度报文段：这条消息一个报文段装不下，TCP 把它切成每段 ${n.len} 字节${n.ts ? `（${n.len} = MSS ${n.mss} − 12 字节时间戳选项）` : '（即 MSS）'}。`,
  windowScaled: (n) => `Win=${n.bytes} 是缩放后的窗口（Wireshark 也这样显示）：16 位的窗口字段是 ${n.raw}，× 2^${n.shift}（这一方 SYN 里的窗口缩放选项）= ${n.bytes} 字节，即不等确认最多可发这么多。`,
  zeroWindow: () => '零窗口：接收方缓冲区满了，发送方必须停下，定期发探测，直到窗口重新打开。',
  windowUpdate: (n) => `窗口更新：确认号不变，窗口变了——接收方现在能再收 ${n.bytes} 字节。`,
  keepAlive: () => '保活探测（keep-alive）：序列号比对方已确认的少 1，用来检查空闲的连接是否还在；对方会回一个重复 ACK。',

  ack: (n) => {
    if (n.parts === undefined) return `Ack=${n.ack}：第 ${n.ack} 字节之前的都收到了（比上一个确认号多 ${n.ack - n.base}），下一个期望的字节是 ${n.ack}。`;
    const sum = `确认号 Ack=${n.ack} = ${n.base} + ${parts(n.parts)}`;
    const fin = n.parts.some((p) => p.kind === 'fin') ? 'FIN 和 SYN 一样要占用一个序列号。' : '';
    return `${sum}，也就是期望收到的下一个字节的序号。${fin}${n.needed ? '它告诉发送方数据已收到；没有它，发送方会重传。' : ''}`;
  },
  dupAck: (n) => {
    const dup = `重复 ACK #${n.count}：又是 Ack=${n.ack}，说明第 ${n.ack} 字节之后的数据到了，而第 ${n.ack} 字节本身还没到。`;
    if (n.resentAs !== undefined) return `${dup}发送方已经重传过它了（#${n.resentAs}）；这个重复 ACK 还没有反映出重传的字节。`;
    return n.count === 3 ? `${dup}三个重复 ACK 是经典的信号（RFC 5681）：发送方应立即重传丢失的报文段（快速重传），不必等定时器。` : dup;
  },
  sack: (n) =>
    `选择确认 SACK：空洞之后的${n.blocks.map(range).join('、')}已经收到（SRE 是块之后的第一个字节），只需重传${n.holes.map(range).join(' 和 ')}。`,
  dsack: (n) => `D-SACK ${range(n.block)}：这个块不高于确认号，说明这些字节收到了两次——那次重传其实没有必要。`,
  outOfOrder: (n) => `出现空洞：期望第 ${n.expected} 字节，这个报文段却从 ${n.got} 开始；第 ${n.expected}–${n.got - 1} 字节丢了或晚到，接收方先把它存起来，并重复发送原来的 ACK。`,
  retransmission: (n) => {
    const of = `${n.len > 0 ? `第 ${n.seq}–${n.seq + n.len - 1} 字节` : '同一个报文段'}${n.of !== undefined ? `（最初是 #${n.of}）` : ''}`;
    const why = ((): string => {
      switch (n.cause) {
        case 'rto': return `tapstack 的重传定时器超时（RTO${n.rtoMs !== undefined ? ` ${ms(n.rtoMs)}` : ''}，RFC 6298）之前一直没有等到它的 ACK，于是重发`;
        case 'go-back-n': return `tapstack 从 SND.UNA 起把尚未确认的数据随着 ACK 的返回逐一重发（回退 N，${cite(n.rule, '定时器超时之后，RFC 5681 §3.1')}）`;
        case 'fast': return `快速重传（${cite(n.rule, 'RFC 5681 §3.2')}）：重复 ACK 表明这个报文段丢了，tapstack 不等定时器就重发`;
        case 'sack': return `SACK 恢复（${cite(n.rule, 'RFC 6675')}）：对方的 SACK 块表明后面的数据已到，tapstack 立即补上这个空洞`;
        case 'rack': return `RACK（RFC 8985）判定它丢失：在它之后发出的数据已被确认，而且已经超过了乱序窗口${n.reorderWindowMs !== undefined ? `（${ms(n.reorderWindowMs)}）` : ''}`;
        case 'rescue': return `救援重传（RFC 6675 NextSeg 规则 4）：SACK 恢复中已无别的可发，tapstack 再重发一个尾部报文段，以防它也丢了`;
        case 'tlp': return `尾部丢包探测（TLP，RFC 8985 §7）：在探测超时${n.ptoMs !== undefined ? `（PTO ${ms(n.ptoMs)}）` : ''}内没有等到 ACK，tapstack 重发最后一个报文段，比 RTO 更早地引出能暴露尾部丢包的 ACK`;
        case undefined: break;
      }
      if (n.guess === 'dupAcks') return `收到 ${n.dupAcks} 个重复 ACK 后立即重传，不等定时器（快速重传）`;
      if (n.guess === 'sack') return `对方的 SACK 块表明后面的数据已到，立即补上这个空洞（快速重传，SACK 恢复）`;
      if (n.guess === 'early') return `只过了 ${n.afterMs !== undefined ? ms(n.afterMs) : '很短时间'}就重发，比任何重传定时器都早（Linux 至少 200 毫秒）：是发送方自己的丢包检测（RACK 或尾部丢包探测）做的决定，线路上看不出是哪一个`;
      return `${n.afterMs !== undefined ? `${ms(n.afterMs)}内` : ''}没有等到 ACK，发送方的重传定时器（RTO）应该是超时了`;
    })();
    if (n.spurious === undefined) return `重传${of}：${why}。`;
    const ack = `接收方已经确认过这些字节${pkt(n.spurious.ackNo)}`;
    return n.spurious.ackLost
      ? `虚假重传（spurious）${of}：${why}。可是${ack}：它的 ACK 在路上被丢弃了，发送方没能及时知道。`
      : `虚假重传（spurious）${of}：${why}。可是${ack}：重发的字节会再到一次。`;
  },
  fin: (n) =>
    n.merged
      ? `FIN 和对对方 FIN 的 ACK 合在同一个报文段里：${roleName(n.from)}也没有数据要发了，所以这次挥手只用三个报文段而不是四个。这个 FIN 占用序列号 ${n.seq}，对方会回 Ack=${n.seq + 1}。`
      : n.second
        ? `FIN：${roleName(n.from)}也没有数据要发了，关闭自己这一方向——四次挥手的第 3、4 个报文段。这个 FIN 占用序列号 ${n.seq}，对方会回 Ack=${n.seq + 1}。`
        : `FIN：${roleName(n.from)}没有数据要发了${n.idleMs !== undefined ? `（空闲了 ${secs(n.idleMs)}${n.from.role === 'server' ? '，到了 keep-alive 超时' : ''}）` : ''}，先关闭自己这个方向，四次挥手开始。FIN 占用一个序列号（${n.seq}），所以对方会用 Ack=${n.seq + 1} 来确认。`,
  finInTimeWait: (n) =>
    `又是同一个 FIN：说明最后那个 ACK 丢了，对方还停在 LAST-ACK 等待。这正是 TIME-WAIT 的用处：${roleName(n.end)}还记得这个连接，于是再确认一次这个 FIN，并重新开始 ${secs(n.ms)}的等待。`,
  rst: (n) => (n.refused ? `RST：${n.from.who} 上没有程序监听这个端口，连接被拒绝。` : `${roleName(n.from)}发出 RST：连接立即中止，没有 FIN 交换，也没有 TIME-WAIT。`),

  timeWait: (n) =>
    `${roleName(n.end)}是先关闭的一方，所以进入 TIME-WAIT 状态，${n.local ? `等待 2×MSL = ${secs(n.ms)}（tapstack 的 MSL 是 ${secs(n.mslMs)}；RFC 9293 的 MSL 是 2 分钟，Linux 则固定等 60 秒）` : '按它自己的计时器等待（Linux 固定 60 秒；RFC 9293 是 2×MSL，MSL 为 2 分钟）'}：万一最后的 ACK 丢了，对方重传的 FIN 还能得到回应；同时让这个连接的旧报文在网络中消失，之后才能复用这对端口。`,
  timeWaitOver: (n) => `${secs(n.ms)}的 TIME-WAIT 结束了：这个连接被彻底清除。`,
};
