// Turns a task's rows into lm-eval requests: the context string of each document (description,
// k shots, the prompt) and one (context, continuation) pair per choice, per profile.
import { loadRows, type DataRow } from './data';
import { parseTemplate, render } from './template';
import { validateTask } from './tasks';
import type { DocRequests, ProfileName, RequestText, Row, TaskSpec } from './types';

export interface BuildOptions {
  profile: ProfileName;
  /** Few-shot examples per prompt (tasks without a few-shot pool run 0-shot). */
  numFewshot: number;
  /** At most this many documents (the first ones in file order); null = all. */
  limit: number | null;
}

export interface TaskRequests {
  task: TaskSpec;
  /** Shots actually used (0 for tasks without a pool). */
  numFewshot: number;
  /** Documents in the data file. */
  original: number;
  docs: DocRequests[];
}

/** The target delimiter under a profile. */
export function targetDelimiter(task: TaskSpec, profile: ProfileName): string {
  return task.profiles?.[profile]?.target_delimiter ?? task.target_delimiter;
}

function choicesOf(task: TaskSpec, row: Row, where: string): string[] {
  const spec = task.choices!;
  if ('templates' in spec) return spec.templates.map((t, i) => render(parseTemplate(t, `task ${task.name}: choices[${i}]`), row, where));
  const value = row[spec.keys_of];
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new Error(`${where}: the field '${spec.keys_of}' must be an object whose keys are the choices`);
  const keys = Object.keys(value);
  if (keys.length === 0) throw new Error(`${where}: '${spec.keys_of}' has no choices`);
  return keys;
}

function goldOf(task: TaskSpec, row: Row, where: string, choiceCount: number): { gold: number; labels?: number[] } {
  const spec = task.gold!;
  if ('index' in spec) {
    if (spec.index < 0 || spec.index >= choiceCount)
      throw new Error(`${where}: gold index ${spec.index} is outside the ${choiceCount} choices`);
    return { gold: spec.index };
  }
  if ('field' in spec) {
    const value = row[spec.field];
    const gold = spec.among.indexOf(String(value));
    if (gold < 0) throw new Error(`${where}: '${spec.field}' is ${JSON.stringify(value)}; expected one of ${spec.among.join(', ')}`);
    return { gold };
  }
  const labels = Object.values(row[spec.labels_of] as Record<string, unknown>).map((v) => {
    if (v !== 0 && v !== 1) throw new Error(`${where}: the labels in '${spec.labels_of}' must be 0 or 1, found ${JSON.stringify(v)}`);
    return v;
  });
  if (!labels.includes(1)) throw new Error(`${where}: '${spec.labels_of}' has no true (1) answer`);
  return { gold: labels.indexOf(1), labels };
}

/** The text in front of each document's prompt: description, then k shots each ended by the delimiter. */
export function fewshotPrefix(task: TaskSpec, shots: DataRow[], profile: ProfileName): string {
  if (shots.length === 0 || !task.fewshot) return task.preamble;
  const context = parseTemplate(task.context, `task ${task.name}: context`);
  const target = parseTemplate(task.fewshot.target, `task ${task.name}: fewshot.target`);
  const delimiter = targetDelimiter(task, profile);
  const parts = shots.map((s) => render(context, s.row, s.where) + delimiter + render(target, s.row, s.where));
  return task.preamble + parts.join(task.fewshot.delimiter) + task.fewshot.delimiter;
}

/** Builds the requests of one task from verified rows (`rows`, `shots` already loaded). */
export function buildFromRows(task: TaskSpec, rows: DataRow[], shots: DataRow[], options: BuildOptions): DocRequests[] {
  validateTask(task);
  const prefix = fewshotPrefix(task, shots, options.profile);
  const context = parseTemplate(task.context, `task ${task.name}: context`);
  const delimiter = targetDelimiter(task, options.profile);
  const selected = options.limit === null ? rows : rows.slice(0, options.limit);
  return selected.map(({ row, where }, docId) => {
    const ctx = prefix + render(context, row, where);
    if (task.kind === 'generate_until') {
      const target = render(parseTemplate(task.target!, `task ${task.name}: target`), row, where);
      return { docId, requests: [{ context: ctx, continuation: '' }], gold: 0, target };
    }
    if (task.kind === 'loglikelihood') {
      const continuation = render(parseTemplate(task.continuation!, `task ${task.name}: continuation`), row, where);
      return { docId, requests: [{ context: ctx, continuation: delimiter + continuation }], gold: 0 };
    }
    const choices = choicesOf(task, row, where);
    const requests: RequestText[] = choices.map((c) => ({ context: ctx, continuation: delimiter + c }));
    return { docId, requests, ...goldOf(task, row, where, choices.length) };
  });
}

/** Loads a task's data from `dataDir` (hash-checked unless `verify` is false: a custom task's data) and builds its requests. */
export function buildTaskRequests(task: TaskSpec, dataDir: string, options: BuildOptions, verify = true): TaskRequests {
  validateTask(task);
  if (!Number.isInteger(options.numFewshot) || options.numFewshot < 0)
    throw new Error(`num_fewshot must be a whole number >= 0, got ${options.numFewshot}`);
  if (options.limit !== null && (!Number.isInteger(options.limit) || options.limit < 1))
    throw new Error(`limit must be a whole number >= 1, got ${options.limit}`);
  const rows = loadRows(dataDir, task.data, verify);
  let shots: DataRow[] = [];
  if (task.fewshot && options.numFewshot > 0) {
    const pool = loadRows(dataDir, task.fewshot.data, verify);
    if (options.numFewshot > pool.length)
      throw new Error(
        `task ${task.name}: num_fewshot ${options.numFewshot} is more than the ${pool.length} examples of its few-shot pool (${task.fewshot.data.file})`,
      );
    shots = pool.slice(0, options.numFewshot);
  }
  const docs = buildFromRows(task, rows, shots, options);
  return { task, numFewshot: shots.length, original: rows.length, docs };
}
