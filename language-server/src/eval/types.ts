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

/** Per-document metrics. `greedy_acc` of a loglikelihood task is is_greedy (results: `acc`); generate_until scores exact_match or contains. */
export type MetricKind = 'acc' | 'mc2' | 'pair_acc' | 'greedy_acc' | 'exact_match' | 'contains';

export type TaskKind = 'multiple_choice' | 'loglikelihood' | 'generate_until';
export const TASK_KINDS: readonly TaskKind[] = ['multiple_choice', 'loglikelihood', 'generate_until'];

/** Applied in order to a generated answer and its reference before they are compared. */
export type Normalization = 'strip' | 'lower' | 'collapse_whitespace' | 'remove_punctuation';
export const NORMALIZATIONS: readonly Normalization[] = ['strip', 'lower', 'collapse_whitespace', 'remove_punctuation'];

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

/** One evaluation task, as data (the built-in tasks and `*.task.yaml` files alike). */
export interface TaskSpec {
  name: string;
  /** What the task measures, for people (hover, completion); not part of any prompt. */
  description?: string;
  /** lm-eval's task version, written to results files. */
  version: string;
  kind: TaskKind;
  data: DataFileSpec;
  /** Text in front of every prompt (before any shots), e.g. MMLU's subject line or TruthfulQA's 6-shot preamble (lm-eval's `description`). */
  preamble: string;
  /** The per-document prompt (context), a template over the row's fields. */
  context: string;
  /** Text between the context and each continuation (lm-eval's target_delimiter). */
  target_delimiter: string;
  /** multiple_choice: the choices and the gold. */
  choices?: ChoicesSpec;
  gold?: GoldSpec;
  /** loglikelihood: the continuation template. */
  continuation?: string;
  /** generate_until: the reference answer template. */
  target?: string;
  /** generate_until: stop strings; the generation is cut before the first one found. */
  until?: string[];
  /** generate_until: most tokens generated per document. */
  max_tokens?: number;
  /** generate_until: normalisations of answer and reference, in order. */
  normalize?: Normalization[];
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
  /** generate_until: the rendered reference answer (the one request's continuation is empty). */
  target?: string;
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
