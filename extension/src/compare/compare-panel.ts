// One comparison panel (webview-sample's pattern: create / revive / dispose, strict CSP with a nonce):
// a config's sweep variants with their predictions and the runs of that config, or exactly the runs
// chosen in "Compare Runs". It follows the config as it is edited (debounced), reads run folders
// incrementally, and keeps them live (file watchers and the Runs view's refreshes).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DataFactsCache } from '../../../language-server/src/lib/data-facts';
import { predictCost, variantFacts } from '../../../language-server/src/lib/compare/predict';
import { readMetrics } from '../../../language-server/src/lib/run-folder/reader';
import {
  isCompareWebviewMessage,
  type CompareConfigMessage,
  type CompareHostMessage,
  type CompareSubject,
  type CompareWebviewMessage,
} from '../../../webview/src/compare/protocol';
import { dashboardHtml, makeNonce } from '../dashboard/dashboard-html';
import type { RunsController } from '../runs-controller';
import { besideActiveEditor, panelWebviewOptions } from '../webview-options';
import { RunSource } from './run-source';
import { startVariant, writeExport } from './compare-actions';
import type { RunManager } from '../run-manager';

/** Waits this long after the last edit of the config before estimating again. */
export const CONFIG_DEBOUNCE_MS = 400;
/** Points per loss curve sent to the page at most. */
const CURVE_POINTS = 1500;

/** Shared by every panel: data facts per data file + tokenizer (the same cache rule as the lens). */
const dataFacts = new DataFactsCache();

export interface CompareDeps {
  extensionUri: vscode.Uri;
  runs: RunsController;
  manager: RunManager;
  log: vscode.LogOutputChannel;
}

export function subjectTitle(subject: CompareSubject): string {
  return subject.mode === 'config'
    ? `Compare: ${path.basename(subject.configPath)}`
    : `Compare ${subject.runDirs.length} run${subject.runDirs.length === 1 ? '' : 's'}`;
}

/** Every n-th point (and the last) so at most `max` remain. */
function stride<T>(values: readonly T[], max: number): T[] {
  if (values.length <= max) return [...values];
  const step = values.length / max;
  const out: T[] = [];
  for (let i = 0; i < max - 1; i++) out.push(values[Math.floor(i * step)]);
  out.push(values[values.length - 1]);
  return out;
}

export class ComparePanel {
  static readonly viewType = 'loraLab.compare';
  private ready = false;
  /** The page said 'ready' once: runs are read from then on. */
  private started = false;
  private config: CompareConfigMessage | undefined;
  /** The config's out_dir values (of every variant). */
  private outDirs: string[] = [];
  private readonly source: RunSource;
  private curves = new Set<string>();
  private configTimer: ReturnType<typeof setTimeout> | undefined;
  private watchers: vscode.Disposable[] = [];
  private watchedFolders = '';
  private readonly disposables: vscode.Disposable[] = [];
  private readonly onDisposed = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.onDisposed.event;

  static create(deps: CompareDeps, subject: CompareSubject): ComparePanel {
    const panel = vscode.window.createWebviewPanel(
      ComparePanel.viewType,
      subjectTitle(subject),
      besideActiveEditor(),
      panelWebviewOptions(deps.extensionUri),
    );
    return new ComparePanel(panel, deps, subject);
  }

