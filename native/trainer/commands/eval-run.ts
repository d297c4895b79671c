// `lora-lab eval --run DIR [--checkpoint checkpoints/step-N] [--tasks a,b] [--limit N] [--ipc]`:
// evaluates a run's adapter (the final one, else the newest checkpoint's) and the base model,
// writes <run>/eval/results_<time>.json (+ base_results_<time>.json), and records summary.eval in
// run.json and 'eval' lines in metrics.jsonl under the run lock. With --ipc it reports EvalMessages
// over process.send; IPC {type:'stop'} or SIGTERM aborts: summary.eval says 'stopped', exit 0.
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { loadAddon, type NativeEngine } from '../addon';
import { loadTokenizer } from '../../../language-server/src/lib/data/tokenizer';
import { loadConfigFile } from '../../../language-server/src/config/node-fs';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import { readMetrics } from '../../../language-server/src/lib/run-folder/reader';
import { isHostMessage, type EvalMessage, type EvalSummary, type RunJson, type RunSummary } from '../protocol';
import { listCheckpoints, readCursor, type TrainerCursor } from '../run/checkpoints';
import { engineOptions } from '../run/engine-options';
import { toRunError } from '../run/failures';
import { MetricsWriter } from '../run/metrics';
import { RunLock } from '../run/run-lock';
import { RunRecord, readRunJson } from '../run/run-record';
import { mergedSummary, previousPeakBytes } from '../run/run-summary';
import { progressLine, summaryTable } from '../eval/report';
import { evaluateRunAdapter, unfinishedSummary } from '../eval/run-eval';
import { evalSettingsOf, type EvalSettings } from '../eval/runner';
import { numberOption, takeOptions, UsageError } from './args';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliOutput } from './types';

export const RUN_USAGE =
  'lora-lab eval --run DIR [--checkpoint checkpoints/step-N] [--tasks a,b] [--limit N] [--num-fewshot K] [--profile lm-eval|article] [--no-base] [--task-dir DIR] [--ipc] [--json] [--no-cache]';

interface RunTarget {
  runDir: string;
  run: RunJson;
  config: LoraLabConfig;
  /** 'final' or `checkpoints/step-N`. */
  adapter: string;
  /** The adapter folder (LoRA) or the finetuned model folder (full). */
  weights: string;
  step: number;
  cursor: TrainerCursor | null;
}

function resolveRun(values: Record<string, string>): RunTarget {
  const runDir = resolve(values['--run']);
  if (!existsSync(join(runDir, 'run.json')) || !existsSync(join(runDir, 'config.yaml')))
    throw new UsageError(`${runDir}: not a run folder (no run.json / config.yaml)`);
  const run = readRunJson(runDir);
  const config = loadConfigFile(join(runDir, 'config.yaml')).config;
  const lora = config.train.method !== 'full';
  const pick = values['--checkpoint'];
  if (pick) {
    const path = resolve(runDir, pick);
    const weights = lora ? join(path, 'adapter') : path;
    if (!existsSync(join(path, 'cursor.json')))
      throw new UsageError(`${path}: not a checkpoint of this run (no cursor.json); 'lora-lab runs' lists the run's checkpoints`);
    if (!lora)
      throw new UsageError(
        `${path}: checkpoints of a full finetune hold optimizer state only; evaluate the run's final model (omit --checkpoint)`,
      );
    if (!existsSync(join(weights, 'adapter_config.json'))) throw new UsageError(`${weights}: no adapter_config.json in this checkpoint`);
    const cursor = readCursor(path);
    return { runDir, run, config, adapter: relative(runDir, path), weights, step: cursor.step, cursor };
  }
  const final = lora ? join(runDir, 'adapter') : join(runDir, 'model');
  if (existsSync(join(final, lora ? 'adapter_config.json' : 'config.json'))) {
    const latest = listCheckpoints(runDir).at(-1);
    return { runDir, run, config, adapter: 'final', weights: final, step: run.step, cursor: latest ? readCursor(latest.path) : null };
  }
  const latest = listCheckpoints(runDir).at(-1);
  if (!latest || !lora)
    throw new UsageError(
      `${runDir}: the run has no ${lora ? 'adapter' : 'final model'} yet (status ${run.status}); ${run.status === 'running' ? 'wait until it ends' : 'nothing to evaluate'}`,
    );
  return {
    runDir,
    run,
    config,
    adapter: relative(runDir, latest.path),
    weights: join(latest.path, 'adapter'),
    step: latest.step,
    cursor: readCursor(latest.path),
  };
}

