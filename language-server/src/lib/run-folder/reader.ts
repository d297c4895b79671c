// The one reader of run folders (used by `lora-lab runs`, the trainer's --resume and the
// extension's Runs view): run.json, metrics.jsonl (a partial last line is left for the next
// read), the process-start check and the state derived from them (crashed = stale heartbeat or a
// dead / reused pid; incomplete = config.yaml without a run.json). Never writes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HEARTBEAT_STALE_S, type MetricsLine, type RunJson, type RunState } from './run-files';

/** What the local process table says about a run's pid (and its start time). */
export type ProcessCheck = 'alive' | 'dead';

/** A run folder file that cannot be used: names the file and says what is wrong with it. */
export class RunFolderError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

const REQUIRED_RUN_KEYS: [keyof RunJson, string][] = [
  ['name', 'string'],
  ['status', 'string'],
  ['pid', 'number'],
  ['heartbeatMs', 'number'],
];
const STATUSES = new Set(['running', 'completed', 'failed', 'stopped']);

/** Parses a JSON file of a run folder; a damaged one is a RunFolderError naming the file. */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new RunFolderError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RunFolderError(file, `is not valid JSON (${(error as Error).message}); the file is damaged`);
  }
}

/** run.json of `dir`, checked for the keys every reader uses; throws a RunFolderError naming it. */
export function readRunJsonStrict(dir: string): RunJson {
  const file = path.join(dir, 'run.json');
  const run = readJsonFile(file);
  if (typeof run !== 'object' || run === null || Array.isArray(run))
    throw new RunFolderError(file, 'is not a run record (expected a JSON object)');
  for (const [key, type] of REQUIRED_RUN_KEYS) {
    if (typeof (run as Record<string, unknown>)[key] !== type)
      throw new RunFolderError(file, `is not a run record: "${key}" is missing or not a ${type}`);
  }
  const status = (run as { status: string }).status;
  if (!STATUSES.has(status)) throw new RunFolderError(file, `is not a run record: unknown status "${status}"`);
  return run as RunJson;
}

/** run.json of `dir`, or undefined when it is missing, damaged or being replaced right now. */
export function readRunJson(dir: string): RunJson | undefined {
  try {
    return readRunJsonStrict(dir);
  } catch {
    return undefined;
  }
}

/** Milliseconds after which a running run's heartbeat counts as stale. */
export function staleAfterMs(run: RunJson): number {
  return Math.max(HEARTBEAT_STALE_S, (run.heartbeatIntervalS ?? 0) * 6) * 1000;
}

/**
 * The state shown for a run: its written status, except that a 'running' run whose heartbeat is
 * stale, or whose process is gone from this machine, is 'crashed'.
 */
export function deriveState(run: RunJson, nowMs: number, process: ProcessCheck): RunState {
  if (run.status !== 'running') return run.status;
  if (nowMs - run.heartbeatMs > staleAfterMs(run)) return 'crashed';
  return process === 'dead' ? 'crashed' : 'running';
}

/** The one rule for a run's state, used by `lora-lab runs` and the Runs view alike. */
export function runState(
  run: RunJson,
  nowMs: number = Date.now(),
  check: (pid: number, startMs: number | undefined) => ProcessCheck = checkProcess,
): RunState {
  return deriveState(run, nowMs, run.status === 'running' ? check(run.pid, run.processStartMs) : 'alive');
}

/** Start time (ms since epoch) of a Linux process from /proc, or undefined where there is no /proc. */
export function processStartMs(pid: number, procRoot = '/proc'): number | undefined {
  try {
    const stat = fs.readFileSync(path.join(procRoot, String(pid), 'stat'), 'utf8');
    // Field 2 (comm) may hold spaces and parentheses: the fields after it start past the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]); // field 22, starttime, in clock ticks since boot
    const btime = /^btime (\d+)$/m.exec(fs.readFileSync(path.join(procRoot, 'stat'), 'utf8'));
    if (!btime || !Number.isFinite(startTicks)) return undefined;
    const clockTicksPerS = 100; // USER_HZ is 100 on every Linux architecture Node supports
    return Number(btime[1]) * 1000 + (startTicks * 1000) / clockTicksPerS;
  } catch {
    return undefined;
  }
}

/** Tolerance between run.json's processStartMs and the process table's start time. */
export const START_TIME_TOLERANCE_MS = 5000;

/** Whether `pid` is a live process that started when run.json says (so not a reused pid). */
export function checkProcess(pid: number, expectedStartMs: number | undefined, procRoot = '/proc'): ProcessCheck {
  if (!Number.isInteger(pid) || pid <= 0) return 'dead';
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return 'dead';
  }
  const started = processStartMs(pid, procRoot);
  if (started === undefined || expectedStartMs === undefined) return 'alive';
  return Math.abs(started - expectedStartMs) <= START_TIME_TOLERANCE_MS ? 'alive' : 'dead';
}