  static revive(panel: vscode.WebviewPanel, deps: CompareDeps, subject: CompareSubject): ComparePanel {
    panel.webview.options = panelWebviewOptions(deps.extensionUri);
    return new ComparePanel(panel, deps, subject);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly deps: CompareDeps,
    readonly subject: CompareSubject,
  ) {
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'activity.svg');
    panel.webview.html = this.html();
    this.source = new RunSource({
      subject,
      folders: () => this.runFolders(),
      emit: (message) => this.post(message),
      predict: subject.mode === 'runs' ? (config) => predictCost(config, dataFacts).predicted : undefined,
      onChanged: (dir) => {
        if (this.curves.has(dir)) this.sendCurve(dir);
      },
    });
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.ready = false;
      }),
      panel.webview.onDidReceiveMessage((message: unknown) => this.receive(message)),
      deps.runs.onDidChange(() => this.requestScan()),
    );
    if (subject.mode === 'config') {
      const configPath = path.resolve(subject.configPath);
      this.disposables.push(
        vscode.workspace.onDidChangeTextDocument((event) => {
          if (path.resolve(event.document.uri.fsPath) === configPath) this.scheduleConfig();
        }),
        vscode.workspace.onDidSaveTextDocument((document) => {
          if (path.resolve(document.uri.fsPath) === configPath) this.scheduleConfig();
        }),
      );
    }
    this.refreshConfig();
    this.rewatch();
    // The first scan starts when the page is ready, so it sees every chunk as it is read.
  }

  private requestScan(delayMs?: number): void {
    if (this.started) this.source.request(delayMs);
  }

  reveal(): void {
    this.panel.reveal(undefined, false);
  }

  /** Estimates the config again and looks for runs (the command on an open panel). */
  refresh(): void {
    this.refreshConfig();
    void this.source.scan();
  }

  private configText(configPath: string): string | undefined {
    const open = vscode.workspace.textDocuments.find((d) => path.resolve(d.uri.fsPath) === path.resolve(configPath));
    if (open) return open.getText();
    try {
      return fs.readFileSync(configPath, 'utf8');
    } catch {
      return undefined;
    }
  }

  private scheduleConfig(): void {
    if (this.configTimer) clearTimeout(this.configTimer);
    this.configTimer = setTimeout(() => {
      this.configTimer = undefined;
      this.refreshConfig();
      this.rewatch();
      this.requestScan(0);
    }, CONFIG_DEBOUNCE_MS);
  }

  /** The config part: variants with predictions (config mode), or only the title (runs mode). */
  private refreshConfig(): void {
    const subject = this.subject;
    if (subject.mode === 'runs') {
      this.config = {
        type: 'compare-config',
        subject,
        facts: { mode: 'runs', title: subjectTitle(subject), configPath: null, variants: [], baseModel: null },
      };
    } else {
      const text = this.configText(subject.configPath);
      const started = Date.now();
      const { outDirs, ...facts } =
        text === undefined
          ? { variants: [], baseModel: null, outDirs: [], configError: `${subject.configPath} cannot be read` }
          : variantFacts(subject.configPath, text, dataFacts);
      if (outDirs.length) this.outDirs = outDirs;
      this.deps.log.debug(`compare: ${facts.variants.length} variant(s) of ${subject.configPath} estimated in ${Date.now() - started} ms`);
      this.config = {
        type: 'compare-config',
        subject,
        facts: { mode: 'config', title: subjectTitle(subject), configPath: subject.configPath, ...facts },
      };
    }
    this.post(this.config);
  }

  /** Config mode: the config's out_dirs and the run folders setting (with the ones runs were started in). */
  private runFolders(): string[] {
    return [...new Set([...this.outDirs, ...this.deps.runs.folders()].map((folder) => path.resolve(folder)))];
  }

  /** Watches the run folders for new runs, metrics and eval results (the Runs view's watcher may not cover out_dir). */
  private rewatch(): void {
    const folders = this.subject.mode === 'runs' ? [...new Set(this.subject.runDirs.map((d) => path.dirname(d)))] : this.runFolders();
    const key = folders.join('\n');
    if (key === this.watchedFolders) return;
    this.watchedFolders = key;
    for (const watcher of this.watchers) watcher.dispose();
    this.watchers = folders.map((folder) => {
      const watcher = vscode.workspace.createFileSystemWatcher(
        new vscode.RelativePattern(vscode.Uri.file(folder), '*/{run.json,metrics.jsonl,config.yaml,eval/*.json}'),
      );
      const changed = () => this.requestScan();
      watcher.onDidCreate(changed);
      watcher.onDidChange(changed);
      watcher.onDidDelete(changed);
      return watcher;
    });
  }

  private html(): string {
    const webview = this.panel.webview;
    const asUri = (...parts: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(this.deps.extensionUri, ...parts)).toString();
    return dashboardHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: asUri('dist', 'webview', 'compare.js'),
      styleUris: [asUri('dist', 'webview', 'compare.css'), asUri('media', 'compare.css')],
      title: subjectTitle(this.subject),
    });
  }

  private post(message: CompareHostMessage): void {
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  private sendCurve(runDir: string): void {
    const train = readMetrics(path.join(runDir, 'metrics.jsonl')).filter((line) => line.kind === 'train');
    const kept = stride(train, CURVE_POINTS);
    this.post({
      type: 'compare-curve',
      runDir,
      step: kept.map((l) => l.step),
      tokens: kept.map((l) => l.tokens),
      elapsedS: kept.map((l) => l.elapsed_s),
      loss: kept.map((l) => l.loss),
    });
  }

  private receive(message: unknown): void {
    if (!isCompareWebviewMessage(message)) {
      this.deps.log.warn(`compare panel: ignored an unknown message ${JSON.stringify(message)?.slice(0, 200)}`);
      return;
    }
    void this.handle(message).catch((error: unknown) => {
      const text = error instanceof Error ? error.message : String(error);
      this.deps.log.error(`compare panel: ${message.type}: ${text}`);
      void vscode.window.showErrorMessage(`LoRA Lab: ${text}`);
    });
  }

  private async handle(message: CompareWebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready': {
        this.ready = true;
        this.started = true;
        if (this.config) this.post(this.config);
        this.post({ type: 'compare-runs', runs: this.source.runs(), removed: [], ...this.source.progress() });
        for (const dir of this.curves) this.sendCurve(dir);
        void this.source.scan();
        return;
      }
      case 'start-variant':
        if (this.subject.mode === 'config') await startVariant(this.deps, this.subject.configPath, message.variant);
        return;
      case 'start-sweep':
        if (this.subject.mode === 'config')
          await vscode.commands.executeCommand('loraLab.startRun', vscode.Uri.file(this.subject.configPath));
        return;
      case 'run-action': {
        const command = { evaluate: 'loraLab.evaluateRun', dashboard: 'loraLab.openDashboard', reveal: 'loraLab.revealRunFolder' }[
          message.action
        ];
        const known = (await vscode.commands.getCommands(true)).includes(command);
        if (!known) throw new Error(`"${command}" is not available in this version of LoRA Lab.`);
        await vscode.commands.executeCommand(command, message.runDir);
        return;
      }
      case 'copy':
        await vscode.env.clipboard.writeText(message.text);
        void vscode.window.showInformationMessage(`LoRA Lab: copied ${message.what}.`);
        return;
      case 'export':
        await writeExport(this.subject, message.format, message.text);
        return;
      case 'curves': {
        const wanted = new Set(message.runDirs.map((d) => path.resolve(d)));
        const known = new Set(this.source.runs().map((r) => path.resolve(r.dir)));
        for (const dir of wanted) if (known.has(dir) && !this.curves.has(dir)) this.sendCurve(dir);
        this.curves = new Set([...wanted].filter((dir) => known.has(dir)));
        return;
      }
    }
  }

  dispose(): void {
    const disposables = this.disposables.splice(0);
    if (disposables.length === 0) return;
    if (this.configTimer) clearTimeout(this.configTimer);
    this.source.dispose();
    for (const watcher of this.watchers) watcher.dispose();
    for (const d of disposables) d.dispose();
    this.panel.dispose();
    this.onDisposed.fire();
    this.onDisposed.dispose();
  }
}
