// The Hub downloader shared by `lora-lab download` and "LoRA Lab: Download Model": lists a repo's
// files at a revision (model info with ?blobs=true: sizes and LFS sha256s), keeps what training
// needs (never pickles), checks free disk space, then fetches each missing blob with HTTP Range
// resume, verifies it (sha256 for LFS, git blob sha1 otherwise) and links it into the snapshot.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync, statfsSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isCommitHash, locateHubCheckpoint, parseHubRef } from '../../config/hub-ref';
import { nodeFileSystem } from '../../config/node-fs';
import { linkSnapshotFile, repoCache, safeRepoPath, withBlobLock, writeRef, type RepoCache } from './cache-write';
import { HubError, hubGet, hubGetJson, hubSettings, type HubSettings, type HubTarget } from './hub-http';

/** What training reads from a checkpoint (top-level files only). */
export const TRAINING_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'model.safetensors.index.json',
  '*.safetensors',
];
/** Pickled weights run code when loaded: never downloaded, even when --include names them. */
const PICKLE = /\.(bin|pt|pth|pkl|pickle|ckpt)$/i;

export interface HubFile {
  name: string;
  size: number;
  /** The blob name: the LFS sha256, or the git blob sha1 of a small file. */
  etag: string;
  lfs: boolean;
}

export interface RepoListing {
  commit: string;
  gated: boolean;
  files: HubFile[];
}

export interface DownloadProgress {
  file: string;
  doneBytes: number;
  totalBytes: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
}

export interface DownloadRequest {
  /** 'org/name' or 'org/name@rev'. */
  repo: string;
  /** Globs (fnmatch, as huggingface_hub's allow_patterns); default TRAINING_FILES. */
  include?: string[];
  settings?: HubSettings;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Resumed attempts per file after a dropped connection (default 5). */
  retries?: number;
  /** Free bytes where the cache is (statfs unless a test says otherwise). */
  freeBytes?: (dir: string) => number;
}

export interface DownloadResult {
  repo: string;
  revision: string;
  commit: string;
  snapshot: string;
  files: Array<{ name: string; size: number; fromCache: boolean }>;
  /** Files left out and why (pickles). */
  skipped: string[];
  downloadedBytes: number;
}

/** fnmatch: '*' matches anything (also '/'), '?' one character. */
export function globMatches(glob: string, name: string): boolean {
  const pattern = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${pattern}$`).test(name);
}

function isTrainingFile(name: string): boolean {
  return !name.includes('/') && TRAINING_FILES.some((glob) => globMatches(glob, name));
}

/** The repo's files at a revision, from GET /api/models/<repo>/revision/<rev>?blobs=true. */
export async function listRepo(repo: string, revision: string, settings: HubSettings, signal?: AbortSignal): Promise<RepoListing> {
  const url = `${settings.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  const info = (await hubGetJson(url, settings, { repo, revision }, signal)) as { sha?: unknown; gated?: unknown; siblings?: unknown };
  if (typeof info.sha !== 'string' || !isCommitHash(info.sha) || !Array.isArray(info.siblings))
    throw new HubError('BadResponse', `${url}: the model info lacks sha or siblings`);
  const files = (info.siblings as Array<Record<string, unknown>>).map((sibling): HubFile => {
    const lfs = sibling.lfs as { sha256?: unknown; size?: unknown } | undefined;
    const name = safeRepoPath(String(sibling.rfilename));
    const etag = lfs && typeof lfs.sha256 === 'string' ? lfs.sha256 : String(sibling.blobId ?? '');
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(etag))
      throw new HubError('BadResponse', `${url}: ${name} has no blob id (is ?blobs=true supported by ${settings.endpoint}?)`);
    return { name, size: Number(lfs?.size ?? sibling.size ?? 0), etag, lfs: !!lfs };
  });
  return { commit: info.sha, gated: info.gated !== undefined && info.gated !== false, files };
}

