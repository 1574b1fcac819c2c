/** A problem in a profile document, positioned so editors and CI can jump to it. */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  severity: 'error' | 'warning';
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.severity === 'warning' ? 'warning: ' : ''}${d.message}`;
}

/** Thrown by the strict loaders (servers refuse to start on a broken profile). */
export class ProfileLoadError extends Error {
  override name = 'ProfileLoadError';
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n') || 'profiles failed to load');
  }
}
