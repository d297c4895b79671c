// "LoRA Lab: Rename Run": gives a run a label shown in the Runs view (`<run>/label.json`, written
// atomically; the folder keeps its name, so paths and the CLI are unchanged). An empty label removes it.
import * as vscode from 'vscode';
import type { Cmd, Ctx } from '../context';
import { writeRunLabel } from '../run-folder';
import { ALL_STATES, resolveRun } from './pick-run';

export function renameRun(ctx: Ctx): Cmd {
  return async (arg?: unknown) => {
    const view = await resolveRun(ctx, arg, ALL_STATES, 'Run to rename');
    if (!view) return;
    const label = await vscode.window.showInputBox({
      title: `Rename ${view.run.name}`,
      prompt: 'A label for this run in the Runs view (empty: the folder name). The folder keeps its name.',
      value: view.label ?? view.run.name,
      validateInput: (value) => (value.length > 200 ? 'at most 200 characters' : undefined),
    });
    if (label === undefined) return;
    const cleared = !label.trim() || label.trim() === view.run.name;
    try {
      writeRunLabel(view.dir, cleared ? '' : label);
    } catch (error) {
      void vscode.window.showErrorMessage(
        `LoRA Lab: could not write ${view.dir}/label.json: ${error instanceof Error ? error.message : String(error)}`,
      );
      return;
    }
    ctx.log.info(cleared ? `${view.run.name}: label removed` : `${view.run.name}: labelled "${label.trim()}"`);
    ctx.runs.refreshNow();
  };
}
