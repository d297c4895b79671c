// One training run from a resolved config: run folder, data, engine, the step loop with
// validation, checkpoints, stop requests and failures, and the final adapter and summary.
// Resume continues from the latest complete checkpoint on exactly the same trajectory.
import { version } from '../../../package.json';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { hubCheckpointOfPath } from '../../../language-server/src/config/hub-ref';
import { configHash } from '../../../language-server/src/config/overrides';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import { loadAddon, type EngineBatch, type NativeEngine } from '../addon';
import type { MetricsLine, RunJson, RunSummary } from '../protocol';
import { writeFileAtomic } from './atomic';
import { listCheckpoints, saveCheckpoint, type TrainerCursor } from './checkpoints';
import { engineOptions } from './engine-options';
import { exportFullModel } from './export-model';
import type { EventSink } from './events';
import { TrainingError, toRunError } from './failures';
import { MetricsWriter, truncateMetrics } from './metrics';
import { RunRecord, readRunJson } from './run-record';
import { prepareTrainingData, type TrainingData } from './training-data';
import { defaultDataCacheDir } from '../data/pipeline';

export interface RunPlan {
  config: LoraLabConfig;
  runDir: string;
  name: string;
  overrides: Record<string, unknown>;
  sweep?: { id: string; variant: number; variants: number; overrides: Record<string, unknown> };
  maxSteps?: number;
  resume: boolean;
}

export type RunOutcome = 'completed' | 'stopped' | 'failed';

/** Set by SIGTERM / SIGINT / the IPC 'stop' message; polled between steps and inside validation. */
export class StopSignal {
  requested = false;
  private listeners: (() => void)[] = [];
  request(): void {
    if (this.requested) return;
    this.requested = true;
    for (const l of this.listeners) l();
  }
  onRequest(listener: () => void): void {
    this.listeners.push(listener);
  }
}

function targetTokens(batches: EngineBatch[]): number {
  let n = 0;
  for (const b of batches) for (const t of b.targets) if (t !== -100) n++;
  return n;
}

/** Mean validation loss over target tokens, polling the stop signal between micro-batches. */
async function validationLoss(engine: NativeEngine, data: TrainingData, stop: StopSignal): Promise<number | null> {
  let weighted = 0;
  let tokens = 0;
  for (const batch of data.validationBatches()) {
    if (stop.requested) return null;
    const n = targetTokens([batch]);
    if (n === 0) continue;
    weighted += (await engine.evalLoss([batch])) * n;
    tokens += n;
  }
  return tokens > 0 ? weighted / tokens : null;
}

function resolvedConfigYaml(config: LoraLabConfig): string {
  const { configPath: _path, sweep: _sweep, ...rest } = config;
  return `# Resolved config of this run (defaults applied, overrides and sweep values in place).\n${stringify(rest)}`;
}

