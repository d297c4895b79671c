// `lora-lab eval (CONFIG | RUN_FOLDER | --checkpoint DIR [--adapter DIR])`: scores the built-in
// lm-eval tasks with the engine; progress on stderr, a summary table on stdout, lm-eval 0.4's
// results_<time>.json (and samples_<task>_<time>.jsonl with --log-samples) written atomically into
// the run's eval/ folder, <out_dir>/eval for a config, or --out. Base-model scores are cached.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { loadAddon, type EngineOptions } from '../addon';
import { loadTokenizer } from '../../../language-server/src/lib/data/tokenizer';
import { baseCacheKey, defaultEvalCacheDir, readCached, writeCached } from '../eval/cache';
import { progressLine, summaryTable } from '../eval/report';
import { evalDataDir, resolveTask, runEval, type CachedTask, type EvalSettings } from '../eval/runner';
import { RUN_USAGE, runEvalOfRun } from './eval-run';
import { writeFileAtomic } from '../run/atomic';
import { configWith, engineOptions } from '../run/engine-options';
import { numberOption, takeOptions, UsageError } from './args';
import { EXIT_OK, EXIT_USAGE, type CliCommand, type CliOutput } from './types';
import { loadConfigFile } from '../../../language-server/src/config/node-fs';
import { PROFILES, buildResults, resultsStamp, sampleLines, type ProfileName } from '../../../language-server/src/eval';

const USAGE =
  'lora-lab eval (CONFIG | RUN_FOLDER | --checkpoint DIR [--adapter DIR]) [--tasks a,b] [--limit N] [--num-fewshot K] [--profile lm-eval|article] [--bos true|false] [--task-dir DIR] [--out DIR] [--log-samples] [--json] [--no-prefix-sharing] [--no-cache]';

interface Target {
  checkpoint: string;
  adapter: string | null;
  engine: EngineOptions;
  outDir: string | null;
  defaults: { tasks: string[]; limit: number | null; numFewshot: number };
  /** The config's folder and eval.data_dir (custom task files); absent for --checkpoint. */
  configDir?: string;
  dataDir?: string;
}

const ARTICLE_DEFAULT = ['truthfulqa_mc1', 'truthfulqa_mc2', 'blimp_causative', 'mmlu_global_facts', 'arithmetic_2ds', 'arithmetic_4ds'];

function inferenceOptions(base: EngineOptions): EngineOptions {
  return { ...base, method: 'full', training: false };
}

function resolveTarget(positional: string[], values: Record<string, string>): Target {
  const plain = engineOptions(configWith({ device: 'cpu', 'model.precision': '32-true', 'train.method': 'full' }), 1, false);
  if (values['--checkpoint']) {
    if (positional.length) throw new UsageError(`give either --checkpoint or CONFIG / RUN_FOLDER, not both ('${positional[0]}')`);
    const checkpoint = resolve(values['--checkpoint']);
    if (!existsSync(join(checkpoint, 'config.json')))
      throw new UsageError(`${checkpoint}: no config.json (expected a Hugging Face checkpoint folder)`);
    const adapter = values['--adapter'] ? resolve(values['--adapter']) : null;
    if (adapter && !existsSync(join(adapter, 'adapter_config.json')))
      throw new UsageError(`${adapter}: no adapter_config.json (expected a PEFT adapter folder)`);
    return {
      checkpoint,
      adapter,
      engine: adapter ? { ...plain, method: 'lora' } : plain,
      outDir: null,
      defaults: { tasks: ARTICLE_DEFAULT, limit: null, numFewshot: 0 },
    };
  }
  if (values['--adapter']) throw new UsageError('--adapter goes with --checkpoint');
  if (positional.length !== 1)
    throw new UsageError(positional.length ? `unexpected argument '${positional[1]}'` : 'name a CONFIG, a RUN_FOLDER or --checkpoint DIR');
  const path = resolve(positional[0]);
  if (existsSync(path) && statSync(path).isDirectory()) {
    if (!existsSync(join(path, 'run.json')) || !existsSync(join(path, 'config.yaml')))
      throw new UsageError(`${path}: not a run folder (no run.json / config.yaml)`);
    const config = loadConfigFile(join(path, 'config.yaml')).config;
    const defaults = { tasks: config.eval.tasks, limit: config.eval.limit, numFewshot: config.eval.num_fewshot };
    const base = engineOptions(config, 1, false, () => loadAddon().deviceReport());
    if (config.train.method === 'full') {
      const model = join(path, 'model');
      if (!existsSync(join(model, 'config.json')))
        throw new UsageError(`${path}: the run has no final model yet (${model}); it may still be running or have failed`);
      return { checkpoint: model, adapter: null, engine: inferenceOptions(base), outDir: join(path, 'eval'), defaults };
    }
    const adapter = join(path, 'adapter');
    if (!existsSync(join(adapter, 'adapter_config.json')))
      throw new UsageError(`${path}: the run has no final adapter yet (${adapter}); it may still be running or have failed`);
    return { checkpoint: config.model.checkpoint, adapter, engine: { ...base, training: false }, outDir: join(path, 'eval'), defaults };
  }
  if (!/\.lora\.ya?ml$|\.ya?ml$/.test(path)) throw new UsageError(`${path}: expected a *.lora.yaml config or a run folder`);
  const config = loadConfigFile(path).config;
  const base = engineOptions(config, 1, false, () => loadAddon().deviceReport());
  return {
    checkpoint: config.model.checkpoint,
    adapter: null,
    engine: inferenceOptions(base),
    outDir: join(config.out_dir, 'eval', `${basename(path).replace(/\.lora\.ya?ml$|\.ya?ml$/, '')}-base`),
    defaults: { tasks: config.eval.tasks, limit: config.eval.limit, numFewshot: config.eval.num_fewshot },
    configDir: dirname(path),
    dataDir: config.eval.data_dir,
  };
}

