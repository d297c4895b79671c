// One training run from a resolved config: inputs checked first, then the run folder (created
// atomically, locked for one writer), the step loop with validation, checkpoints, stop requests
// and failures, and the final adapter and summary (merged over sessions). Resume continues from
// the latest complete checkpoint on exactly the same trajectory, after removing dead writers' temps.
import { version } from '../../../package.json';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { hubCheckpointOfPath } from '../../../language-server/src/config/hub-ref';
import { configHash } from '../../../language-server/src/config/overrides';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import { loadAddon, type EngineBatch, type NativeEngine } from '../addon';
import type { MetricsLine, RunJson } from '../protocol';
import { removeDeadWritersTemps, writeFileAtomic } from './atomic';
import { folderBytes, listCheckpoints, readCursor, saveCheckpoint, type TrainerCursor } from './checkpoints';
import { engineOptions } from './engine-options';
import { exportFullModel } from './export-model';
import type { EventSink } from './events';
import { TrainingError, toRunError } from './failures';
import { MetricsWriter, truncateMetrics } from './metrics';
import { createRunFolder } from './run-folder';
import { RunLock } from './run-lock';
import { RunRecord, readRunJson } from './run-record';
import { mergedSummary, previousPeakBytes, sessionRecord, type SessionStart } from './run-summary';
import { prepareTrainingData, type TrainingData } from './training-data';
import { TrainingEval } from './train-eval';
import { snapshotTaskFiles } from './task-snapshot';
import { unfinishedSummary } from '../eval/run-eval';
import { defaultDataCacheDir } from '../data/pipeline';

export interface RunPlan {
  config: LoraLabConfig;
  runDir: string;
  name: string;
  overrides: Record<string, unknown>;
  sweep?: { id: string; variant: number; variants: number; overrides: Record<string, unknown> };
  maxSteps?: number;
  resume: boolean;
  /** `--set` values given with --resume (already applied to `config`), recorded with their step. */
  resumeOverrides?: Record<string, unknown>;
}

export type RunOutcome = 'completed' | 'stopped' | 'failed';

/** Set by SIGTERM / SIGINT / the IPC 'stop' message; polled between steps (a started validation pass is finished). */
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

