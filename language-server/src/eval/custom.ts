// Custom evaluation tasks: `<name>.task.yaml` (or .task.yml / .task.json) files beside a config or
// under its eval.data_dir (`lora-lab eval`: the current folder and --task-dir). Each declares one
// task in the built-in tasks' format plus the generate_until fields; defaults are filled here and
// every problem is an error naming the file, the line and the key. The data file is relative to
// the task file. Pure over a small file-system interface, so the language server and the trainer share it.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { dirname, join, resolve } from 'node:path';
import { parseRows } from './data';
import { buildFromRows } from './requests';
import { BUILTIN_TASK_NAMES, TaskDefinitionError, validateTask } from './tasks';
import type { TaskSpec } from './types';

/** What the loader needs of the file system (the config language's FileSystem has it). */
export interface TaskFs {
  exists(path: string): boolean;
  isDirectory(path: string): boolean;
  readFile(path: string): string;
  listDir(path: string): string[];
}

export const TASK_FILE = /\.task\.(ya?ml|json)$/;

const KEYS = [
  'name',
  'description',
  'version',
  'kind',
  'data',
  'preamble',
  'context',
  'target_delimiter',
  'choices',
  'gold',
  'continuation',
  'metric',
  'fewshot',
  'profiles',
  'target',
  'until',
  'max_tokens',
  'normalize',
];

