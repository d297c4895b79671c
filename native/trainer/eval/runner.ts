// Runs evaluation tasks on a loaded engine: builds each task's requests from the shipped data,
// tokenizes them with the joint rule, scores the distinct requests once (shared prefixes computed
// once by the engine), and turns the results into per-task metrics.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import { nodeFileSystem } from '../../../language-server/src/config/node-fs';
import { closestMatch } from '../../../language-server/src/config/suggest';
import type { NativeEngine } from '../addon';
import { scoreRequests } from './score';
import {
  BUILTIN_TASK_NAMES,
  PROFILES,
  cutAtStop,
  discoverTasks,
  generationMetric,
  usesBos,
  buildTaskRequests,
  builtinTask,
  type TaskSpec,
  docMetric,
  tokenizeRequest,
  type ProfileName,
  type ScoreResult,
  type TaskScores,
  type TokenRequest,
  type EvalTokenizer,
  type DocRequests,
} from '../../../language-server/src/eval';

/** The shipped evaluation data: language-server/eval-data beside the sources, or beside dist/cli.js. */
export function evalDataDir(): string {
  const fromEnv = process.env.LORALAB_EVAL_DATA;
  if (fromEnv) return fromEnv;
  // from sources: native/trainer/eval -> repo root; bundled: dist/ -> repo root
  const roots = [join(__dirname, '..', '..', '..'), join(__dirname, '..')];
  return (
    roots.map((r) => join(r, 'language-server', 'eval-data')).find((d) => existsSync(join(d, 'MANIFEST.json'))) ??
    join(roots[1], 'language-server', 'eval-data')
  );
}

export interface EvalSettings {
  tasks: string[];
  profile: ProfileName;
  numFewshot: number;
  limit: number | null;
  /** Overrides the profile's BOS rule (null: the profile's). */
  bos: boolean | null;
  sharePrefix: boolean;
  dataDir: string;
  /** Folders searched for custom task files (`*.task.yaml`): beside the config, eval.data_dir, --task-dir. */
  taskDirs: string[];
}

/** A usage problem of the evaluation settings (unknown task, bad profile): the CLI exits 2 on it. */
export class EvalUsageError extends Error {
  readonly code = 'E_USAGE';
}

/** The evaluation settings of a config's eval section, with command-line values in front. */
export function evalSettingsOf(
  config: Pick<LoraLabConfig, 'eval' | 'configPath'>,
  given: { tasks?: string; limit?: number | null; numFewshot?: number; profile?: string; sharePrefix?: boolean; taskDirs?: string[] } = {},
): EvalSettings {
  const tasks = given.tasks
    ? given.tasks
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean)
    : config.eval.tasks;
  const profile = (given.profile ?? config.eval.profile ?? 'lm-eval') as ProfileName;
  if (!PROFILES.includes(profile)) throw new EvalUsageError(`--profile must be lm-eval or article, got '${given.profile}'`);
  const taskDirs = [...(given.taskDirs ?? []), ...(config.configPath ? [dirname(config.configPath)] : []), config.eval.data_dir];
  const settings: EvalSettings = {
    tasks,
    profile,
    numFewshot: given.numFewshot ?? config.eval.num_fewshot,
    limit: given.limit === undefined ? config.eval.limit : given.limit,
    bos: null,
    sharePrefix: given.sharePrefix ?? true,
    dataDir: evalDataDir(),
    taskDirs,
  };
  for (const t of tasks) resolveTask(t, settings);
  return settings;
}

/** A task to run: its definition and where its data is (the shipped, hash-checked data or a custom task file's folder). */
export interface ResolvedTask {
  spec: TaskSpec;
  /** null: the shipped evaluation data (settings.dataDir, checked against MANIFEST.json). */
  dataDir: string | null;
  file?: string;
}