/** run.json's summary, or for a run that ended without one (stopped by an older trainer) one built from its checkpoint. */
function summaryOf(target: RunTarget, engine: NativeEngine): RunSummary {
  if (target.run.summary) return target.run.summary;
  const cursor = target.cursor ?? {
    step: target.run.step,
    epoch: 1,
    tokensSeen: 0,
    elapsedS: 0,
    lastTrainLoss: null,
    lastValLoss: null,
    lastValStep: null,
  };
  const peak = previousPeakBytes(target.run, readMetrics(join(target.runDir, 'metrics.jsonl')));
  const counts = engine.paramCounts();
  return mergedSummary(cursor, { peakBytes: peak, peakBytesByCategory: {} }, null, peak, counts);
}

function send(ipc: boolean, message: EvalMessage): void {
  if (ipc && process.send && process.connected) {
    try {
      process.send(message, undefined, {}, () => {});
    } catch {
      // the host went away: the run folder still gets the result
    }
  }
}

/** Writes summary.eval (and the eval metrics lines) into the run folder; the caller holds the lock. */
function record(target: RunTarget, summary: RunSummary, evalSummary: EvalSummary, lines: Parameters<MetricsWriter['append']>[0][]): void {
  if (lines.length) {
    const metrics = new MetricsWriter(join(target.runDir, 'metrics.jsonl'));
    try {
      for (const line of lines) metrics.append(line);
    } finally {
      metrics.close();
    }
  }
  const fresh = readRunJson(target.runDir);
  new RunRecord(target.runDir, fresh).update({ summary: { ...(fresh.summary ?? summary), eval: evalSummary } });
}

