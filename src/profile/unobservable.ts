/**
 * The clauses a profile writes down as unobservable: requirements no stage's facts can show, so
 * they are recorded in the profile's header comment instead of as rules. The matrix lists them
 * beside the rules, so a reader sees every clause of a document, enforced or not.
 *
 * The header is the comment block before the first key. The list starts at a comment line (text
 * in column 3) that says "unobservable", "cannot observe", "no stage can observe" or "not written as rules"; each entry is
 * a line indented by three spaces (`#   §5.2.1-3  what it asks: why it cannot be seen`), its
 * continuation lines indented further; a line back in column 3 or the end of the block ends the
 * list. An entry's clause is what precedes a run of two or more spaces when that holds a §
 * (`§AS-4      text`); otherwise its leading run of clause references (`§5.2.3-3/-4 and §5.2.4-1`,
 * `§7.2/§7.3`, `§5.3.2.2 Note 4`); otherwise the words before its first colon (`DPoP:`,
 * `UK OB DCR v3.3 §Software Statement:`).
 */
export interface UnobservableClause {
  /** The clause references as written (`§5.2.2-11`), or the entry's name. */
  clause: string;
  /** What the entry says, continuation lines joined. */
  text: string;
  /** 1-based line of the entry in the file. */
  line: number;
}

const HEADING = /unobservable|cannot observe|no stage can observe|not written as rules/i;
const ENTRY = /^# {3}(\S.*)$/;
const CONTINUATION = /^# {4,}(\S.*)$/;
const TOP = /^# ?\S/;

/** One clause reference: `§5.2.2-11`, `§5.2.2.1-1…6`, `§5.2.3-3/-4/-6`, `§8.6.1-1`. */
const REF = String.raw`§[0-9][0-9A-Za-z.…-]*(?:/-[0-9][0-9A-Za-z.…-]*)*`;
const LABEL = new RegExp(String.raw`^(${REF}(?:\s*(?:/|,|and|or)\s*${REF})*(?:\s+Note\s+\d+)?)[\s:]*(.*)$`);

export function unobservableClauses(text: string): UnobservableClause[] {
  const out: UnobservableClause[] = [];
  // 'heading' until the list's first entry (a heading may wrap onto more lines), then 'list'.
  let state: 'out' | 'heading' | 'list' = 'out';
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (!line.startsWith('#')) {
      if (line.trim() === '') continue;
      break;
    }
    const entry = ENTRY.exec(line);
    const more = CONTINUATION.exec(line);
    if (state !== 'out' && entry) {
      out.push({ ...label(entry[1] as string), line: i + 1 });
      state = 'list';
    } else if (state === 'list' && more) {
      (out[out.length - 1] as UnobservableClause).text += ` ${(more[1] as string).trim()}`;
    } else if (TOP.test(line)) {
      state = HEADING.test(line) ? 'heading' : state === 'heading' ? 'heading' : 'out';
    } else if (line.trim() === '#') state = 'out';
  }
  return out;
}

function label(entry: string): { clause: string; text: string } {
  // A clause set off from its text by two or more spaces: `§AS-4      what it asks`.
  const gap = /^(\S.*?) {2,}(\S.*)$/.exec(entry);
  if (gap && (gap[1] as string).includes('§') && (gap[1] as string).length <= 100) return { clause: (gap[1] as string).replace(/:$/, ''), text: gap[2] as string };
  const refs = LABEL.exec(entry);
  if (refs) return { clause: (refs[1] as string).trim(), text: (refs[2] as string).trim() };
  const colon = entry.indexOf(':');
  return colon > 0 ? { clause: entry.slice(0, colon).trim(), text: entry.slice(colon + 1).trim() } : { clause: entry.trim(), text: '' };
}
