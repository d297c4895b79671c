// One run's dashboard webview (webview-sample's pattern): createOrShow / revive / dispose, strict
// CSP, local resources limited to dist/webview and media, on every 'ready' one snapshot of run.json
// and metrics.jsonl (the first paint has the charts), then the store's changes as they come.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MetricsLine } from '../../../native/trainer/protocol';
import { isWebviewToHost, metricsMessages, type DashboardAction, type HostToWebview } from '../../../webview/src/protocol';
import { readMetrics } from '../../../language-server/src/lib/run-folder/reader';
import type { RunManager } from '../run-manager';
import type { RunsController } from '../runs-controller';
import { dashboardHtml, makeNonce } from './dashboard-html';
import { dashboardSnapshot, toDashboardRun } from './dashboard-run';
import { besideActiveEditor, panelWebviewOptions } from '../webview-options';
import { EvalResultsFeed } from '../eval/eval-results';

export interface DashboardDeps {
  extensionUri: vscode.Uri;
  runs: RunsController;
  manager: RunManager;
  log: vscode.LogOutputChannel;
}

const ACTION_COMMANDS: Record<Exclude<DashboardAction, 'openConfig'>, string> = {
  stop: 'loraLab.stopRun',
  resume: 'loraLab.resumeRun',
  reveal: 'loraLab.revealRunFolder',
  chat: 'loraLab.chatWithModel',
  evaluate: 'loraLab.evaluateRun',
};

export class DashboardPanel {
  static readonly viewType = 'loraLab.dashboard';
  private ready = false;
  private lastRunJson = '';
  /** The results files of the run's newest evaluation, sent once each (extension/src/eval). */
  private readonly evalResults = new EvalResultsFeed((message) => this.post(message));
  private readonly disposables: vscode.Disposable[] = [];
  private readonly onDisposed = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.onDisposed.event;

  static create(deps: DashboardDeps, runDir: string): DashboardPanel {
    const column = besideActiveEditor();
    const panel = vscode.window.createWebviewPanel(
      DashboardPanel.viewType,
      `Run: ${path.basename(runDir)}`,
      column,
      panelWebviewOptions(deps.extensionUri),
    );
    return new DashboardPanel(panel, deps, runDir);
  }

  /** Restores a panel VS Code kept across a reload (the serializer passes the saved state's runDir). */
  static revive(panel: vscode.WebviewPanel, deps: DashboardDeps, runDir: string): DashboardPanel {
    panel.webview.options = panelWebviewOptions(deps.extensionUri);
    return new DashboardPanel(panel, deps, runDir);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly deps: DashboardDeps,
    readonly runDir: string,
  ) {
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'activity.svg');
    panel.webview.html = this.html();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState(() => {
        // A hidden webview (no retainContextWhenHidden) is torn down: it says 'ready' again when shown.
        if (!panel.visible) this.ready = false;
      }),
      panel.webview.onDidReceiveMessage((message: unknown) => this.receive(message)),
      deps.runs.onDidChange(() => this.postRun()),
    );
    const lines = deps.runs.store.onLines.on((dir, reset, metricLines) => {
      if (path.resolve(dir) === path.resolve(runDir)) this.postLines(reset, metricLines);
    });
    this.disposables.push({ dispose: () => lines.dispose() });
  }

  reveal(): void {
    this.panel.reveal(undefined, false);
  }

  private html(): string {
    const webview = this.panel.webview;
    const asUri = (...parts: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(this.deps.extensionUri, ...parts)).toString();
    return dashboardHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: asUri('dist', 'webview', 'dashboard.js'),
      styleUris: [asUri('dist', 'webview', 'dashboard.css'), asUri('media', 'dashboard.css')],
      title: `Run ${path.basename(this.runDir)}`,
    });
  }

  private post(message: HostToWebview): void {
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  private receive(message: unknown): void {
    if (!isWebviewToHost(message)) {
      this.deps.log.warn(`dashboard: ignored an unknown message ${JSON.stringify(message)?.slice(0, 200)}`);
      return;
    }
    if (message.type === 'ready') {
      this.ready = true;
      this.replay();
      return;
    }
    if (message.action === 'openConfig') {
      const configPath = this.deps.runs.store.view(this.runDir)?.run.configPath;
      if (configPath) void vscode.window.showTextDocument(vscode.Uri.file(configPath), { viewColumn: vscode.ViewColumn.One });
      return;
    }
    void vscode.commands.executeCommand(ACTION_COMMANDS[message.action], this.runDir);
  }

  /**
   * Sends the header and the whole metrics.jsonl in one snapshot (the webview missed whatever came
   * while hidden), so it paints the charts at once; 'run' and 'metrics' messages stream after it.
   */
  private replay(): void {
    const view = this.deps.runs.store.view(this.runDir);
    const snapshot = dashboardSnapshot(
      view,
      this.deps.manager.activeByDir(this.runDir),
      readMetrics(path.join(this.runDir, 'metrics.jsonl')),
    );
    this.lastRunJson = snapshot.run ? JSON.stringify(snapshot.run) : '';
    if (snapshot.run) this.panel.title = `Run: ${snapshot.run.name}`;
    this.post(snapshot);
    this.evalResults.reset();
    if (snapshot.run) this.evalResults.update(this.runDir, snapshot.run.summary?.eval);
  }

  private postRun(): void {
    const view = this.deps.runs.store.view(this.runDir);
    if (!view) return;
    const run = toDashboardRun(view, this.deps.manager.activeByDir(this.runDir));
    this.panel.title = `Run: ${run.name}`;
    const json = JSON.stringify(run);
    if (json === this.lastRunJson) return;
    this.lastRunJson = json;
    this.post({ type: 'run', run });
    if (this.ready) this.evalResults.update(this.runDir, run.summary?.eval);
  }

  private postLines(reset: boolean, lines: MetricsLine[]): void {
    for (const message of metricsMessages(lines, reset)) this.post(message);
  }

  dispose(): void {
    const disposables = this.disposables.splice(0);
    if (disposables.length === 0) return;
    for (const d of disposables) d.dispose();
    this.panel.dispose();
    this.onDisposed.fire();
    this.onDisposed.dispose();
  }
}
