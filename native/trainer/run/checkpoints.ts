// Checkpoints in <run>/checkpoints/step-NNNNNN/: PEFT adapter + engine state + trainer cursor,
// written to a temp folder and renamed; older ones pruned only after the newer one is complete;
// free disk space checked first.
import { existsSync, mkdirSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFolderAtomic, writeJsonAtomic } from './atomic';

export interface TrainerCursor {
  step: number;
  epoch: number;
  tokensSeen: number;
  elapsedS: number;
  lastTrainLoss: number | null;
  lastValLoss: number | null;
}

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/** Complete checkpoints (renamed into place), oldest first. */
export function listCheckpoints(runDir: string): { step: number; path: string }[] {
  const dir = join(runDir, 'checkpoints');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => /^step-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), path: join(dir, m[0]) }))
    .filter((c) => existsSync(join(c.path, 'cursor.json')))
    .sort((a, b) => a.step - b.step);
}

export function freeBytes(path: string): number {
  const stats = statfsSync(path);
  return Number(stats.bavail) * Number(stats.bsize);
}

export class DiskFullError extends Error {
  readonly code = 'E_DISK_FULL';
  constructor(
    readonly path: string,
    readonly neededBytes: number,
    readonly freeBytes: number,
  ) {
    super(`not enough free disk space for a checkpoint in ${path}: about ${neededBytes} bytes needed, ${freeBytes} free`);
  }
}

/**
 * Writes checkpoint `step` with `save(dir)` (adapter + state), then the cursor last, so a folder
 * without cursor.json is never taken for a checkpoint; then prunes to `keep`.
 */
export async function saveCheckpoint(
  runDir: string,
  cursor: TrainerCursor,
  keep: number,
  estimatedBytes: number,
  save: (dir: string) => Promise<void>,
): Promise<string> {
  const root = join(runDir, 'checkpoints');
  mkdirSync(root, { recursive: true });
  const free = freeBytes(root);
  const needed = Math.ceil(estimatedBytes * 1.1) + 1024 * 1024;
  if (free < needed) throw new DiskFullError(root, needed, free);
  const path = join(root, checkpointName(cursor.step));
  rmSync(path, { recursive: true, force: true });
  await writeFolderAtomic(path, async (temp) => {
    mkdirSync(temp, { recursive: true });
    await save(temp);
    writeJsonAtomic(join(temp, 'cursor.json'), cursor);
  });
  const all = listCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - Math.max(1, keep)))) rmSync(old.path, { recursive: true, force: true });
  return path;
}
