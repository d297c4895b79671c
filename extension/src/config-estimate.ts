// One config's estimate in the host, the same path as the code lens and `lora-lab estimate`
// (estimateConfig with the data facts and the newest calibration): used by the trade-off view and
// by Start's confirmation of a large sweep (its estimated total time).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { newestCalibration } from '../../language-server/src/lib/calibration-file';
import { estimateConfig, estimateLayout } from '../../language-server/src/estimator';
import { DataFactsCache } from '../../language-server/src/lib/data-facts';
import type { LoraLabConfig } from '../../language-server/src/config/types';

/** The data facts of the configs estimated, per data file + tokenizer. */
const dataFacts = new DataFactsCache();

export function estimateOf(config: LoraLabConfig): ReturnType<typeof estimateConfig> {
  const device = estimateLayout(config.device);
  const readModel = (): unknown => {
    try {
      return JSON.parse(fs.readFileSync(path.join(config.model.checkpoint, 'config.json'), 'utf8'));
    } catch {
      throw new Error(`${config.model.checkpoint}/config.json cannot be read`);
    }
  };
  return estimateConfig(config, readModel, { device, dataFacts: dataFacts.get(config), calibration: newestCalibration(device) });
}

/** The estimated training time of several configs (a sweep's variants): the sum and how many have none. */
export function totalTimeOf(configs: readonly LoraLabConfig[]): { seconds: number; unknown: number; reason?: string } {
  let seconds = 0;
  let unknown = 0;
  let reason: string | undefined;
  for (const config of configs) {
    const result = estimateOf(config);
    const time = result.estimate?.time;
    if (time && time.seconds !== null) {
      seconds += time.seconds;
      continue;
    }
    unknown++;
    reason ??= result.error ?? (time?.steps === null ? 'set train.max_steps' : 'no calibration: run "LoRA Lab: Calibrate"');
  }
  return { seconds, unknown, reason };
}
