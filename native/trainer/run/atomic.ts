// Atomic file and folder writes for the run folder: write a temp file, fsync, rename over the
// target, so a crash at any point leaves the old or the new version, never a torn one. Temp names
// carry the writer's pid and a random suffix and are created exclusively (O_EXCL, O_NOFOLLOW):
// a planted file or symlink is never written through. Temps of dead writers are removed on start / resume.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A name for a temp sibling of `path`: `.<name>.tmp-<pid>-<random>` (see leftoverWriterPid). */
export function tempSibling(path: string, kind: 'tmp' | 'old' = 'tmp'): string {
  return join(dirname(path), `.${basename(path)}.${kind}-${process.pid}-${randomBytes(6).toString('hex')}`);
}

const TEMP_NAME = /^\..+\.(tmp|old)-(\d+)(-[0-9a-f]+)?$/;

/** Creates `path` for writing only if nothing (not even a dangling symlink) is there. */
export function openExclusive(path: string): number {
  return openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o644);
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const temp = tempSibling(path);
  const fd = openExclusive(temp);
  try {
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      // write() may write less than asked (a nearly full disk): the rest follows or fails
      for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw withPath(error, path);
  }
  fsyncDir(dirname(path));
}

/** Adds the file being written to an fs error that lacks it (writeSync's ENOSPC names none). */
export function withPath(error: unknown, path: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && !e.path) e.path = path;
  return error;
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/** Makes a completed rename durable (best effort where the platform refuses to open folders). */
export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some file systems do not allow fsync on a folder
  }
}

/**
 * Builds a folder under a fresh temp name with `fill`, then puts it at `path`. An existing folder
 * at `path` stays in place until the new one is complete: it is renamed aside, the new one renamed
 * in, and only then is the old one deleted, so a kill at any point leaves a complete folder at
 * `path` or a complete one aside (a `.old-` name, which readers never list).
 */
export async function writeFolderAtomic(path: string, fill: (tempDir: string) => Promise<void>): Promise<void> {
  const temp = tempSibling(path);
  mkdirSync(temp);
  try {
    await fill(temp);
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw withPath(error, path);
  }
  let aside: string | null = null;
  try {
    renameSync(temp, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') {
      rmSync(temp, { recursive: true, force: true });
      throw error;
    }
    aside = tempSibling(path, 'old');
    renameSync(path, aside);
    renameSync(temp, path);
  }
  fsyncDir(dirname(path));
  if (aside) removeFolder(aside);
}

/** Deletes a folder by renaming it aside first, so a half-deleted folder never keeps its name. */
export function removeFolder(path: string): void {
  let target = path;
  if (!TEMP_NAME.test(basename(path))) {
    target = tempSibling(path, 'old');
    renameSync(path, target);
    fsyncDir(dirname(path));
  }
  rmSync(target, { recursive: true, force: true });
}

/** The pid in a temp name made by tempSibling, or null for any other name. */
export function leftoverWriterPid(name: string): number | null {
  const m = TEMP_NAME.exec(name);
  return m ? Number(m[2]) : null;
}

/**
 * Removes temp files and folders in `dir` left by other processes; returns their names. Call it
 * only while holding the run lock: then every other writer of the folder is dead.
 */
export function removeDeadWritersTemps(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = leftoverWriterPid(name);
    if (pid === null || pid === process.pid) continue;
    try {
      rmSync(join(dir, name), { recursive: true, force: true });
      removed.push(name);
    } catch {
      try {
        unlinkSync(join(dir, name));
        removed.push(name);
      } catch {
        // left for the next start
      }
    }
  }
  return removed;
}
