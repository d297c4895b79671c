// Keeps the Runs tree's node objects stable across refreshes: VS Code keys tree elements by object,
// and a refreshed element's row gets a new command handle (a click racing the refresh then finds
// "command not found"). update() folds a freshly built tree into the nodes already shown, by id,
// updating their fields in place, and returns only the nodes whose row or children changed.
import type { RunsNode } from './runs-model';

/** What a row shows; a change of it needs the row refreshed. */
function rowSignature(node: RunsNode): string {
  const { label, description, tooltip, contextValue, icon, accessibleLabel } = node;
  const childCount = 'children' in node ? (node.children?.length ?? 0) : 0;
  return JSON.stringify([node.kind, label, description, tooltip, contextValue, icon, accessibleLabel, childCount > 0]);
}

function childrenOf(node: RunsNode): RunsNode[] {
  return 'children' in node ? (node.children ?? []) : [];
}

export class StableTree {
  private byId = new Map<string, RunsNode>();
  private rootIds: string[] = [];
  roots: RunsNode[] = [];

  /** The node shown under `id`, if any. */
  node(id: string): RunsNode | undefined {
    return this.byId.get(id);
  }

  /**
   * Takes a freshly built tree. Returns undefined when the roots changed (refresh everything),
   * else the shown nodes to refresh (empty when nothing visible changed).
   */
  update(next: RunsNode[]): RunsNode[] | undefined {
    const seen = new Map<string, RunsNode>();
    const changed: RunsNode[] = [];
    const roots = next.map((node) => this.reconcile(node, seen, changed));
    const ids = roots.map((r) => r.id);
    const rootsChanged = ids.length !== this.rootIds.length || ids.some((id, i) => id !== this.rootIds[i]);
    this.byId = seen;
    this.rootIds = ids;
    this.roots = roots;
    return rootsChanged ? undefined : changed;
  }

  private reconcile(fresh: RunsNode, seen: Map<string, RunsNode>, changed: RunsNode[]): RunsNode {
    const old = this.byId.get(fresh.id);
    const freshChildren = childrenOf(fresh).map((child) => this.reconcile(child, seen, changed));
    if (!old || old.kind !== fresh.kind) {
      if ('children' in fresh && fresh.children) fresh.children = freshChildren;
      seen.set(fresh.id, fresh);
      return fresh; // new: its parent's child list changed, so the parent is refreshed
    }
    const oldIds = childrenOf(old).map((c) => c.id);
    const structure = oldIds.length !== freshChildren.length || freshChildren.some((c, i) => c.id !== oldIds[i]);
    const row = rowSignature(old) !== rowSignature(fresh);
    Object.assign(old, fresh, 'children' in fresh && fresh.children ? { children: freshChildren } : {});
    if (structure || row) changed.push(old);
    seen.set(old.id, old);
    return old;
  }
}