export async function runEvalOfRun(args: string[], out: CliOutput): Promise<number> {
  let target: RunTarget, settings: EvalSettings, flags: Set<string>, includeBase: boolean;
  try {
    const parsed = takeOptions(
      args,
      ['--run', '--checkpoint', '--tasks', '--limit', '--num-fewshot', '--profile', '--task-dir'],
      ['--ipc', '--json', '--no-cache', '--no-base', '--no-prefix-sharing'],
    );
    flags = parsed.flags;
    if (parsed.positional.length) throw new UsageError(`unexpected argument '${parsed.positional[0]}' (the run is --run DIR)`);
    target = resolveRun(parsed.values);
    const v = parsed.values;
    const limit =
      v['--limit'] === undefined
        ? target.config.eval.limit
        : numberOption(v, '--limit', 0, (n) => Number.isInteger(n) && n >= 1, 'a whole number >= 1');
    settings = evalSettingsOf(target.config, {
      tasks: v['--tasks'],
      limit,
      numFewshot:
        v['--num-fewshot'] === undefined
          ? undefined
          : numberOption(v, '--num-fewshot', 0, (n) => Number.isInteger(n) && n >= 0 && n <= 5, 'a whole number from 0 to 5'),
      profile: v['--profile'],
      sharePrefix: !flags.has('--no-prefix-sharing'),
      taskDirs: v['--task-dir'] ? [resolve(v['--task-dir'])] : [],
    });
    includeBase = target.config.eval.include_base && !flags.has('--no-base');
  } catch (error) {
    const ipc = args.includes('--ipc');
    if (error instanceof UsageError || (error as { code?: string }).code === 'E_USAGE') {
      send(ipc, { type: 'eval-error', code: 'E_USAGE', message: (error as Error).message });
      out.stderr(`lora-lab eval: ${(error as Error).message}\nUsage: ${RUN_USAGE}\n`);
      return EXIT_USAGE;
    }
    const e = toRunError(error);
    send(ipc, { type: 'eval-error', ...e });
    out.stderr(`lora-lab eval: ${e.code}: ${e.message}\n`);
    return EXIT_FAILURE;
  }
  const ipc = flags.has('--ipc');
  const startedMs = Date.now();
  let lock: RunLock | null = null;
  let engine: NativeEngine | null = null;
  let baseEngine: NativeEngine | null = null;
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    for (const e of [engine, baseEngine]) {
      try {
        e?.abort();
      } catch {
        // nothing in flight
      }
    }
  };
  const onMessage = (m: unknown): void => {
    if (isHostMessage(m)) stop();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('message', onMessage);
  let summary: RunSummary | null = null;
  try {
    lock = RunLock.acquire(target.runDir);
    const { config } = target;
    const lora = config.train.method !== 'full';
    const addon = loadAddon();
    const base = engineOptions(config, 1, false, () => addon.deviceReport());
    const inference = { ...base, training: false };
    const checkpoint = config.model.checkpoint;
    engine = await addon.loadEngine(lora ? checkpoint : target.weights, lora ? inference : { ...inference, method: 'full' });
    if (stopped) throw Object.assign(new Error('stopped'), { code: 'E_ABORTED' });
    if (lora) await engine.loadAdapter(target.weights);
    summary = summaryOf(target, engine);
    const tty = !ipc && Boolean(process.stderr.isTTY);
    let lastLine = 0;
    const result = await evaluateRunAdapter(
      {
        runDir: target.runDir,
        engine,
        tokenizer: loadTokenizer(checkpoint),
        checkpoint,
        adapter: target.adapter,
        adapterPath: target.weights,
        step: target.step,
        settings,
        includeBase,
        method: lora ? 'lora' : 'full',
        baseEngineOptions: { ...inference, method: 'full' },
        engineKey: { precision: base.precision, quantize: base.quantize ?? 'none', device: base.device ?? 'cpu' },
        final: true,
        useCache: !flags.has('--no-cache'),
        onEngine: (e) => (baseEngine = e),
        isStopped: () => stopped,
        onProgress: (p) => {
          send(ipc, { type: 'eval-progress', task: p.task ?? null, done: p.done, total: p.total, elapsedS: p.elapsedS });
          const now = Date.now();
          if (tty) out.stderr(`\r${p.phase === 'base' ? 'base ' : ''}${progressLine(p)}`);
          else if (!ipc && (p.done === p.total || now - lastLine > 5000)) {
            out.stderr(`${p.phase === 'base' ? 'base model: ' : ''}${progressLine(p)}\n`);
            lastLine = now;
          }
        },
      },
      startedMs,
    );
    if (tty) out.stderr('\n');
    record(target, summary, result.summary, result.lines);
    send(ipc, { type: 'eval-done', runDir: target.runDir, summary: result.summary });
    if (flags.has('--json')) out.stdout(JSON.stringify(result.summary, null, 2) + '\n');
    else if (!ipc) {
      out.stdout(summaryTable(result.outcome.tasks, result.base?.tasks));
      out.stdout(`wrote ${join(target.runDir, result.summary.resultsFile!)}\n`);
      if (result.summary.baseResultsFile) out.stdout(`wrote ${join(target.runDir, result.summary.baseResultsFile)}\n`);
    }
    return EXIT_OK;
  } catch (error) {
    const aborted = stopped && (error as { code?: string }).code === 'E_ABORTED';
    const runError = toRunError(error, target.runDir);
    const unfinished = unfinishedSummary(
      aborted ? 'stopped' : 'failed',
      { ...target, settings },
      startedMs,
      aborted ? undefined : runError,
    );
    if (lock && (summary || target.run.summary)) {
      try {
        record(target, summary ?? target.run.summary!, unfinished, []);
      } catch (writeError) {
        out.stderr(`lora-lab eval: run.json could not record the evaluation: ${(writeError as Error).message}\n`);
      }
    }
    if (aborted) {
      send(ipc, { type: 'eval-done', runDir: target.runDir, summary: unfinished });
      out.stderr('lora-lab eval: stopped; nothing of this evaluation was kept\n');
      return EXIT_OK;
    }
    send(ipc, { type: 'eval-error', code: runError.code, message: runError.message, ...(runError.hint ? { hint: runError.hint } : {}) });
    out.stderr(`lora-lab eval: ${runError.code}: ${runError.message}${runError.hint ? `\nhint: ${runError.hint}` : ''}\n`);
    return EXIT_FAILURE;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    process.off('message', onMessage);
    try {
      engine?.dispose();
    } catch {
      // an aborted call may still be unwinding
    }
    lock?.release();
    if (ipc && process.connected) process.disconnect?.();
  }
}
