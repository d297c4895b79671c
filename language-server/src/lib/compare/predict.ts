// The prediction the comparison shows for a resolved config: the one estimate (estimateConfig) with
// the data facts and the newest calibration, as the code lens and `lora-lab estimate` make it.
import * as fs from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { estimateConfig, estimateLayout } from '../../estimator';
import type { LoraLabConfig } from '../../config/types';
import { newestCalibration } from '../calibration-file';
import type { DataFactsCache } from '../data-facts';
import { parseConfig } from '../../config/parse';
import { hubCacheDir, nodeFileSystem } from '../../config/node-fs';
import { matchKey, settingsOf, type PredictedCost, type VariantFacts } from './facts';

/** The one estimate of a config read from files: its checkpoint's config.json, the data facts and the newest calibration. */
export function estimateFromFiles(config: LoraLabConfig, dataFacts: DataFactsCache): ReturnType<typeof estimateConfig> {
  const device = estimateLayout(config.device);
  const readModel = (): unknown => {
    try {
      return JSON.parse(fs.readFileSync(path.join(config.model.checkpoint, 'config.json'), 'utf8'));
    } catch {
      throw new Error(`${config.model.checkpoint}/config.json cannot be read`);
    }
  };
  return estimateConfig(config, readModel, {
    device,
    dataFacts: dataFacts.get(config),
    calibration: () => newestCalibration(device),
    threads: availableParallelism(),
  });
}

/** The predicted cost of a config, or the estimator's reason why there is none. */
export function predictCost(config: LoraLabConfig, dataFacts: DataFactsCache): { predicted: PredictedCost | null; error?: string } {
  const result = estimateFromFiles(config, dataFacts);
  if (!result.estimate) return { predicted: null, error: result.error };
  const { params, memory, time } = result.estimate;
  const m = memory.bytesByCategory;
  return {
    predicted: {
      trainableParams: params.trainable,
      totalParams: params.total,
      peakBytes: memory.peakBytes,
      weightsBytes: (m.weights ?? 0) + (m.quant_constants ?? 0),
      trainStateBytes: (m.lora_params ?? 0) + (m.grads ?? 0) + (m.optimizer_state ?? 0),
      activationsBytes: m.activations ?? 0,
      timeS: time.seconds,
      steps: time.steps,
    },
  };
}

/** A config file's variants (one without a sweep) with their settings, match keys and predictions. */
export function variantFacts(
  configPath: string,
  text: string,
  dataFacts: DataFactsCache,
): { variants: VariantFacts[]; baseModel: string | null; outDirs: string[]; configError?: string } {
  const parsed = parseConfig(text, configPath, nodeFileSystem, { hubCache: hubCacheDir() });
  const syntax = parsed.problems.find((p) => p.code === 'yaml-syntax');
  if (syntax)
    return {
      variants: [],
      baseModel: null,
      outDirs: [],
      configError: `${path.basename(configPath)} line ${syntax.range.start.line + 1}: ${syntax.message}`,
    };
  const list = parsed.config.sweep.length > 0 ? parsed.variants : [{ index: null, overrides: {}, config: parsed.config }];
  const variants = list.map((variant): VariantFacts => {
    const { predicted, error } = predictCost(variant.config, dataFacts);
    return {
      index: variant.index,
      overrides: variant.overrides,
      settings: settingsOf(variant.config),
      matchKey: matchKey(variant.config),
      predicted,
      ...(error ? { error } : {}),
    };
  });
  const configError =
    parsed.config.sweep.length > 0 && parsed.variants.length === 0 ? 'the sweep has no valid variant: see the Problems panel' : undefined;
  const outDirs = [...new Set(list.map((variant) => variant.config.out_dir))];
  return { variants, baseModel: path.basename(parsed.config.model.checkpoint), outDirs, ...(configError ? { configError } : {}) };
}
