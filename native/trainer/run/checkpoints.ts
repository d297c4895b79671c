// Checkpoints in <run>/checkpoints/step-NNNNNN/: PEFT adapter + engine state + trainer cursor,
// written to a temp folder and swapped in (a re-save of the same step keeps the old folder until
// the new one is complete); older ones pruned only after the newer one is complete, each renamed
// aside before deletion so a half-deleted one is never listed; free disk space checked first
// against the measured size of the last checkpoint plus 10% and 64 KiB.
import { existsSync, lstatSync, mkdirSync, readdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile, RunFolderError } from '../../../language-server/src/lib/run-folder/reader';
import { removeFolder, writeFolderAtomic, writeJsonAtomic } from './atomic';
import { TrainingError } from './failures';

export interface TrainerCursor {
  step: number;
  epoch: number;
  tokensSeen: number;
  elapsedS: number;
  lastTrainLoss: number | null;
  lastValLoss: number | null;
  /** Step of the validation pass that gave lastValLoss (absent in checkpoints of older trainers). */
  lastValStep?: number | null;
}

/** cursor.json of a checkpoint; a damaged one is an error naming the file. */
export function readCursor(checkpointDir: string): TrainerCursor {
  const file = join(checkpointDir, 'cursor.json');
  const value = readJsonFile(file) as Partial<TrainerCursor> | null;
  if (
    typeof value !== 'object' ||
    value === null ||
    !Number.isInteger(value.step) ||
    typeof value.tokensSeen !== 'number' ||
    typeof value.elapsedS !== 'number'
  ) {
    throw new RunFolderError(
      file,
      'is not a checkpoint cursor (step, tokensSeen, elapsedS); the checkpoint is damaged: delete this checkpoint folder to resume from the one before',
    );
  }
  return value as TrainerCursor;
}

/** Bytes on disk of a folder tree (what a checkpoint really takes). */
export function folderBytes(path: string): number {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return stat.size;
  let total = 0;
  for (const name of readdirSync(path)) total += folderBytes(join(path, name));
  return total;
}

/**
 * Free space a checkpoint needs: the last one's measured size (else the estimate) + 10% + 64 KiB
 * (the fixed 1 MiB margin before asked 4.7x a tiny model's real checkpoint).
 */
export function checkpointSpaceNeeded(lastBytes: number | null, estimatedBytes: number): number {
  return Math.ceil((lastBytes ?? estimatedBytes) * 1.1) + 64 * 1024;
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

export class DiskFullError extends TrainingError {
  constructor(
    readonly path: string,
    readonly neededBytes: number,
    readonly freeBytes: number,
  ) {
    super('E_DISK_FULL', `not enough free disk space for a checkpoint in ${path}: about ${neededBytes} bytes needed, ${freeBytes} free`);
  }
}

/**
 * Writes checkpoint `step` with `save(dir)` (adapter + state), then the cursor last, so a folder
 * without cursor.json is never taken for a checkpoint; then prunes to `keep`. `lastBytes` is the
 * measured size of the previous checkpoint (null before the first). Returns the path and its size.
 */
export async function saveCheckpoint(
  runDir: string,
  cursor: TrainerCursor,
  keep: number,
  space: { lastBytes: number | null; estimatedBytes: number },
  save: (dir: string) => Promise<void>,
): Promise<{ path: string; bytes: number }> {
  const root = join(runDir, 'checkpoints');
  mkdirSync(root, { recursive: true });
  const free = freeBytes(root);
  const needed = checkpointSpaceNeeded(space.lastBytes, space.estimatedBytes);
  if (free < needed) throw new DiskFullError(root, needed, free);
  const path = join(root, checkpointName(cursor.step));
  await writeFolderAtomic(path, async (temp) => {
    mkdirSync(temp, { recursive: true });
    await save(temp);
    writeJsonAtomic(join(temp, 'cursor.json'), cursor);
  });
  const bytes = folderBytes(path);
  const all = listCheckpoints(runDir);
  for (const old of all.slice(0, Math.max(0, all.length - Math.max(1, keep)))) if (old.path !== path) removeFolder(old.path);
  return { path, bytes };
}
