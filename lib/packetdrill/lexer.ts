// The first pass over a packetdrill script: comments out, one logical statement per event.
// A statement ends at the end of a line unless a bracket is still open (a syscall's struct
// argument may span lines); `%{ ... }%` Python blocks and back-quoted shell commands are kept
// whole so the runner can report them as skipped.

/** One logical statement and the line it starts on (1-based). */
export interface Statement {
  line: number;
  text: string;
}

/** Split `source` into statements, dropping `//` and `/* *\/` comments and blank lines. */
export function lex(source: string): Statement[] {
  const out: Statement[] = [];
  const lines = source.split(/\r?\n/);
  let cur = '';
  let start = 0;
  let depth = 0;
  let inBlockComment = false;
  let python: { line: number; text: string } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (python !== undefined) {
      python.text += '\n' + raw;
      if (raw.includes('}%')) {
        out.push(python);
        python = undefined;
      }
      continue;
    }
    let text = '';
    let inBackquote = false;
    for (let j = 0; j < raw.length; j++) {
      const ch = raw[j]!;
      if (inBlockComment) {
        if (ch === '*' && raw[j + 1] === '/') {
          inBlockComment = false;
          j++;
        }
        continue;
      }
      if (ch === '`') inBackquote = !inBackquote;
      if (!inBackquote && ch === '/' && raw[j + 1] === '/') break;
      if (!inBackquote && ch === '/' && raw[j + 1] === '*') {
        inBlockComment = true;
        j++;
        continue;
      }
      if (!inBackquote) {
        if (ch === '(' || ch === '[' || ch === '{') depth++;
        if (ch === ')' || ch === ']' || ch === '}') depth = Math.max(0, depth - 1);
      }
      text += ch;
    }
    const t = text.trim();
    if (t === '') continue;
    if (cur === '' && /^(\S+\s+)?%\{/.test(t)) {
      depth = 0;
      if (t.includes('}%')) out.push({ line: i + 1, text: t });
      else python = { line: i + 1, text: t };
      continue;
    }
    if (cur === '') start = i + 1;
    cur = cur === '' ? t : `${cur} ${t}`;
    if (depth === 0) {
      out.push({ line: start, text: cur });
      cur = '';
    }
  }
  if (python !== undefined) out.push(python);
  if (cur !== '') out.push({ line: start, text: cur });
  return out;
}
