// Writing the Hugging Face cache exactly as huggingface_hub does: blobs/<etag> (partial files as
// blobs/<etag>.incomplete), snapshots/<commit>/<file> as relative symlinks to ../../blobs/<etag>,
// refs/<revision> holding the commit, and per-blob lock files in <cache>/.locks/models--org--name/.
import {
  closeSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { repoFolderName } from '../../config/hub-ref';
import { HubError } from './hub-http';

export interface RepoCache {
  cacheDir: string;
  /** <cache>/models--org--name */
  repoFolder: string;
  blobs: string;
  locks: string;
}

export function repoCache(cacheDir: string, repo: string): RepoCache {
  const repoFolder = join(cacheDir, repoFolderName(repo));
  return { cacheDir, repoFolder, blobs: join(repoFolder, 'blobs'), locks: join(cacheDir, '.locks', repoFolderName(repo)) };
}

/** A file name from the Hub, checked so it cannot leave the snapshot folder. */
export function safeRepoPath(name: string): string {
  const parts = name.split('/');
  if (!name || name.startsWith('/') || name.includes('\\') || parts.some((part) => part === '' || part === '.' || part === '..')) {
    throw new HubError('BadResponse', `the Hub listed a file name that is not a safe relative path: ${JSON.stringify(name).slice(0, 200)}`);
  }
  return name;
}

/** Writes `text` to `path` through a temp file + rename. */
export function writeTextAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, text);
  renameSync(temp, path);
}

/** refs/<revision> = commit (nothing for a commit revision, as huggingface_hub). */
export function writeRef(cache: RepoCache, revision: string, commit: string): void {
  if (revision === commit) return;
  writeTextAtomic(join(cache.repoFolder, 'refs', ...revision.split('/')), commit);
}

/** snapshots/<commit>/<file> -> the blob, as a relative symlink (a copy where symlinks are not allowed). */
export function linkSnapshotFile(cache: RepoCache, commit: string, file: string, blobPath: string): string {
  const pointer = join(cache.repoFolder, 'snapshots', commit, ...safeRepoPath(file).split('/'));
  mkdirSync(dirname(pointer), { recursive: true });
  try {
    lstatSync(pointer);
    unlinkSync(pointer);
  } catch {
    // no pointer yet
  }
  try {
    symlinkSync(relative(dirname(pointer), blobPath), pointer);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'EACCES' && code !== 'ENOTSUP') throw error;
    copyFileSync(blobPath, pointer); // Windows without developer mode: huggingface_hub copies too
  }
  return pointer;
}

interface LockOwner {
  pid: number;
  host: string;
}

function ownerOf(path: string): LockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
    return Number.isInteger(owner.pid) ? owner : null;
  } catch {
    return null;
  }
}

function alive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true; // another machine on a shared cache: assume it is working
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Holds <cache>/.locks/models--org--name/<etag>.lock while `work` runs, so two LoRA Lab downloaders
 * never write the same blob. A lock whose process is gone (or an empty lock file a Python filelock
 * left behind) is taken over; a live one is waited for, polling every `pollMs`.
 */
export async function withBlobLock<T>(
  cache: RepoCache,
  etag: string,
  work: () => Promise<T>,
  signal?: AbortSignal,
  pollMs = 200,
): Promise<T> {
  mkdirSync(cache.locks, { recursive: true });
  const path = join(cache.locks, `${etag}.lock`);
  const mine = JSON.stringify({ pid: process.pid, host: hostname(), startedMs: Date.now() });
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, mine);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = ownerOf(path);
    if (!owner || !alive(owner)) {
      rmSync(path, { force: true });
      continue;
    }
    if (signal?.aborted) throw new HubError('Cancelled', 'the download was cancelled');
    await new Promise((done) => setTimeout(done, pollMs));
  }
  try {
    return await work();
  } finally {
    try {
      if (readFileSync(path, 'utf8') === mine) unlinkSync(path);
    } catch {
      // already gone
    }
  }
}
