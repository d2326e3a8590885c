// The ladder diagram of one TCP connection as SVG, drawn from its segment history
// (lib/tcp/segment-history.ts): the client's time line on the left, the server's on the right,
// one arrow per segment with what Wireshark's summary would say of it (relative Seq/Ack, the
// window as scaled, Len, the SYN options), each arrow carrying its numbers as data-* attributes
// so a test can compare the drawing with a capture. Pure: a string from numbers.
import type { HistorySegment, HistoryView } from '../tcp/segment-history.js';
import { TCP_FLAGS, formatTcpFlags } from '../wire/tcp.js';

const WIDTH = 640;
const LEFT = 112;
const RIGHT = 628;
const TOP = 44;
const ROW = 34;
const DROP = 14;

/** The two ends as the reader should see them. */
export type LadderEnds = { client: string; server: string };

/** `[SYN, ACK] Seq=0 Ack=1 Win=65535 Len=0`, the summary line of Wireshark. */
function summary(s: HistorySegment): string {
  return `[${formatTcpFlags(s.flags)}] Seq=${s.seq}${s.flags & TCP_FLAGS.ACK ? ` Ack=${s.ack}` : ''} Win=${s.win} Len=${s.len}`;
}

/** The options worth a second line: the SYN's, and SACK blocks. */
function optionLine(s: HistorySegment): string {
  const o: string[] = [];
  if (s.mss !== undefined) o.push(`MSS=${s.mss}`);
  if (s.sackPerm) o.push('SACK_PERM');
  if (s.ts && s.flags & TCP_FLAGS.SYN) o.push('TSval TSecr');
  if (s.wscale !== undefined) o.push(`WS=${2 ** s.wscale}`);
  if (s.sackBlocks > 0) o.push(`SACK ×${s.sackBlocks}`);
  return o.join(' ');
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function arrow(s: HistorySegment, y: number): string {
  const out = s.dir === 'out';
  const [x1, x2] = out ? [RIGHT, LEFT] : [LEFT, RIGHT];
  const mid = (LEFT + RIGHT) / 2;
  const opts = optionLine(s);
  const data = `data-dir="${s.dir}" data-flags="${s.flags}" data-seq="${s.seq}" data-ack="${s.ack}" data-len="${s.len}" data-win="${s.win}"`;
  return `<g class="seg ${s.dir}" ${data}>` +
    `<text class="t" x="4" y="${y + 4}">${s.t.toFixed(3)} ms</text>` +
    `<line x1="${x1}" y1="${y}" x2="${x2}" y2="${y + DROP}" marker-end="url(#${s.dir})"/>` +
    `<text x="${mid}" y="${y + 2}">${esc(summary(s))}</text>` +
    (opts === '' ? '' : `<text class="o" x="${mid}" y="${y + DROP + 9}">${esc(opts)}</text>`) +
    '</g>';
}

/**
 * The SVG of `view`, ending with a line where the drawing was made (`nowNote`, e.g. "this
 * page's response starts here"): what came after did not exist yet.
 */
export function ladderSvg(view: HistoryView, ends: LadderEnds, nowNote: string): string {
  const parts: string[] = [];
  let y = TOP;
  // A row with an options line below its arrow takes a little more room.
  const rowOf = (s: HistorySegment): number => ROW + (optionLine(s) === '' ? 0 : 10);
  for (const s of view.head) {
    parts.push(arrow(s, y));
    y += rowOf(s);
  }
  if (view.omitted > 0) {
    parts.push(`<text class="gap" x="${(LEFT + RIGHT) / 2}" y="${y + 6}">⋮ ${view.omitted} segment${view.omitted === 1 ? '' : 's'} not kept (the first 8 and the latest 56 are) ⋮</text>`);
    y += ROW;
  }
  for (const s of view.tail) {
    parts.push(arrow(s, y));
    y += rowOf(s);
  }
  parts.push(`<line class="now" x1="${LEFT}" y1="${y}" x2="${RIGHT}" y2="${y}"/><text class="now" x="${RIGHT}" y="${y + 14}">${esc(nowNote)}</text>`);
  const height = y + 24;
  const count = view.head.length + view.tail.length;
  return `<svg xmlns="http://www.w3.org/2000/svg" class="ladder" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="${esc(`Ladder diagram of the connection ${ends.client} to ${ends.server}: ${count} segments`)}">` +
    '<style>text{font:10px "DejaVu Sans Mono",Menlo,Consolas,monospace;fill:#1d2330;text-anchor:middle}' +
    '.t{text-anchor:start;fill:#5b6475}.o,.gap{fill:#5b6475}.end{font-weight:bold}' +
    'line{stroke:#1d2330;stroke-width:1.2}.out line{stroke:#0b6e69}.out text:not(.t){fill:#0b6e69}' +
    '.life{stroke:#5b6475;stroke-width:2}line.now{stroke:#b0413e;stroke-dasharray:4 3}text.now{fill:#b0413e;text-anchor:end}</style>' +
    `<defs>${['in', 'out'].map((d) => `<marker id="${d}" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="${d === 'in' ? '#1d2330' : '#0b6e69'}"/></marker>`).join('')}</defs>` +
    `<text class="end" x="${LEFT}" y="14" style="text-anchor:start">${esc(ends.client)}</text><text class="end" x="${RIGHT}" y="14" style="text-anchor:end">${esc(ends.server)}</text>` +
    `<line class="life" x1="${LEFT}" y1="22" x2="${LEFT}" y2="${y}"/><line class="life" x1="${RIGHT}" y1="22" x2="${RIGHT}" y2="${y}"/>` +
    parts.join('') +
    '</svg>';
}
