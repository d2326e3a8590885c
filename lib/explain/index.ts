// Teaching mode (issue 6): the CLI's --trace and --explain. The Explainer (explainer.ts) computes
// per frame a summary line with relative TCP numbers, the facts about it and the TCP state
// changes it caused; a Phrasebook (en.ts, zh.ts) phrases the facts; this file lays out lines:
//
//   0.001021 RX #3 10.0.0.1:49312 > 10.0.0.2:80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460 ...
//       ↳ Handshake 1/3: the client (10.0.0.1:49312) asks to open a connection. ...
//   0.001100 state 10.0.0.1:49312 ↔ 10.0.0.2:80 CLOSED -> SYN-SENT
//
//   new TracerLink(link, process.stderr, { clock, narrator: new TraceNarrator({ clock, explain: true, lang: 'zh' }) })
import type { FrameNarrator } from '../link/tracer.js';
import { en } from './en.js';
import { Explainer, type ExplainerOptions, type TraceEntry } from './explainer.js';
import type { Note, Phrasebook, StateChange } from './notes.js';
import { zh } from './zh.js';

export { Explainer, type ExplainerOptions, type TraceEntry } from './explainer.js';
export type { Note, Phrasebook, StateChange } from './notes.js';

/** The languages of --lang. */
export const LANGUAGES = { en, zh } as const;
/** A language code of --lang. */
export type Lang = keyof typeof LANGUAGES;

/** Indentation of explanation lines under their packet or state line. */
export const NOTE_PREFIX = '    ↳ ';

/** One note in the words of `phrases`. */
export function phrase(n: Note, phrases: Phrasebook): string {
  return (phrases[n.kind] as (x: Note) => string)(n);
}

/** The lines of one traced frame: the packet (`DROP #n ... (reason)` when dropped on purpose), its explanations (when `phrases`), its state changes. */
export function renderEntry(e: TraceEntry, stamp: string, phrases?: Phrasebook): string[] {
  const lines = [e.drop === undefined ? `${stamp}${e.dir} #${e.no} ${e.line}` : `${stamp}DROP #${e.no} ${e.line} (${e.drop})`];
  if (phrases !== undefined) for (const n of e.notes) lines.push(NOTE_PREFIX + phrase(n, phrases));
  lines.push(...renderStates(e.states, stamp, phrases));
  return lines;
}

/** `state 10.0.0.2:80 ↔ 10.0.0.1:53818 LISTEN -> SYN-RECEIVED` lines (the end that changes first), each with its explanation when `phrases`. */
export function renderStates(states: StateChange[], stamp: string, phrases?: Phrasebook): string[] {
  const lines: string[] = [];
  for (const s of states) {
    lines.push(`${stamp}state ${s.who} ↔ ${s.peer} ${s.from} -> ${s.to}`);
    if (phrases !== undefined) for (const n of s.notes) lines.push(NOTE_PREFIX + phrase(n, phrases));
  }
  return lines;
}

/** Options of TraceNarrator. */
export interface NarratorOptions extends ExplainerOptions {
  /** Explanations under each packet (--explain); without, the trace and state lines only (--trace). */
  explain?: boolean;
  /** Language of the explanations (default 'en'). */
  lang?: Lang;
}

/** The TracerLink narrator of --trace / --explain. */
export class TraceNarrator implements FrameNarrator {
  readonly explainer: Explainer;
  readonly #phrases: Phrasebook | undefined;

  constructor(opts: NarratorOptions = {}) {
    this.explainer = new Explainer(opts);
    this.#phrases = opts.explain === true ? LANGUAGES[opts.lang ?? 'en'] : undefined;
  }

  frame(dir: 'RX' | 'TX', frame: Buffer, stamp: string, drop?: string): string[] {
    return renderEntry(this.explainer.frame(dir, frame, drop), stamp, this.#phrases);
  }

  attach(emit: (line: string) => void, stamp: () => string): void {
    this.explainer.onLater = (states) => {
      for (const l of renderStates(states, stamp(), this.#phrases)) emit(l);
    };
  }

  close(): void {
    this.explainer.close();
  }
}
