// Turns what can go wrong in a run into a RunError with a stable code, a message and a hint.
import type { RunError } from '../protocol';

export class TrainingError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const HINTS: Record<string, string> = {
  E_NONFINITE_LOSS:
    'Lower train.learning_rate, raise train.warmup_steps, keep train.grad_clip at 1.0, or use model.precision 32-true; also check that not every label is masked (data.mask_prompt with very long prompts).',
  E_NO_TARGETS: 'Every label of a batch is masked: lower data.max_seq_length truncation of responses or turn off data.mask_prompt.',
  E_OUT_OF_MEMORY:
    'Lower train.micro_batch_size or data.max_seq_length, turn on train.gradient_checkpointing, or use model.quantize bnb.nf4.',
  E_DISK_FULL:
    'Free disk space where out_dir points (or move out_dir), or lower train.keep_checkpoints; then `lora-lab train --resume RUN_DIR` continues from the last checkpoint.',
  E_RUN_LOCKED: 'Wait for the other trainer of this run folder to end, or stop it.',
  E_PICKLE_CHECKPOINT:
    'Convert the checkpoint to safetensors (for example with transformers: model.save_pretrained(dir, safe_serialization=True)).',
  E_NO_CUDA:
    'Set device: cpu (or auto, which picks a usable GPU and otherwise the CPU); `lora-lab doctor` says why no CUDA device is usable here.',
  E_DEVICE_INVALID: 'Set device to auto, cpu, cuda or cuda:N (N the GPU index that `lora-lab doctor` lists).',
  E_PRECISION_UNSUPPORTED: 'Set model.precision to bf16-true (both engines) or 32-true (CPU only).',
  E_CHECKPOINT_NOT_FOUND: 'Point model.checkpoint at a Hugging Face folder with config.json, *.safetensors and tokenizer.json.',
};

/** Whether `error` is a full disk: Node's ENOSPC, or the engine's message for it. */
export function isDiskFull(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return (
    e?.code === 'ENOSPC' ||
    e?.code === 'E_DISK_FULL' ||
    (typeof e?.message === 'string' && /ENOSPC|No space left on device/i.test(e.message))
  );
}

export function toRunError(error: unknown, runDir?: string): RunError {
  const e = error as { code?: unknown; message?: unknown; hint?: unknown; where?: unknown; path?: unknown };
  if (isDiskFull(error) && e?.code !== 'E_DISK_FULL') {
    const where = typeof e?.path === 'string' ? e.path : runDir;
    return {
      code: 'E_DISK_FULL',
      message: `the disk is full${where ? ` writing in ${where}` : ''} (${String(e?.message ?? error)})`,
      hint: HINTS.E_DISK_FULL,
    };
  }
  const code = typeof e?.code === 'string' && e.code ? e.code : 'E_TRAINER';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const hint = typeof e?.hint === 'string' ? e.hint : HINTS[code];
  return hint ? { code, message, hint } : { code, message };
}