/** Parses the complete lines of a metrics.jsonl chunk; `consumed` bytes end at the last newline. */
export function parseMetricsChunk(chunk: Buffer): { lines: MetricsLine[]; consumed: number } {
  const end = chunk.lastIndexOf(0x0a);
  if (end < 0) return { lines: [], consumed: 0 };
  const lines: MetricsLine[] = [];
  for (const text of chunk.subarray(0, end).toString('utf8').split('\n')) {
    if (!text.trim()) continue;
    try {
      const line = JSON.parse(text) as MetricsLine;
      if (!line || typeof line.step !== 'number') continue;
      if (line.kind === 'train' || line.kind === 'val' || (line.kind === 'eval' && typeof line.task === 'string')) lines.push(line);
    } catch {
      // a torn line cannot occur before the last newline (one write() per line); skip garbage
    }
  }
  return { lines, consumed: end + 1 };
}

/**
 * Incremental reader of one metrics.jsonl: each read() returns the complete lines appended since
 * the last one. When the file was replaced or shortened (a resume rewrites it) it starts over and
 * says so with `reset`.
 */
export class MetricsTail {
  private offset = 0;
  private inode: number | undefined;

  constructor(readonly file: string) {}

  read(): { reset: boolean; lines: MetricsLine[] } {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      const reset = this.offset > 0;
      this.offset = 0;
      this.inode = undefined;
      return { reset, lines: [] };
    }
    try {
      const stat = fs.fstatSync(fd);
      let reset = false;
      if ((this.inode !== undefined && stat.ino !== this.inode) || stat.size < this.offset) {
        reset = this.offset > 0;
        this.offset = 0;
      }
      this.inode = stat.ino;
      if (stat.size === this.offset) return { reset, lines: [] };
      const chunk = Buffer.alloc(stat.size - this.offset);
      const got = fs.readSync(fd, chunk, 0, chunk.length, this.offset);
      const { lines, consumed } = parseMetricsChunk(chunk.subarray(0, got));
      this.offset += consumed;
      return { reset, lines };
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** Reads every complete line of a metrics.jsonl at once. */
export function readMetrics(file: string): MetricsLine[] {
  return new MetricsTail(file).read().lines;
}

/** Sub-folders of the given folders that hold a run.json (not recursive past one level). */
export function listRunDirs(folders: readonly string[]): string[] {
  const dirs: string[] = [];
  for (const folder of folders) {
    let names: string[];
    try {
      names = fs.readdirSync(folder);
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      const dir = path.join(folder, name);
      if (fs.existsSync(path.join(dir, 'run.json'))) dirs.push(dir);
    }
  }
  return dirs;
}

/** One entry of a folder of runs: a readable run, or a folder that cannot be shown as one. */
export type RunFolderEntry =
  | { kind: 'run'; dir: string; run: RunJson; state: RunState }
  | { kind: 'incomplete'; dir: string; reason: string; todo: string }
  | { kind: 'unreadable'; dir: string; error: string };

/**
 * Every run folder directly inside `folder`, by name. A folder with config.yaml but no run.json
 * (a trainer killed between the two) is 'incomplete'; a damaged run.json is 'unreadable' with the
 * file named, never a reason to hide the others. A missing `folder` is a RunFolderError.
 */
export function scanRunFolder(folder: string, nowMs: number = Date.now(), check = checkProcess): RunFolderEntry[] {
  let names: string[];
  try {
    names = fs.readdirSync(folder);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new RunFolderError(
      folder,
      code === 'ENOENT'
        ? 'no such folder (give the out_dir of a config, default out/lora)'
        : code === 'ENOTDIR'
          ? 'is not a folder'
          : `cannot be read (${code})`,
    );
  }
  const entries: RunFolderEntry[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const dir = path.join(folder, name);
    if (!fs.existsSync(path.join(dir, 'run.json'))) {
      if (fs.existsSync(path.join(dir, 'config.yaml'))) {
        entries.push({
          kind: 'incomplete',
          dir,
          reason: 'config.yaml without run.json: the trainer stopped before it started the run',
          todo: `nothing was trained; delete ${dir} and start the config again`,
        });
      }
      continue;
    }
    try {
      const run = readRunJsonStrict(dir);
      entries.push({ kind: 'run', dir, run, state: runState(run, nowMs, check) });
    } catch (error) {
      entries.push({ kind: 'unreadable', dir, error: error instanceof RunFolderError ? error.message : String(error) });
    }
  }
  return entries;
}
