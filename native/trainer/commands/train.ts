// `lora-lab train CONFIG`: one run (or every variant of a sweep, one after another) from a
// *.lora.yaml, or `--resume RUN_DIR`. Events go to IPC (--ipc, when forked by the extension), to
// stdout as JSON lines (--json), or to a progress line on a TTY.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hubCheckpointOfPath } from '../../../language-server/src/config/hub-ref';
import { applyOverrides, runName } from '../../../language-server/src/config/overrides';
import { trainingFilesMissing } from '../../../language-server/src/config/rules';
import { loadConfigFile } from '../../../language-server/src/config/node-fs';
import { expandSweep, isSweep } from '../../../language-server/src/config/sweep';
import { ConfigError, type LoraLabConfig } from '../../../language-server/src/config/types';
import { isHostMessage } from '../protocol';
import { EventSink } from '../run/events';
import { RunFolderError } from '../../../language-server/src/lib/run-folder/reader';
import type { RunJson } from '../protocol';
import { readRunJson } from '../run/run-record';
import { checkResumeSets } from './resume-overrides';
import { runTraining, StopSignal, type RunPlan } from '../run/trainer';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliCommand, type CliOutput } from './types';

export interface TrainArgs {
  config?: string;
  json: boolean;
  ipc: boolean;
  sets: string[];
  variant: number | null;
  maxSteps?: number;
  resume?: string;
}

export function parseTrainArgs(args: string[]): TrainArgs {
  const out: TrainArgs = { json: false, ipc: false, sets: [], variant: null };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new ConfigError(`${arg} needs a value`);
      return v;
    };
    if (arg === '--json') out.json = true;
    else if (arg === '--ipc') out.ipc = true;
    else if (arg === '--set') out.sets.push(value());
    else if (arg === '--variant') out.variant = Number(value());
    else if (arg === '--max-steps') out.maxSteps = Number(value());
    else if (arg === '--resume') out.resume = value();
    else if (arg.startsWith('--')) throw new ConfigError(`unknown option ${arg}`);
    else if (out.config === undefined) out.config = arg;
    else throw new ConfigError(`unexpected argument '${arg}'`);
  }
  if (out.variant !== null && (!Number.isInteger(out.variant) || out.variant < 0))
    throw new ConfigError('--variant needs a non-negative integer');
  if (out.maxSteps !== undefined && (!Number.isInteger(out.maxSteps) || out.maxSteps < 1))
    throw new ConfigError('--max-steps needs a positive integer');
  if (!out.config && !out.resume) throw new ConfigError('expected a config file (or --resume RUN_DIR)');
  return out;
}

