// The Runs view: turns the pure tree model (runs-tree-build.ts) into TreeItems. Node objects stay
// the same across refreshes (runs-tree-sync.ts) and only changed rows are refreshed. A click on a
// run opens its dashboard through a command WITHOUT arguments: VS Code stores every tree-item
// command that has arguments under an id that the row's next refresh disposes, so a click racing
// the refresh of a training row failed with "Actual command not found"; the argument-free command
// reads the clicked run's folder from the view's selection (sent to the host before the command).
// Multi-select is on (Compare, Delete, Evaluate take (node, nodes)). Other features add rows under
// runs with addRunChildren.
import * as vscode from 'vscode';
import type { RunManager } from './run-manager';
import type { RunsController } from './runs-controller';
import type { RunChildren, RunsNode } from './runs-model';
import { buildRunsTree } from './runs-tree-build';
import { RefreshPacer } from './runs-tree-pace';
import { StableTree } from './runs-tree-sync';

/** The row click's command (registered by openSelectedRunCommand, not in the palette). */
export const OPEN_SELECTED_RUN = 'loraLab.openSelectedRun';

/** Registers OPEN_SELECTED_RUN: the selected run's dashboard (its folder as the argument). */
export function openSelectedRunCommand(view: vscode.TreeView<RunsNode>): vscode.Disposable {
  return vscode.commands.registerCommand(OPEN_SELECTED_RUN, async () => {
    const [node] = view.selection;
    if (view.selection.length === 1 && node?.kind === 'run') await vscode.commands.executeCommand('loraLab.openDashboard', node.view.dir);
  });
}

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsNode | RunsNode[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;
  private readonly tree = new StableTree();
  private readonly extras: RunChildren[] = [];
  private readonly pacer = new RefreshPacer<RunsNode>((nodes) => this.changed.fire(nodes));
  private viewSubscription: vscode.Disposable | undefined;

  constructor(
    private readonly runs: RunsController,
    private readonly manager: RunManager,
  ) {
    this.subscription = runs.onDidChange(() => this.rebuild());
    this.tree.update(this.build());
  }

  /** Follows the view's visibility: refreshes are held while it is hidden (see runs-tree-pace.ts). */
  attachView(view: vscode.TreeView<RunsNode>): void {
    this.pacer.setVisible(view.visible);
    this.viewSubscription = view.onDidChangeVisibility((e) => this.pacer.setVisible(e.visible));
  }

  /** Adds rows under every run node (after its checkpoints), e.g. evaluation scores. */
  addRunChildren(children: RunChildren): vscode.Disposable {
    this.extras.push(children);
    this.rebuild();
    return new vscode.Disposable(() => {
      this.extras.splice(this.extras.indexOf(children), 1);
      this.rebuild();
    });
  }

  private build(): RunsNode[] {
    const queued = this.manager.queue().map((q) => ({ id: q.id, label: q.label, configPath: q.request.configPath }));
    return buildRunsTree(this.runs.views(), queued, this.extras);
  }

  /** Rebuilds the model and refreshes only what changed (everything when the roots changed). */
  rebuild(): void {
    const changed = this.tree.update(this.build());
    if (changed === undefined || changed.length) this.pacer.add(changed);
  }

  getChildren(node?: RunsNode): RunsNode[] {
    if (!node) return this.tree.roots;
    return 'children' in node ? (node.children ?? []) : [];
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    const children = 'children' in node ? (node.children?.length ?? 0) : 0;
    const collapsible =
      node.kind === 'group' || node.kind === 'sweep'
        ? vscode.TreeItemCollapsibleState.Expanded
        : children > 0
          ? vscode.TreeItemCollapsibleState.Collapsed
          : vscode.TreeItemCollapsibleState.None;
    const item = new vscode.TreeItem(node.label, collapsible);
    item.id = node.id;
    item.description = node.description;
    item.contextValue = node.contextValue;
    const tooltip = new vscode.MarkdownString();
    node.tooltip.forEach((line, i) => {
      if (i > 0) tooltip.appendMarkdown('  \n');
      tooltip.appendText(line);
    });
    item.tooltip = tooltip;
    item.accessibilityInformation = { label: node.accessibleLabel ?? [node.label, node.description].filter(Boolean).join(', ') };
    if (node.icon) item.iconPath = new vscode.ThemeIcon(node.icon.id, node.icon.color ? new vscode.ThemeColor(node.icon.color) : undefined);
    if (node.kind === 'run') {
      // No arguments (see the header). No resourceUri: SCM decorations would grey out runs under an ignored out/ folder.
      item.command = { command: OPEN_SELECTED_RUN, title: 'Open Dashboard' };
    }
    return item;
  }

  dispose(): void {
    this.subscription.dispose();
    this.viewSubscription?.dispose();
    this.pacer.dispose();
    this.changed.dispose();
  }
}
