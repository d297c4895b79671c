// Which run a command acts on: the tree node it was invoked on (a run, one of its checkpoints or
// rows), a run folder path (tree click, status bar, dashboard), the tree's multi-selection
// (node, nodes[]), or one the user picks from the runs in the wanted states (palette).
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunState } from '../../../native/trainer/protocol';
import type { Ctx } from '../context';
import type { RunsNode, RunView } from '../runs-model';
import { trustRefusal, type GatedAction } from '../trust';

/** The run folder named by a command argument, if any. */
export function runDirOfArg(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  const node = arg as RunsNode | undefined;
  if (!node || typeof node !== 'object') return undefined;
  if (node.kind === 'run') return node.view.dir;
  if (node.kind === 'checkpoint' || node.kind === 'detail') return node.runDir;
  return undefined;
}

/**
 * The run folders a command invoked from the Runs view acts on: VS Code passes the clicked node and
 * the selection (node, nodes[]); the selection counts when it holds the clicked node. A sweep node
 * stands for its variants' runs. Duplicates are dropped, order kept. Empty: no run named.
 * With `checkpointFolders`, a checkpoint row stands for its checkpoint's folder (Evaluate Run).
 */
export function runDirsOfArgs(arg: unknown, args?: unknown, { checkpointFolders = false } = {}): string[] {
  const many = Array.isArray(args) && args.length > 0 && (arg === undefined || args.includes(arg)) ? args : [arg];
  const dirs: string[] = [];
  const add = (value: unknown) => {
    const node = value as RunsNode | undefined;
    if (node && typeof node === 'object' && node.kind === 'sweep') {
      for (const child of node.children) add(child);
      return;
    }
    const dir = checkpointFolders && node?.kind === 'checkpoint' ? node.checkpoint.dir : runDirOfArg(value);
    if (dir && !dirs.includes(path.resolve(dir))) dirs.push(path.resolve(dir));
  };
  many.forEach(add);
  return dirs;
}

/** The checkpoint a command was invoked on (a checkpoint row), if any. */
export function checkpointOfArg(arg: unknown): { runDir: string; dir: string; step: number; latest: boolean } | undefined {
  const node = arg as RunsNode | undefined;
  if (!node || typeof node !== 'object' || node.kind !== 'checkpoint') return undefined;
  return { runDir: node.runDir, dir: node.checkpoint.dir, step: node.checkpoint.step, latest: node.latest };
}

export async function resolveRun(ctx: Ctx, arg: unknown, states: readonly RunState[], placeHolder: string): Promise<RunView | undefined> {
  const dir = runDirOfArg(arg);
  if (dir) {
    ctx.runs.refreshNow();
    const view = ctx.runs.store.view(dir);
    if (!view) void vscode.window.showErrorMessage(`LoRA Lab: ${dir} is not a run folder (no run.json).`);
    return view;
  }
  const candidates = ctx.runs.views().filter((v) => states.includes(v.state));
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(`LoRA Lab: no ${states.join(' / ')} runs.`);
    return undefined;
  }
  const items = candidates.map((view) => ({
    label: view.run.name,
    description: `${view.state} · ${view.run.step}/${view.run.totalSteps}`,
    detail: path.dirname(view.dir),
    view,
  }));
  return (await vscode.window.showQuickPick(items, { placeHolder }))?.view;
}

/** Shows the untrusted-workspace refusal and returns false, or returns true when allowed. */
export function allowedByTrust(ctx: Ctx, action: GatedAction): boolean {
  const refusal = trustRefusal(action, vscode.workspace.isTrusted);
  if (!refusal) return true;
  ctx.log.warn(refusal);
  void vscode.window.showWarningMessage(refusal);
  return false;
}

export const ALL_STATES: readonly RunState[] = ['running', 'completed', 'failed', 'stopped', 'crashed'];
