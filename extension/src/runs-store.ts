// The host's picture of every run folder: reads run.json and tails metrics.jsonl incrementally,
// derives state (crashed) and ETA, and reports new metrics lines for open dashboards. No VS Code.
import * as path from 'node:path';
import type { MetricsLine } from '../../native/trainer/protocol';
import { estimateEtaS } from '../../language-server/src/lib/eta';
import type { ConfigSummary } from '../../webview/src/protocol';
import { readRunConfig, sweepPlanOf } from './config-file';
import {
  checkProcess,
  listRunDirs,
  MetricsTail,
  readRunJson,
  runState,
  type ProcessCheck,
} from '../../language-server/src/lib/run-folder/reader';
import { hasAdapter, listRunCheckpoints, readRunLabel } from './run-folder';
import type { RunView } from './runs-model';
import { Signal } from './signal';

/** Train points kept per run for the ETA (the pace over the last ones). */
const RECENT_POINTS = 64;

interface Entry {
  tail: MetricsTail;
  steps: number[];
  elapsedS: number[];
  lastTrainLoss?: number;
  lastValLoss?: number;
  lastPeakBytes?: number;
  config: ConfigSummary | null;
  settings?: Record<string, string>;
  view?: RunView;
}

export class RunsStore {
  private readonly entries = new Map<string, Entry>();
  private current: RunView[] = [];
  /** New complete metrics lines of a run folder (reset: the file was rewritten). */
  readonly onLines = new Signal<[dir: string, reset: boolean, lines: MetricsLine[]]>();

  constructor(private readonly check: (pid: number, startMs: number | undefined) => ProcessCheck = checkProcess) {}

  views(): readonly RunView[] {
    return this.current;
  }

  view(dir: string): RunView | undefined {
    return this.entries.get(path.resolve(dir))?.view;
  }

  /** Rereads the run folders under `folders` (each a folder of run folders). */
  refresh(folders: readonly string[], nowMs = Date.now()): readonly RunView[] {
    const seen = new Set<string>();
    const views: RunView[] = [];
    for (const rawDir of listRunDirs([...new Set(folders.map((f) => path.resolve(f)))])) {
      const dir = path.resolve(rawDir);
      seen.add(dir);
      let entry = this.entries.get(dir);
      if (!entry) {
        entry = { tail: new MetricsTail(path.join(dir, 'metrics.jsonl')), steps: [], elapsedS: [], config: null };
        this.entries.set(dir, entry);
      }
      const run = readRunJson(dir);
      if (!run) {
        if (entry.view) views.push(entry.view); // run.json is being replaced right now
        continue;
      }
      this.readMetrics(dir, entry);
      if (!entry.config) {
        const read = readRunConfig(dir);
        entry.config = read?.summary ?? null;
        entry.settings = read?.settings;
      }
      const state = runState(run, nowMs, this.check);
      // A sweep's trainer between variants: the finished variant's process still runs the next one.
      const trainerAlive = run.sweep && state !== 'running' ? this.check(run.pid, run.processStartMs) !== 'dead' : state === 'running';
      entry.view = {
        dir,
        run,
        state,
        hasAdapter: hasAdapter(dir),
        lastTrainLoss: entry.lastTrainLoss,
        lastValLoss: entry.lastValLoss,
        lastPeakBytes: entry.lastPeakBytes,
        lastElapsedS: entry.elapsedS.length ? entry.elapsedS[entry.elapsedS.length - 1] : undefined,
        etaS: state === 'running' ? estimateEtaS(entry.steps, entry.elapsedS, run.totalSteps) : null,
        config: entry.config,
        label: readRunLabel(dir),
        checkpoints: listRunCheckpoints(dir),
        settings: entry.settings,
        trainerAlive,
        sweepPlan: run.sweep ? sweepPlanOf(run.configPath) : undefined,
      };
      views.push(entry.view);
    }
    for (const dir of [...this.entries.keys()]) if (!seen.has(dir)) this.entries.delete(dir);
    this.current = views;
    return views;
  }

  private readMetrics(dir: string, entry: Entry): void {
    const { reset, lines } = entry.tail.read();
    if (reset) {
      entry.steps = [];
      entry.elapsedS = [];
      entry.lastTrainLoss = entry.lastValLoss = entry.lastPeakBytes = undefined;
    }
    for (const line of lines) {
      if (line.kind === 'train') {
        entry.steps.push(line.step);
        entry.elapsedS.push(line.elapsed_s);
        entry.lastTrainLoss = line.loss;
        entry.lastPeakBytes = Math.max(entry.lastPeakBytes ?? 0, line.peak_bytes);
      } else if (line.kind === 'val') {
        entry.lastValLoss = line.loss;
      }
    }
    if (entry.steps.length > RECENT_POINTS * 2) {
      entry.steps = entry.steps.slice(-RECENT_POINTS);
      entry.elapsedS = entry.elapsedS.slice(-RECENT_POINTS);
    }
    if (reset || lines.length) this.onLines.fire(dir, reset, lines);
  }
}
