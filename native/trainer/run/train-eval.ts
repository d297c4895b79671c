// The evaluation parts of a training run: eval.after_train scores the final adapter on the training
// engine when training completes (and the base model with the adapter switched off, from the cache
// where it can); eval.interval scores it every N steps with eval.interval_limit examples per task
// ('eval' lines with final: false). A stop during an evaluation aborts it ('stopped'); an error is
// recorded as 'failed' with the error: neither changes the training result (the run is completed).
import { loadTokenizer } from '../../../language-server/src/lib/data/tokenizer';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import type { EngineOptions, NativeEngine } from '../addon';
import type { EvalSummary } from '../protocol';
import { evaluateRunAdapter, unfinishedSummary, type RunEvalOptions } from '../eval/run-eval';
import { evalSettingsOf, type EvalSettings } from '../eval/runner';
import type { EventSink } from './events';
import { toRunError } from './failures';
import type { MetricsWriter } from './metrics';
import type { StopSignal } from './trainer';

export class TrainingEval {
  /** Null when the config evaluates neither after training nor every N steps (its eval keys are then not checked here). */
  readonly settings: EvalSettings | null;
  private active: NativeEngine[] = [];
  /** Interval evaluations stop after the first error (it is logged once). */
  private intervalBroken = false;

  /** Settings are checked here, before the run folder exists: an unknown task is an input error. */
  constructor(
    private readonly config: LoraLabConfig,
    private readonly engineOptions: EngineOptions,
    private readonly stop: StopSignal,
  ) {
    this.settings = config.eval.after_train || config.eval.interval !== null ? evalSettingsOf(config) : null;
    stop.onRequest(() => {
      for (const engine of this.active) {
        try {
          engine.abort();
        } catch {
          // nothing in flight
        }
      }
    });
  }

  get afterTrain(): boolean {
    return this.config.eval.after_train;
  }

  /** Whether `step` gets an interval evaluation (never the last step: after_train covers it). */
  intervalDue(step: number, totalSteps: number): boolean {
    const every = this.config.eval.interval;
    return every !== null && !this.intervalBroken && !this.stop.requested && step % every === 0 && step < totalSteps;
  }

  private options(runDir: string, engine: NativeEngine, step: number, final: boolean, sink: EventSink): RunEvalOptions {
    const { config } = this;
    const settings = final ? this.settings! : { ...this.settings!, limit: config.eval.interval_limit };
    let lastLog = 0;
    return {
      runDir,
      engine,
      tokenizer: loadTokenizer(config.model.checkpoint),
      checkpoint: config.model.checkpoint,
      adapter: 'final',
      adapterPath: config.train.method === 'lora' ? `${runDir}/adapter` : null,
      step,
      settings,
      includeBase: config.eval.include_base,
      method: config.train.method === 'full' ? 'full' : 'lora',
      baseEngineOptions: { ...this.engineOptions, method: 'full', training: false },
      engineKey: {
        precision: this.engineOptions.precision,
        quantize: this.engineOptions.quantize ?? 'none',
        device: this.engineOptions.device ?? 'cpu',
      },
      final,
      isStopped: () => this.stop.requested,
      onEngine: (e) => {
        if (e) this.active.push(e);
        else this.active = this.active.filter((x) => x === engine);
      },
      onProgress: final
        ? (p) => {
            const now = Date.now();
            if (now - lastLog < 5000 && p.done < p.total) return;
            lastLog = now;
            sink.log(runDir, 'info', `evaluating${p.phase === 'base' ? ' the base model' : ''}: ${p.done}/${p.total} requests`);
          }
        : undefined,
    };
  }

  /** Scores the final adapter; returns summary.eval (completed, stopped or failed) and appends the eval lines. */
  async final(runDir: string, engine: NativeEngine, step: number, metrics: MetricsWriter, sink: EventSink): Promise<EvalSummary> {
    const startedMs = Date.now();
    const options = this.options(runDir, engine, step, true, sink);
    sink.log(runDir, 'info', `evaluating the final adapter: ${options.settings.tasks.join(', ')}`);
    this.active = [engine];
    try {
      const result = await evaluateRunAdapter(options, startedMs);
      for (const line of result.lines) metrics.append(line);
      const scores = Object.entries(result.summary.tasks).map(([t, s]) => `${t} ${s.metric} ${s.value.toFixed(4)}`);
      sink.log(runDir, 'info', `evaluation: ${scores.join(', ')} (${result.summary.resultsFile})`);
      return result.summary;
    } catch (error) {
      if ((error as { code?: string }).code === 'E_ABORTED') {
        sink.log(runDir, 'info', 'evaluation stopped; the trained adapter is kept');
        return unfinishedSummary('stopped', options, startedMs);
      }
      const runError = toRunError(error, runDir);
      sink.log(runDir, 'warn', `evaluation failed (the trained adapter is kept): ${runError.code}: ${runError.message}`);
      return unfinishedSummary('failed', options, startedMs, runError);
    } finally {
      this.active = [];
    }
  }

  /** Scores the adapter at `step` with the small interval limit and appends 'eval' lines (final: false). */
  async interval(runDir: string, engine: NativeEngine, step: number, metrics: MetricsWriter, sink: EventSink): Promise<void> {
    this.active = [engine];
    try {
      const result = await evaluateRunAdapter(this.options(runDir, engine, step, false, sink));
      for (const line of result.lines) metrics.append(line);
    } catch (error) {
      if ((error as { code?: string }).code === 'E_ABORTED') return; // a stop: the loop saves and stops next
      const runError = toRunError(error, runDir);
      this.intervalBroken = true;
      sink.log(runDir, 'warn', `evaluation at step ${step} failed, no more interval evaluations: ${runError.code}: ${runError.message}`);
    } finally {
      this.active = [];
    }
  }
}
