// All open dashboards, one per run folder, and the serializer that restores them after a reload
// or window restart from the webview's saved state (its runDir).
import type * as vscode from 'vscode';
import { parseDashboardState } from '../../../webview/src/protocol';
import { KeyedPanels } from '../keyed-panels';
import { DashboardPanel, type DashboardDeps } from './dashboard-panel';

export class DashboardPanels extends KeyedPanels<DashboardPanel> {
  constructor(private readonly deps: DashboardDeps) {
    super(DashboardPanel.viewType);
  }

  /** Opens (or reveals) the dashboard of a run folder. */
  open(runDir: string): void {
    this.openKey(runDir);
  }

  close(runDir: string): void {
    this.panelOf(runDir)?.dispose();
  }

  protected create(runDir: string): DashboardPanel {
    return DashboardPanel.create(this.deps, runDir);
  }

  protected revive(panel: vscode.WebviewPanel, runDir: string): DashboardPanel {
    return DashboardPanel.revive(panel, this.deps, runDir);
  }

  protected keyOfState(state: unknown): string | undefined {
    return parseDashboardState(state)?.runDir;
  }
}
