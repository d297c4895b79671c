// "LoRA Lab: Stop Variant": stops the training variant of a sweep (checkpoint saved, marked stopped)
// while its trainer goes on with the sweep's next variant. "Stop Sweep" ends the whole sweep.
import * as vscode from 'vscode';
import type { Cmd, Ctx } from '../context';
import { resolveRun } from './pick-run';

export function stopVariant(ctx: Ctx): Cmd {
  return async (arg?: unknown) => {
    const view = await resolveRun(ctx, arg, ['running'], 'Sweep variant to stop');
    if (!view) return;
    if (!view.run.sweep) {
      void vscode.window.showInformationMessage(`LoRA Lab: ${view.run.name} is not part of a sweep; use Stop Run.`);
      return;
    }
    if (view.state !== 'running') {
      void vscode.window.showInformationMessage(`LoRA Lab: ${view.run.name} is ${view.state}, not training.`);
      return;
    }
    if (!ctx.manager.activeByDir(view.dir) && !ctx.manager.attach(view.dir, view.run)) {
      void vscode.window.showWarningMessage(`LoRA Lab: ${view.run.name} is not running on this machine.`);
      return;
    }
    const { variant, variants } = view.run.sweep;
    ctx.log.info(`stopping variant ${variant} of sweep ${view.run.sweep.id} (${view.run.name}); the sweep goes on`);
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `Stopping variant ${variant} of ${view.run.sweep.id}` },
      () => ctx.manager.stopVariant(view.dir),
    );
    ctx.log.info(`${view.run.name}: variant stop ${outcome}`);
    if (outcome === 'timeout')
      void vscode.window.showWarningMessage(
        `LoRA Lab: variant ${variant} of ${view.run.sweep.id} did not stop in time; use Stop Sweep to end the sweep.`,
      );
    else if (variant + 1 < variants)
      void vscode.window.showInformationMessage(
        `LoRA Lab: stopped variant ${variant} of sweep ${view.run.sweep.id}; the sweep goes on with variant ${variant + 1} of ${variants - 1}.`,
      );
    ctx.runs.request();
  };
}