/** Mean validation loss over target tokens (null when no batch has a target). */
async function validationLoss(engine: NativeEngine, data: TrainingData): Promise<number | null> {
  let weighted = 0;
  let tokens = 0;
  for (const batch of data.validationBatches()) {
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
  const { config } = plan;
  let runDir = plan.runDir;
  let name = plan.name;
  let record: RunRecord | null = null;
  let engine: NativeEngine | null = null;
  let lock: RunLock | null = null;
  let previous: RunJson | null = null;
  let cursor: TrainerCursor = { step: 0, epoch: 1, tokensSeen: 0, elapsedS: 0, lastTrainLoss: null, lastValLoss: null, lastValStep: null };
  let session: SessionStart | null = null;
  let peakBefore = 0;
  const fail = (error: unknown): RunOutcome => {
    const runError = toRunError(error, runDir);
    sink.log(runDir, 'error', `${runError.code}: ${runError.message}`);
    if (record) {
      try {
        const peak = engine ? engine.memory().peakTotal : 0;
        const sessions = [...(previous?.sessions ?? []), ...(session ? [sessionRecord(session, cursor, 'failed', peak)] : [])];
        record.finish('failed', { error: runError, sessions });
      } catch (writeError) {
        sink.log(runDir, 'error', `run.json could not record the failure: ${(writeError as Error).message}`);
      }
    }
    // without a record nothing of the run was written: an input error caught before the folder
    // was created (no folder is left), or a resume refused before it touched the run
    sink.emit({ type: 'failed', runDir, error: runError });
    return 'failed';
  };

  try {
    if (plan.resume) {
      lock = RunLock.acquire(runDir);
      sink.setLogFile(join(runDir, 'train.log'));
      cleanLeftovers(runDir, sink);
      previous = readRunJson(runDir);
    }
    // every input is checked (data read and tokenized, checkpoint loaded) before a new folder exists
    const data = prepareTrainingData(config, defaultDataCacheDir(config), plan.maxSteps);
    const totalSteps = data.totalSteps;
    const addon = loadAddon();
    const options = engineOptions(config, totalSteps, true, () => addon.deviceReport());
    const evaluation = new TrainingEval(config, options, stop);
    engine = await addon.loadEngine(config.model.checkpoint, options);
    let latest: { step: number; path: string } | undefined;
    if (plan.resume) {
      latest = listCheckpoints(runDir).at(-1);
      if (latest) cursor = { lastValStep: null, ...readCursor(latest.path) };
    }

    if (!plan.resume) {
      ({ runDir, name } = createRunFolder(plan.runDir));
      lock = RunLock.acquire(runDir);
      sink.setLogFile(join(runDir, 'train.log'));
      if (name !== plan.name)
        sink.log(
          runDir,
          'info',
          `${plan.runDir} exists already (another run of this config started in the same second): this run is ${name}`,
        );
      writeFileAtomic(join(runDir, 'config.yaml'), resolvedConfigYaml(config));
      const copied = snapshotTaskFiles(config, runDir);
      if (copied.length) sink.log(runDir, 'info', `custom evaluation tasks copied beside config.yaml: ${copied.join(', ')}`);
    } else if (plan.resumeOverrides && Object.keys(plan.resumeOverrides).length > 0) {
      writeFileAtomic(join(runDir, 'config.yaml'), resolvedConfigYaml(config));
      sink.log(runDir, 'info', `resume overrides from step ${cursor.step}: ${JSON.stringify(plan.resumeOverrides)}`);
    }
    const startedMs = previous?.startedMs ?? Date.now();
    sink.log(
      runDir,
      'info',
      `data: ${data.train.length} training and ${data.validation.length} validation examples${data.fromCache ? ' (tokenized cache)' : ''}; ` +
        `${data.truncatedCount} truncated to ${config.data.max_seq_length} tokens; ${data.stepsPerEpoch} steps per epoch of ${data.globalBatch} examples`,
    );
    if (data.prefixViolations > 0)
      sink.log(
        runDir,
        'warn',
        `${data.prefixViolations} examples: prompt tokens are not a prefix of prompt + response tokens (masked up to the common prefix)`,
      );

    const report = addon.deviceReport();
    const onCuda = (options.device ?? 'cpu').startsWith('cuda');
    const gpu = onCuda ? report.cuda.devices.find((d) => d.index === Number((options.device ?? '').split(':')[1] ?? 0)) : undefined;
    const resumeOverrides = [
      ...(previous?.resumeOverrides ?? []),
      ...(plan.resumeOverrides && Object.keys(plan.resumeOverrides).length ? [{ step: cursor.step, set: plan.resumeOverrides }] : []),
    ];
    record = RunRecord.create(runDir, {
      ...baseRunJson(plan, name, startedMs, 0, totalSteps, onCuda ? 'cuda' : 'cpu', engine.computePath()),
      engineVersion: report.engineVersion,
      device: {
        kind: onCuda ? 'cuda' : 'cpu',
        name: engine.deviceName(),
        computePath: engine.computePath(),
        memoryBytes: onCuda ? gpu?.totalMemoryBytes : report.cpu.totalMemoryBytes,
      },
      ...(previous?.sessions ? { sessions: previous.sessions } : {}),
      ...(resumeOverrides.length ? { resumeOverrides } : {}),
    });
    record.startHeartbeat();

    if (plan.resume) {
      if (latest) {
        await engine.loadState(join(latest.path, 'state'));
        sink.log(runDir, 'info', `resuming from ${latest.path} (step ${cursor.step})`);
      } else {
        sink.log(runDir, 'info', 'no complete checkpoint: starting from step 0');
      }
    }
    const metricsPath = join(runDir, 'metrics.jsonl');
    peakBefore = previousPeakBytes(previous, truncateMetrics(metricsPath, cursor.step));
    const metrics = new MetricsWriter(metricsPath);
    record.update({ step: cursor.step });
    sink.emit({ type: 'started', runDir, name, totalSteps, pid: process.pid });
    session = {
      pid: process.pid,
      startedMs: Date.now(),
      fromStep: cursor.step,
      elapsedBeforeS: cursor.elapsedS,
      tokensBefore: cursor.tokensSeen,
    };
    const sessionsAfter = (status: 'completed' | 'stopped') => [
      ...(previous?.sessions ?? []),
      sessionRecord(session!, cursor, status, engine!.memory().peakTotal),
    ];

    const counts = engine.paramCounts();
    const estimatedCheckpointBytes = counts.trainable * (config.train.optimizer === 'adamw' ? 16 : 12);
    let lastCheckpointBytes: number | null = latest ? folderBytes(latest.path) : null;
    // measured step and checkpoint times; before the first checkpoint, its size at 200 MB/s
    const pace = { stepS: 1, checkpointS: 0.1 + (lastCheckpointBytes ?? estimatedCheckpointBytes) / 200e6 };
    stop.onRequest(() => {
      // the current step, then one checkpoint, at their measured times, plus half and 0.2 s
      const expectedS = Math.round(((pace.stepS + pace.checkpointS) * 1.5 + 0.2) * 10) / 10;
      record?.update({ stopping: { receivedMs: Date.now(), expectedS } });
      sink.emit({ type: 'stopping', runDir, expectedS });
    });
    const checkpoint = async (): Promise<string> => {
      const t0 = Date.now();
      const saved = await saveCheckpoint(
        runDir,
        cursor,
        config.train.keep_checkpoints,
        { lastBytes: lastCheckpointBytes, estimatedBytes: estimatedCheckpointBytes },
        async (dir) => {
          if (config.train.method === 'lora') await engine!.saveAdapter(join(dir, 'adapter'), config.model.checkpoint);
          await engine!.saveState(join(dir, 'state'));
        },
      );
      lastCheckpointBytes = saved.bytes;
      pace.checkpointS = (Date.now() - t0) / 1000;
      sink.emit({ type: 'checkpoint', runDir, step: cursor.step, path: saved.path });
      return saved.path;
    };

    const sessionStart = Date.now();
    const firstStep = cursor.step + 1;
    const elapsedBefore = cursor.elapsedS;
    let tokensThisSession = 0;
    while (cursor.step < totalSteps) {
      if (stop.requested) {
        await checkpoint();
        metrics.close();
        // a stopped run has a summary too (so far), the home of a later evaluation's summary.eval
        const memory = engine.memory();
        const summary = mergedSummary(
          cursor,
          { peakBytes: memory.peakTotal, peakBytesByCategory: memory.peak },
          previous,
          peakBefore,
          counts,
        );
        record.finish('stopped', { summary, sessions: sessionsAfter('stopped') });
        sink.emit({ type: 'stopped', runDir, step: cursor.step });
        return 'stopped';
      }
      const step = cursor.step + 1;
      const { epoch, batches } = data.stepBatches(step);
      const t0 = Date.now();
      const result = await engine.step(batches);
      pace.stepS = (Date.now() - t0) / 1000;
      if (!Number.isFinite(result.loss) || !Number.isFinite(result.gradNorm)) {
        const kept = listCheckpoints(runDir).at(-1);
        const what = kept
          ? `the last good checkpoint (step ${kept.step}) is kept`
          : `no checkpoint was saved yet (the first comes at step ${config.train.save_interval}): resuming starts from step 0`;
        throw new TrainingError(
          'E_NONFINITE_LOSS',
          `step ${step}: the ${Number.isFinite(result.loss) ? 'gradient norm' : 'loss'} is not finite (loss ${result.loss}, grad norm ${result.gradNorm}); ${what}`,
        );
      }
      tokensThisSession += result.tokens;
      cursor = {
        ...cursor,
        step,
        epoch,
        tokensSeen: cursor.tokensSeen + result.tokens,
        elapsedS: elapsedBefore + (Date.now() - sessionStart) / 1000,
        lastTrainLoss: result.loss,
      };
      const tokensPerS = tokensThisSession / Math.max(1e-9, (Date.now() - sessionStart) / 1000);
      const line: Extract<MetricsLine, { kind: 'train' }> = {
        kind: 'train',
        step,
        epoch,
        loss: result.loss,
        lr: result.lr,
        grad_norm: result.gradNorm,
        tokens: cursor.tokensSeen,
        tokens_per_s: tokensPerS,
        peak_bytes: engine.memory().peakTotal,
        elapsed_s: cursor.elapsedS,
      };
      if (step % config.train.log_interval === 0 || step === totalSteps) metrics.append(line);
      record.update({ step, heartbeatMs: Date.now() });
      const secondsPerStep = (Date.now() - sessionStart) / 1000 / (step - firstStep + 1);
      sink.emit({ type: 'step', runDir, line, totalSteps, etaS: (totalSteps - step) * secondsPerStep });
      if (data.validation.length > 0 && (step % config.train.val_interval === 0 || step === totalSteps)) {
        // a started pass is finished even when a stop arrives meanwhile: its result is recorded
        const valLoss = await validationLoss(engine, data);
        if (valLoss !== null) {
          cursor = { ...cursor, lastValLoss: valLoss, lastValStep: step };
          const valLine: Extract<MetricsLine, { kind: 'val' }> = { kind: 'val', step, loss: valLoss };
          metrics.append(valLine);
          sink.emit({ type: 'val', runDir, line: valLine });
        }
      }
      if (evaluation.intervalDue(step, totalSteps)) await evaluation.interval(runDir, engine, step, metrics, sink);
      if (step % config.train.save_interval === 0 && step < totalSteps) await checkpoint();
    }

    if (config.train.method === 'lora') await engine.saveAdapter(join(runDir, 'adapter'), config.model.checkpoint);
    const finalCheckpoint = await checkpoint();
    if (config.train.method === 'full')
      await exportFullModel(join(finalCheckpoint, 'state'), config.model.checkpoint, join(runDir, 'model'));
    const memory = engine.memory();
    let summary = mergedSummary(cursor, { peakBytes: memory.peakTotal, peakBytesByCategory: memory.peak }, previous, peakBefore, counts);
    if (evaluation.afterTrain) {
      // the run stays 'running' (heartbeat on) until its evaluation ends; the adapter is on disk already
      record.update({
        summary: {
          ...summary,
          eval: unfinishedSummary('running', { adapter: 'final', step: cursor.step, settings: evaluation.settings! }, Date.now()),
        },
      });
      summary = { ...summary, eval: await evaluation.final(runDir, engine, cursor.step, metrics, sink) };
    }
    metrics.close();
    record.finish('completed', { summary, sessions: sessionsAfter('completed') });
    sink.emit({ type: 'done', runDir, summary });
    return 'completed';
  } catch (error) {
    return fail(error);
  } finally {
    sink.flushStep();
    engine?.dispose();
    lock?.release();
  }
}

/** Removes what dead writers left in a run folder: temp files and half-written checkpoints. */
function cleanLeftovers(runDir: string, sink: EventSink): void {
  const removed = [
    ...removeDeadWritersTemps(runDir),
    ...removeDeadWritersTemps(join(runDir, 'checkpoints')).map((n) => `checkpoints/${n}`),
  ];
  if (removed.length) sink.log(runDir, 'info', `removed leftovers of an interrupted trainer: ${removed.join(', ')}`);
}

/** The Hub repo and commit of a checkpoint read from the Hugging Face cache, so the run can be reproduced. */
function hubModelOf(config: LoraLabConfig): Pick<RunJson, 'hubModel'> {
  const hub = hubCheckpointOfPath(config.model.checkpoint);
  return hub ? { hubModel: hub } : {};
}

function baseRunJson(
  plan: RunPlan,
  name: string,
  startedMs: number,
  step: number,
  totalSteps: number,
  kind: 'cpu' | 'cuda',
  computePath: string,
) {
  return {
    name,
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
