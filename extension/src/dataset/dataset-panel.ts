// The dataset panel of one config ("LoRA Lab: Inspect Dataset"): createOrShow / revive / dispose,
// the dashboard's strict CSP page, inspect-data run in a child process, and a fresh inspection
// when the data file changes or a save changes the config's data section or tokenizer.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DatasetReport, InspectMessage } from '../../../native/trainer/protocol';
import { isDatasetWebviewMessage, type DatasetHostMessage } from '../../../webview/src/protocol';
import { parseConfigText } from '../config-file';
import { dashboardHtml, makeNonce } from '../dashboard/dashboard-html';
import { DatasetInspection } from './dataset-inspection';
import { besideActiveEditor, panelWebviewOptions } from '../webview-options';

export interface DatasetDeps {
  extensionUri: vscode.Uri;
  /** dist/cli.js */
  trainerEntry: string;
  log: vscode.LogOutputChannel;
}

/** Coalesces a burst of file events (an editor's save writes more than once) into one inspection. */
const REFRESH_DELAY_MS = 300;

/** What of a config decides the panel's numbers: the data section and the tokenizer's checkpoint. */
export function dataFingerprint(text: string, configPath: string): string {
  const parsed = parseConfigText(text, configPath);
  return parsed ? JSON.stringify({ data: parsed.config.data, checkpoint: parsed.config.model.checkpoint }) : 'unparsable';
}

export class DatasetPanel {
  static readonly viewType = 'loraLab.dataset';
  private ready = false;
  private last: DatasetHostMessage | undefined;
  private report: DatasetReport | undefined;
  private fingerprint = '';
  private dataPath = '';
  private dataWatcher: vscode.FileSystemWatcher | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private finishProgress: (() => void) | undefined;
  private readonly inspection: DatasetInspection;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly onDisposed = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.onDisposed.event;

  static create(deps: DatasetDeps, configPath: string): DatasetPanel {
    const column = besideActiveEditor();
    const panel = vscode.window.createWebviewPanel(
      DatasetPanel.viewType,
      `Dataset: ${path.basename(configPath)}`,
      column,
      panelWebviewOptions(deps.extensionUri),
    );
    return new DatasetPanel(panel, deps, configPath);
  }

