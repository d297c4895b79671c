// "LoRA Lab: Compare Runs": the comparison panel over exactly the runs selected in the Runs view
// (VS Code passes the clicked node and the selection), or the runs picked in a quick pick.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Cmd, Ctx } from '../context';
import { runDirOfArg } from './pick-run';

/** The run folders named by the command's arguments: (node, nodes[]) of a multi-select, a path, or a list of paths. */
export function runDirsOfArgs(args: readonly unknown[]): string[] {
  const [first, second] = args;
  const list = Array.isArray(second) && second.length ? second : Array.isArray(first) ? first : [first];
  const dirs = list.map((item) => runDirOfArg(item)).filter((dir): dir is string => typeof dir === 'string');
  return [...new Set(dirs.map((dir) => path.resolve(dir)))];
}

export function compareRuns(ctx: Ctx): Cmd {
  return async (...args: unknown[]) => {
    let dirs = runDirsOfArgs(args);
    if (dirs.length < 2) {
      ctx.runs.refreshNow();
      const views = ctx.runs.views();
      if (views.length === 0) {
        void vscode.window.showInformationMessage('LoRA Lab: there are no runs to compare yet.');
        return;
      }
      const chosen = new Set(dirs);
      const items = views.map((view) => ({
        label: view.run.name,
        description: `${view.state} · ${view.run.step}/${view.run.totalSteps}`,
        detail: path.dirname(view.dir),
        picked: chosen.has(path.resolve(view.dir)),
        dir: view.dir,
      }));
      const picked = await vscode.window.showQuickPick(items, { canPickMany: true, placeHolder: 'Runs to compare' });
      if (!picked || picked.length === 0) return;
      dirs = picked.map((item) => item.dir);
    }
    ctx.compare.open({ mode: 'runs', runDirs: dirs });
  };
}
