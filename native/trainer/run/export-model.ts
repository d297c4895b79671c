// Turns the trained weights of a full finetune (the "param/<HF name>" tensors of the engine's
// state.safetensors) into a Hugging Face folder: model.safetensors in the base checkpoint's dtype,
// config.json (torch_dtype set to the written dtype) and the tokenizer files from the base.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors, type StoredDType } from '../io/safetensors';
import { writeFolderAtomic } from './atomic';

const COPIED = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'];

export function storedDType(checkpointDir: string): StoredDType {
  const config = JSON.parse(readFileSync(join(checkpointDir, 'config.json'), 'utf8')) as { torch_dtype?: string };
  return config.torch_dtype === 'float32' ? 'F32' : 'BF16';
}

export async function exportFullModel(
  stateDir: string,
  baseCheckpoint: string,
  outDir: string,
  dtype: StoredDType = storedDType(baseCheckpoint),
): Promise<void> {
  const params = readSafetensors(join(stateDir, 'state.safetensors'))
    .filter((t) => t.name.startsWith('param/'))
    .map((t) => ({ ...t, name: t.name.slice('param/'.length) }));
  if (params.length === 0)
    throw Object.assign(new Error(`${stateDir}: no trained parameters in state.safetensors (was this a full finetune?)`), {
      code: 'E_STATE_MISMATCH',
    });
  await writeFolderAtomic(outDir, async (temp) => {
    mkdirSync(temp, { recursive: true });
    writeSafetensors(join(temp, 'model.safetensors'), params, dtype);
    const config = JSON.parse(readFileSync(join(baseCheckpoint, 'config.json'), 'utf8')) as Record<string, unknown>;
    config.torch_dtype = dtype === 'F32' ? 'float32' : 'bfloat16';
    writeFileSync(join(temp, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    for (const file of COPIED) if (existsSync(join(baseCheckpoint, file))) copyFileSync(join(baseCheckpoint, file), join(temp, file));
  });
}
