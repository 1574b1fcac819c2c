/** A problem in a profile document, positioned so editors and CI can jump to it. */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  severity: 'error' | 'warning';
  message: string;
}

/**
 * Line feeds (and the blanks around them) as one space: a report line stays one line. Other control
 * characters stay, for the printable output to show them as '?' (a carriage return that would
 * overwrite the line is visible, not hidden).
 */
export function oneLine(text: string): string {
  return text.replace(/[ \t]*\n[ \t]*/g, ' ');
}

/** One line, whatever the message holds: editors and CI read `file:line:col: message` line by line. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.severity === 'warning' ? 'warning: ' : ''}${oneLine(d.message)}`;
}

/** Thrown by the strict loaders (servers refuse to start on a broken profile). */
export class ProfileLoadError extends Error {
  override name = 'ProfileLoadError';
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n') || 'profiles failed to load');
  }
}
