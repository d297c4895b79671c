// Hugging Face Hub repo ids in model.checkpoint ('org/name', 'org/name@rev') and the cache layout
// huggingface_hub shares with every Python tool: <cache>/models--org--name/{refs/<rev>, snapshots/<commit>/, blobs/}.
// Pure: reads through the config modules' FileSystem; the cache folder comes from the caller
// (config/node-fs.ts hubCacheDir reads the environment).
import { basenameOf, dirnameOf, joinPath } from './paths';
import type { FileSystem } from './types';

/** A repo id and the revision asked for (a branch, tag or commit; 'main' when none is written). */
export interface HubRef {
  repo: string;
  revision: string;
}

/** Where a Hub checkpoint stands in the local cache. */
export interface HubCheckpoint extends HubRef {
  /** <cache>/models--org--name */
  repoFolder: string;
  /** The commit the revision resolves to in the cache (refs/<rev>), or null when it is not cached. */
  commit: string | null;
  /** snapshots/<commit> when the commit is known. */
  snapshot: string | null;
}

const NAME = '[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_-])?';
const REPO_ID = new RegExp(`^(${NAME})/(${NAME})(?:@([A-Za-z0-9._/-]+))?$`);
const COMMIT = /^[0-9a-f]{40}$/;

/** 'org/name[@rev]' as written in model.checkpoint, or null when the value is not shaped like a repo id. */
export function parseHubRef(value: string): HubRef | null {
  const match = REPO_ID.exec(value.trim());
  if (!match || match[1].includes('..') || match[2].includes('..')) return null;
  const revision = match[3] ?? 'main';
  if (revision.split('/').some((part) => part === '' || part === '.' || part === '..')) return null;
  return { repo: `${match[1]}/${match[2]}`, revision };
}

/** The cache folder name of a repo: 'models--org--name' (huggingface_hub's repo_folder_name). */
export function repoFolderName(repo: string): string {
  return `models--${repo.split('/').join('--')}`;
}

/** 'models--org--name' -> 'org/name' (null for another name). */
export function repoOfFolderName(folder: string): string | null {
  const match = /^models--([^/\\]+?)--([^/\\]+)$/.exec(folder);
  return match ? `${match[1]}/${match[2]}` : null;
}

export function isCommitHash(revision: string): boolean {
  return COMMIT.test(revision);
}

function readRef(fs: FileSystem, repoFolder: string, revision: string): string | null {
  if (isCommitHash(revision)) return revision;
  try {
    const commit = fs.readFile(joinPath(joinPath(repoFolder, 'refs'), revision)).trim();
    return isCommitHash(commit) ? commit : null;
  } catch {
    return null;
  }
}

/** The cache state of `ref` under `cacheDir` (nothing is written, nothing fetched). */
export function locateHubCheckpoint(ref: HubRef, cacheDir: string, fs: FileSystem): HubCheckpoint {
  const repoFolder = joinPath(cacheDir, repoFolderName(ref.repo));
  const commit = readRef(fs, repoFolder, ref.revision);
  const snapshot = commit ? joinPath(joinPath(repoFolder, 'snapshots'), commit) : null;
  const found = snapshot && fs.isDirectory(snapshot);
  return { ...ref, repoFolder, commit: found ? commit : null, snapshot: found ? snapshot : null };
}

/** A path inside a cache snapshot ('.../models--org--name/snapshots/<commit>') -> its repo and commit. */
export function hubCheckpointOfPath(path: string): { repo: string; commit: string } | null {
  const commit = basenameOf(path);
  const snapshots = dirnameOf(path);
  if (!isCommitHash(commit) || basenameOf(snapshots) !== 'snapshots') return null;
  const repo = repoOfFolderName(basenameOf(dirnameOf(snapshots)));
  return repo ? { repo, commit } : null;
}

/**
 * How model.checkpoint is read: a folder that exists is a folder (a cache repo folder
 * 'models--org--name' resolves to its refs/main snapshot); otherwise a value shaped like a repo id
 * is looked up in the Hub cache. `written`: the value as in the file; `resolved`: it as a path.
 * Returns null when the value is a plain folder path.
 */
export function resolveHubCheckpoint(
  written: string,
  resolved: string,
  fs: FileSystem,
  cacheDir: string | undefined,
): HubCheckpoint | null {
  if (fs.isDirectory(resolved)) {
    const repo = repoOfFolderName(basenameOf(resolved));
    if (!repo || !fs.isDirectory(joinPath(resolved, 'snapshots'))) return null;
    return locateHubCheckpoint({ repo, revision: 'main' }, dirnameOf(resolved), fs);
  }
  if (fs.exists(resolved) || cacheDir === undefined) return null;
  const ref = parseHubRef(written);
  return ref ? locateHubCheckpoint(ref, cacheDir, fs) : null;
}

/** 'org/name' or 'org/name@rev' (the revision only when it is not main). */
export function hubRefText(ref: HubRef): string {
  return ref.revision === 'main' ? ref.repo : `${ref.repo}@${ref.revision}`;
}