function parseSettings(values: Record<string, string>, flags: Set<string>, target: Target): EvalSettings {
  const tasks = values['--tasks']
    ? values['--tasks']
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean)
    : target.defaults.tasks;
  const taskDirs = [
    ...(values['--task-dir'] ? [resolve(values['--task-dir'])] : []),
    ...(target.configDir ? [target.configDir, target.dataDir!] : [process.cwd()]),
  ];
  for (const t of tasks) {
    try {
      resolveTask(t, { taskDirs });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const profile = (values['--profile'] ?? 'lm-eval') as ProfileName;
  if (!PROFILES.includes(profile)) throw new UsageError(`--profile must be lm-eval or article, got '${values['--profile']}'`);
  let bos: boolean | null = null;
  if (values['--bos'] !== undefined) {
    if (values['--bos'] !== 'true' && values['--bos'] !== 'false')
      throw new UsageError(`--bos must be true or false, got '${values['--bos']}'`);
    bos = values['--bos'] === 'true';
  }
  const limit =
    values['--limit'] === undefined
      ? target.defaults.limit
      : numberOption(values, '--limit', 0, (n) => Number.isInteger(n) && n >= 1, 'a whole number >= 1');
  const numFewshot = numberOption(
    values,
    '--num-fewshot',
    target.defaults.numFewshot,
    (n) => Number.isInteger(n) && n >= 0 && n <= 5,
    'a whole number from 0 to 5',
  );
  return { tasks, profile, numFewshot, limit, bos, sharePrefix: !flags.has('--no-prefix-sharing'), dataDir: evalDataDir(), taskDirs };
}

export const evalCommand: CliCommand = {
  name: 'eval',
  summary: 'Evaluate a model or run on TruthfulQA, BLiMP, MMLU, arithmetic (lm-eval tasks)',
  usage: `${USAGE}\n       ${RUN_USAGE}`,
  available: true,
  async run(args: string[], out: CliOutput): Promise<number> {
    if (args.includes('--run')) return runEvalOfRun(args, out);
    let target: Target, settings: EvalSettings, flags: Set<string>;
    try {
      const parsed = takeOptions(
        args,
        ['--checkpoint', '--adapter', '--tasks', '--limit', '--num-fewshot', '--profile', '--bos', '--out', '--task-dir'],
        ['--log-samples', '--json', '--no-prefix-sharing', '--no-cache'],
      );
      const { values, positional } = parsed;
      flags = parsed.flags;
      target = resolveTarget(positional, values);
      settings = parseSettings(values, flags, target);
      if (values['--out']) target.outDir = resolve(values['--out']);
      if (flags.has('--log-samples') && !target.outDir) throw new UsageError('--log-samples needs --out DIR (with --checkpoint)');
    } catch (error) {
      if (error instanceof UsageError) {
        out.stderr(`lora-lab eval: ${error.message}\nUsage: ${USAGE}\n`);
        return EXIT_USAGE;
      }
      throw error;
    }
    const tokenizer = loadTokenizer(target.checkpoint);
    const useCache = target.adapter === null && !flags.has('--no-cache');
    const cacheDir = defaultEvalCacheDir();
    const engineKey = {
      precision: target.engine.precision,
      quantize: target.engine.quantize ?? 'none',
      device: target.engine.device ?? 'cpu',
    };
    const cached = new Map<string, CachedTask>();
    const keys = new Map<string, string>();
    if (useCache) {
      for (const task of settings.tasks) {
        const key = baseCacheKey(target.checkpoint, engineKey, task, settings);
        keys.set(task, key);
        const hit = readCached(cacheDir, key);
        if (hit) cached.set(task, hit);
      }
    }
    const engine = await loadAddon().loadEngine(target.checkpoint, target.engine);
    const tty = Boolean(process.stderr.isTTY);
    let lastLine = 0;
    try {
      if (target.adapter) await engine.loadAdapter(target.adapter);
      const outcome = await runEval(
        engine,
        tokenizer,
        settings,
        (p) => {
          const now = Date.now();
          if (tty) out.stderr(`\r${progressLine(p)}`);
          else if (p.done === p.total || now - lastLine > 5000) {
            out.stderr(`${progressLine(p)}\n`);
            lastLine = now;
          }
        },
        cached,
      );
      if (tty && outcome.distinct > 0) out.stderr('\n');
      if (useCache)
        for (const { task, docs: _docs, ...kept } of outcome.tasks)
          if (!cached.has(task.name)) writeCached(cacheDir, keys.get(task.name)!, kept);
      const date = new Date();
      const results = buildResults(outcome.tasks, {
        model: target.checkpoint,
        adapter: target.adapter,
        profile: settings.profile,
        limit: settings.limit,
        batchSize: 1,
        device: `${engine.computePath()} (${engine.deviceName()})`,
        bos: settings.bos,
        maxLength: outcome.maxLength,
        date: date.getTime() / 1000,
      });
      results.throughput = {
        requests: outcome.requests,
        distinct_requests: outcome.distinct,
        cached_tasks: [...cached.keys()],
        input_tokens: outcome.inputTokens,
        computed_tokens: outcome.computedTokens,
        seconds: outcome.seconds,
        prefix_sharing: settings.sharePrefix,
      };
      const written: string[] = [];
      if (target.outDir) {
        mkdirSync(target.outDir, { recursive: true });
        const stamp = resultsStamp(date);
        const path = join(target.outDir, `results_${stamp}.json`);
        writeFileAtomic(path, JSON.stringify(results, null, 2) + '\n');
        written.push(path);
        if (flags.has('--log-samples'))
          for (const t of outcome.tasks) {
            const samples = join(target.outDir, `samples_${t.task.name}_${stamp}.jsonl`);
            writeFileAtomic(samples, sampleLines(t).join('\n') + '\n');
            written.push(samples);
          }
      }
      if (flags.has('--json')) out.stdout(JSON.stringify(results, null, 2) + '\n');
      else {
        const rate = outcome.seconds > 0 ? outcome.distinct / outcome.seconds : 0;
        out.stdout(summaryTable(outcome.tasks));
        out.stdout(
          `${outcome.distinct} requests scored in ${outcome.seconds.toFixed(1)} s (${rate.toFixed(1)} requests/s, ${(outcome.computedTokens / Math.max(outcome.seconds, 1e-9)).toFixed(0)} tokens/s computed)` +
            `${cached.size ? `; from the base-model cache: ${[...cached.keys()].join(', ')}` : ''}\n`,
        );
        for (const w of written) out.stdout(`wrote ${w}\n`);
      }
    } finally {
      engine.dispose();
    }
    return EXIT_OK;
  },
};
