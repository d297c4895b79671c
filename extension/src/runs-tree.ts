// The Runs view: turns the pure tree model (runs-model.ts) into TreeItems; a click on a run opens
// its dashboard. Refreshes when the runs controller does (already coalesced).
import * as vscode from 'vscode';
import type { RunManager } from './run-manager';
import type { RunsController } from './runs-controller';
import { evalChildren } from './eval/score-nodes';
import { buildRunsTree, type RunsNode } from './runs-model';

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly runs: RunsController,
    private readonly manager: RunManager,
  ) {
    this.subscription = runs.onDidChange(() => this.changed.fire());
  }

  getChildren(node?: RunsNode): RunsNode[] {
    if (node) return node.kind === 'group' ? node.children : node.kind === 'run' ? evalChildren(node.view) : [];
    const queued = this.manager.queue().map((q) => ({ id: q.id, label: q.label, configPath: q.request.configPath }));
    return buildRunsTree(this.runs.views(), queued);
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    const collapsible =
      node.kind === 'group'
        ? vscode.TreeItemCollapsibleState.Expanded
        : node.kind === 'run' && node.view.run.summary?.eval
          ? vscode.TreeItemCollapsibleState.Collapsed
          : vscode.TreeItemCollapsibleState.None;
    const item = new vscode.TreeItem(node.label, collapsible);
    item.id = node.id;
    item.description = node.description;
    if (node.kind === 'group') {
      item.tooltip = node.tooltip;
      item.contextValue = node.id === 'queue' ? 'loraQueue' : 'loraGroup';
      return item;
    }
    const tooltip = new vscode.MarkdownString();
    node.tooltip.forEach((line, i) => {
      if (i > 0) tooltip.appendMarkdown('  \n');
      tooltip.appendText(line);
    });
    item.tooltip = tooltip;
    item.contextValue = node.contextValue;
    item.iconPath = new vscode.ThemeIcon(node.icon.id, node.icon.color ? new vscode.ThemeColor(node.icon.color) : undefined);
    if (node.kind === 'run') {
      // No resourceUri: SCM decorations would grey out runs under an ignored out/ folder.
      item.command = { command: 'loraLab.openDashboard', title: 'Open Dashboard', arguments: [node] };
    } else if (node.kind === 'detail') {
      // No command: a tree item's command with arguments goes stale when the row refreshes.
      item.accessibilityInformation = { label: node.accessibleLabel };
    }
    return item;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