/** The runs a `train` invocation performs, in order. */
export function planRuns(args: TrainArgs, now: Date = new Date()): RunPlan[] {
  if (args.resume) {
    const runDir = resolve(args.resume);
    if (!existsSync(join(runDir, 'run.json'))) {
      if (existsSync(join(runDir, 'config.yaml')))
        throw new ConfigError(
          `${runDir}: an incomplete run folder (config.yaml without run.json: the trainer stopped before it started the run, nothing was trained); delete it and start the config again`,
        );
      throw new ConfigError(`${runDir}: not a run folder (no run.json)`);
    }
    let run: RunJson;
    try {
      run = readRunJson(runDir);
    } catch (error) {
      if (error instanceof RunFolderError)
        throw new ConfigError(
          `${error.message}. Resume needs the run's run.json; delete the folder and start the config again if it cannot be repaired.`,
        );
      throw error;
    }
    checkResumeSets(args.sets, runDir);
    const recorded = loadConfigFile(join(runDir, 'config.yaml')).config;
    const { config, overrides: changed } = applyOverrides(recorded, args.sets);
    const lengthChanged = 'train.max_steps' in changed || 'train.epochs' in changed;
    return [
      {
        config: { ...config, configPath: run.configPath },
        runDir,
        name: run.name,
        overrides: run.overrides,
        sweep: run.sweep,
        maxSteps: args.maxSteps ?? (lengthChanged ? undefined : run.totalSteps || undefined),
        resume: true,
        resumeOverrides: changed,
      },
    ];
  }
  const base = loadConfigFile(args.config!).config;
  const { config, overrides } = applyOverrides(base, args.sets);
  const variants = isSweep(config) ? expandSweep(config) : null;
  const chosen = variants ? (args.variant === null ? variants : variants.filter((v) => v.index === args.variant)) : null;
  if (variants && chosen!.length === 0)
    throw new ConfigError(`--variant ${args.variant} does not exist: the sweep has ${variants.length} variants, 0..${variants.length - 1}`);
  if (!variants && args.variant !== null) throw new ConfigError(`--variant ${args.variant}: ${config.configPath} has no sweep`);
  const sweepId = runName(config.name, null, now);
  const plans: RunPlan[] = [];
  for (const v of chosen ?? [{ index: null, overrides: {}, config }]) {
    const c: LoraLabConfig = v.config;
    const name = runName(c.name, v.index, now);
    plans.push({
      config: c,
      runDir: join(c.out_dir, name),
      name,
      overrides,
      sweep: v.index === null ? undefined : { id: sweepId, variant: v.index, variants: variants!.length, overrides: v.overrides },
      maxSteps: args.maxSteps,
      resume: false,
    });
  }
  for (const plan of plans) refuseWithoutWeights(plan.config);
  return plans;
}

/** Training needs the weights and the tokenizer; a checkpoint with config.json alone is for estimates. */
function refuseWithoutWeights(config: LoraLabConfig): void {
  let names: string[];
  try {
    names = readdirSync(config.model.checkpoint);
  } catch {
    return; // loadConfigFile reported it
  }
  const missing = trainingFilesMissing(names);
  if (!missing.length) return;
  const hub = hubCheckpointOfPath(config.model.checkpoint);
  const how = hub
    ? `download them: lora-lab download ${hub.repo}@${hub.commit} (or "LoRA Lab: Download Model")`
    : `put them in ${config.model.checkpoint}`;
  throw new ConfigError(
    `model.checkpoint ${hub ? hub.repo : config.model.checkpoint} lacks ${missing.join(', ')}: training needs them; ${how}.`,
  );
}

export const trainCommand: CliCommand = {
  name: 'train',
  summary: 'Train a LoRA / QLoRA / full finetune from a *.lora.yaml config',
  usage: 'lora-lab train CONFIG [--json] [--set key=value ...] [--variant i] [--max-steps N] [--resume RUN_DIR]',
  available: true,
  async run(args: string[], out: CliOutput): Promise<number> {
    let plans: RunPlan[];
    let parsed: TrainArgs;
    try {
      parsed = parseTrainArgs(args);
      plans = planRuns(parsed);
    } catch (error) {
      if (error instanceof ConfigError) {
        out.stderr(`lora-lab train: ${error.message}\n`);
        return EXIT_USAGE;
      }
      throw error;
    }
    const stop = new StopSignal();
    const onSignal = () => stop.request();
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    const onMessage = (message: unknown) => {
      if (isHostMessage(message) && message.type === 'stop') stop.request();
    };
    process.on('message', onMessage);
    process.stdout.on('error', () => {}); // a parent that went away must not stop training
    const sink = new EventSink({
      json: parsed.json,
      ipc: parsed.ipc,
      tty: !parsed.json && Boolean(process.stdout.isTTY),
      write: out.stdout,
    });
    try {
      let failed = false;
      for (const plan of plans) {
        const outcome = await runTraining(plan, sink, stop);
        if (outcome === 'failed') failed = true;
        if (outcome === 'stopped' || stop.requested) break; // a stop during after_train evaluation ends the sweep too
      }
      return failed ? EXIT_FAILURE : EXIT_OK;
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.off('message', onMessage);
      if (process.connected && parsed.ipc) process.disconnect?.();
    }
  },
};
