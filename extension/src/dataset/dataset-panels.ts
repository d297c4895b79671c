// All open dataset panels, one per config, and the serializer that restores them after a reload
// from the webview's saved state (its configPath).
import type * as vscode from 'vscode';
import { parseDatasetState } from '../../../webview/src/protocol';
import { KeyedPanels } from '../keyed-panels';
import { DatasetPanel, type DatasetDeps } from './dataset-panel';

export class DatasetPanels extends KeyedPanels<DatasetPanel> {
  constructor(private readonly deps: DatasetDeps) {
    super(DatasetPanel.viewType);
  }

  /** Opens the panel of a config, or reveals it and inspects again. */
  open(configPath: string): void {
    this.openKey(configPath, (panel) => panel.refresh());
  }

  protected create(configPath: string): DatasetPanel {
    return DatasetPanel.create(this.deps, configPath);
  }

  protected revive(panel: vscode.WebviewPanel, configPath: string): DatasetPanel {
    return DatasetPanel.revive(panel, this.deps, configPath);
  }

  protected keyOfState(state: unknown): string | undefined {
    return parseDatasetState(state)?.configPath;
  }
}