export async function runTraining(plan: RunPlan, sink: EventSink, stop: StopSignal): Promise<RunOutcome> {
  const { config, runDir } = plan;
  mkdirSync(runDir, { recursive: true });
  sink.setLogFile(join(runDir, 'train.log'));
  if (!plan.resume) writeFileAtomic(join(runDir, 'config.yaml'), resolvedConfigYaml(config));
  const previous = plan.resume ? readRunJson(runDir) : null;
  const startedMs = previous?.startedMs ?? Date.now();

  let record: RunRecord | null = null;
  let engine: NativeEngine | null = null;
  const fail = (error: unknown): RunOutcome => {
    const runError = toRunError(error);
    sink.log(runDir, 'error', `${runError.code}: ${runError.message}`);
    if (record) record.finish('failed', { error: runError });
    else RunRecord.create(runDir, baseRunJson(plan, startedMs, 0, 0, 'cpu', '')).finish('failed', { error: runError });
    sink.emit({ type: 'failed', runDir, error: runError });
    return 'failed';
  };

  try {
    const data = prepareTrainingData(config, defaultDataCacheDir(config), plan.maxSteps);
    const totalSteps = data.totalSteps;
    sink.log(runDir, 'info', `data: ${data.train.length} training and ${data.validation.length} validation examples${data.fromCache ? ' (tokenized cache)' : ''}; ` +
      `${data.truncatedCount} truncated to ${config.data.max_seq_length} tokens; ${data.stepsPerEpoch} steps per epoch of ${data.globalBatch} examples`);
    if (data.prefixViolations > 0) sink.log(runDir, 'warn', `${data.prefixViolations} examples: prompt tokens are not a prefix of prompt + response tokens (masked up to the common prefix)`);

    const addon = loadAddon();
    const options = engineOptions(config, totalSteps, true, () => addon.deviceReport());
    engine = await addon.loadEngine(config.model.checkpoint, options);
    const report = addon.deviceReport();
    const onCuda = (options.device ?? 'cpu').startsWith('cuda');
    const gpu = onCuda ? report.cuda.devices.find((d) => d.index === Number((options.device ?? '').split(':')[1] ?? 0)) : undefined;
    record = RunRecord.create(runDir, {
      ...baseRunJson(plan, startedMs, 0, totalSteps, onCuda ? 'cuda' : 'cpu', engine.computePath()),
      engineVersion: report.engineVersion,
      device: { kind: onCuda ? 'cuda' : 'cpu', name: engine.deviceName(), computePath: engine.computePath(), memoryBytes: onCuda ? gpu?.totalMemoryBytes : report.cpu.totalMemoryBytes },
    });
    record.startHeartbeat();

    let cursor: TrainerCursor = { step: 0, epoch: 1, tokensSeen: 0, elapsedS: 0, lastTrainLoss: null, lastValLoss: null };
    if (plan.resume) {
      const latest = listCheckpoints(runDir).at(-1);
      if (latest) {
        await engine.loadState(join(latest.path, 'state'));
        cursor = JSON.parse(readFileSync(join(latest.path, 'cursor.json'), 'utf8')) as TrainerCursor;
        sink.log(runDir, 'info', `resuming from ${latest.path} (step ${cursor.step})`);
      } else {
        sink.log(runDir, 'info', 'no complete checkpoint: starting from step 0');
      }
    }
    const metricsPath = join(runDir, 'metrics.jsonl');
    truncateMetrics(metricsPath, cursor.step);
    const metrics = new MetricsWriter(metricsPath);
    record.update({ step: cursor.step });
    sink.emit({ type: 'started', runDir, name: plan.name, totalSteps, pid: process.pid });

    const counts = engine.paramCounts();
    const checkpointBytes = counts.trainable * (config.train.optimizer === 'adamw' ? 16 : 12);
    let lastStepS = 1;
    stop.onRequest(() => {
      const expectedS = lastStepS * 1.5 + 5;
      record?.update({ stopping: { receivedMs: Date.now(), expectedS } });
      sink.emit({ type: 'stopping', runDir, expectedS });
    });
    const checkpoint = async (): Promise<string> => {
      const path = await saveCheckpoint(runDir, cursor, config.train.keep_checkpoints, checkpointBytes, async (dir) => {
        if (config.train.method === 'lora') await engine!.saveAdapter(join(dir, 'adapter'), config.model.checkpoint);
        await engine!.saveState(join(dir, 'state'));
      });
      sink.emit({ type: 'checkpoint', runDir, step: cursor.step, path });
      return path;
    };

    const sessionStart = Date.now();
    const firstStep = cursor.step + 1;
    const elapsedBefore = cursor.elapsedS;
    let tokensThisSession = 0;
    while (cursor.step < totalSteps) {
      if (stop.requested) {
        await checkpoint();
        metrics.close();
        record.finish('stopped');
        sink.emit({ type: 'stopped', runDir, step: cursor.step });
        return 'stopped';
      }
      const step = cursor.step + 1;
      const { epoch, batches } = data.stepBatches(step);
      const t0 = Date.now();
      const result = await engine.step(batches);
      lastStepS = (Date.now() - t0) / 1000;
      if (!Number.isFinite(result.loss) || !Number.isFinite(result.gradNorm)) {
        throw new TrainingError('E_NONFINITE_LOSS', `step ${step}: the ${Number.isFinite(result.loss) ? 'gradient norm' : 'loss'} is not finite (loss ${result.loss}, grad norm ${result.gradNorm}); the last good checkpoint is kept`);
      }
      tokensThisSession += result.tokens;
      cursor = { ...cursor, step, epoch, tokensSeen: cursor.tokensSeen + result.tokens, elapsedS: elapsedBefore + (Date.now() - sessionStart) / 1000, lastTrainLoss: result.loss };
      const tokensPerS = tokensThisSession / Math.max(1e-9, (Date.now() - sessionStart) / 1000);
      const line: Extract<MetricsLine, { kind: 'train' }> = {
        kind: 'train', step, epoch, loss: result.loss, lr: result.lr, grad_norm: result.gradNorm, tokens: cursor.tokensSeen,
        tokens_per_s: tokensPerS, peak_bytes: engine.memory().peakTotal, elapsed_s: cursor.elapsedS,
      };
      if (step % config.train.log_interval === 0 || step === totalSteps) metrics.append(line);
      record.update({ step, heartbeatMs: Date.now() });
      const secondsPerStep = (Date.now() - sessionStart) / 1000 / (step - firstStep + 1);
      sink.emit({ type: 'step', runDir, line, totalSteps, etaS: (totalSteps - step) * secondsPerStep });
      if (data.validation.length > 0 && (step % config.train.val_interval === 0 || step === totalSteps)) {
        const valLoss = await validationLoss(engine, data, stop);
        if (valLoss !== null) {
          cursor = { ...cursor, lastValLoss: valLoss };
          const valLine: Extract<MetricsLine, { kind: 'val' }> = { kind: 'val', step, loss: valLoss };
          metrics.append(valLine);
          sink.emit({ type: 'val', runDir, line: valLine });
        }
      }
      if (step % config.train.save_interval === 0 && step < totalSteps) await checkpoint();
    }

    if (config.train.method === 'lora') await engine.saveAdapter(join(runDir, 'adapter'), config.model.checkpoint);
    const finalCheckpoint = await checkpoint();
    if (config.train.method === 'full') await exportFullModel(join(finalCheckpoint, 'state'), config.model.checkpoint, join(runDir, 'model'));
    metrics.close();
    const memory = engine.memory();
    const summary: RunSummary = {
      trainTimeS: cursor.elapsedS,
      tokens: cursor.tokensSeen,
      tokensPerS: cursor.tokensSeen / Math.max(1e-9, cursor.elapsedS),
      peakBytes: memory.peakTotal,
      peakBytesByCategory: memory.peak,
      trainableParams: counts.trainable,
      totalParams: counts.total,
      finalTrainLoss: cursor.lastTrainLoss,
      finalValLoss: cursor.lastValLoss,
    };
    record.finish('completed', { summary });
    sink.emit({ type: 'done', runDir, summary });
    return 'completed';
  } catch (error) {
    return fail(error);
  } finally {
    sink.flushStep();
    engine?.dispose();
  }
}

/** The Hub repo and commit of a checkpoint read from the Hugging Face cache, so the run can be reproduced. */
function hubModelOf(config: LoraLabConfig): Pick<RunJson, 'hubModel'> {
  const hub = hubCheckpointOfPath(config.model.checkpoint);
  return hub ? { hubModel: hub } : {};
}

function baseRunJson(plan: RunPlan, startedMs: number, step: number, totalSteps: number, kind: 'cpu' | 'cuda', computePath: string) {
  return {
    name: plan.name,
    configPath: plan.config.configPath,
    configHash: configHash(plan.config),
    sweep: plan.sweep,
    overrides: plan.overrides,
    ...hubModelOf(plan.config),
    engineVersion: ENGINE_VERSION,
    device: { kind, name: '', computePath },
    step,
    totalSteps,
    startedMs,
  };
}

/** The trainer's version (package.json's, the one home); the native engine reports the same in deviceReport().engineVersion. */
const ENGINE_VERSION = version;
