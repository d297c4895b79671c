// All open dataset panels, one per config, and the serializer that restores them after a reload
// from the webview's saved state (its configPath).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseDatasetState } from '../../../webview/src/protocol';
import { DatasetPanel, type DatasetDeps } from './dataset-panel';

export class DatasetPanels implements vscode.Disposable, vscode.WebviewPanelSerializer {
  private readonly panels = new Map<string, DatasetPanel>();
  private readonly registration: vscode.Disposable;

  constructor(private readonly deps: DatasetDeps) {
    this.registration = vscode.window.registerWebviewPanelSerializer(DatasetPanel.viewType, this);
  }

  /** Opens the panel of a config, or reveals it and inspects again. */
  open(configPath: string): void {
    const key = path.resolve(configPath);
    const existing = this.panels.get(key);
    if (existing) {
      existing.reveal();
      existing.refresh();
      return;
    }
    this.track(key, DatasetPanel.create(this.deps, key));
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const saved = parseDatasetState(state);
    if (!saved) {
      panel.dispose();
      return;
    }
    const key = path.resolve(saved.configPath);
    this.panels.get(key)?.dispose();
    this.track(key, DatasetPanel.revive(panel, this.deps, key));
  }

  private track(key: string, panel: DatasetPanel): void {
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
