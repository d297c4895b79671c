// The dashboard's view of the results files that run.json's summary.eval names (lm-eval 0.4 layout):
// every `<metric>,<filter>` of each task with its `<metric>_stderr,<filter>`, for the adapter and the
// base model, as one EvalResultsMessage; `EvalResultsFeed` sends it once per new results file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EvalSummary } from '../../../native/trainer/protocol';
import type { EvalResultsMessage, ResultsMetric } from '../../../webview/src/protocol';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** The metrics of one task's entry in `results`: `acc,none` + `acc_stderr,none` -> {acc, value, stderr}. */
export function taskMetrics(entry: unknown): ResultsMetric[] {
  if (!isObject(entry)) return [];
  const out: ResultsMetric[] = [];
  for (const [key, value] of Object.entries(entry)) {
    const match = /^(.+?),(.+)$/.exec(key);
    if (!match || match[1].endsWith('_stderr') || typeof value !== 'number') continue;
    const stderr = entry[`${match[1]}_stderr,${match[2]}`];
    out.push({ metric: match[1], value, stderr: typeof stderr === 'number' ? stderr : null });
  }
  return out;
}

interface ResultsFile {
  model: string | null;
  date: number | null;
  metrics: Record<string, ResultsMetric[]>;
}

/** A results file's tasks and metrics; undefined when it is missing or not lm-eval's layout. */
export function readResultsFile(file: string): ResultsFile | undefined {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(json) || !isObject(json.results)) return undefined;
  const metrics: Record<string, ResultsMetric[]> = {};
  for (const [task, entry] of Object.entries(json.results)) metrics[task] = taskMetrics(entry);
  const config = isObject(json.config) ? json.config : {};
  return { model: typeof config.model === 'string' ? config.model : null, date: typeof json.date === 'number' ? json.date : null, metrics };
}

/** The message for `evaluation`'s results files; undefined until a results file exists and reads. */
export function evalResultsMessage(runDir: string, evaluation: EvalSummary | undefined): EvalResultsMessage | undefined {
  if (!evaluation?.resultsFile) return undefined;
  const results = readResultsFile(path.join(runDir, evaluation.resultsFile));
  if (!results) return undefined;
  const base = evaluation.baseResultsFile ? readResultsFile(path.join(runDir, evaluation.baseResultsFile)) : undefined;
  return {
    type: 'eval-results',
    resultsFile: evaluation.resultsFile,
    baseResultsFile: base ? evaluation.baseResultsFile : null,
    model: results.model,
    date: results.date,
    metrics: results.metrics,
    baseMetrics: base?.metrics ?? {},
  };
}

/** Sends a dashboard the results of a run's newest evaluation once per results file (again after a replay). */
export class EvalResultsFeed {
  private sentKey = '';

  constructor(private readonly post: (message: EvalResultsMessage) => void) {}

  /** Forget what was sent: the webview was reloaded. */
  reset(): void {
    this.sentKey = '';
  }

  update(runDir: string, evaluation: EvalSummary | undefined): void {
    const key = evaluation?.resultsFile ? `${evaluation.resultsFile}|${evaluation.baseResultsFile ?? ''}` : '';
    if (!key || key === this.sentKey) return;
    const message = evalResultsMessage(runDir, evaluation);
    if (!message) return;
    this.sentKey = key;
    this.post(message);
  }
}
