// The estimated total training time of several configs (a sweep's variants) for Start's confirmation
// of a large sweep, through the one estimate the comparison panel and the code lens use.
import { estimateFromFiles } from '../../language-server/src/lib/compare/predict';
import { DataFactsCache } from '../../language-server/src/lib/data-facts';
import type { LoraLabConfig } from '../../language-server/src/config/types';

/** The data facts of the configs estimated, per data file + tokenizer. */
const dataFacts = new DataFactsCache();

/** The estimated training time of several configs (a sweep's variants): the sum and how many have none. */
export function totalTimeOf(configs: readonly LoraLabConfig[]): { seconds: number; unknown: number; reason?: string } {
  let seconds = 0;
  let unknown = 0;
  let reason: string | undefined;
  for (const config of configs) {
    const result = estimateFromFiles(config, dataFacts);
    const time = result.estimate?.time;
    if (time && time.seconds !== null) {
      seconds += time.seconds;
      continue;
    }
    unknown++;
    reason ??=
      result.error ??
      result.calibrationError ??
      (time?.steps === null ? 'set train.max_steps' : 'no calibration: run "LoRA Lab: Calibrate"');
  }
  return { seconds, unknown, reason };
}