/** The task definition of a name: a built-in task, else a custom task file in settings.taskDirs. */
export function resolveTask(name: string, settings: Pick<EvalSettings, 'taskDirs'>): ResolvedTask {
  if (BUILTIN_TASK_NAMES.includes(name)) return { spec: builtinTask(name), dataDir: null };
  const { tasks, errors } = discoverTasks(settings.taskDirs, nodeFileSystem);
  const task = tasks.find((t) => t.spec.name === name);
  if (task) return { spec: task.spec, dataDir: task.dataDir, file: task.file };
  const broken = errors.find((e) => e.file.includes(name));
  if (broken) throw new EvalUsageError(broken.message);
  const known = [...BUILTIN_TASK_NAMES, ...tasks.map((t) => t.spec.name)];
  const near = closestMatch(name, known);
  throw new EvalUsageError(
    `unknown task '${name}'${near ? ` (did you mean '${near}'?)` : ''}; known tasks: ${known.join(', ')}` +
      `${settings.taskDirs.length ? `; task files (*.task.yaml) are looked for in ${settings.taskDirs.join(', ')}` : ''}` +
      `${errors.length ? `; task files with errors: ${errors.map((e) => e.message).join('; ')}` : ''}`,
  );
}

export interface EvalProgress {
  /** The task being scored, where one is (generation runs task by task; scoring runs all at once: null). */
  task?: string | null;
  done: number;
  total: number;
  elapsedS: number;
}

export interface EvalOutcome {
  tasks: TaskScores[];
  /** Requests over all tasks, and the distinct ones the engine scored. */
  requests: number;
  distinct: number;
  inputTokens: number;
  computedTokens: number;
  seconds: number;
  maxLength: number;
}

/** Scores of a task kept from an earlier run (the base-model cache): everything but the documents. */
export type CachedTask = Omit<TaskScores, 'task' | 'docs'>;

/** encode() remembered per (text, bos): every choice of a question repeats its context, and mc1 / mc2 repeat whole requests. */
export function memoTokenizer(tokenizer: EvalTokenizer): EvalTokenizer {
  const memo = new Map<string, number[]>();
  return {
    bosId: tokenizer.bosId,
    eosId: tokenizer.eosId,
    addBos: tokenizer.addBos,
    decode: tokenizer.decode?.bind(tokenizer),
    stopIds: tokenizer.stopIds,
    encode(text, options) {
      const key = `${options.bos ? 1 : 0}${text}`;
      let ids = memo.get(key);
      if (!ids) memo.set(key, (ids = tokenizer.encode(text, options)));
      return ids;
    },
  };
}

/** Requests of every task, tokenized unless cached (throws on bad data before anything is scored). */
export function prepareTasks(
  settings: EvalSettings,
  textTokenizer: EvalTokenizer,
  maxLength: number,
  cached?: ReadonlyMap<string, CachedTask>,
) {
  const tokenizer = memoTokenizer(textTokenizer);
  const unique = [...new Set(settings.tasks)];
  return unique.map((name) => {
    const resolved = resolveTask(name, settings);
    const built = buildTaskRequests(
      resolved.spec,
      resolved.dataDir ?? settings.dataDir,
      { profile: settings.profile, numFewshot: settings.numFewshot, limit: settings.limit },
      resolved.dataDir === null,
    );
    // generate_until documents are generated, not scored: their prompts are tokenized by generateTask
    const tokens =
      cached?.has(name) || built.task.kind === 'generate_until'
        ? []
        : built.docs.map((doc) =>
            doc.requests.map((r) => tokenizeRequest(r, tokenizer, { profile: settings.profile, bos: settings.bos, maxLength })),
          );
    return { built, tokens };
  });
}

