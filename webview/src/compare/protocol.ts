// The one typed protocol between the extension host and the comparison panel ("Show Memory/Time
// Trade-offs", "Compare Runs"): postMessage both ways, and the state the page keeps with setState.
import type { CompareFacts, RunFacts } from '../../../language-server/src/lib/compare/facts';
import type { SortDirection } from '../../../language-server/src/lib/compare/table';

/** What a panel compares: a config (its variants and its runs) or exactly the runs chosen. */
export type CompareSubject = { mode: 'config'; configPath: string } | { mode: 'runs'; runDirs: string[] };

/** Host -> page: the config part changed (opened, edited): title, variants, base model. Runs keep. */
export interface CompareConfigMessage {
  type: 'compare-config';
  /** What the panel compares (the page persists it for the serializer). */
  subject: CompareSubject;
  facts: Omit<CompareFacts, 'runs'>;
}

/**
 * Host -> page: runs read (new or changed), run folders gone, and how far the reading is
 * (`read` of `total` folders; the first rows come before the last folder is read).
 */
export interface CompareRunsMessage {
  type: 'compare-runs';
  runs: RunFacts[];
  removed: string[];
  read: number;
  total: number;
}

/** Host -> page: the train loss of one run (downsampled), for the overlaid loss chart. */
export interface CompareCurveMessage {
  type: 'compare-curve';
  runDir: string;
  step: number[];
  tokens: number[];
  elapsedS: number[];
  loss: number[];
}

export type CompareHostMessage = CompareConfigMessage | CompareRunsMessage | CompareCurveMessage;

export type CompareRunAction = 'evaluate' | 'dashboard' | 'reveal';
export const COMPARE_RUN_ACTIONS: readonly CompareRunAction[] = ['evaluate', 'dashboard', 'reveal'];

/** Page -> host. */
export type CompareWebviewMessage =
  /** The page listens: the host sends everything again. */
  | { type: 'ready' }
  /** Start one variant (null: the config without a sweep), queued. */
  | { type: 'start-variant'; variant: number | null }
  /** Start every variant of the sweep, queued (as "Start LoRA Run"). */
  | { type: 'start-sweep' }
  | { type: 'run-action'; action: CompareRunAction; runDir: string }
  /** Put text on the clipboard (a row's settings as YAML overrides). */
  | { type: 'copy'; text: string; what: string }
  /** Save the table as shown (sorted, filtered). */
  | { type: 'export'; format: 'markdown' | 'csv'; text: string }
  /** The runs whose loss curves the page shows (selected rows). */
  | { type: 'curves'; runDirs: string[] };

export type CostAxisChoice = 'peak' | 'time';
export type CurveAxis = 'step' | 'tokens' | 'time';

/** What the page keeps across hide / reload (vscode.setState). */
export interface CompareState {
  subject: CompareSubject;
  sortKey: string | null;
  sortDir: SortDirection;
  /** Statuses shown; empty: all. */
  statuses: string[];
  task: string | null;
  /** Run folders whose loss curves are overlaid. */
  selected: string[];
  smoothing: number;
  xAxis: CurveAxis;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

export function parseSubject(value: unknown): CompareSubject | undefined {
  if (!isObject(value)) return undefined;
  if (value.mode === 'config' && typeof value.configPath === 'string') return { mode: 'config', configPath: value.configPath };
  if (value.mode === 'runs' && isStringArray(value.runDirs) && value.runDirs.length > 0) return { mode: 'runs', runDirs: value.runDirs };
  return undefined;
}

/** The persisted state if its subject is well-formed (the rest falls back to defaults). */
export function parseCompareState(value: unknown): CompareState | undefined {
  if (!isObject(value)) return undefined;
  const subject = parseSubject(value.subject);
  if (!subject) return undefined;
  return {
    subject,
    sortKey: typeof value.sortKey === 'string' ? value.sortKey : null,
    sortDir: value.sortDir === 'desc' ? 'desc' : 'asc',
    statuses: isStringArray(value.statuses) ? value.statuses : [],
    task: typeof value.task === 'string' ? value.task : null,
    selected: isStringArray(value.selected) ? value.selected : [],
    smoothing: typeof value.smoothing === 'number' ? Math.min(0.99, Math.max(0, value.smoothing)) : 0.6,
    xAxis: value.xAxis === 'tokens' || value.xAxis === 'time' ? value.xAxis : 'step',
  };
}

export function isCompareHostMessage(value: unknown): value is CompareHostMessage {
  if (!isObject(value)) return false;
  if (value.type === 'compare-config')
    return parseSubject(value.subject) !== undefined && isObject(value.facts) && Array.isArray(value.facts.variants);
  if (value.type === 'compare-runs') return Array.isArray(value.runs) && Array.isArray(value.removed) && typeof value.total === 'number';
  return value.type === 'compare-curve' && typeof value.runDir === 'string' && Array.isArray(value.loss);
}

export function isCompareWebviewMessage(value: unknown): value is CompareWebviewMessage {
  if (!isObject(value)) return false;
  switch (value.type) {
    case 'ready':
    case 'start-sweep':
      return true;
    case 'start-variant':
      return value.variant === null || (Number.isInteger(value.variant) && (value.variant as number) >= 0);
    case 'run-action':
      return COMPARE_RUN_ACTIONS.includes(value.action as CompareRunAction) && typeof value.runDir === 'string';
    case 'copy':
      return typeof value.text === 'string' && typeof value.what === 'string';
    case 'export':
      return (value.format === 'markdown' || value.format === 'csv') && typeof value.text === 'string';
    case 'curves':
      return isStringArray(value.runDirs);
    default:
      return false;
  }
}
