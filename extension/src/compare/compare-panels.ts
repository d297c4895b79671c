// Every open comparison panel, one per subject (a config, or one set of runs), and the serializer
// that restores them after a reload from the page's saved state.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseCompareState, type CompareSubject } from '../../../webview/src/compare/protocol';
import { ComparePanel, type CompareDeps } from './compare-panel';

/** One key per subject: a config's path, or the sorted set of run folders. */
export function subjectKey(subject: CompareSubject): string {
  return subject.mode === 'config'
    ? `config:${path.resolve(subject.configPath)}`
    : `runs:${[...new Set(subject.runDirs.map((d) => path.resolve(d)))].sort().join('\n')}`;
}

export class ComparePanels implements vscode.Disposable, vscode.WebviewPanelSerializer {
  private readonly panels = new Map<string, ComparePanel>();
  private readonly registration: vscode.Disposable;

  constructor(private readonly deps: CompareDeps) {
    this.registration = vscode.window.registerWebviewPanelSerializer(ComparePanel.viewType, this);
  }

  /** Opens the panel of a subject, or reveals the open one and refreshes it. */
  open(subject: CompareSubject): ComparePanel {
    const normal: CompareSubject =
      subject.mode === 'config'
        ? { mode: 'config', configPath: path.resolve(subject.configPath) }
        : { mode: 'runs', runDirs: [...new Set(subject.runDirs.map((d) => path.resolve(d)))] };
    const key = subjectKey(normal);
    const existing = this.panels.get(key);
    if (existing) {
      existing.reveal();
      existing.refresh();
      return existing;
    }
    return this.track(key, ComparePanel.create(this.deps, normal));
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const saved = parseCompareState(state);
    if (!saved) {
      panel.dispose();
      return;
    }
    const key = subjectKey(saved.subject);
    this.panels.get(key)?.dispose();
    this.track(key, ComparePanel.revive(panel, this.deps, saved.subject));
  }

  private track(key: string, panel: ComparePanel): ComparePanel {
    this.panels.set(key, panel);
    panel.onDidDispose(() => {
      if (this.panels.get(key) === panel) this.panels.delete(key);
    });
    return panel;
  }

  dispose(): void {
    this.registration.dispose();
    for (const panel of [...this.panels.values()]) panel.dispose();
  }
}
