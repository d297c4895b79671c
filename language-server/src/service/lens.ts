// Code lens on the first line: trainable / total parameters from the checkpoint's config.json (one
// lens per sweep variant, or the range for a large sweep) and the estimator's peak memory and time, on
// the data's longest example once the server has read it (lib/data-facts.ts), else on max_seq_length;
// while the file has errors one lens instead ("fix N problems to estimate": numbers of the defaults
// would mislead); and on the `data:` key a lens that opens the dataset panel.
import { availableParallelism } from 'node:os';
import type { CodeLens } from 'vscode-languageserver-types';
import { joinPath, type LoraLabConfig } from '../config';
import { estimateConfig, estimateLayout, type Calibration, type DataFactsResult, type ParamEstimate } from '../estimator';
import { formatBytes, formatCompact, formatCount, formatDuration, formatShare } from '../lib/format';
import type { ConfigAnalysis } from './analysis';
import { checkpointParams } from './checkpoint';
import { displayJson } from './hover';

/** Sweeps up to this many variants get one lens each; larger ones one lens with the range. */
export const MAX_VARIANT_LENSES = 8;

/** The measured throughput of a device kind (from `lora-lab calibrate`), or null: "uncalibrated". */
export type CalibrationLookup = (device: 'cpu' | 'cuda') => Calibration | null;

const FIRST_LINE = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

/** A title-only lens: LSP lenses carry their title in a command; an empty command id is not clickable. */
function titleLens(title: string): CodeLens {
  return { range: FIRST_LINE, command: { title, command: '' } };
}

/** The extension's command that opens the estimator's trade-off table beside the config. */
export const SHOW_TRADEOFFS_COMMAND = 'loraLab.showTradeoffs';

function tradeoffLens(title: string, filePath: string): CodeLens {
  return { range: FIRST_LINE, command: { title, command: SHOW_TRADEOFFS_COMMAND, arguments: [`file://${encodeURI(filePath)}`] } };
}

/** The extension's command that opens the dataset panel of a config. */
export const INSPECT_DATASET_COMMAND = 'loraLab.inspectDataset';

/** "Inspect dataset" on the `data:` key, when the file has a data section. */
export function dataLenses(analysis: ConfigAnalysis): CodeLens[] {
  const location = analysis.parsed.locations.get('data');
  if (!location) return [];
  const { start } = location.keyRange;
  const range = { start, end: start };
  return [
    {
      range,
      command: {
        title: 'Inspect dataset: token lengths, truncation, masking, rejected rows',
        command: INSPECT_DATASET_COMMAND,
        arguments: [`file://${encodeURI(analysis.filePath)}`],
      },
    },
  ];
}

const countsOf = checkpointParams;

/** Trainable of the checkpoint's own parameters (the engine's total adds the adapter; the article quotes this). */
function describeCounts(counts: ParamEstimate, method: LoraLabConfig['train']['method']): string {
  const what = method === 'full' ? 'full finetune' : 'LoRA';
  return `Trainable ${formatCount(counts.trainable)} / ${formatCount(counts.base)} parameters (${formatShare(counts.trainable, counts.base)}, ${what})`;
}

function describeOverrides(overrides: Record<string, unknown>): string {
  return Object.entries(overrides)
    .map(([key, value]) => `${key}=${displayJson(value)}`)
    .join(', ');
}

/** The data facts of a config for the lens: known, 'pending' (being read; the lenses refresh) or why not. */
export type DataFactsLookup = (config: LoraLabConfig) => DataFactsResult | 'pending';

const DATA_NOT_READ: DataFactsLookup = () => ({ error: 'not read' });

