// What "Evaluate Run" offers, pure apart from reading the run's config.yaml: the task list (built-in
// tasks and the custom task files found for the run's config) with the config's eval.tasks
// preselected, the default limit (eval.limit), and the check of the typed limit.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUILTIN_TASKS, discoverTasks } from '../../../language-server/src/eval';
import { nodeFileSystem } from '../../../language-server/src/config/node-fs';
import { parseConfigText } from '../config-file';

/** One task the user can pick. */
export interface TaskChoice {
  name: string;
  kind: string;
  metric: string;
  /** Human text (a custom task's description), when there is one. */
  description?: string;
  /** 'built-in', or the task file that declares it. */
  source: string;
}

/** The run's eval settings the dialog starts from. */
export interface EvalDefaults {
  tasks: string[];
  limit: number | null;
  /** The config file the run came from (custom tasks are found beside it), when known. */
  configPath: string | undefined;
  /** Folders searched for custom task files: the config's folder (when it still exists) and eval.data_dir. */
  taskDirs: string[];
}

export interface TaskPickItem {
  label: string;
  description: string;
  detail?: string;
  picked: boolean;
  task: string;
}

const KIND_WORDS: Record<string, string> = {
  multiple_choice: 'multiple choice',
  loglikelihood: 'log-likelihood',
  generate_until: 'generation',
};

export function builtinTaskChoices(): TaskChoice[] {
  return BUILTIN_TASKS.map((task) => ({
    name: task.name,
    kind: task.kind,
    metric: task.metric,
    description: task.description,
    source: 'built-in',
  }));
}

/**
 * The custom tasks (`*.task.yaml` / `.task.json`) in `dirs`, through the trainer's own discovery
 * (language-server/src/eval/custom.ts), and the files it refused, as "file:line: message".
 */
export function customTaskChoices(dirs: readonly string[]): { choices: TaskChoice[]; errors: string[] } {
  const { tasks, errors } = discoverTasks(dirs, nodeFileSystem);
  return {
    choices: tasks.map((task) => ({
      name: task.spec.name,
      kind: task.spec.kind,
      metric: task.spec.metric,
      description: task.spec.description,
      source: task.file,
    })),
    errors: errors.map((error) => error.message),
  };
}

/**
 * Quick pick items: the configured tasks first (picked, in the config's order), then the others;
 * a configured name no file declares stays in the list, marked, so the CLI's error can explain it.
 */
export function taskPickItems(choices: readonly TaskChoice[], configured: readonly string[]): TaskPickItem[] {
  const byName = new Map(choices.map((choice) => [choice.name, choice]));
  const item = (name: string, picked: boolean): TaskPickItem => {
    const choice = byName.get(name);
    if (!choice) return { label: name, description: 'not found: no built-in task or task file has this name', picked, task: name };
    const where = choice.source === 'built-in' ? 'built-in' : `custom · ${path.basename(choice.source)}`;
    return {
      label: name,
      description: `${KIND_WORDS[choice.kind] ?? choice.kind} · ${choice.metric} · ${where}`,
      detail: choice.description || undefined,
      picked,
      task: name,
    };
  };
  const first = [...new Set(configured)];
  const rest = choices.map((c) => c.name).filter((name) => !first.includes(name));
  return [...first.map((name) => item(name, true)), ...rest.map((name) => item(name, false))];
}

/** The eval section of `<run>/config.yaml` (the schema's defaults where it has none); undefined when unreadable. */
export function readEvalDefaults(runDir: string, configPath: string | undefined): EvalDefaults | undefined {
  const file = path.join(runDir, 'config.yaml');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const parsed = parseConfigText(text, configPath || file);
  if (!parsed) return undefined;
  const configDir = configPath ? path.dirname(configPath) : undefined;
  const taskDirs = [...(configDir && fs.existsSync(configDir) ? [configDir] : []), parsed.config.eval.data_dir];
  return {
    tasks: [...parsed.config.eval.tasks], // unknown names stay (a custom task's): the CLI resolves them
    limit: parsed.config.eval.limit,
    configPath: configPath || undefined,
    taskDirs,
  };
}

/** The limit input's value: null for all documents, a positive integer, or an error message. */
export function parseLimit(text: string): { limit: number | null } | { error: string } {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.toLowerCase() === 'all') return { limit: null };
  if (!/^\d+$/.test(trimmed) || Number(trimmed) < 1)
    return { error: 'Enter a whole number of documents per task (1 or more), or leave it empty for all.' };
  return { limit: Number(trimmed) };
}
