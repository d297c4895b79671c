// Which `--set` keys `lora-lab train --resume RUN --set key=value` accepts: those that keep the
// checkpoint's state compatible (learning rate and schedule, run length, intervals, clipping).
// Keys that change the model's, adapter's or optimizer's shapes, or the data the checkpoint's
// position refers to, are refused naming the key.
import { ConfigError } from '../../../language-server/src/config/types';

export const RESUME_SETTABLE_KEYS: readonly string[] = [
  'train.learning_rate',
  'train.min_lr',
  'train.lr_scheduler',
  'train.warmup_steps',
  'train.max_steps',
  'train.epochs',
  'train.grad_clip',
  'train.weight_decay',
  'train.log_interval',
  'train.val_interval',
  'train.save_interval',
  'train.keep_checkpoints',
];

/** Throws a ConfigError naming the first `--set` key that a resume cannot honour. */
export function checkResumeSets(sets: readonly string[], runDir: string): void {
  for (const assignment of sets) {
    const key = assignment.slice(0, Math.max(0, assignment.indexOf('='))).trim();
    if (!key || RESUME_SETTABLE_KEYS.includes(key)) continue;
    throw new ConfigError(
      `--set ${assignment}: '${key}' cannot change on --resume ${runDir}: the checkpoint's state (model, adapter and optimizer shapes, data order) was made with the old value. ` +
        `On resume only these keys can change: ${RESUME_SETTABLE_KEYS.join(', ')}. Start a new run to change '${key}'.`,
    );
  }
}