export async function runEval(
  engine: NativeEngine,
  tokenizer: EvalTokenizer,
  settings: EvalSettings,
  onProgress?: (p: EvalProgress) => void,
  cached?: ReadonlyMap<string, CachedTask>,
): Promise<EvalOutcome> {
  const maxLength = engine.config().maxPositionEmbeddings;
  const prepared = prepareTasks(settings, tokenizer, maxLength, cached);
  // distinct token requests over all tasks (TruthfulQA mc1 and mc2 share most of theirs)
  const index = new Map<string, number>();
  const distinct: TokenRequest[] = [];
  let requests = 0;
  let inputTokens = 0;
  const keyOf = (r: TokenRequest): string => `${r.context.join(',')}|${r.continuation.join(',')}`;
  for (const { tokens } of prepared) {
    for (const doc of tokens)
      for (const r of doc) {
        requests++;
        const key = keyOf(r);
        if (!index.has(key)) {
          index.set(key, distinct.length);
          distinct.push(r);
          inputTokens += r.context.length + r.continuation.length - 1;
        }
      }
  }
  const started = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e9;
  const scored = await scoreRequests(engine, distinct, {
    sharePrefix: settings.sharePrefix,
    onProgress: onProgress ? (done, total) => onProgress({ task: null, done, total, elapsedS: elapsed() }) : undefined,
  });
  const generated = new Map<string, { answers: string[]; metrics: number[]; truncated: number[] }>();
  for (const { built } of prepared)
    if (built.task.kind === 'generate_until' && !cached?.has(built.task.name))
      generated.set(built.task.name, await generateTask(engine, tokenizer, built.task, built.docs, settings, maxLength, onProgress));
  const seconds = elapsed();
  const tasks: TaskScores[] = prepared.map(({ built, tokens }) => {
    const kept = cached?.get(built.task.name);
    if (kept) return { ...kept, task: built.task, docs: built.docs };
    const gen = generated.get(built.task.name);
    if (gen)
      return {
        task: built.task,
        numFewshot: built.numFewshot,
        original: built.original,
        docs: built.docs,
        results: built.docs.map(() => []),
        metrics: gen.metrics,
        generations: gen.answers,
        truncatedRequests: gen.truncated.filter((n) => n > 0).length,
        maxTokensDropped: gen.truncated.reduce((a, n) => Math.max(a, n), 0),
      };
    const results: ScoreResult[][] = tokens.map((doc) => doc.map((r) => scored.results[index.get(keyOf(r))!]));
    const metrics = results.map((res, i) => docMetric(built.task.metric, res, built.docs[i].gold, built.docs[i].labels, settings.profile));
    const flat = tokens.flat();
    return {
      task: built.task,
      numFewshot: built.numFewshot,
      original: built.original,
      docs: built.docs,
      results,
      metrics,
      truncatedRequests: flat.filter((r) => r.truncated > 0).length,
      maxTokensDropped: flat.reduce((a, r) => Math.max(a, r.truncated), 0),
    };
  });
  return { tasks, requests, distinct: distinct.length, inputTokens, computedTokens: scored.computedTokens, seconds, maxLength };
}

/**
 * generate_until: greedy generation of each document's prompt through the engine's generate path
 * (left-truncated so prompt + max_tokens fit the window), stopped at the model's stop tokens or as
 * soon as a stop string appears (the call is aborted there), cut before the first stop string, then
 * compared with the reference after the task's normalisation.
 */
async function generateTask(
  engine: NativeEngine,
  tokenizer: EvalTokenizer,
  task: TaskSpec,
  docs: DocRequests[],
  settings: EvalSettings,
  maxLength: number,
  onProgress?: (p: EvalProgress) => void,
): Promise<{ answers: string[]; metrics: number[]; truncated: number[] }> {
  if (!tokenizer.decode) throw new Error(`task ${task.name}: generate_until needs a tokenizer that decodes`);
  const decode = tokenizer.decode.bind(tokenizer);
  const until = task.until ?? [];
  const maxTokens = Math.min(task.max_tokens ?? 256, maxLength - 1);
  const bos = usesBos(tokenizer, settings);
  const started = Date.now();
  const answers: string[] = [];
  const metrics: number[] = [];
  const truncated: number[] = [];
  for (const doc of docs) {
    let prompt = tokenizer.encode(doc.requests[0].context, { bos });
    if (prompt.length === 0) prompt = [tokenizer.bosId ?? tokenizer.eosId];
    const room = maxLength - maxTokens;
    truncated.push(Math.max(0, prompt.length - room));
    if (prompt.length > room) prompt = prompt.slice(prompt.length - room);
    const ids: number[] = [];
    let cut = false;
    try {
      await engine.generate(
        Int32Array.from(prompt),
        { maxNewTokens: maxTokens, temperature: 0, stopTokens: [...(tokenizer.stopIds ?? [tokenizer.eosId])] },
        (id) => {
          ids.push(id);
          if (!cut && until.length && until.some((u) => decode(ids).includes(u))) {
            cut = true;
            engine.abort();
          }
        },
      );
    } catch (error) {
      if (!(cut && (error as { code?: string }).code === 'E_ABORTED')) throw error;
    }
    const stops = new Set(tokenizer.stopIds ?? [tokenizer.eosId]);
    const answer = cutAtStop(decode(ids.filter((id) => !stops.has(id))), until);
    answers.push(answer);
    metrics.push(generationMetric(task.metric as 'exact_match' | 'contains', answer, doc.target ?? '', task.normalize ?? []));
    onProgress?.({ task: task.name, done: answers.length, total: docs.length, elapsedS: (Date.now() - started) / 1000 });
  }
  return { answers, metrics, truncated };
}
