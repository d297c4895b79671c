// A run's summary.eval for the tests of the score rows, the Runs view's score nodes and the dashboard's
// evaluation table: three tasks (a fraction below its base, one without a base, a perplexity).
import type { EvalSummary } from '../../../language-server/src/lib/run-folder/run-files';

export function evalSummary(overrides: Partial<EvalSummary> = {}): EvalSummary {
  return {
    status: 'completed',
    resultsFile: 'eval/results_2026-12-06T16-00-00.000.json',
    baseResultsFile: 'eval/base_results_2026-12-06T15-59-00.000.json',
    adapter: 'final',
    step: 200,
    profile: 'lm-eval',
    limit: 50,
    numFewshot: 0,
    tasks: {
      wikitext_ppl: { metric: 'perplexity', value: 12.5, stderr: null, higherIsBetter: false, n: 50, base: { value: 14.25, stderr: null } },
      arithmetic_2ds: { metric: 'acc', value: 0.42, stderr: 0.0705, higherIsBetter: true, n: 50, base: { value: 0.46, stderr: 0.0712 } },
      heldout: { metric: 'exact_match', value: 0.3, stderr: 0.0655, higherIsBetter: true, n: 50 },
    },
    startedMs: 1,
    endedMs: 2,
    ...overrides,
  };
}
