// The declarative evaluation-task format (built-in tasks and, later, user tasks share it) and the
// request / response types that flow from task data through tokenization to the engine's score.

/** Scoring profile: `lm-eval` reproduces lm-evaluation-harness 0.4.x, `article` its 0.3 line with Lit-GPT's wrapper. */
export type ProfileName = 'lm-eval' | 'article';
export const PROFILES: readonly ProfileName[] = ['lm-eval', 'article'];

/** How the rows of a data file are read. */
export interface DataFileSpec {
  /** File name inside the evaluation data folder (listed with its sha256 in MANIFEST.json). */
  file: string;
  /** jsonl: one object per line; json: an array of objects; csv: RFC 4180 rows without a header. */
  format: 'jsonl' | 'json' | 'csv';
  /** csv only: the name of each column, in order (every row must have exactly these). */
  columns?: string[];
}

/**
 * Where the choices of a multiple-choice document come from:
 * - `templates`: one template per choice (e.g. BLiMP's good and bad sentence, MMLU's letters);
 * - `keys_of`: the keys of an object field in file order (TruthfulQA's *_targets).
 */
export type ChoicesSpec = { templates: string[] } | { keys_of: string };

/** Which choice is right: a fixed index, a field's value looked up in a list, or the 1-labels of an object field. */
export type GoldSpec = { index: number } | { field: string; among: string[] } | { labels_of: string };

/** Metric names as results files spell them. `acc` of a loglikelihood task is is_greedy. */
export type MetricKind = 'acc' | 'mc2' | 'pair_acc' | 'greedy_acc';

export interface FewShotSpec {
  /** The pool; the first k rows in file order are the shots. */
  data: DataFileSpec;
  /** Target text of a shot (after the target delimiter), e.g. "{{answer}}". */
  target: string;
  /** Text between shots and between the last shot and the document. */
  delimiter: string;
}

/** Settings a profile changes for one task (only what differs from the task's own). */
export interface ProfileOverride {
  target_delimiter?: string;
}

/** One evaluation task, as data. */
export interface TaskSpec {
  name: string;
  /** lm-eval's task version, written to results files. */
  version: string;
  kind: 'multiple_choice' | 'loglikelihood';
  data: DataFileSpec;
  /** Text in front of every prompt (before any shots), e.g. MMLU's subject line or TruthfulQA's 6-shot preamble. */
  description: string;
  /** The per-document prompt (context), a template over the row's fields. */
  context: string;
  /** Text between the context and each continuation (lm-eval's target_delimiter). */
  target_delimiter: string;
  /** multiple_choice: the choices and the gold. */
  choices?: ChoicesSpec;
  gold?: GoldSpec;
  /** loglikelihood: the continuation template. */
  continuation?: string;
  metric: MetricKind;
  /** Optional few-shot pool; tasks without one always run 0-shot. */
  fewshot?: FewShotSpec;
  profiles?: Partial<Record<ProfileName, ProfileOverride>>;
}

export type Row = Record<string, unknown>;

/** One (context, continuation) pair as strings: lm-eval's loglikelihood request arguments. */
export interface RequestText {
  context: string;
  continuation: string;
}

/** A document and its requests, with what the metric needs. */
export interface DocRequests {
  docId: number;
  requests: RequestText[];
  /** multiple_choice: index of the right choice (acc, pair_acc). */
  gold: number;
  /** mc2: 1 for true choices, 0 for false (file order). */
  labels?: number[];
}

/** The engine's answer to one request. */
export interface ScoreResult {
  sumLogprob: number;
  isGreedy: boolean;
}

/** Token ids of one request, ready for the engine (context never empty). */
export interface TokenRequest {
  context: number[];
  continuation: number[];
  /** Context tokens dropped at the left to fit the model's window (0 when it fitted). */
  truncated: number;
}
