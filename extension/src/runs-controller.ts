// Keeps the runs store fresh inside VS Code: watches the run folders (debounced, <= 10 updates a
// second), polls heartbeats while runs are live, reattaches live runs, and sets context keys.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LineTail } from './run-folder';
import type { RunManager } from './run-manager';
import type { RunView } from './runs-model';
import { RunsStore } from './runs-store';
import { Coalescer } from './throttle';

/** Folders of run folders the host learned from runs it started (a config's out_dir). */
const EXTRA_FOLDERS_KEY = 'loraLab.extraRunFolders';
const LIVE_POLL_MS = 2000;
const IDLE_POLL_MS = 10_000;

/** The configured run folders, absolute (relative ones resolved against every workspace folder). */
export function configuredRunFolders(): string[] {
  const configured = vscode.workspace.getConfiguration('loraLab').get<string[]>('runFolders', ['out/lora']);
  const roots = vscode.workspace.workspaceFolders?.map((f) => f.uri.fsPath) ?? [];
  return configured.flatMap((p) => (path.isAbsolute(p) ? [p] : roots.map((r) => path.join(r, p))));
}

export class RunsController implements vscode.Disposable {
  readonly store = new RunsStore();
  private readonly changed = new vscode.EventEmitter<void>();
  /** The store was refreshed (coalesced). */
  readonly onDidChange = this.changed.event;
  private readonly coalescer = new Coalescer(() => this.refreshNow(), 100, 50);
  private watchers: vscode.Disposable[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;
  /** train.log of runs reattached by pid (their trainer sends no IPC log events to this host). */
  private readonly logTails = new Map<string, LineTail>();

  constructor(
    private readonly extension: vscode.ExtensionContext,
    private readonly manager: RunManager,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const subs = [
      manager.onChanged.on(() => this.request()),
      manager.onEvent.on((_run, event) => {
        if (event.type === 'started') this.rememberFolder(path.dirname(event.runDir));
      }),
    ];
    this.disposables.push(
      { dispose: () => subs.forEach((s) => s.dispose()) },
      this.changed,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('loraLab.runFolders')) this.rewatch();
      }),
    );
    this.rewatch();
    this.refreshNow();
  }

  folders(): string[] {
    const extra = this.extension.workspaceState?.get<string[]>(EXTRA_FOLDERS_KEY, []) ?? [];
    return [...new Set([...configuredRunFolders(), ...extra].map((f) => path.resolve(f)))];
  }

  views(): readonly RunView[] {
    return this.store.views();
  }

  /** Asks for a refresh soon (coalesced). */
  request(): void {
    if (!this.disposed) this.coalescer.request();
  }

  refreshNow(): void {
    if (this.disposed) return;
    let live = true;
    try {
      live = this.refreshViews();
    } catch (e) {
      this.log.error(`refreshing the Runs view failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    } finally {
      this.schedulePoll(live ? LIVE_POLL_MS : IDLE_POLL_MS);
    }
  }

  /** Rereads the run folders; true while a run is live. */
  private refreshViews(): boolean {
    const views = this.store.refresh(this.folders());
    for (const view of views) {
      if (view.state === 'running' && !this.manager.activeByDir(view.dir)) this.manager.attach(view.dir, view.run);
    }
    this.followReattachedLogs();
    const live = views.some((v) => v.state === 'running') || this.manager.active().length > 0;
    void vscode.commands.executeCommand('setContext', 'loraLab.hasRuns', views.length > 0);
    void vscode.commands.executeCommand('setContext', 'loraLab.hasActiveRuns', live || this.manager.queue().length > 0);
    this.changed.fire();
    return live;
  }

  /** Copies new train.log lines of reattached runs into the log channel. */
  private followReattachedLogs(): void {
    const attached = new Set(
      this.manager
        .active()
        .filter((r) => !r.child && r.runDir)
        .map((r) => path.resolve(r.runDir!)),
    );
    for (const dir of [...this.logTails.keys()]) if (!attached.has(dir)) this.logTails.delete(dir);
    for (const dir of attached) {
      let tail = this.logTails.get(dir);
      if (!tail) this.logTails.set(dir, (tail = new LineTail(path.join(dir, 'train.log'))));
      for (const line of tail.read()) this.log.info(`[${path.basename(dir)}] ${line}`);
    }
  }

  private schedulePoll(ms: number): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => this.request(), ms);
    this.pollTimer.unref?.();
  }

  private rememberFolder(folder: string): void {
    const state = this.extension.workspaceState;
    if (!state || this.folders().includes(path.resolve(folder))) return;
    void state.update(EXTRA_FOLDERS_KEY, [...state.get<string[]>(EXTRA_FOLDERS_KEY, []), folder]).then(() => this.rewatch());
  }

  private rewatch(): void {
    for (const w of this.watchers) w.dispose();
    this.watchers = [];
    for (const folder of this.folders()) {
      const pattern = new vscode.RelativePattern(
        vscode.Uri.file(folder),
        '*/{run.json,metrics.jsonl,label.json,adapter/adapter_config.json,checkpoints/*/cursor.json}',
      );
      const watcher = vscode.workspace.createFileSystemWatcher(pattern);
      watcher.onDidCreate(() => this.request());
      watcher.onDidChange(() => this.request());
      watcher.onDidDelete(() => this.request());
      this.watchers.push(watcher);
    }
    this.log.debug(`watching run folders: ${this.folders().join(', ') || '(none)'}`);
    this.request();
  }

  dispose(): void {
    this.disposed = true;
    this.coalescer.dispose();
    if (this.pollTimer) clearTimeout(this.pollTimer);
    for (const d of [...this.watchers, ...this.disposables]) d.dispose();
  }
}
