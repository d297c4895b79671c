// Config problems -> LSP diagnostics: severity mapping, stable codes and the quick-fix data the
// code actions read back (the dotted key and the problem's own data).
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver-types';
import type { Problem, Severity } from '../config';
import type { ConfigAnalysis } from './analysis';

export const DIAGNOSTIC_SOURCE = 'lora-lab';

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export function toDiagnostic(problem: Problem): Diagnostic {
  return {
    range: problem.range,
    severity: SEVERITY[problem.severity],
    code: problem.code,
    source: DIAGNOSTIC_SOURCE,
    message: problem.message,
    data: { key: problem.key, ...problem.data },
  };
}

/** Every problem of the document, in the parse's order. */
export function diagnostics(analysis: ConfigAnalysis): Diagnostic[] {
  return analysis.parsed.problems.map(toDiagnostic);
}