/** Peak memory and time of one config: the same estimate as `lora-lab estimate` (the data's longest example when known). */
export function estimateText(
  analysis: ConfigAnalysis,
  config: LoraLabConfig,
  calibrationOf: CalibrationLookup,
  dataFactsOf: DataFactsLookup = DATA_NOT_READ,
): string {
  const fs = analysis.fs;
  if (!fs) return 'Peak memory and time: unknown (the file checks are off for this document)';
  const device = estimateLayout(config.device);
  const readModel = () => {
    const path = joinPath(config.model.checkpoint, 'config.json');
    try {
      return JSON.parse(fs.readFile(path)) as unknown;
    } catch {
      throw new Error(`${path} cannot be read`);
    }
  };
  const result = estimateConfig(config, readModel, {
    device,
    dataFacts: dataFactsOf(config),
    calibration: () => calibrationOf(device),
    threads: availableParallelism(),
  });
  if (!result.estimate) return `Peak memory and time: unknown (${result.error})`;
  const { memory, time: timeEstimate } = result.estimate;
  const m = memory.bytesByCategory;
  const weights = (m.weights ?? 0) + (m.quant_constants ?? 0);
  const training = (m.lora_params ?? 0) + (m.grads ?? 0) + (m.optimizer_state ?? 0);
  const time =
    timeEstimate.seconds === null
      ? timeEstimate.steps === null
        ? 'time: set train.max_steps or open the data'
        : result.calibrationError
          ? `time: not priced (${result.calibrationError})`
          : 'time: uncalibrated (run lora-lab calibrate)'
      : `time ≈ ${formatDuration(timeEstimate.seconds)} for ${timeEstimate.steps} steps`;
  const sequence =
    result.seqLenSource === 'data' ? '' : ` · at max_seq_length (data ${result.dataNote === 'being read' ? 'being read' : 'not read'})`;
  return `Peak ≈ ${formatBytes(memory.peakBytes)} on ${device} (weights ${formatBytes(weights)}, params+grads+optimizer ${formatBytes(training)}, activations ${formatBytes(m.activations ?? 0)}) · ${time}${sequence}`;
}

/** The lenses of the document: its first line's, then the data section's. */
export function codeLenses(
  analysis: ConfigAnalysis,
  calibrationOf: CalibrationLookup = () => null,
  dataFactsOf: DataFactsLookup = DATA_NOT_READ,
): CodeLens[] {
  return [...firstLineLenses(analysis, calibrationOf, dataFactsOf), ...dataLenses(analysis)];
}

/** VS Code's command that opens the Problems panel (the lens of a config with errors runs it). */
export const SHOW_PROBLEMS_COMMAND = 'workbench.actions.view.problems';

/** The lens of a config with errors: the estimate of what is written cannot be trusted until they are fixed. */
function fixProblemsLens(errors: number): CodeLens {
  return {
    range: FIRST_LINE,
    command: {
      title: `Estimate: fix ${errors} problem${errors === 1 ? '' : 's'} to estimate parameters, memory and time`,
      command: SHOW_PROBLEMS_COMMAND,
    },
  };
}

function firstLineLenses(analysis: ConfigAnalysis, calibrationOf: CalibrationLookup, dataFactsOf: DataFactsLookup): CodeLens[] {
  const { config, variants, problems } = analysis.parsed;
  const errors = problems.filter((problem) => problem.severity === 'error').length;
  if (errors > 0) return [fixProblemsLens(errors)];
  const estimateLens = (c: LoraLabConfig, prefix = '') =>
    tradeoffLens(prefix + estimateText(analysis, c, calibrationOf, dataFactsOf), analysis.filePath);
  if (config.sweep.length === 0) {
    const counts = countsOf(analysis, config);
    return [
      titleLens(typeof counts === 'string' ? `Parameters: unknown (${counts})` : describeCounts(counts, config.train.method)),
      estimateLens(config),
    ];
  }
  if (variants.length === 0) return [titleLens('Sweep: no valid variant (see the problems)')];
  const perVariant = variants.map((variant) => ({ variant, counts: countsOf(analysis, variant.config) }));
  if (variants.length <= MAX_VARIANT_LENSES) {
    const lenses = perVariant.map(({ variant, counts }) =>
      titleLens(
        `Variant ${variant.index} (${describeOverrides(variant.overrides)}): ${typeof counts === 'string' ? `parameters unknown (${counts})` : `trainable ${formatCompact(counts.trainable)} / ${formatCompact(counts.base)} (${formatShare(counts.trainable, counts.base)})`}`,
      ),
    );
    return [...lenses, ...variants.map((variant) => estimateLens(variant.config, `Variant ${variant.index}: `))];
  }
  const known = perVariant.map(({ counts }) => counts).filter((counts): counts is ParamEstimate => typeof counts !== 'string');
  if (known.length === 0) return [titleLens(`Sweep of ${variants.length} variants: parameters unknown (${String(perVariant[0].counts)})`)];
  const trainable = known.map((counts) => counts.trainable);
  const totals = [...new Set(known.map((counts) => counts.base))];
  const totalText =
    totals.length === 1 ? formatCompact(totals[0]) : `${formatCompact(Math.min(...totals))} … ${formatCompact(Math.max(...totals))}`;
  return [
    titleLens(
      `Sweep of ${variants.length} variants: trainable ${formatCompact(Math.min(...trainable))} … ${formatCompact(Math.max(...trainable))} / ${totalText} parameters`,
    ),
    estimateLens(variants[0].config, `Variant 0 of ${variants.length} (all in the trade-off table): `),
  ];
}
