// The base-model score cache: per task, the results of scoring a checkpoint without an adapter,
// keyed by the checkpoint's safetensors / tokenizer files (names, sizes, modification times), the
// engine's numeric settings and the task settings (task, profile, shots, limit, BOS), so the base
// row of a comparison is computed once per model. One JSON file per key, written atomically.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeJsonAtomic } from '../run/atomic';
import type { CachedTask, EvalSettings } from './runner';

const FORMAT = 1;

export function defaultEvalCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LORALAB_EVAL_CACHE) return env.LORALAB_EVAL_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'lora-lab', 'eval');
}

/** Names, sizes and modification times of the files that decide the scores. */
export function checkpointFingerprint(checkpoint: string): [string, number, number][] {
  return readdirSync(checkpoint)
    .filter((name) => name.endsWith('.safetensors') || name === 'config.json' || name.startsWith('tokenizer'))
    .sort()
    .map((name) => {
      const st = statSync(join(checkpoint, name));
      return [name, st.size, Math.round(st.mtimeMs)];
    });
}

export function baseCacheKey(checkpoint: string, engine: Record<string, unknown>, task: string, settings: EvalSettings): string {
  const parts = {
    format: FORMAT,
    files: checkpointFingerprint(checkpoint),
    engine,
    task,
    profile: settings.profile,
    shots: settings.numFewshot,
    limit: settings.limit,
    bos: settings.bos,
  };
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export function readCached(cacheDir: string, key: string): CachedTask | null {
  const path = join(cacheDir, `${key.slice(0, 40)}.json`);
  if (!existsSync(path)) return null;
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as { key: string; task: CachedTask };
    return value.key === key ? value.task : null;
  } catch {
    return null; // a damaged entry is recomputed and overwritten
  }
}

export function writeCached(cacheDir: string, key: string, task: CachedTask): void {
  mkdirSync(cacheDir, { recursive: true });
  writeJsonAtomic(join(cacheDir, `${key.slice(0, 40)}.json`), { key, task });
}