  /** Restores a panel VS Code kept across a reload (the serializer passes the saved configPath). */
  static revive(panel: vscode.WebviewPanel, deps: DatasetDeps, configPath: string): DatasetPanel {
    panel.webview.options = panelWebviewOptions(deps.extensionUri);
    return new DatasetPanel(panel, deps, configPath);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly deps: DatasetDeps,
    readonly configPath: string,
  ) {
    this.inspection = new DatasetInspection(deps.trainerEntry, (message) => this.onInspect(message));
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'activity.svg');
    panel.webview.html = this.html();
    this.disposables.push(
      this.inspection,
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.ready = false;
      }),
      panel.webview.onDidReceiveMessage((message: unknown) => this.receive(message)),
      vscode.workspace.onDidSaveTextDocument((document) => this.onSaved(document)),
    );
    this.refresh();
  }

  reveal(): void {
    this.panel.reveal(undefined, false);
  }

  /** Inspects the config's data again (a command, a watcher, the page's button). */
  refresh(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    this.readConfig();
    this.inspection.start(this.configPath);
    this.showProgress();
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refresh(), REFRESH_DELAY_MS);
  }

  /** Reads the config from disk: its data fingerprint and the data file to watch. */
  private readConfig(): void {
    let text = '';
    try {
      text = fs.readFileSync(this.configPath, 'utf8');
    } catch {
      // the child reports the unreadable config
    }
    this.fingerprint = dataFingerprint(text, this.configPath);
    const dataPath = parseConfigText(text, this.configPath)?.config.data.path ?? '';
    if (dataPath === this.dataPath) return;
    this.dataPath = dataPath;
    this.dataWatcher?.dispose();
    this.dataWatcher = undefined;
    if (!dataPath) return;
    const watcher = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(vscode.Uri.file(path.dirname(dataPath)), path.basename(dataPath)),
    );
    const changed = () => this.scheduleRefresh();
    watcher.onDidChange(changed);
    watcher.onDidCreate(changed);
    watcher.onDidDelete(changed);
    this.dataWatcher = watcher;
  }

  private onSaved(document: vscode.TextDocument): void {
    const file = path.resolve(document.uri.fsPath);
    if (file === path.resolve(this.dataPath)) this.scheduleRefresh();
    else if (file === path.resolve(this.configPath) && dataFingerprint(document.getText(), this.configPath) !== this.fingerprint)
      this.scheduleRefresh();
  }

  /** The window's progress indicator while a child works (the page shows its own bar). */
  private showProgress(): void {
    if (this.finishProgress) return;
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `LoRA Lab: inspecting the data of ${path.basename(this.configPath)}` },
      () =>
        new Promise<void>((resolve) => {
          this.finishProgress = resolve;
        }),
    );
  }

  private endProgress(): void {
    this.finishProgress?.();
    this.finishProgress = undefined;
  }

  private onInspect(message: InspectMessage): void {
    if (message.type === 'inspect-progress') {
      this.post({ type: 'dataset-progress', configPath: this.configPath, phase: message.phase, done: message.done, total: message.total });
      return;
    }
    this.endProgress();
    if (message.type === 'inspect-report') {
      this.report = message.report;
      this.post({ type: 'dataset-report', report: message.report });
    } else {
      this.report = undefined;
      this.deps.log.warn(`dataset panel: ${message.message}`);
      this.post({ type: 'dataset-error', configPath: this.configPath, message: message.message });
    }
  }

  private html(): string {
    const webview = this.panel.webview;
    const asUri = (...parts: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(this.deps.extensionUri, ...parts)).toString();
    return dashboardHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: asUri('dist', 'webview', 'dataset.js'),
      styleUris: [asUri('dist', 'webview', 'dataset.css'), asUri('media', 'dataset.css')],
      title: `Dataset of ${path.basename(this.configPath)}`,
    });
  }

  /** Sends to the page; the latest state is kept and replayed when the page says 'ready'. */
  private post(message: DatasetHostMessage): void {
    this.last = message;
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  private receive(message: unknown): void {
    if (!isDatasetWebviewMessage(message)) {
      this.deps.log.warn(`dataset panel: ignored an unknown message ${JSON.stringify(message)?.slice(0, 200)}`);
      return;
    }
    if (message.type === 'ready') {
      this.ready = true;
      // The page lost what it had while hidden: the last report, then where a running inspection is.
      const last = this.last;
      if (this.report) this.post({ type: 'dataset-report', report: this.report });
      if (last && last.type !== 'dataset-report') this.post(last);
      return;
    }
    if (message.type === 'refresh') {
      this.refresh();
      return;
    }
    this.openLocation(message.file, message.line);
  }

  /** Opens a line of the dataset (a rejected row's link); other files are not the page's to open. */
  private openLocation(file: string, line: number): void {
    const known = [this.dataPath, this.report?.dataset.file, ...(this.report?.rejected ?? []).map((issue) => issue.file)]
      .filter(Boolean)
      .map((p) => path.resolve(p!));
    if (!known.includes(path.resolve(file))) {
      this.deps.log.warn(`dataset panel: refused to open ${file} (not this config's data file)`);
      return;
    }
    const position = new vscode.Position(Math.max(0, line - 1), 0);
    void vscode.window.showTextDocument(vscode.Uri.file(file), {
      viewColumn: vscode.ViewColumn.One,
      selection: new vscode.Range(position, position),
    });
  }

  dispose(): void {
    const disposables = this.disposables.splice(0);
    if (disposables.length === 0) return;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.endProgress();
    this.dataWatcher?.dispose();
    for (const d of disposables) d.dispose();
    this.panel.dispose();
    this.onDisposed.fire();
    this.onDisposed.dispose();
  }
}
