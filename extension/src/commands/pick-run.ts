// Which run a command acts on: the tree node it was invoked on, a run folder path (status bar,
// dashboard), or one the user picks from the runs in the wanted states (palette).
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
  if (node && typeof node === 'object' && node.kind === 'run') return node.view.dir;
  return undefined;
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