/** The files a request takes from a listing, and the pickles it leaves out. */
export function selectFiles(files: HubFile[], include: string[] | undefined): { chosen: HubFile[]; skipped: string[] } {
  const wanted = files.filter((file) =>
    include ? include.some((glob) => globMatches(glob, file.name)) : isTrainingFile(file.name) || PICKLE.test(file.name),
  );
  return {
    chosen: wanted.filter((file) => !PICKLE.test(file.name)),
    skipped: wanted
      .filter((file) => PICKLE.test(file.name))
      .map((file) => `${file.name} (pickle: not downloaded, LoRA Lab loads safetensors only)`),
  };
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

async function hashFile(path: string, algorithm: 'sha256' | 'sha1', prefix?: string): Promise<string> {
  const hash = createHash(algorithm);
  if (prefix) hash.update(prefix);
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Checks a finished partial file against its blob id; removes it and throws when it does not match. */
async function verify(partial: string, file: HubFile, expectedSha256: string | undefined): Promise<void> {
  const size = sizeOf(partial);
  let problem: string | undefined;
  if (size !== file.size) problem = `${size} bytes, expected ${file.size}`;
  else if (file.lfs) {
    const actual = await hashFile(partial, 'sha256');
    if (actual !== (expectedSha256 ?? file.etag)) problem = `sha256 ${actual}, expected ${expectedSha256 ?? file.etag}`;
  } else {
    const actual = await hashFile(partial, 'sha1', `blob ${size}\0`);
    if (actual !== file.etag) problem = `git blob sha1 ${actual}, expected ${file.etag}`;
  }
  if (problem) {
    rmSync(partial, { force: true });
    throw new HubError(
      'Checksum',
      `${file.name}: the downloaded file does not match the Hub's hash (${problem}): it was removed; run the download again.`,
    );
  }
}

interface Transfer {
  settings: HubSettings;
  target: HubTarget;
  commit: string;
  signal?: AbortSignal;
  retries: number;
  onBytes: (file: string, bytes: number) => void;
}

/** Downloads one blob into blobs/<etag>.incomplete (resuming it with Range), verifies it and renames it. */
async function fetchBlob(cache: RepoCache, file: HubFile, transfer: Transfer): Promise<number> {
  const blob = join(cache.blobs, file.etag);
  const partial = `${blob}.incomplete`;
  const url = `${transfer.settings.endpoint}/${transfer.target.repo}/resolve/${transfer.commit}/${file.name.split('/').map(encodeURIComponent).join('/')}`;
  let fetched = 0;
  for (let attempt = 0; ; attempt++) {
    const have = sizeOf(partial);
    let expected: string | undefined;
    try {
      if (have < file.size || file.size === 0) {
        const { response, meta } = await hubGet(
          url,
          transfer.settings,
          { ...transfer.target, file: file.name },
          have > 0 ? { range: `bytes=${have}-` } : {},
          transfer.signal,
        );
        if (file.lfs && meta.linkedEtag && meta.linkedEtag !== file.etag) {
          response.resume();
          throw new HubError(
            'BadResponse',
            `${file.name}: X-Linked-Etag ${meta.linkedEtag} differs from the model info's sha256 ${file.etag}`,
          );
        }
        expected = meta.linkedEtag;
        const resumed = response.statusCode === 206;
        if (resumed && !String(response.headers['content-range'] ?? '').startsWith(`bytes ${have}-`)) {
          response.resume();
          throw new HubError(
            'BadResponse',
            `${file.name}: the server answered a different range (${String(response.headers['content-range'])})`,
          );
        }
        const out = createWriteStream(partial, { flags: resumed ? 'a' : 'w' });
        response.on('data', (chunk: Buffer) => {
          fetched += chunk.length;
          transfer.onBytes(file.name, chunk.length);
        });
        if (!resumed && have > 0) transfer.onBytes(file.name, -have);
        try {
          await pipeline(response, out);
        } finally {
          // a write still in flight would land after the next attempt measured the partial file
          if (!out.closed) await once(out, 'close');
        }
        if (sizeOf(partial) < file.size) throw new Error(`the connection closed after ${sizeOf(partial)} of ${file.size} bytes`);
      }
      await verify(partial, file, expected);
      renameSync(partial, blob);
      return fetched;
    } catch (error) {
      if (transfer.signal?.aborted)
        throw new HubError('Cancelled', `the download was cancelled; ${file.name} is kept as ${partial} and resumes next time`);
      if (error instanceof HubError && error.code !== 'Network') throw error;
      if (attempt >= transfer.retries)
        throw new HubError(
          'Network',
          `${file.name}: the connection dropped ${attempt + 1} times (${(error as Error).message}); run the download again to resume from ${sizeOf(partial)} bytes`,
        );
    }
  }
}

function offlineResult(repo: string, revision: string, include: string[] | undefined, settings: HubSettings): DownloadResult {
  const found = locateHubCheckpoint({ repo, revision }, settings.cacheDir, nodeFileSystem);
  const needed = include?.filter((glob) => !/[*?]/.test(glob)) ?? ['config.json'];
  if (!found.snapshot || !found.commit || needed.some((name) => !existsSync(join(found.snapshot!, name)))) {
    throw new HubError(
      'Offline',
      `HF_HUB_OFFLINE is set and ${repo}@${revision} is not in the cache (${settings.cacheDir}): unset HF_HUB_OFFLINE to download it.`,
    );
  }
  return { repo, revision, commit: found.commit, snapshot: found.snapshot, files: [], skipped: [], downloadedBytes: 0 };
}

/** Downloads `request.repo` into the Hugging Face cache; returns the snapshot folder. */
export async function downloadModel(request: DownloadRequest): Promise<DownloadResult> {
  const ref = parseHubRef(request.repo);
  if (!ref)
    throw new HubError('BadRequest', `${JSON.stringify(request.repo)} is not a Hub repo id: expected org/name or org/name@revision`);
  const settings = request.settings ?? hubSettings();
  if (settings.offline) return offlineResult(ref.repo, ref.revision, request.include, settings);
  const listing = await listRepo(ref.repo, ref.revision, settings, request.signal);
  const { chosen, skipped } = selectFiles(listing.files, request.include);
  if (chosen.length === 0) {
    throw new HubError(
      'EntryNotFound',
      `no file of ${ref.repo}@${ref.revision} matches ${request.include ? `--include ${request.include.join(' ')}` : 'what training needs (config.json, tokenizer, *.safetensors)'}${skipped.length ? ` (left out: ${skipped.join(', ')})` : ''}.`,
    );
  }
  const cache = repoCache(settings.cacheDir, ref.repo);
  mkdirSync(cache.blobs, { recursive: true });
  const missing = chosen.filter((file) => !existsSync(join(cache.blobs, file.etag)));
  const needed = missing.reduce(
    (sum, file) => sum + file.size - Math.min(file.size, sizeOf(join(cache.blobs, `${file.etag}.incomplete`))),
    0,
  );
  const free = (
    request.freeBytes ??
    ((dir) => {
      const s = statfsSync(dir);
      return s.bavail * s.bsize;
    })
  )(cache.blobs);
  if (needed > free)
    throw new HubError(
      'DiskFull',
      `${ref.repo} needs ${needed} more bytes but only ${free} are free in ${settings.cacheDir}: free space or set HF_HUB_CACHE to another disk.`,
    );

  const totalBytes = chosen.reduce((sum, file) => sum + file.size, 0);
  let doneBytes =
    totalBytes -
    missing.reduce((sum, file) => sum + file.size, 0) +
    missing.reduce((sum, file) => sum + Math.min(file.size, sizeOf(join(cache.blobs, `${file.etag}.incomplete`))), 0);
  const started = Date.now();
  let sessionBytes = 0;
  const report = (file: string) => {
    const seconds = Math.max((Date.now() - started) / 1000, 1e-3);
    const rate = sessionBytes / seconds;
    request.onProgress?.({
      file,
      doneBytes,
      totalBytes,
      bytesPerSecond: rate,
      etaSeconds: rate > 0 ? (totalBytes - doneBytes) / rate : null,
    });
  };
  const transfer: Transfer = {
    settings,
    target: ref,
    commit: listing.commit,
    signal: request.signal,
    retries: request.retries ?? 5,
    onBytes: (file, bytes) => {
      doneBytes += bytes;
      sessionBytes += Math.max(bytes, 0);
      report(file);
    },
  };
  const files: DownloadResult['files'] = [];
  let downloadedBytes = 0;
  for (const file of chosen) {
    const blob = join(cache.blobs, file.etag);
    let fromCache = existsSync(blob);
    if (!fromCache) {
      await withBlobLock(
        cache,
        file.etag,
        async () => {
          if (existsSync(blob))
            fromCache = true; // another downloader finished it while we waited
          else downloadedBytes += await fetchBlob(cache, file, transfer);
        },
        request.signal,
      );
    }
    linkSnapshotFile(cache, listing.commit, file.name, blob);
    files.push({ name: file.name, size: file.size, fromCache });
    report(file.name);
  }
  writeRef(cache, ref.revision, listing.commit);
  return {
    repo: ref.repo,
    revision: ref.revision,
    commit: listing.commit,
    snapshot: join(cache.repoFolder, 'snapshots', listing.commit),
    files,
    skipped,
    downloadedBytes,
  };
}
