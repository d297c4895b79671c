// Extension-side helpers for run folders (the reading itself is language-server/src/lib/run-folder/
// reader.ts, shared with the CLI): adapter presence, delete guard, following train.log.
import * as fs from 'node:fs';
import * as path from 'node:path';

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
      return chunk
        .subarray(0, end)
        .toString('utf8')
        .split('\n')
        .filter((line) => line.trim());
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** Complete checkpoints of a run folder (`checkpoints/step-N` with its cursor.json), oldest first. */
export function listRunCheckpoints(dir: string): { step: number; dir: string }[] {
  const root = path.join(dir, 'checkpoints');
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  return names
    .map((name) => /^step-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null && fs.existsSync(path.join(root, m[0], 'cursor.json')))
    .map((m) => ({ step: Number(m[1]), dir: path.join(root, m[0]) }))
    .sort((a, b) => a.step - b.step);
}

/** `<run>/label.json`: the user's name for a run ("Rename Run"), the one file the host writes into a run folder. */
export const LABEL_FILE = 'label.json';

/** The run's label, or undefined when it has none (or the file is not `{ "label": "..." }`). */
export function readRunLabel(dir: string): string | undefined {
  try {
    const value = JSON.parse(fs.readFileSync(path.join(dir, LABEL_FILE), 'utf8')) as { label?: unknown };
    return typeof value.label === 'string' && value.label.trim() ? value.label.trim() : undefined;
  } catch {
    return undefined;
  }
}

/** Writes (or, for an empty label, removes) `<run>/label.json` atomically: a temp file renamed over it. */
export function writeRunLabel(dir: string, label: string): void {
  const file = path.join(dir, LABEL_FILE);
  const trimmed = label.trim();
  if (!trimmed) {
    fs.rmSync(file, { force: true });
    return;
  }
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(temp, JSON.stringify({ label: trimmed }, null, 2) + '\n');
  try {
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}
