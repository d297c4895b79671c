// The runs one comparison panel shows, read incrementally so the extension host never blocks: the
// run folders are listed, then read a few per turn of the event loop, and each chunk is posted as it
// comes. A later scan re-reads only the folders whose files changed (run.json, metrics, eval).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunFacts } from '../../../language-server/src/lib/compare/facts';
import { readRunFacts, runFolderStamp, type ReadRunOptions } from '../../../language-server/src/lib/compare/read-run';
import { readRunJson } from '../../../language-server/src/lib/run-folder/reader';
import type { CompareRunsMessage, CompareSubject } from '../../../webview/src/compare/protocol';

/** Folders read per turn of the event loop at most. */
export const FOLDERS_PER_CHUNK = 8;
/** A turn stops reading once it has taken this long (after at least one run was read). */
export const TURN_BUDGET_MS = 15;

export interface RunSourceOptions {
  subject: CompareSubject;
  /** Folders of run folders to look in (config mode): its out_dirs and the run folders setting. */
  folders: () => string[];
  emit: (message: CompareRunsMessage) => void;
  /** Estimate a run's own config (runs mode: there are no variants to take the prediction from). */
  predict?: ReadRunOptions['predict'];
  /** A run folder whose files changed (its curve may need sending again). */
  onChanged?: (dir: string) => void;
  foldersPerChunk?: number;
}

/** The run folders directly inside `folders` (a run.json or a config.yaml), by name. */
export function candidateDirs(folders: readonly string[]): string[] {
  const out: string[] = [];
  for (const folder of [...new Set(folders.map((f) => path.resolve(f)))]) {
    let names: string[];
    try {
      names = fs.readdirSync(folder);
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      if (name.startsWith('.')) continue;
      const dir = path.join(folder, name);
      if (fs.existsSync(path.join(dir, 'run.json'))) out.push(dir);
    }
  }
  return out;
}

export class RunSource {
  private readonly stamps = new Map<string, string>();
  private readonly facts = new Map<string, RunFacts>();
  private scanning = false;
  private again = false;
  private disposed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly read = { read: 0, total: 0 };

  constructor(private readonly options: RunSourceOptions) {}

  /** Every run known so far (for a page that says 'ready' again). */
  runs(): RunFacts[] {
    return [...this.facts.values()];
  }

  /** How far the current (or last) scan got: folders read of those listed. */
  progress(): { read: number; total: number } {
    return { ...this.read };
  }

  /** Scans soon (coalesces bursts of file events). */
  request(delayMs = 200): void {
    if (this.disposed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.scan();
    }, delayMs);
  }

  /** Lists the folders and reads the new or changed ones in chunks; a scan asked for meanwhile runs after. */
  async scan(): Promise<void> {
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = true;
    try {
      do {
        this.again = false;
        await this.pass();
      } while (this.again && !this.disposed);
    } finally {
      this.scanning = false;
    }
  }

  private belongs(facts: RunFacts): boolean {
    const subject = this.options.subject;
    if (subject.mode === 'runs') return true;
    return facts.configPath !== '' && path.resolve(facts.configPath) === path.resolve(subject.configPath);
  }

  private otherConfig(dir: string): boolean {
    const subject = this.options.subject;
    if (subject.mode !== 'config') return false;
    const run = readRunJson(dir);
    return run !== undefined && path.resolve(run.configPath ?? '') !== path.resolve(subject.configPath);
  }

  private async pass(): Promise<void> {
    const subject = this.options.subject;
    const dirs = subject.mode === 'runs' ? subject.runDirs.map((d) => path.resolve(d)) : candidateDirs(this.options.folders());
    const present = new Set(dirs);
    const removed = [...this.stamps.keys()].filter((dir) => !present.has(dir));
    for (const dir of removed) {
      this.stamps.delete(dir);
      this.facts.delete(dir);
    }
    const chunk = Math.max(1, this.options.foldersPerChunk ?? FOLDERS_PER_CHUNK);
    let pendingRemoved = removed;
    let sentAny = false;
    let next = 0;
    for (;;) {
      if (this.disposed) return;
      const changed: RunFacts[] = [];
      // At most `chunk` folders, and no more once a turn has used its time budget.
      const turnStarted = Date.now();
      const end = Math.min(dirs.length, next + chunk);
      while (next < end && (next === 0 || Date.now() - turnStarted < TURN_BUDGET_MS || changed.length === 0)) {
        const dir = dirs[next++];
        const stamp = runFolderStamp(dir);
        if (this.stamps.get(dir) === stamp) continue;
        this.stamps.set(dir, stamp);
        // Another config's run is skipped on its run.json alone (its config.yaml is not parsed).
        const facts = this.otherConfig(dir) ? undefined : readRunFacts(dir, { predict: this.options.predict });
        const had = this.facts.has(dir);
        if (facts && this.belongs(facts)) {
          this.facts.set(dir, facts);
          changed.push(facts);
          if (had) this.options.onChanged?.(dir);
        } else if (had) {
          this.facts.delete(dir);
          pendingRemoved = [...pendingRemoved, dir];
        }
      }
      const last = next >= dirs.length;
      this.read.read = next;
      this.read.total = dirs.length;
      if (changed.length || pendingRemoved.length || !sentAny || last) {
        this.options.emit({ type: 'compare-runs', runs: changed, removed: pendingRemoved, read: next, total: dirs.length });
        pendingRemoved = [];
        sentAny = true;
      }
      if (last) break;
      // Let the host handle other events before the next chunk.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