/** A problem of a task file: file, 1-based line, the key, what to do. */
export class TaskFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly key: string | null,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${key ? `${key}: ` : ''}${reason}`);
  }
}

export interface CustomTask {
  spec: TaskSpec;
  /** The task file. */
  file: string;
  /** Where its data file is read from (the task file's folder). */
  dataDir: string;
  /** 1-based line of a dotted key in the task file (the nearest key that exists; 1 when none). */
  lineOf(key: string): number;
}

function segments(key: string): (string | number)[] {
  return key.split('.').flatMap((part) => {
    const m = /^([^[]+)((?:\[\d+\])*)$/.exec(part);
    if (!m) return [part];
    return [m[1], ...[...m[2].matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]))];
  });
}

function lineFinder(doc: Document, counter: LineCounter): (key: string) => number {
  return (key) => {
    let node: unknown = doc.contents;
    let line = 1;
    for (const seg of segments(key)) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && p.key.value === seg);
        if (!pair) break;
        const keyNode = pair.key as Node;
        if (keyNode.range) line = counter.linePos(keyNode.range[0]).line;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg] as Node | undefined;
        if (!item) break;
        if (item.range) line = counter.linePos(item.range[0]).line;
        node = item;
      } else break;
    }
    return line;
  };
}

/** Defaults of the fields a task file may leave out. */
function withDefaults(value: Record<string, unknown>): TaskSpec {
  const kind = value.kind;
  const metric = kind === 'loglikelihood' ? 'greedy_acc' : kind === 'generate_until' ? 'exact_match' : 'acc';
  const spec = {
    version: '1.0',
    preamble: '',
    context: '',
    target_delimiter: ' ',
    metric,
    ...(kind === 'generate_until' ? { until: ['\n\n'], max_tokens: 256, normalize: [] } : {}),
    ...value,
  } as TaskSpec;
  if (typeof spec.version === 'number') spec.version = String(spec.version);
  if (spec.data && typeof spec.data === 'object' && spec.data.format === undefined) {
    const file = String(spec.data.file ?? '');
    spec.data = { ...spec.data, format: file.endsWith('.csv') ? 'csv' : file.endsWith('.json') ? 'json' : 'jsonl' };
  }
  return spec;
}

/** Parses and checks the text of one task file. */
export function parseTaskFile(text: string, file: string): CustomTask {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new TaskFileError(
      file,
      e.linePos?.[0].line ?? 1,
      null,
      `not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${e.message.split('\n')[0]}`,
    );
  }
  const lineOf = lineFinder(doc, counter);
  const value = doc.toJS() as unknown;
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new TaskFileError(file, 1, null, 'expected a mapping of task fields (name, kind, data, context, ...)');
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record))
    if (!KEYS.includes(key)) throw new TaskFileError(file, lineOf(key), key, `unknown field; task fields are ${KEYS.join(', ')}`);
  if (BUILTIN_TASK_NAMES.includes(record.name as string))
    throw new TaskFileError(file, lineOf('name'), 'name', `'${String(record.name)}' is a built-in task; give this task another name`);
  if (typeof record.description !== 'undefined' && typeof record.description !== 'string')
    throw new TaskFileError(file, lineOf('description'), 'description', 'expected text');
  const spec = withDefaults(record);
  try {
    validateTask(spec, file);
  } catch (error) {
    if (error instanceof TaskDefinitionError) throw new TaskFileError(file, lineOf(error.key), error.key, error.reason);
    throw error;
  }
  return { spec, file, dataDir: dirname(file), lineOf };
}

/** Task files in these folders (not recursive), each once, in folder then name order. */
export function findTaskFiles(dirs: readonly string[], fs: TaskFs): string[] {
  const out: string[] = [];
  for (const dir of dirs) {
    if (!fs.exists(dir) || !fs.isDirectory(dir)) continue;
    for (const name of fs.listDir(dir).sort()) {
      const path = join(dir, name);
      if (TASK_FILE.test(name) && !out.includes(path)) out.push(path);
    }
  }
  return out;
}

export interface Discovered {
  tasks: CustomTask[];
  errors: TaskFileError[];
}

/** Every task file of these folders: the good ones and the errors; a name defined twice is an error at the second. */
export function discoverTasks(dirs: readonly string[], fs: TaskFs): Discovered {
  const tasks: CustomTask[] = [];
  const errors: TaskFileError[] = [];
  for (const file of findTaskFiles(dirs, fs)) {
    try {
      const task = parseTaskFile(fs.readFile(file), file);
      const twin = tasks.find((t) => t.spec.name === task.spec.name);
      if (twin) throw new TaskFileError(file, task.lineOf('name'), 'name', `task '${task.spec.name}' is defined in ${twin.file} already`);
      tasks.push(task);
    } catch (error) {
      if (error instanceof TaskFileError) errors.push(error);
      else errors.push(new TaskFileError(file, 1, null, (error as Error).message));
    }
  }
  return { tasks, errors };
}

/**
 * Checks a custom task's data against it: the file exists, parses, and every template renders on
 * every row. Returns the requests a full evaluation makes; errors name the task file's line.
 */
export function checkTaskData(task: CustomTask, fs: TaskFs): { docs: number; requests: number } {
  const path = resolve(task.dataDir, task.spec.data.file);
  if (!fs.exists(path) || fs.isDirectory(path))
    throw new TaskFileError(
      task.file,
      task.lineOf('data.file'),
      'data.file',
      `${path} does not exist (the path is relative to the task file)`,
    );
  try {
    const rows = parseRows(fs.readFile(path), task.spec.data, path);
    const docs = buildFromRows(task.spec, rows, [], { profile: 'lm-eval', numFewshot: 0, limit: null });
    return { docs: docs.length, requests: docs.reduce((a, d) => a + d.requests.length, 0) };
  } catch (error) {
    if (error instanceof TaskFileError) throw error;
    const message = (error as Error).message;
    const field = /the field '([^']+)' is/.exec(message)?.[1];
    const key = field ? templateKeyUsing(task.spec, field) : 'data.file';
    throw new TaskFileError(task.file, task.lineOf(key), key, message);
  }
}

/** The first template key of a task that uses `field` (to put a data error at the template's line). */
function templateKeyUsing(spec: TaskSpec, field: string): string {
  const uses = (t: string | undefined) => t !== undefined && new RegExp(`{{\\s*${field}\\b`).test(t);
  if (uses(spec.preamble)) return 'preamble';
  if (uses(spec.context)) return 'context';
  if (uses(spec.continuation)) return 'continuation';
  if (uses(spec.target)) return 'target';
  if (spec.choices && 'templates' in spec.choices) {
    const i = spec.choices.templates.findIndex(uses);
    if (i >= 0) return `choices.templates[${i}]`;
  }
  return 'data.file';
}
