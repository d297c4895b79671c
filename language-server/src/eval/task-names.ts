// The evaluation tasks a config can name: the built-in ones and the custom task files beside the
// config or under its eval.data_dir, each with its description and request count (hover,
// completion), and the config rule for eval.tasks: an unknown task (with did-you-mean) or a broken
// custom task (its file:line, a missing data file, a bad template) at the task's own list item.
import { dirname } from 'node:path';
import type { RuleProblem } from '../config/rules';
import { closestMatch } from '../config/suggest';
import type { LoraLabConfig } from '../config/types';
import { checkTaskData, discoverTasks, type TaskFs, type TaskFileError } from './custom';
import { BUILTIN_REQUEST_COUNTS, BUILTIN_TASKS } from './tasks';
import type { TaskSpec } from './types';

export interface TaskInfo {
  name: string;
  spec: TaskSpec;
  builtin: boolean;
  /** Documents and requests of a full evaluation (null when the data cannot be read). */
  docs: number | null;
  requests: number | null;
  /** The task file of a custom task. */
  file?: string;
  /** What is wrong with a custom task (its file, line, key). */
  problem?: TaskFileError;
}

/** Folders searched for task files of a config: its own folder and eval.data_dir. */
export function taskDirsOf(config: Pick<LoraLabConfig, 'configPath' | 'eval'>): string[] {
  return [...new Set([dirname(config.configPath), config.eval.data_dir])];
}

export function builtinTaskInfos(): TaskInfo[] {
  return BUILTIN_TASKS.map((spec) => ({ name: spec.name, spec, builtin: true, ...BUILTIN_REQUEST_COUNTS[spec.name] }));
}

/** Every task a config can name; custom tasks only with a file system. */
export function availableTasks(
  config: Pick<LoraLabConfig, 'configPath' | 'eval'>,
  fs?: TaskFs,
): { tasks: TaskInfo[]; errors: TaskFileError[] } {
  const tasks = builtinTaskInfos();
  if (!fs) return { tasks, errors: [] };
  const found = discoverTasks(taskDirsOf(config), fs);
  for (const task of found.tasks) {
    let counts: { docs: number | null; requests: number | null } = { docs: null, requests: null };
    let problem: TaskFileError | undefined;
    try {
      counts = checkTaskData(task, fs);
    } catch (error) {
      problem = error as TaskFileError;
    }
    tasks.push({ name: task.spec.name, spec: task.spec, builtin: false, file: task.file, ...counts, ...(problem ? { problem } : {}) });
  }
  return { tasks, errors: found.errors };
}

/** One line for completion details and hovers: kind, metric, documents and requests ("multiple choice, metric acc, 100 documents, 400 requests"). */
export function taskSummary(info: TaskInfo): string {
  const metric = info.spec.kind === 'loglikelihood' ? 'acc (is_greedy) and perplexity' : info.spec.metric;
  const size = info.requests === null ? '' : `, ${info.docs} documents, ${info.requests} requests`;
  return `${info.spec.kind.replace(/_/g, ' ')}, metric ${metric}${size}`;
}

/** eval.tasks: each name must be a built-in task or a readable custom task file; problems sit on the item (`eval.tasks[i]`). */
export function checkEvalTasks(config: LoraLabConfig, fs?: TaskFs): RuleProblem[] {
  const names = config.eval.tasks;
  if (names.every((n) => BUILTIN_REQUEST_COUNTS[n])) return [];
  const { tasks, errors } = availableTasks(config, fs);
  const problems: RuleProblem[] = [];
  names.forEach((name, i) => {
    const key = `eval.tasks[${i}]`;
    const info = tasks.find((t) => t.name === name);
    if (info?.problem) {
      problems.push({
        severity: 'error',
        code: 'eval-task-invalid',
        key,
        message: `eval.tasks: custom task '${name}': ${info.problem.message}`,
        data: { file: info.problem.file, line: info.problem.line },
      });
      return;
    }
    if (info) return;
    const broken = errors.find((e) => e.file.split('/').pop()!.startsWith(`${name}.task.`));
    if (broken) {
      problems.push({
        severity: 'error',
        code: 'eval-task-invalid',
        key,
        message: `eval.tasks: the task file of '${name}' has an error: ${broken.message}`,
        data: { file: broken.file, line: broken.line },
      });
      return;
    }
    const known = tasks.map((t) => t.name);
    const suggestion = closestMatch(name, known);
    problems.push({
      severity: 'error',
      code: 'unknown-enum-value',
      key,
      message:
        `eval.tasks: unknown task ${JSON.stringify(name)}${suggestion ? `: did you mean '${suggestion}'?` : '.'} ` +
        `Built-in tasks: ${builtinTaskInfos()
          .map((t) => t.name)
          .join(', ')}` +
        `${
          tasks.some((t) => !t.builtin)
            ? `; custom tasks: ${tasks
                .filter((t) => !t.builtin)
                .map((t) => t.name)
                .join(', ')}`
            : ''
        }. ` +
        `A custom task is a <name>.task.yaml file beside the config or in eval.data_dir.`,
      data: { choices: known, unknown: [name], ...(suggestion ? { suggestion } : {}) },
    });
  });
  return problems;
}
