// "LoRA Lab: Delete Run": after a modal confirmation, moves one run folder (a folder with a
// run.json under the watched run folders, not running) to the trash.
import * as vscode from 'vscode';
import type { Cmd, Ctx } from '../context';
import { isDeletableRunDir } from '../run-folder';
import { resolveRun } from './pick-run';

export function deleteRun(ctx: Ctx): Cmd {
  return async (arg?: unknown) => {
    const view = await resolveRun(ctx, arg, ['completed', 'failed', 'stopped', 'crashed'], 'Run to delete');
    if (!view) return;
    if (view.state === 'running' || ctx.manager.activeByDir(view.dir)) {
      void vscode.window.showWarningMessage(`LoRA Lab: ${view.run.name} is running; stop it before deleting it.`);
      return;
    }
    const refusal = isDeletableRunDir(view.dir, ctx.runs.folders());
    if (refusal) {
      void vscode.window.showErrorMessage(`LoRA Lab: not deleting ${view.dir}: ${refusal}`);
      return;
    }
    const answer = await vscode.window.showWarningMessage(
      `Delete the run ${view.run.name}?`,
      { modal: true, detail: `${view.dir}\nwith its checkpoints, adapter and metrics goes to the trash.` },
      'Delete',
    );
    if (answer !== 'Delete') return;
    ctx.dashboards.close(view.dir);
    await vscode.workspace.fs.delete(vscode.Uri.file(view.dir), { recursive: true, useTrash: true });
    ctx.log.info(`deleted ${view.dir}`);
    ctx.runs.request();
  };
}
