// All open dashboards, one per run folder, and the serializer that restores them after a reload
// or window restart from the webview's saved state (its runDir).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseDashboardState } from '../../../webview/src/protocol';
import { DashboardPanel, type DashboardDeps } from './dashboard-panel';

export class DashboardPanels implements vscode.Disposable, vscode.WebviewPanelSerializer {
  private readonly panels = new Map<string, DashboardPanel>();
  private readonly registration: vscode.Disposable;

  constructor(private readonly deps: DashboardDeps) {
    this.registration = vscode.window.registerWebviewPanelSerializer(DashboardPanel.viewType, this);
  }

  /** Opens (or reveals) the dashboard of a run folder. */
  open(runDir: string): void {
    const key = path.resolve(runDir);
    const existing = this.panels.get(key);
    if (existing) {
      existing.reveal();
      return;
    }
    this.track(key, DashboardPanel.create(this.deps, key));
  }

  close(runDir: string): void {
    this.panels.get(path.resolve(runDir))?.dispose();
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const saved = parseDashboardState(state);
    if (!saved) {
      panel.dispose();
      return;
    }
    const key = path.resolve(saved.runDir);
    this.panels.get(key)?.dispose();
    this.track(key, DashboardPanel.revive(panel, this.deps, key));
  }

  private track(key: string, panel: DashboardPanel): void {
    this.panels.set(key, panel);
    panel.onDidDispose(() => {
      if (this.panels.get(key) === panel) this.panels.delete(key);
    });
  }

  dispose(): void {
    this.registration.dispose();
    for (const panel of [...this.panels.values()]) panel.dispose();
  }
}
