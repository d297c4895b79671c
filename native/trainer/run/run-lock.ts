// The single-writer lock of a run folder: <run>/.lock holds the trainer's pid and process start
// time, created exclusively (link of a complete temp file). A lock whose holder is gone (dead pid, or a reused pid with another
// start time: the rule the run-folder reader uses for crashed runs) is stale and taken over; a
// live holder makes the second trainer fail with E_RUN_LOCKED naming it.
import { closeSync, linkSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { checkProcess } from '../../../language-server/src/lib/run-folder/reader';
import { openExclusive, tempSibling } from './atomic';
import { TrainingError } from './failures';
import { processStartMs } from './run-record';

export const LOCK_FILE = '.lock';

interface LockHolder {
  pid: number;
  processStartMs: number;
  acquiredMs: number;
}

export class RunLock {
  private constructor(readonly path: string) {}

  /** Takes the lock of `runDir` or throws E_RUN_LOCKED naming the live holder. */
  static acquire(runDir: string): RunLock {
    const path = join(runDir, LOCK_FILE);
    const holder: LockHolder = { pid: process.pid, processStartMs: processStartMs(), acquiredMs: Date.now() };
    for (let attempt = 0; attempt < 10; attempt++) {
      // written complete under a temp name, then hard-linked to the lock name: link() fails if the
      // name exists, so the lock is created exclusively and is never seen half-written
      const temp = tempSibling(path);
      const fd = openExclusive(temp);
      try {
        writeSync(fd, JSON.stringify(holder) + '\n');
      } finally {
        closeSync(fd);
      }
      try {
        linkSync(temp, path);
        return new RunLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        rmSync(temp, { force: true });
      }
      const found = readHolder(path);
      if (found && checkProcess(found.pid, found.processStartMs) === 'alive') throw lockedError(runDir, path, found);
      takeOverStale(path, found);
    }
    throw new TrainingError(
      'E_RUN_LOCKED',
      `${path}: could not take the run lock (it keeps being replaced)`,
      'Another trainer is starting on this run folder; try again when it has ended.',
    );
  }

  release(): void {
    const holder = readHolder(this.path);
    if (holder?.pid === process.pid) rmSync(this.path, { force: true });
  }
}

function lockedError(runDir: string, path: string, holder: LockHolder): TrainingError {
  return new TrainingError(
    'E_RUN_LOCKED',
    `${runDir} is in use by another trainer: pid ${holder.pid}, started ${new Date(holder.processStartMs).toISOString()}, holding ${path} since ${new Date(holder.acquiredMs).toISOString()}`,
    `Wait for that run to end or stop it (Runs view, or kill ${holder.pid}); two trainers must never write one run folder.`,
  );
}

/**
 * Moves a stale lock aside. If what was moved is not the stale lock that was read (another
 * trainer took the lock over in between), it is linked back so that trainer keeps it.
 */
function takeOverStale(path: string, stale: LockHolder | null): void {
  const aside = tempSibling(path, 'old');
  try {
    renameSync(path, aside);
  } catch {
    return; // gone already: another trainer is taking it over; retry
  }
  const moved = readHolder(aside);
  const same = moved === null ? stale === null : stale !== null && moved.pid === stale.pid && moved.acquiredMs === stale.acquiredMs;
  if (!same) {
    try {
      linkSync(aside, path);
    } catch {
      // a third trainer created one in between: it holds the lock; our retry sees it
    }
  }
  rmSync(aside, { force: true });
}

function readHolder(path: string): LockHolder | null {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return Number.isInteger(value?.pid) && typeof value.processStartMs === 'number' ? value : null;
  } catch {
    return null;
  }
}
