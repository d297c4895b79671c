// Open webview panels of one kind, at most one per key (a run folder, a config), and the serializer
// that restores them after a reload from the webview's saved state. The dashboards and the dataset
// panels are both this; each says how to create, revive and key its panels.
import * as path from 'node:path';
import * as vscode from 'vscode';

/** What a tracked panel offers its registry. */
export interface KeyedPanel {
  readonly onDidDispose: vscode.Event<void>;
  reveal(): void;
  dispose(): void;
}

export abstract class KeyedPanels<P extends KeyedPanel> implements vscode.Disposable, vscode.WebviewPanelSerializer {
  private readonly panels = new Map<string, P>();
  private readonly registration: vscode.Disposable;

  constructor(viewType: string) {
    this.registration = vscode.window.registerWebviewPanelSerializer(viewType, this);
  }

  /** A new panel for the (resolved) key. */
  protected abstract create(key: string): P;
  /** The panel VS Code kept across a reload, for the (resolved) key. */
  protected abstract revive(panel: vscode.WebviewPanel, key: string): P;
  /** The key in a webview's saved state, or undefined when the state is not one of ours. */
  protected abstract keyOfState(state: unknown): string | undefined;

  /** Opens the panel of a key, or reveals the open one (and hands it to `onExisting`). */
  protected openKey(key: string, onExisting?: (panel: P) => void): void {
    const resolved = path.resolve(key);
    const existing = this.panels.get(resolved);
    if (existing) {
      existing.reveal();
      onExisting?.(existing);
      return;
    }
    this.track(resolved, this.create(resolved));
  }

  protected panelOf(key: string): P | undefined {
    return this.panels.get(path.resolve(key));
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const saved = this.keyOfState(state);
    if (saved === undefined) {
      panel.dispose();
      return;
    }
    const key = path.resolve(saved);
    this.panels.get(key)?.dispose();
    this.track(key, this.revive(panel, key));
  }

  private track(key: string, panel: P): void {
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
