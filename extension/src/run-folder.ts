// Reads run folders without ever writing to them: run.json, metrics.jsonl (a partial last line is
// left for the next read), and the state a reader derives (crashed = stale heartbeat or dead pid).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HEARTBEAT_STALE_S, type MetricsLine, type RunJson, type RunState } from '../../native/trainer/protocol';

/** What the local process table says about a run's pid (and its start time). */
export type ProcessCheck = 'alive' | 'dead';

/** run.json of `dir`, or undefined when it is missing or being replaced right now. */
export function readRunJson(dir: string): RunJson | undefined {
  try {
    const run = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunJson;
    return typeof run === 'object' && run !== null && typeof run.name === 'string' ? run : undefined;
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
      if (line && (line.kind === 'train' || line.kind === 'val') && typeof line.step === 'number') lines.push(line);
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

/** Whether a run folder holds a finished PEFT adapter (what Merge Adapter needs). */
export function hasAdapter(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'adapter', 'adapter_config.json'));
}

/**
 * Why `dir` must not be deleted as a run, or undefined when it may: it has to hold a run.json and
 * sit directly inside one of the watched run folders (never a run folder root itself).
 */
export function isDeletableRunDir(dir: string, runFolders: readonly string[]): string | undefined {
  const resolved = path.resolve(dir);
  if (!fs.existsSync(path.join(resolved, 'run.json'))) return 'it has no run.json, so it is not a run folder';
  const parent = path.dirname(resolved);
  if (!runFolders.some((f) => path.resolve(f) === parent)) return 'it is not inside a watched run folder';
  return undefined;
}

/**
 * Follows a text file (a reattached run's train.log) from where it ends now: each read() returns
 * the complete lines appended since; a replaced or shortened file is followed from its start.
 */
export class LineTail {
  private offset: number;
  private inode: number | undefined;

  constructor(readonly file: string) {
    try {
      const stat = fs.statSync(file);
      this.offset = stat.size;
      this.inode = stat.ino;
    } catch {
      this.offset = 0;
    }
  }

  read(): string[] {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(this.file);
    } catch {
      return [];
    }
    if ((this.inode !== undefined && stat.ino !== this.inode) || stat.size < this.offset) this.offset = 0;
    this.inode = stat.ino;
    if (stat.size === this.offset) return [];
    const fd = fs.openSync(this.file, 'r');
    try {
      const chunk = Buffer.alloc(stat.size - this.offset);
      const got = fs.readSync(fd, chunk, 0, chunk.length, this.offset);
      const end = chunk.subarray(0, got).lastIndexOf(0x0a);
      if (end < 0) return [];
      this.offset += end + 1;
      return chunk.subarray(0, end).toString('utf8').split('\n').filter((line) => line.trim());
    } finally {
      fs.closeSync(fd);
    }
  }
}
